"""The working-day calendar for every year: official arrangements (package or entered), the
provisional statutory calendar for the rest, the admin page to enter a year, and what an entered
year moves (plans, timers, windows) with the notifications and audit entries it leaves.

Every 2027 arrangement below is SYNTHETIC test data (not the State Council's notice)."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    CalendarYear,
    Engagement,
    Notification,
    Project,
    User,
)
from registry.pure import workdays
from registry.services import calendars, credit, delivery, market, roadmaps
from tests import factories
from tests.conftest import post_form

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

# A year chinesecalendar does not ship, whatever day the suite runs on: one past the package.
OPEN_YEAR = workdays.package_years()[1] + 1


@pytest.fixture(autouse=True)
def _fresh_layer():
    """No entered year leaks from one test into another (the layer is per process)."""
    workdays.use({})
    yield
    workdays.use({})


# --------------------------------------------------------------------------- the layers


@pytest.mark.parametrize("year", [2025, 2026])
def test_calendar_statutory_days_match_the_official_arrangements(year):
    # The 2024 办法's days, computed from the lunar calendar and the 清明 solar term, are days off
    # in every official arrangement made under it.
    official = workdays.package_arrangement(year)
    for day, name in workdays.statutory_holidays(year).items():
        assert day in official.holidays, (day, name)


def test_calendar_provisional_2027_follows_the_2024_rules():
    p = workdays.provisional_arrangement(2027)
    assert p.provisional
    names = workdays.statutory_holidays(2027)
    assert names[date(2027, 2, 5)] == "春节(除夕)"
    assert names[date(2027, 4, 5)] == "清明节"
    assert names[date(2027, 6, 9)] == "端午节"
    assert names[date(2027, 9, 15)] == "中秋节"
    # 初一 and 初二 fall on Sat 6 and Sun 7 Feb: made up on Tue 9 and Wed 10 (补假).
    assert [d for d in sorted(p.holidays) if date(2027, 2, 1) <= d <= date(2027, 2, 14)] == [
        date(2027, 2, d) for d in range(5, 11)
    ]
    assert p.names[date(2027, 2, 9)].endswith("补假")
    # No make-up working days are guessed: every weekend stays off.
    assert not p.workdays
    assert not workdays.provisional_arrangement(2027).is_workday(date(2027, 1, 9))
    assert workdays.provisional_arrangement(2027).is_workday(date(2027, 2, 11))


def test_calendar_answers_for_every_year_to_2099_and_refuses_after():
    for year in range(2004, 2100):
        assert workdays.add_working_days(date(year, 12, 20), 5).year in (year, year + 1)
        assert workdays.arrangement(year).layer in ("package", "provisional")
    with pytest.raises(workdays.CalendarRangeError, match="1901–2099"):
        workdays.is_workday(date(2100, 1, 4))


def test_calendar_rest_days_move_back_or_forward_to_working_days():
    """2026-10-01 to 10-07 is the 国庆 holiday: a day inside moves back to 9-30 or forward to
    10-08; a Sunday back to its Friday."""
    assert workdays.on_or_before_workday(date(2026, 10, 5)) == date(2026, 9, 30)
    assert workdays.on_or_after_workday(date(2026, 10, 5)) == date(2026, 10, 8)
    monday = date(2026, 12, 7)
    assert workdays.on_or_before_workday(monday) == workdays.on_or_after_workday(monday) == monday
    assert workdays.on_or_before_workday(date(2026, 12, 13)) == date(2026, 12, 11)


def test_calendar_package_years_are_the_package_day_by_day():
    first, last = workdays.package_years()
    day = date(first, 1, 1)
    while day.year <= last:
        assert workdays.is_workday(day) == chinese_calendar.is_workday(day), day
        assert not workdays.is_provisional(day)
        day += timedelta(days=1)


def test_calendar_entered_year_wins_over_the_package_and_the_provisional():
    entered = workdays.YearArrangement(
        OPEN_YEAR, frozenset({date(OPEN_YEAR, 3, 3)}), frozenset(), workdays.Layer.ENTERED
    )
    workdays.use({OPEN_YEAR: entered})
    assert not workdays.is_workday(date(OPEN_YEAR, 3, 3))
    assert not workdays.is_provisional(date(OPEN_YEAR, 3, 3))
    assert workdays.provisional_years(date(OPEN_YEAR - 1, 6, 1), date(OPEN_YEAR + 1, 2, 1)) == [
        OPEN_YEAR + 1
    ]


# --------------------------------------------------------------------------- the admin page


def _admin(app, make_user, login, client):
    admin = make_user("admin")
    login(admin)
    return admin


def _form(year: int = OPEN_YEAR, **values):
    data = {
        "notice_title": f"测试用虚构安排({year})",
        "notice_number": "测试〔0〕1号",
        "notice_date": (clock.today() - timedelta(days=1)).isoformat(),
        "holidays": f"{year}-01-01\n{year}-03-02 至 {year}-03-04",
        "workdays": "",
        # A made-up arrangement without most statutory days: saved past its confirmation page
        # (test_calendar_an_arrangement_without_statutory_days_is_confirmed_first).
        "confirmed": "1",
    }
    data.update(values)
    return data


def _first_weekend(year: int) -> date:
    day = date(year, 3, 1)
    while day.weekday() < 5:
        day += timedelta(days=1)
    return day


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"workdays": "{y}-03-10"}, "调休上班日须为周六或周日"),
        ({"holidays": "{y}-01-01\n{y}-01-01"}, "放假日期重复列出"),
        ({"holidays": "{y}-03-02 至 {y}-03-04\n{y}-03-03"}, "放假日期重复列出"),
        ({"holidays": "{next}-01-01"}, "须在 {y} 年内"),
        ({"holidays": "{y}-02-30"}, "第 1 行的日期无效"),
        ({"holidays": "明天"}, "第 1 行无法识别"),
        ({"notice_number": ""}, "请填写通知文号"),
    ],
)
def test_calendar_admin_form_refuses_bad_arrangements_and_stores_nothing(
    app, client, make_user, login, values, message
):
    _admin(app, make_user, login, client)
    y = OPEN_YEAR
    if values.get("workdays") == "{y}-03-10":
        weekday = date(y, 3, 10)
        while weekday.weekday() >= 5:
            weekday += timedelta(days=1)
        values = {"workdays": weekday.isoformat()}
    data = {k: v.format(y=y, next=y + 1) for k, v in values.items()}
    response = post_form(client, f"/admin/calendar/{y}", _form(**data))
    assert response.status_code == 200
    assert message.format(y=y) in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarYear)) == 0
    assert workdays.arrangement(y).provisional


def test_calendar_admin_pages_are_for_admins_only(app, client, make_user, login):
    assert client.get("/admin/calendar").status_code in (302, 401, 403)
    login(make_user("staff"))
    assert client.get("/admin/calendar").status_code == 403
    assert post_form(client, f"/admin/calendar/{OPEN_YEAR}", _form()).status_code == 403
    assert client.get("/admin/calendar/1800").status_code in (403, 404)


def test_calendar_admin_lists_layers_and_enters_a_year(app, client, make_user, login):
    _admin(app, make_user, login, client)
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "暂定" in page
    assert client.get("/admin/calendar/1800").status_code == 404
    # A year without an arrangement that the list shows (this year or later).
    year = max(OPEN_YEAR, clock.today().year)
    weekend = _first_weekend(year)
    response = post_form(
        client, f"/admin/calendar/{year}", _form(year, workdays=weekend.isoformat())
    )
    assert response.status_code == 302
    page = client.get("/admin/calendar").get_data(as_text=True)
    # Nothing was open to move: the message says so (it said "0 个…相关人员已收到通知").
    assert f"已保存 {year} 年放假安排;没有未到期的日期因此变化。" in page
    # The example dates of the form are in the year entered (they named 2027 for every year).
    assert f"如 {year}-01-01" in client.get(f"/admin/calendar/{year}").get_data(as_text=True)
    row = page.split(f'<th scope="row">{year}</th>', 1)[1].split("</tr>", 1)[0]
    assert "官方安排(已录入)" in row
    off = [date(year, 3, d) for d in (2, 3, 4) if date(year, 3, d).weekday() < 5]
    assert off
    assert not any(workdays.is_workday(d) for d in off)
    assert workdays.is_workday(weekend)
    with app.app_context():
        stored = db.session.get(CalendarYear, year)
        assert stored.holidays[0] == f"{year}-01-01"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "calendar.save"))
        assert entry.before is None
        assert entry.after["notice_number"] == "测试〔0〕1号"


def test_calendar_admin_stale_forms_change_nothing(app, client, make_user, login):
    _admin(app, make_user, login, client)
    opened = client.get(f"/admin/calendar/{OPEN_YEAR}").get_data(as_text=True)
    assert 'name="version" type="hidden" value=""' in opened or 'value="" name="version"' in opened
    # Someone else enters the year meanwhile: the form opened on "no entry" is now stale.
    with app.app_context():
        calendars.save_year(
            "other",
            OPEN_YEAR,
            holidays=[date(OPEN_YEAR, 1, 1)],
            makeups=[],
            title="另一位管理员",
            number="测试〔0〕9号",
            notice_date=clock.today(),
        )
        db.session.commit()
    response = post_form(client, f"/admin/calendar/{OPEN_YEAR}", _form(version=""))
    assert "该年度安排已被他人修改" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CalendarYear, OPEN_YEAR).notice_number == "测试〔0〕9号"
    # An old version is refused too, for saving and for removing.
    response = post_form(client, f"/admin/calendar/{OPEN_YEAR}", _form(version="7"))
    assert "该年度安排已被他人修改" in response.get_data(as_text=True)
    post_form(client, f"/admin/calendar/{OPEN_YEAR}/remove", {"version": "7", "confirmed": "1"})
    with app.app_context():
        assert db.session.get(CalendarYear, OPEN_YEAR) is not None


def test_calendar_other_processes_see_a_year_removed_and_entered_again(app):
    def enter(day: int) -> None:
        calendars.save_year(
            "test",
            OPEN_YEAR,
            holidays=[date(OPEN_YEAR, 3, day)],
            makeups=[],
            title="测试用虚构安排",
            number="测试〔0〕6号",
            notice_date=clock.today(),
        )
        db.session.commit()

    monday = _first_weekend(OPEN_YEAR) + timedelta(
        days=2 if _first_weekend(OPEN_YEAR).weekday() == 5 else 1
    )
    with app.app_context():
        enter(monday.day)
        calendars.reload()
        remembered = workdays._state  # what another worker holds: the first entry
        calendars.remove_year("test", OPEN_YEAR)
        db.session.commit()
        enter(monday.day + 1)  # the same version number (1) again, other content
    workdays._state = remembered
    assert not workdays.is_workday(monday)  # outside a request: nothing re-read yet
    with app.app_context():
        assert workdays.is_workday(monday)
        assert not workdays.is_workday(monday + timedelta(days=1))


# --------------------------------------------------------------------------- what a change moves


def _award_in_progress(app, make_user, *, contract: date, committed_days: int, sign: bool = True):
    """An engagement under way: contracted on `contract` for `committed_days` working days."""
    owner, winner, loser = make_user("enterprise"), make_user("provider"), make_user("provider")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        for account in (winner, loser):
            factories.active_provider(
                account=db.session.get(User, account.id), committed_days=committed_days
            )
        ref = market.open_request(
            user, project.code, service_code="ZJ-03", method="竞价选取", deadline=factories.later()
        ).ref
        db.session.commit()
    for account, amount in ((winner, "40000"), (loser, "50000")):
        with app.app_context():
            market.submit_quote(
                db.session.get(User, account.id),
                ref,
                amount=amount,
                submission_key=uuid.uuid4().hex,
            )
            db.session.commit()
    moment = datetime.combine(contract, time(10), clock.ZONE)
    with app.app_context():
        market.get_request(ref).deadline = moment - timedelta(hours=1)
        db.session.commit()
        award = market.decide(db.session.get(User, owner.id), ref, now=moment).award
        db.session.commit()
        engagement_id = award.engagement.id
        if not sign:
            return owner, winner, engagement_id
        delivery.record_contract(
            db.session.get(User, owner.id), engagement_id, contract, on=contract
        )
        db.session.commit()
    return owner, winner, engagement_id


def _notes(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Notification.message)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id)
            )
        )


def test_calendar_entering_a_year_moves_open_dates_and_tells_the_people(
    app, client, make_user, login, frozen_clock
):
    # Late in the last packaged year: a 20-working-day service runs into the open year.
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 14))
    contract = date(OPEN_YEAR - 1, 12, 14)
    owner, winner, engagement_id = _award_in_progress(
        app, make_user, contract=contract, committed_days=20
    )
    # One finished long ago: its passed due date must not be reopened.
    with app.app_context():
        provisional_due = db.session.get(Engagement, engagement_id).due_date
    assert provisional_due.year == OPEN_YEAR
    assert provisional_due == workdays.add_working_days(contract, 20)

    # The owner's page says the due date is provisional …
    owner_client = app.test_client()
    login(owner, on=owner_client)
    page = owner_client.get(f"/my/engagements/{engagement_id}").get_data(as_text=True)
    assert f'{provisional_due.isoformat()}<span class="provisional"' in page

    # The admin enters the year with a (synthetic) week off in early January.
    admin = make_user("admin")
    login(admin)
    week = [date(OPEN_YEAR, 1, 4) + timedelta(days=n) for n in range(7)]
    off = [d for d in week if d.weekday() < 5]
    holidays = "\n".join(sorted({f"{OPEN_YEAR}-01-01", *(d.isoformat() for d in off)}))
    response = post_form(client, f"/admin/calendar/{OPEN_YEAR}", _form(holidays=holidays))
    assert response.status_code == 302
    with app.app_context():
        moved_due = db.session.get(Engagement, engagement_id).due_date
    expected = workdays.add_working_days(contract, 20)
    assert moved_due == expected
    assert moved_due > provisional_due
    # … and once the year is official, it no longer does.
    page = owner_client.get(f"/my/engagements/{engagement_id}").get_data(as_text=True)
    assert moved_due.isoformat() in page
    assert "(暂定)" not in page
    # Owner and provider are told old → new, and the audit log has the move.
    change = f"{provisional_due.isoformat()} → {moved_due.isoformat()}"
    assert any(change in note for note in _notes(app, owner.id))
    assert any(change in note for note in _notes(app, winner.id))
    provider_client = app.test_client()
    login(winner, on=provider_client)
    page = provider_client.get("/my/notifications").get_data(as_text=True)
    assert change in page
    assert f"/my/engagements/{engagement_id}" in page
    with app.app_context():
        moves = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "calendar.move")
        ).all()
        assert [(m.before["date"], m.after["date"]) for m in moves] == [
            (provisional_due.isoformat(), moved_due.isoformat())
        ]
        # Under the admin who saved the year (it read 匿名: a tester, stop 31).
        saved_by = db.session.scalar(
            select(AuditEntry.actor_name).where(AuditEntry.action == "calendar.save")
        )
        assert saved_by is not None
        assert [m.actor_name for m in moves] == [saved_by]

    # Removing the year returns to the provisional date, told again.
    with app.app_context():
        version = db.session.get(CalendarYear, OPEN_YEAR).version
    response = post_form(
        client, f"/admin/calendar/{OPEN_YEAR}/remove", {"version": version, "confirmed": "1"}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).due_date == provisional_due
        assert db.session.get(CalendarYear, OPEN_YEAR) is None
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "calendar.remove"))
    assert any(
        f"{moved_due.isoformat()} → {provisional_due.isoformat()}" in n
        for n in _notes(app, owner.id)
    )


def test_calendar_a_passed_deadline_is_not_reopened(app, make_user, frozen_clock):
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 14))
    owner, _winner, engagement_id = _award_in_progress(
        app, make_user, contract=date(OPEN_YEAR - 1, 12, 14), committed_days=20
    )
    with app.app_context():
        due = db.session.get(Engagement, engagement_id).due_date
    frozen_clock.freeze(due + timedelta(days=1))  # the due date has passed
    with app.app_context():
        moves = calendars.save_year(
            "test",
            OPEN_YEAR,
            holidays=[date(OPEN_YEAR, 1, d) for d in (1, 4, 5, 6, 7, 8)],
            makeups=[],
            title="测试用虚构安排",
            number="测试〔0〕2号",
            notice_date=date(OPEN_YEAR - 1, 11, 1),
        )
        db.session.commit()
        assert db.session.get(Engagement, engagement_id).due_date == due
        assert not [m for m in moves if m.key == ("due", engagement_id)]
    assert not _notes(app, owner.id)


def _published_notice(app, make_user) -> tuple[str, type]:
    """A warning notice published today about a provider; (its number, the provider account)."""
    regulator, account = make_user("regulator", department="STHJ"), make_user("provider")
    with app.app_context():
        uscc = factories.active_provider(account=db.session.get(User, account.id)).uscc
        item = credit.draft_record(
            db.session.get(User, regulator.id),
            provider_uscc=uscc,
            kind="警示通报",
            title="测试记录",
            facts="测试事实。",
            basis="测试依据。",
        )
        credit.publish_record(db.session.get(User, regulator.id), item.number)
        db.session.commit()
        return item.number, account


def test_calendar_entered_year_moves_credit_windows(app, make_user, frozen_clock):
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 29))
    number, account = _published_notice(app, make_user)
    with app.app_context():
        item = credit.get_public_notice(number)
        before = (item.disclosure_until, item.objection_until)
        assert before[1].year == OPEN_YEAR
        calendars.save_year(
            "test",
            OPEN_YEAR,
            holidays=[date(OPEN_YEAR, 1, d) for d in range(1, 9)],
            makeups=[],
            title="测试用虚构安排",
            number="测试〔0〕3号",
            notice_date=date(OPEN_YEAR - 1, 11, 1),
        )
        db.session.commit()
        db.session.refresh(item)
        assert item.objection_until > before[1]
        assert item.disclosure_until > before[0]
    notes = _notes(app, account.id)
    assert any(f"异议截止日:{before[1].isoformat()} → " in n for n in notes)
    page = app.test_client().get(f"/notices/{number}").get_data(as_text=True)
    assert "(暂定)" not in page


def test_calendar_credit_windows_in_a_provisional_year_say_so(app, client, make_user, frozen_clock):
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 29))
    number, _account = _published_notice(app, make_user)
    page = client.get(f"/notices/{number}").get_data(as_text=True)
    assert "(暂定)" in page
    assert client.get(f"/api/v1/notices/{number}").get_json()["windows_provisional"] is True
    # The board's list says so too (it dropped the mark: a tester, stop 31).
    board = client.get("/notices").get_data(as_text=True)
    row = board.split(number, 1)[1].split("</tr>", 1)[0]
    assert "(暂定)" in row


def test_calendar_seed_loads_year_files_once_and_leaves_admin_entries(
    app, runner, tmp_path, make_user
):
    folder = tmp_path / "calendar"
    folder.mkdir()
    (folder / f"{OPEN_YEAR}.yaml").write_text(
        f"year: {OPEN_YEAR}\nnotice_title: 测试用虚构安排\nnotice_number: 测试〔0〕4号\n"
        f"notice_date: {clock.today().isoformat()}\n"
        f"holidays:\n  - {OPEN_YEAR}-01-01\n  - [{OPEN_YEAR}-03-02, {OPEN_YEAR}-03-04]\n",
        encoding="utf-8",
    )
    app.config["CALENDAR_DIR"] = str(folder)
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert f"calendar_years: 载入 [{OPEN_YEAR}]" in first.output
    again = runner.invoke(args=["seed"])
    assert f"未变 [{OPEN_YEAR}]" in again.output
    with app.app_context():
        row = db.session.get(CalendarYear, OPEN_YEAR)
        assert (row.origin, row.version) == ("file", 1)
        row.origin = "admin"
        db.session.commit()
    assert f"跳过 [{OPEN_YEAR}]" in runner.invoke(args=["seed"]).output
    (folder / f"{OPEN_YEAR}.yaml").write_text("year: [broken", encoding="utf-8")
    broken = runner.invoke(args=["seed"])
    assert broken.exit_code != 0
    assert "无法读取日历文件" in broken.output


def _project(app, make_user, *, land: date) -> tuple[type, str]:
    """An enterprise account with a project whose roadmap starts on `land`; (account, code)."""
    owner = make_user("enterprise")
    with app.app_context():
        project = factories.enterprise_with_project(db.session.get(User, owner.id))
        project.land_contract_date = land
        roadmaps.create_roadmap(project, actor="test")
        db.session.commit()
        return owner, project.code


def test_calendar_roadmap_api_marks_provisional_steps(app, client, make_user, login, frozen_clock):
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 1))
    owner, code = _project(app, make_user, land=date(OPEN_YEAR - 1, 12, 1))
    login(owner)
    data = client.get(f"/api/v1/projects/{code}/roadmap").get_json()
    assert data["provisional_years"][0] == OPEN_YEAR
    assert data["provisional_note"].startswith("暂按法定节假日推算")
    dated = [s for s in data["steps"] if s["planned_finish"]]
    assert all(s["planned_finish"] for s in data["steps"] if s["status"] != "不适用")
    assert any(s["provisional"] for s in dated)
    # Counted in working days into the open year: provisional. Counted in calendar days, a step
    # ending in the open year is provisional too: its last day moves on past rest days, which
    # the year's arrangement decides (stop 31; before, it was taken as final). One ending
    # before the open year is final.
    assert all(
        s["provisional"]
        for s in dated
        if s["planned_finish"] >= f"{OPEN_YEAR}-01-15" and s["unit"] == "工作日"
    )
    assert all(
        s["provisional"]
        for s in dated
        if s["planned_finish"] >= f"{OPEN_YEAR}" and s["unit"] == "日" and s["duration"]
    )
    assert not any(s["provisional"] for s in dated if s["planned_finish"] < f"{OPEN_YEAR}")
    assert data["planned_finish"] is not None


def test_calendar_entering_a_year_replans_roadmaps_and_tells_the_project(
    app, client, make_user, login, frozen_clock
):
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 1))
    owner, code = _project(app, make_user, land=date(OPEN_YEAR - 1, 12, 1))
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.code == code))
        roadmaps.replan(project)
        db.session.commit()
        before = {s.key: s.planned_finish for s in project.steps}
        calendars.save_year(
            "test",
            OPEN_YEAR,
            holidays=[date(OPEN_YEAR, 1, d) for d in range(1, 16)],
            makeups=[],
            title="测试用虚构安排",
            number="测试〔0〕5号",
            notice_date=date(OPEN_YEAR - 1, 11, 1),
        )
        db.session.commit()
        after = {s.key: s.planned_finish for s in db.session.get(type(project), project.id).steps}
    moved = [k for k in before if before[k] and after[k] and after[k] > before[k]]
    assert moved  # steps counted over the first half of January finish later
    # (Later steps may move earlier: this synthetic year has no 春节 break in February.)
    login(owner)
    page = client.get("/my/notifications").get_data(as_text=True)
    assert f"{OPEN_YEAR} 年放假安排调整" in page
    assert f"项目 {code}" in page
    roadmap = client.get(f"/api/v1/projects/{code}/roadmap").get_json()
    assert OPEN_YEAR not in roadmap["provisional_years"]


def test_calendar_contract_window_into_a_provisional_year_says_so(
    app, client, make_user, login, frozen_clock
):
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 28))
    owner, _winner, engagement_id = _award_in_progress(
        app, make_user, contract=date(OPEN_YEAR - 1, 12, 28), committed_days=10, sign=False
    )
    deadline = workdays.add_working_days(date(OPEN_YEAR - 1, 12, 28), 5)
    assert deadline.year == OPEN_YEAR
    login(owner)
    page = client.get(f"/my/engagements/{engagement_id}").get_data(as_text=True)
    assert f'即 {deadline.isoformat()}<span class="provisional"' in page


def test_calendar_forecast_into_a_provisional_year_says_so(
    app, client, make_user, login, frozen_clock
):
    # The plan (from January) ends inside the official year; nothing done by 20 December
    # pushes the forecast into the open year, and only the forecast is said to be provisional.
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 20))
    owner, code = _project(app, make_user, land=date(OPEN_YEAR - 1, 1, 5))
    login(owner)
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert f"按当前进度推算的预计日期涉及 {OPEN_YEAR} 年" in page
    assert "(暂定)" not in page


def test_calendar_year_files_shipped_in_seeds_parse(app):
    # Operators add seeds/calendar/<year>.yaml from the State Council's notice; each must load.
    with app.app_context():
        for path in sorted((Path(app.config["SEEDS_DIR"]) / "calendar").glob("*.yaml")):
            data = calendars._read_file(path)
            calendars.check_arrangement(data["year"], data["holidays"], data["workdays"])


def test_calendar_a_date_moved_into_the_past_is_still_announced(app, make_user, frozen_clock):
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 14))
    owner, winner, engagement_id = _award_in_progress(
        app, make_user, contract=date(OPEN_YEAR - 1, 12, 14), committed_days=20
    )
    with app.app_context():
        provisional_due = db.session.get(Engagement, engagement_id).due_date
        calendars.save_year(
            "test",
            OPEN_YEAR,
            holidays=[date(OPEN_YEAR, 1, d) for d in (1, 4, 5, 6, 7, 8)],
            makeups=[],
            title="测试用虚构安排",
            number="测试〔0〕7号",
            notice_date=clock.today(),
        )
        db.session.commit()
        official_due = db.session.get(Engagement, engagement_id).due_date
    assert official_due > provisional_due
    # Between the two dates, the entry is removed: the due date goes back before today.
    frozen_clock.freeze(provisional_due + timedelta(days=1))
    with app.app_context():
        moves = calendars.remove_year("test", OPEN_YEAR)
        db.session.commit()
        assert db.session.get(Engagement, engagement_id).due_date == provisional_due
    assert [(m.old, m.new) for m in moves if m.key == ("due", engagement_id)] == [
        (official_due, provisional_due)
    ]
    change = f"{official_due.isoformat()} → {provisional_due.isoformat()}"
    assert any(change in n for n in _notes(app, winner.id))


def test_calendar_daily_check_brings_stored_deadlines_to_the_calendar_in_force(
    app, runner, make_user, frozen_clock
):
    # As after a chinesecalendar upgrade made a year official: a stored due date that no longer
    # matches the calendar in force is moved by the daily check, and the people are told.
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 14))
    owner, winner, engagement_id = _award_in_progress(
        app, make_user, contract=date(OPEN_YEAR - 1, 12, 14), committed_days=20
    )
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        due = engagement.due_date
        engagement.due_date = due + timedelta(days=3)  # computed on an older calendar
        db.session.commit()
    result = runner.invoke(args=["check-deadlines"])
    assert result.exit_code == 0, result.output
    assert "按现行日历调整未到期日期 1 个" in result.output
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).due_date == due
    change = f"{(due + timedelta(days=3)).isoformat()} → {due.isoformat()}"
    assert any("工作日历更新" in n and change in n for n in _notes(app, winner.id))
    again = runner.invoke(args=["check-deadlines"])
    assert "按现行日历调整" not in again.output


def test_calendar_deadline_notices_and_dashboard_mark_provisional_dates(
    app, client, runner, make_user, login, frozen_clock
):
    # A land contract on 31 December: the first step (one working day) ends in the open year.
    frozen_clock.freeze(date(OPEN_YEAR - 1, 12, 31))
    _project(app, make_user, land=date(OPEN_YEAR - 1, 12, 31))
    frozen_clock.freeze(date(OPEN_YEAR, 2, 1))  # nothing done: the first step is late
    assert runner.invoke(args=["check-deadlines"]).exit_code == 0
    with app.app_context():
        messages = list(db.session.scalars(select(Notification.message)))
    assert any(f"计划 {OPEN_YEAR}-0" in m and "(暂定)" in m for m in messages), messages
    login(make_user("staff"))
    page = client.get("/staff/deadlines").get_data(as_text=True)
    assert '<span class="provisional"' in page


def test_calendar_a_20_working_day_award_runs_to_its_rating_today(app, make_user, frozen_clock):
    """The journey that stopped on 2026-12-06: contracted today with a 20-working-day offer
    (due in whatever year that reaches), delivered, confirmed and rated — on the suite's day,
    which CI also moves to later years."""
    today = clock.today()
    owner, winner, engagement_id = _award_in_progress(
        app, make_user, contract=today, committed_days=20
    )
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement.due_date == workdays.add_working_days(today, 20)
        pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        delivery.submit_result(
            db.session.get(User, winner.id),
            engagement_id,
            FileStorage(stream=io.BytesIO(pdf), filename="成果.pdf"),
            "成果",
        )
        db.session.commit()
        delivery.confirm_result(db.session.get(User, owner.id), engagement_id)
        db.session.commit()
        scores = {"quality": 90, "timeliness": 85, "attitude": 95, "fee": 80, "conduct": 90}
        rating = delivery.rate(db.session.get(User, owner.id), engagement_id, scores, "按时交付")
        db.session.commit()
        assert rating.engagement.status == "已确认"
        window = delivery.rating_window(db.session.get(Engagement, engagement_id))
        assert window.closes_on == workdays.add_working_days(today, 15)


def test_calendar_admins_are_told_of_a_year_without_an_official_arrangement(app, runner, make_user):
    """A tester's finding (stop 29): the daily check found that next year had no official
    arrangement, but said so only in its log and on /healthz. The admins who enter calendars are
    told in the site, once a month while it lasts."""
    admin, staff = make_user("admin"), make_user("staff")

    def told(user) -> list[str]:
        with app.app_context():
            return db.session.scalars(
                select(Notification.message).where(
                    Notification.user_id == user.id, Notification.kind == "待录入日历"
                )
            ).all()

    later = date(2035, 1, 10)  # 2035 and 2036: no official arrangement anywhere yet
    for day in (later, later + timedelta(days=1)):
        result = runner.invoke(args=["check-deadlines", "--yes", "--date", day.isoformat()])
        assert result.exit_code == 0, result.output
        assert "2035、2036 年尚无官方放假安排" in result.output  # the job's summary says both
    # This year is told at once; next year only once its arrangement can have been published
    # (November on): a reminder every month of the year could not be acted on (stop 31).
    (message,) = told(admin)
    assert message.startswith("2035 年尚无官方放假安排")
    assert told(staff) == []  # only those who may enter a calendar
    runner.invoke(args=["check-deadlines", "--yes", "--date", "2035-02-11"])
    assert len(told(admin)) == 2  # a month on, while it lasts
    runner.invoke(args=["check-deadlines", "--yes", "--date", "2035-11-02"])
    assert told(admin)[-1].startswith("2035、2036 年尚无官方放假安排")


def test_calendar_next_year_is_not_told_before_november(app, runner, make_user):
    """2026 is official (the package ships it) and 2027 is not: in spring nothing can be done
    about 2027 yet, so the admins are not told; in November they are."""
    admin = make_user("admin")
    for day in ("2026-03-16", "2026-06-15"):
        result = runner.invoke(args=["check-deadlines", "--yes", "--date", day])
        assert result.exit_code == 0, result.output
        assert "2027 年尚无官方放假安排" in result.output
    with app.app_context():
        kinds = db.session.scalars(
            select(Notification.kind).where(Notification.user_id == admin.id)
        ).all()
    assert "待录入日历" not in kinds
    runner.invoke(args=["check-deadlines", "--yes", "--date", "2026-11-02"])
    with app.app_context():
        kinds = db.session.scalars(
            select(Notification.kind).where(Notification.user_id == admin.id)
        ).all()
    assert "待录入日历" in kinds


def test_calendar_an_arrangement_without_statutory_days_is_confirmed_first(
    app, client, make_user, login
):
    """A tester (stop 31): an arrangement listing only 元旦 was saved at once, making 春节 and 国庆
    working days, moving deadlines and telling people. It is named on a confirmation page first
    (返回修改 keeps the lines typed); a year's removal is confirmed too."""
    _admin(app, make_user, login, client)
    url = f"/admin/calendar/{OPEN_YEAR}"
    thin = {**_form(), "holidays": f"{OPEN_YEAR}-01-01"}
    del thin["confirmed"]
    shown = post_form(client, url, thin).get_data(as_text=True)
    assert f"请确认:保存 {OPEN_YEAR} 年放假安排" in shown
    assert "以下法定节假日将成为工作日" in shown
    assert f"{OPEN_YEAR}-10-01(国庆节)" in shown
    with app.app_context():
        assert db.session.get(CalendarYear, OPEN_YEAR) is None
    edit = post_form(client, url, {**thin, "confirmed": "1", "edit": "1"}).get_data(as_text=True)
    assert f"{OPEN_YEAR}-01-01</textarea>" in edit
    # Every statutory day listed: no question asked.
    whole = "\n".join(f"{d:%Y-%m-%d}" for d in workdays.statutory_holidays(OPEN_YEAR))
    assert post_form(client, url, {**thin, "holidays": whole}).status_code == 302
    with app.app_context():
        version = db.session.get(CalendarYear, OPEN_YEAR).version
    remove = f"{url}/remove"
    asked = post_form(client, remove, {"version": version}).get_data(as_text=True)
    assert f"请确认:删除 {OPEN_YEAR} 年录入的放假安排" in asked
    assert "按法定节假日推算(暂定)" in asked
    with app.app_context():
        assert db.session.get(CalendarYear, OPEN_YEAR) is not None
    done = post_form(client, remove, {"version": version, "confirmed": "1"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(CalendarYear, OPEN_YEAR) is None
