"""Deadline control: the `check-deadlines` command over time, the staff dashboard, and each
user's notifications (only on their own projects) with mark-read."""

from __future__ import annotations

import re
import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select, update

from registry.extensions import db
from registry.models import AuditEntry, Notification, NotificationRead, Project, RoadmapStep, User
from registry.services import market, roadmaps
from tests import factories
from tests.conftest import post_form

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

TAG = re.compile(r"<[^>]+>")


def _project(app, make_user, *, land=date(2026, 3, 2), category="民营/外资"):
    """An enterprise account with one project planned from `land`; returns (account, code)."""
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user, category=category)
        project.land_contract_date = land
        roadmaps.create_roadmap(project, actor=user)
        db.session.commit()
        return owner, project.code


def _rows(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table with this caption id, each as its cells' plain text."""
    body = html.split(f'id="{caption}"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return [
        [
            " ".join(TAG.sub("", cell).split())
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _alert(rows: list[list[str]], code: str, key: str) -> list[str] | None:
    """The alerts-table row of a project's step (columns: state, code, owner, step, department,
    planned finish, status, staff), or None."""
    return next((r for r in rows if r[1].startswith(code) and r[3].startswith(f"{key} ")), None)


def _count(app, **where) -> int:
    with app.app_context():
        query = select(func.count(Notification.id))
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return db.session.scalar(query)


def test_deadlines_cli_is_idempotent_and_follows_the_date(app, runner, make_user):
    _project(app, make_user, land=date(2026, 3, 2))  # SP-01 planned to finish Tue 2026-03-03
    first = runner.invoke(args=["check-deadlines", "--yes", "--date", "2026-02-27"])
    assert first.exit_code == 0, first.output
    assert "到期检查(2026-02-27)完成" in first.output
    assert "工作日历:2027 年尚无官方放假安排,相关日期暂按法定节假日推算" in first.output
    warnings = _count(app, kind="到期预警")
    assert warnings >= 1
    assert _count(app, kind="超时") == 0
    again = runner.invoke(args=["check-deadlines", "--yes", "--date", "2026-02-27"])
    assert again.exit_code == 0, again.output
    assert "新增到期预警 0 条、超时通报 0 条" in again.output
    assert _count(app) == warnings
    later = runner.invoke(args=["check-deadlines", "--yes", "--date", "2026-03-05"])
    assert later.exit_code == 0, later.output
    overdue = _count(app, kind="超时")
    assert overdue >= 1
    assert f"超时通报 {overdue} 条" in later.output
    # Travelling back in time creates nothing the same step, kind and due date already have.
    back = runner.invoke(args=["check-deadlines", "--yes", "--date", "2026-02-27"])
    assert "新增到期预警 0 条、超时通报 0 条" in back.output
    assert _count(app) == warnings + overdue


def test_deadlines_enterprise_sees_only_its_own_notifications(app, client, make_user, login):
    owner, code = _project(app, make_user)
    _stranger, other_code = _project(app, make_user)
    with app.app_context():
        roadmaps.check_deadlines(date(2026, 3, 5), 3)
        db.session.commit()
    login(owner)
    page = client.get("/my/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert code in html
    assert "超时通报" in html
    assert "未读" in html
    assert other_code not in html
    header = re.search(r'href="/my/notifications"[^>]*>通知 <span class="badge">(\d+)', html)
    assert header is not None
    assert int(header.group(1)) == _count(app) // 2


def test_deadlines_mark_read_marks_own_and_never_anothers(app, client, make_user, login):
    owner, code = _project(app, make_user)
    _stranger, other_code = _project(app, make_user)
    with app.app_context():
        roadmaps.check_deadlines(date(2026, 3, 5), 3)
        db.session.commit()
        rows = db.session.scalars(select(Notification)).all()
        mine = [n.id for n in rows if n.project.code == code]
        theirs = [n.id for n in rows if n.project.code == other_code]
    assert mine
    assert theirs
    login(owner)
    response = post_form(client, "/my/notifications/read", {"ids": [mine[0], *theirs]})
    assert response.status_code == 302
    with app.app_context():
        read = set(db.session.scalars(select(NotificationRead.notification_id)))
    assert read == {mine[0]}
    post_form(client, "/my/notifications/read", {"all": "1"})
    with app.app_context():
        read = set(db.session.scalars(select(NotificationRead.notification_id)))
    assert read == set(mine)
    html = client.get("/my/notifications").get_data(as_text=True)
    assert "未读 0 条" in html
    assert 'class="badge"' not in html


def test_deadlines_mark_read_needs_csrf(app, client, make_user, login):
    owner, _code = _project(app, make_user)
    login(owner)
    response = client.post("/my/notifications/read", data={"all": "1"})
    assert response.status_code == 400


def test_deadlines_dashboard_lists_overdue_first_with_text_states(
    app, client, make_user, login, frozen_clock
):
    _owner, late_code = _project(app, make_user, land=date(2026, 1, 5))
    _owner2, soon_code = _project(app, make_user, land=date(2026, 11, 20))
    frozen_clock.freeze(date(2026, 11, 23))
    staff = make_user("staff")
    login(staff)
    page = client.get("/staff/deadlines")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = _rows(html, "alerts-caption")
    # The late project's first step is overdue (planned Tue 2026-01-06: 321 days before today) …
    late = _alert(rows, late_code, "SP-01")
    assert late is not None, rows
    assert (late[0], late[5], late[6]) == ("超时 321 天(严重)", "2026-01-06", "未开始")
    # … the new project's first step (planned Mon 2026-11-23, today) is in warning, alone.
    soon = _alert(rows, soon_code, "SP-01")
    assert soon is not None, rows
    assert (soon[0], soon[5]) == ("到期预警(今日到期)", "2026-11-23")
    assert [r for r in rows if r[1].startswith(soon_code)] == [soon]
    # Overdue first: every 超时 row comes before every 到期预警 row.
    states = [r[0].split()[0].split("(")[0] for r in rows]
    assert states == sorted(states, key=lambda s: s != "超时")
    assert f'href="/projects/{late_code}/roadmap"' in html.split('id="alerts-caption"')[1]
    projects = {r[0]: r for r in _rows(html, "projects-caption")}
    # Columns: code, name, category, land contract, plan / target, margin, forecast, warnings,
    # overdue: the counts agree with the alerts table.
    assert projects[late_code][4].endswith("/ 160 天")
    assert int(projects[late_code][8]) == sum(1 for r in rows if r[1].startswith(late_code))
    assert (projects[soon_code][7], projects[soon_code][8]) == ("1", "0")


def test_deadlines_dashboard_dates_come_from_the_plan_not_the_stored_cache(
    app, client, make_user, login, frozen_clock
):
    """A step whose stored planned finish is missing (never re-planned) or stale still shows the
    plan's finish and days late, as the alert state does — never a 500 or a wrong count."""
    _owner, blank_code = _project(app, make_user, land=date(2026, 1, 5))
    _owner2, stale_code = _project(app, make_user, land=date(2026, 1, 5))
    with app.app_context():
        for code, stored in ((blank_code, None), (stale_code, date(2020, 1, 1))):
            project_id = db.session.scalar(select(Project.id).where(Project.code == code))
            db.session.execute(
                update(RoadmapStep)
                .where(RoadmapStep.project_id == project_id)
                .values(planned_finish=stored)
            )
        db.session.commit()
    frozen_clock.freeze(date(2026, 11, 23))
    login(make_user("staff"))
    page = client.get("/staff/deadlines")
    assert page.status_code == 200
    rows = _rows(page.get_data(as_text=True), "alerts-caption")
    for code in (blank_code, stale_code):
        row = _alert(rows, code, "SP-01")
        assert row is not None, rows
        assert (row[0], row[5]) == ("超时 321 天(严重)", "2026-01-06")


def test_deadlines_check_gives_projects_without_a_roadmap_one(
    app, client, runner, make_user, login
):
    """A project registered before roadmaps existed (no steps) gets its roadmap from the cron."""
    owner = make_user("enterprise")
    with app.app_context():
        project = factories.enterprise_with_project(db.session.get(User, owner.id))
        project.land_contract_date = date(2026, 3, 2)
        code = project.code
        db.session.commit()
        assert not project.steps
    login(owner)
    before = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert 'id="step-SP-01"' not in before
    result = runner.invoke(args=["check-deadlines", "--yes", "--date", "2026-03-05"])
    assert result.exit_code == 0, result.output
    assert "1 个项目" in result.output
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.code == code))
        assert {"SP-01", "SP-05", "SP-15"} <= {s.key for s in project.steps}
        assert all(s.planned_finish for s in project.steps if s.status == "未开始")
        project_id, steps = project.id, len(project.steps)
    assert _count(app, project_id=project_id, kind="超时") >= 1
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert 'id="step-SP-01"' in page
    assert re.search(r"计划 \d+ 天 / 目标 160 天", page)
    # Idempotent: a second run creates no second copy.
    assert runner.invoke(args=["check-deadlines", "--yes", "--date", "2026-03-05"]).exit_code == 0
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(RoadmapStep)
                .join(Project)
                .where(Project.code == code)
            )
            == steps
        )


def test_deadlines_seed_gives_projects_without_a_roadmap_one(app, runner, make_user):
    staff = make_user("staff")
    with app.app_context():
        user = db.session.get(User, staff.id)
        enterprise = market.create_enterprise("天津补建示范有限公司", factories.uscc())
        code = market.create_project(
            user,
            code="2026-120116-34-01-000950",
            name="旧项目",
            category="国有",
            location="天津滨海高新区",
            enterprise=enterprise,
        ).code
        db.session.commit()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "已为 1 个尚无路线图的项目生成审批路线图" in result.output
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.code == code))
        assert project.steps
        assert project.steps[0].planned_finish is None  # no land-contract date: nothing planned


def test_deadlines_dashboard_mine_keeps_staff_to_their_projects(
    app, client, make_user, login, frozen_clock
):
    _owner, served = _project(app, make_user, land=date(2026, 1, 5))
    _owner2, other = _project(app, make_user, land=date(2026, 1, 5))
    staff = make_user("staff")
    with app.app_context():
        user = db.session.get(User, staff.id)
        roadmaps.assign_staff(user, served, concierge=user, expert=None)
        db.session.commit()
    frozen_clock.freeze(date(2026, 11, 23))
    login(staff)
    html = client.get("/staff/deadlines?mine=1").get_data(as_text=True)
    assert served in html
    assert other not in html
    everything = client.get("/staff/deadlines").get_data(as_text=True)
    assert other in everything


def test_deadlines_dashboard_is_for_staff_and_admins_only(app, client, make_user, login):
    owner, _code = _project(app, make_user)
    assert client.get("/staff/deadlines").status_code == 302  # anonymous: to the login page
    login(owner)
    assert client.get("/staff/deadlines").status_code == 403
    html = client.get("/my/notifications").get_data(as_text=True)
    assert "到期预警</a>" not in html  # no dashboard link in the header for enterprises


def test_deadlines_header_links_for_staff(app, client, make_user, login):
    login(make_user("staff"))
    html = client.get("/").get_data(as_text=True)
    assert 'href="/staff/deadlines"' in html
    assert 'href="/my/notifications"' in html


def test_deadlines_header_is_safe_for_anonymous_and_lists_providers_own(
    app, client, make_user, login
):
    html = client.get("/").get_data(as_text=True)
    assert "/my/notifications" not in html
    # Providers read the notifications addressed to them (dates moved by a calendar change) …
    login(make_user("provider"))
    html = client.get("/").get_data(as_text=True)
    assert 'href="/my/notifications"' in html
    page = client.get("/my/notifications")
    assert page.status_code == 200
    # … and no project's deadline notices.
    assert "暂无通知" in page.get_data(as_text=True)


def test_deadlines_mark_all_read_twice_at_once_marks_each_once(app, make_user):
    """Two tabs' "mark all read" at once: each notification is read once and neither request
    fails (on PostgreSQL the second insert of the same row hit the primary key: a 500)."""
    owner, _code = _project(app, make_user)
    with app.app_context():
        roadmaps.check_deadlines(date(2026, 3, 5), 3)
        db.session.commit()
        ids = list(db.session.scalars(select(Notification.id)))
    assert ids
    first_flushed = threading.Event()
    results: list[object] = []

    def run(first: bool) -> None:
        if not first:
            first_flushed.wait(timeout=20)  # before any database access
        with app.app_context():
            try:
                count = roadmaps.mark_read(db.session.get(User, owner.id), ids)
                if first:
                    # Inserted, not committed: the second request now reads every notification
                    # as unread and inserts the same rows (on SQLite it waits for the lock).
                    first_flushed.set()
                    time.sleep(1)
                db.session.commit()
                results.append(count)
            except Exception as error:  # noqa: BLE001 - collected and asserted
                db.session.rollback()
                results.append(f"{type(error).__name__}: {error}")
            finally:
                first_flushed.set()

    threads = [threading.Thread(target=run, args=(first,)) for first in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [0, len(ids)], results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NotificationRead)) == len(ids)


def test_deadlines_stored_plans_follow_progress_direct_edits_and_the_day(
    app, client, make_user, login, frozen_clock
):
    """The dashboards read stored plans: what they show follows a step's progress (service), a
    land-contract date changed on the model alone (the session hooks) and a new day (no job)."""
    _owner, late = _project(app, make_user, land=date(2026, 1, 5))
    owner, soon = _project(app, make_user, land=date(2026, 11, 20))
    frozen_clock.freeze(date(2026, 11, 23))
    staff = make_user("staff")
    login(staff)

    def alerts() -> list[list[str]]:
        return _rows(client.get("/staff/deadlines").get_data(as_text=True), "alerts-caption")

    assert _alert(alerts(), late, "SP-01")[0] == "超时 321 天(严重)"
    assert _alert(alerts(), soon, "SP-01")[0] == "到期预警(今日到期)"
    with app.app_context():
        user = db.session.get(User, owner.id)
        roadmaps.record_progress(
            user, soon, "SP-01", status="办理中", started_on=date(2026, 11, 21)
        )
        db.session.commit()
    assert _alert(alerts(), soon, "SP-01")[0] == "到期预警(今日到期)"  # started, still due today
    frozen_clock.freeze(date(2026, 11, 24))  # a new day, before any daily job
    login(staff)  # the session from yesterday has ended
    assert _alert(alerts(), soon, "SP-01")[0] == "超时 1 天(轻度)"
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.code == late))
        project.land_contract_date = date(2026, 11, 20)  # no service: the hooks re-plan it
        db.session.commit()
    assert _alert(alerts(), late, "SP-01")[0] == "超时 1 天(轻度)"
    listing = client.get(f"/staff/projects?q={late}").get_data(as_text=True)
    assert _rows(listing, "projects-caption")[0][4] == "2026-11-20"


def test_deadlines_dashboards_page_and_filter(app, client, make_user, login, frozen_clock):
    from registry.services.roadmaps import boards

    codes = {
        category: _project(app, make_user, land=date(2026, 1, 5), category=category)[1]
        for category in ("民营/外资", "国有", "简易低风险厂房")
    }
    frozen_clock.freeze(date(2026, 11, 23))
    login(make_user("staff"))
    boards.PAGE_SIZE, size = 2, boards.PAGE_SIZE
    try:
        seen, url = [], "/staff/deadlines"
        while url:
            html = client.get(url).get_data(as_text=True)
            seen += [(r[1], r[3]) for r in _rows(html, "alerts-caption")]
            found = re.search(r'href="([^"]+)" rel="next"', html)
            url = found.group(1).replace("&amp;", "&") if found else None
        assert len(seen) == len(set(seen)) > 2
        assert f"超时 {len(seen)} 项" in html
        first = client.get("/staff/projects").get_data(as_text=True)
        assert len(_rows(first, "projects-caption")) == 2
        assert 'rel="next"' in first
    finally:
        boards.PAGE_SIZE = size
    html = client.get("/staff/deadlines?category=国有&state=overdue").get_data(as_text=True)
    shown = {r[1] for r in _rows(html, "alerts-caption")}
    assert shown == {codes["国有"]}
    html = client.get(f"/staff/projects?q={codes['国有'][-6:]}").get_data(as_text=True)
    assert [r[0] for r in _rows(html, "projects-caption")] == [codes["国有"]]
    assert "没有符合条件的项目" in client.get("/staff/projects?state=on_track").get_data(
        as_text=True
    )
    bad = client.get("/staff/deadlines?category=x&state=y&department=z&after=..")
    assert bad.status_code == 200
    assert "项目类别无效,已忽略。" in bad.get_data(as_text=True)


def test_deadlines_another_day_is_asked_for_and_kept_in_range(app, runner):
    """A tester's finding (stop 29): `check-deadlines --date 9999-12-31` on a live site expired
    every qualification, recorded 资质过期 deductions and notified providers, then crashed with a
    traceback. Another day is asked for first (declined: nothing written), and a day outside
    2000–2099 is refused in Chinese."""
    with app.app_context():
        before = db.session.scalar(select(func.count(AuditEntry.id)))
    declined = runner.invoke(args=["check-deadlines", "--date", "2099-12-31"], input="n\n")
    assert declined.exit_code == 1
    assert "将以 2099-12-31 为“今天”运行" in declined.output
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == before
    for command in ("check-deadlines", "recompute-grades"):
        refused = runner.invoke(args=[command, "--yes", "--date", "9999-12-31"])
        assert refused.exit_code == 2
        assert "日期须在 2000-01-01 至 2099-12-31 之间" in refused.output
        assert "Traceback" not in refused.output
    today = runner.invoke(args=["check-deadlines"])  # today itself asks nothing
    assert today.exit_code == 0, today.output
    # The calendar's last year runs (it aborted asking about 2100: a tester, stop 31).
    last = runner.invoke(args=["check-deadlines", "--yes", "--date", "2099-01-05"])
    assert last.exit_code == 0, last.output
    assert "2099 年尚无官方放假安排" in last.output
