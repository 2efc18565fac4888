"""Periodic evaluation (定期考评): periods, score entry by form and by CSV/XLSX file, department
scoping (form, file and direct URL), append-only revisions guarded in the ORM and by database
triggers, corrections after publication, concurrent entry, and the public profile section."""

from __future__ import annotations

import codecs
import io
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from registry.extensions import db
from registry.kernel import clock
from registry.models import AuditEntry, EvaluationPeriod, Provider, ScoreEntry, User
from registry.pure import score_files
from registry.services import evaluations
from registry.services.errors import Forbidden, RegistryError
from tests import factories
from tests.conftest import csrf_from, post_form

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

HEADER = "统一社会信用代码,机构名称,技术性,规范性,工作实效,服务水平,备注"


@dataclass
class World:
    """Two regulators (市生态环境局, 市水务局) and providers in and out of their scopes."""

    sthj: type
    sw: type
    sthj_only: str  # offers ZJ-03 (环评, 市生态环境局) only
    sw_only: str  # offers ZJ-04 (市水务局) only
    both: str  # offers both
    sthj_names: dict[str, str]
    period_id: int  # an open 市生态环境局 period
    sw_period_id: int  # an open 市水务局 period


def _world(app, make_user) -> World:
    sthj, sw = make_user("regulator", department="STHJ"), make_user("regulator", department="SW")
    with app.app_context():
        one = factories.active_provider(("ZJ-03",))
        two = factories.active_provider(("ZJ-04",))
        three = factories.active_provider(("ZJ-03", "ZJ-04"))
        period = evaluations.open_period(
            db.session.get(User, sthj.id),
            name="2026年上半年",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 6, 30),
        )
        sw_period = evaluations.open_period(
            db.session.get(User, sw.id),
            name="2026年上半年",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 6, 30),
        )
        db.session.commit()
        return World(
            sthj,
            sw,
            one.uscc,
            two.uscc,
            three.uscc,
            {one.uscc: one.name, three.uscc: three.name},
            period.id,
            sw_period.id,
        )


def _scores(technical=90, compliance=80, effectiveness=70, service=60) -> dict:
    return {
        "technical": technical,
        "compliance": compliance,
        "effectiveness": effectiveness,
        "service": service,
    }


def _enter(app, user, period_id, uscc, *, submit=True, key=None, reason=None, **scores):
    with app.app_context():
        entry = evaluations.enter_scores(
            db.session.get(User, user.id),
            period_id,
            uscc,
            _scores(**scores),
            submit=submit,
            submission_key=key or uuid.uuid4().hex,
            reason=reason,
        )
        db.session.commit()
        return entry.id


def _act(app, user, action, period_id):
    with app.app_context():
        action(db.session.get(User, user.id), period_id)
        db.session.commit()


def _count(app, model=ScoreEntry) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def _denials(app, user) -> list[AuditEntry]:
    with app.app_context():
        return db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "evaluation.denied", AuditEntry.actor_id == user.id
            )
        ).all()


def _csv(rows, *, header=HEADER, encoding="utf-8-sig") -> bytes:
    return "\r\n".join([header, *rows]).encode(encoding)


def _upload(client, period_id, content: bytes, name="scores.csv", **fields):
    data = {"file": (io.BytesIO(content), name), "mode": "submit", **fields}
    return post_form(client, f"/regulator/evaluations/{period_id}/upload", data)


def _page(response) -> str:
    return response.get_data(as_text=True)


# ---------------------------------------------------------------------- periods and the form


def test_evaluations_a_regulator_runs_a_period_in_the_browser(app, make_user, login, client):
    """Open a period, enter a draft and a submitted score by form, submit drafts, close, publish;
    the public profile shows the published totals and published_totals() reports them."""
    world = _world(app, make_user)
    login(world.sthj)
    dashboard = _page(client.get("/regulator/evaluations"))
    assert "2026年上半年" in dashboard
    assert "开始新的考评周期" in dashboard
    opened = post_form(
        client,
        "/regulator/evaluations/open",
        {
            "name": "2025年下半年",
            "starts_on": "2025-07-01",
            "ends_on": "2025-12-31",
        },
    )
    assert opened.status_code == 302
    period_id = int(opened.headers["Location"].rstrip("/").split("/")[-1])
    page = _page(client.get(f"/regulator/evaluations/{period_id}"))
    assert world.sthj_only in page
    assert world.both in page
    assert world.sw_only not in page  # outside 市生态环境局's scope

    url = f"/regulator/evaluations/{period_id}/providers/{world.sthj_only}/score"
    form = _page(client.get(url))
    key = re.search(r'name="submission_key" type="hidden" value="([0-9a-f]+)"', form).group(1)
    fields = {
        "c_technical": "90",
        "c_compliance": "85.5",
        "c_effectiveness": "80",
        "c_service": "70",
        "submission_key": key,
        "based_on": "0",  # the revision the form showed: none yet
        "action": "draft",
    }
    assert post_form(client, url, fields).status_code == 302
    assert post_form(client, url, fields).status_code == 302  # the same form again: one row
    other = f"/regulator/evaluations/{period_id}/providers/{world.both}/score"
    submitted = post_form(client, other, {**fields, "submission_key": "k2", "action": "submit"})
    assert submitted.status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(ScoreEntry).order_by(ScoreEntry.id)).all()
        assert [(r.state, r.total, r.revision) for r in rows] == [
            ("草稿", Decimal("81.38"), 1),  # 0.25 × (90 + 85.5 + 80 + 70) = 81.375 → 81.38
            ("已提交", Decimal("81.38"), 1),
        ]
        assert rows[0].scores == {
            "technical": 90,
            "compliance": 85.5,
            "effectiveness": 80,
            "service": 70,
        }

    closing = post_form(client, f"/regulator/evaluations/{period_id}/close", {})
    assert "尚有 1 家机构的得分是草稿" in _page(client.get(closing.headers["Location"]))
    assert post_form(client, f"/regulator/evaluations/{period_id}/submit", {}).status_code == 302
    post_form(client, f"/regulator/evaluations/{period_id}/close", {})
    post_form(client, f"/regulator/evaluations/{period_id}/publish", {"confirmed": "1"})
    with app.app_context():
        period = db.session.get(EvaluationPeriod, period_id)
        assert period.status == "已发布"
        assert period.published_at is not None
        provider = db.session.scalar(select(Provider).where(Provider.uscc == world.sthj_only))
        assert evaluations.published_totals(provider.id, date(2025, 1, 1)) == [
            (date(2025, 12, 31), Decimal("81.38"), "STHJ")
        ]
        assert evaluations.published_totals(provider.id, date(2026, 1, 1)) == []
    profile = _page(client.get(f"/providers/{world.sthj_only}"))
    assert "定期考评" in profile
    assert "2025年下半年" in profile
    assert "81.38" in profile
    # The still-open period of the same provider is not public.
    assert "2026年上半年" not in profile


def test_evaluations_form_errors_are_shown_in_chinese_and_store_nothing(
    app, make_user, login, client
):
    world = _world(app, make_user)
    login(world.sthj)
    url = f"/regulator/evaluations/{world.period_id}/providers/{world.sthj_only}/score"
    base = {
        "c_technical": "90",
        "c_compliance": "80",
        "c_effectiveness": "70",
        "c_service": "60",
        "submission_key": "k",
        "based_on": "0",
        "action": "submit",
    }
    for field, value, message in [
        ("c_technical", "101", "得分须在 0–100 之间"),
        ("c_compliance", "-1", "得分须在 0–100 之间"),
        ("c_service", "abc", "不是有效的分数"),
        ("c_service", "=1+1", "不是有效的分数"),
        ("c_effectiveness", "80.123", "最多保留两位小数"),
        ("c_effectiveness", "", "请填写“工作实效”得分"),
    ]:
        response = post_form(client, url, {**base, field: value})
        assert response.status_code == 200, (field, value)
        assert message in _page(response), (field, value)
    # Four bad scores are told at once (they were told one per try).
    every = post_form(
        client,
        url,
        {
            **base,
            "c_technical": "101",
            "c_compliance": "88.123",
            "c_effectiveness": "abc",
            "c_service": "",
        },
    )
    page = _page(every)
    for message in (
        "得分须在 0–100 之间",
        "最多保留两位小数",
        "不是有效的分数",
        "请填写“服务水平”得分",
    ):
        assert message in page, message
    with app.app_context():
        assert db.session.scalars(select(ScoreEntry)).all() == []
    assert post_form(client, url, {**base, "c_technical": "９５"}).status_code == 302  # full-width
    with app.app_context():
        assert [e.scores["technical"] for e in db.session.scalars(select(ScoreEntry))] == [95]


def test_evaluations_periods_follow_their_rules(app, make_user):
    world = _world(app, make_user)
    provider_account = make_user("provider")
    with app.app_context():
        user = db.session.get(User, world.sthj.id)
        with pytest.raises(RegistryError, match="时间重叠"):
            evaluations.open_period(
                user, name="春季", starts_on=date(2026, 6, 1), ends_on=date(2026, 7, 31)
            )
        with pytest.raises(RegistryError, match="不能早于"):
            evaluations.open_period(user, starts_on=date(2027, 6, 1), ends_on=date(2027, 1, 1))
        with pytest.raises(RegistryError, match="操作未执行"):
            evaluations.publish_period(user, world.period_id)  # not closed yet
        assert evaluations.half_year(date(2026, 7, 1)) == (
            "2026年下半年",
            date(2026, 7, 1),
            date(2026, 12, 31),
        )
        with pytest.raises(Forbidden):
            evaluations.open_period(db.session.get(User, provider_account.id))
    _act(app, world.sthj, evaluations.close_period, world.period_id)
    with app.app_context(), pytest.raises(RegistryError, match="操作未执行"):
        evaluations.close_period(db.session.get(User, world.sthj.id), world.period_id)


def test_evaluations_period_name_follows_its_days_not_today(app, make_user, frozen_clock):
    """A tester (stop 31): in late 2027, a period for 2028's first half with a blank name was
    named "2027年下半年" (today's half-year), and the real 2027 H2 could then not be opened. A
    blank name is the half-year the days lie in; a half-year name must match the days."""
    regulator = make_user("regulator", department="STHJ")
    frozen_clock.freeze(frozen_clock.at(date(2027, 12, 23), 10))
    with app.app_context():
        user = db.session.get(User, regulator.id)
        with pytest.raises(RegistryError, match="请改为“2028年上半年”或清空名称"):
            evaluations.open_period(
                user, name="2027年下半年", starts_on=date(2028, 1, 1), ends_on=date(2028, 6, 30)
            )
        ahead = evaluations.open_period(user, starts_on=date(2028, 1, 1), ends_on=date(2028, 6, 30))
        late = evaluations.open_period(user, starts_on=date(2027, 8, 1), ends_on=date(2027, 12, 31))
        year = evaluations.open_period(user, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
        db.session.commit()
        assert (ahead.name, late.name) == ("2028年上半年", "2027年下半年")
        assert year.name == "2026-01-01 至 2026-12-31"


def test_evaluations_criteria_and_weights_are_configurable_per_department(app, make_user):
    world = _world(app, make_user)
    app.config["EVALUATION_CRITERIA"] = {
        "SW": [
            {"code": "quality", "name": "成果质量", "weight": "0.6"},
            {"code": "timeliness", "name": "时效", "weight": "0.4"},
        ],
        "ZJW": [
            {"code": "a", "name": "甲", "weight": 0.5},
            {"code": "b", "name": "乙", "weight": 0.6},
        ],
    }
    with app.app_context():
        sw = db.session.get(User, world.sw.id)
        period = evaluations.open_period(
            sw, name="2026年下半年", starts_on=date(2026, 7, 1), ends_on=date(2026, 12, 31)
        )
        assert [c["name"] for c in period.criteria] == ["成果质量", "时效"]
        entry = evaluations.enter_scores(
            sw,
            period,
            world.sw_only,
            {"quality": "85", "timeliness": "72.5"},
            submit=True,
            submission_key="cfg",
        )
        assert entry.total == Decimal("80.00")  # 0.6 × 85 + 0.4 × 72.5
        # Departments without their own list fall back to the built-in default …
        assert [c["name"] for c in evaluations.criteria_for("STHJ")] == [
            "技术性",
            "规范性",
            "工作实效",
            "服务水平",
        ]
        # … and weights that do not sum to 1 are refused with a clear message.
        with pytest.raises(RegistryError, match="权重之和须为 1"):
            evaluations.criteria_for("ZJW")
        # The period already open keeps the criteria it was opened with.
        assert len(db.session.get(EvaluationPeriod, world.period_id).criteria) == 4


# ---------------------------------------------------------------------- department scoping


def test_evaluations_another_department_is_refused_by_form_file_and_url(
    app, make_user, login, client
):
    """A 市水务局 regulator can neither score a 市生态环境局-only provider (form, file) nor read the
    other department's period or drafts by URL; nothing is stored and each attempt is audited."""
    world = _world(app, make_user)
    _enter(app, world.sthj, world.period_id, world.sthj_only, submit=False)  # a draft
    before = _count(app)
    login(world.sw)
    other = world.period_id
    for url in [
        f"/regulator/evaluations/{other}",
        f"/regulator/evaluations/{other}/providers/{world.sthj_only}",
        f"/regulator/evaluations/{other}/providers/{world.sthj_only}/score",
        f"/regulator/evaluations/{other}/template.csv",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert world.sthj_names[world.sthj_only] not in _page(response)
    fields = {
        "c_technical": "1",
        "c_compliance": "1",
        "c_effectiveness": "1",
        "c_service": "1",
        "submission_key": "x",
        "action": "submit",
    }
    # The other department's period, and its own period with a provider outside its scope.
    for url in [
        f"/regulator/evaluations/{other}/providers/{world.sthj_only}/score",
        f"/regulator/evaluations/{world.sw_period_id}/providers/{world.sthj_only}/score",
    ]:
        assert post_form(client, url, fields).status_code == 404, url
    for action in ("submit", "close", "publish"):
        assert post_form(client, f"/regulator/evaluations/{other}/{action}", {}).status_code == 404
    assert _upload(client, other, _csv([f"{world.sthj_only},,1,1,1,1,"])).status_code == 404
    # Its own period, but the file names a provider of the other department only.
    rejected = _upload(
        client,
        world.sw_period_id,
        _csv(
            [
                f"{world.sw_only},,90,90,90,90,",
                f"{world.sthj_only},,1,1,1,1,",
            ]
        ),
    )
    assert rejected.status_code == 200
    assert "不在本周期考评范围内" in _page(rejected)
    assert "第 3 行" in _page(rejected)
    assert _count(app) == before  # nothing stored, not even the good row
    with app.app_context():
        period = db.session.get(EvaluationPeriod, other)
        assert period.status == "进行中"
    denials = _denials(app, world.sw)
    assert len(denials) == 11
    assert all(d.outcome == "denied" for d in denials)
    assert any(world.sthj_only in (d.detail or "") for d in denials)  # the file's offending code
    # The service refuses on its own, whatever the web layer does.
    with app.app_context():
        sw = db.session.get(User, world.sw.id)
        with pytest.raises(Forbidden):
            evaluations.enter_scores(
                sw, other, world.sthj_only, _scores(), submit=True, submission_key="direct"
            )
        with pytest.raises(Forbidden):
            evaluations.enter_scores(
                sw,
                world.sw_period_id,
                world.sthj_only,
                _scores(),
                submit=True,
                submission_key="direct",
            )
        with pytest.raises(Forbidden):
            evaluations.score_history(sw, other, world.sthj_only)
    # A provider offering both departments' items is scored by each in its own period.
    _enter(app, world.sw, world.sw_period_id, world.both)
    _enter(app, world.sthj, world.period_id, world.both)


# ---------------------------------------------------------------------- evidence


def test_evaluations_published_scores_are_immutable_in_the_orm_and_the_database(app, make_user):
    world = _world(app, make_user)
    entry_id = _enter(app, world.sthj, world.period_id, world.sthj_only)
    _act(app, world.sthj, evaluations.close_period, world.period_id)
    _act(app, world.sthj, evaluations.publish_period, world.period_id)
    with app.app_context():
        entry = db.session.get(ScoreEntry, entry_id)
        entry.total = Decimal("100")
        with pytest.raises(PermissionError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(ScoreEntry, entry_id))
        with pytest.raises(PermissionError, match="append-only"):
            db.session.flush()
        db.session.rollback()
    for statement in (
        "UPDATE score_entries SET total = 100 WHERE id = :id",
        "UPDATE score_entries SET state = '草稿'",
        "DELETE FROM score_entries WHERE id = :id",
    ):
        with app.app_context():
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement), {"id": entry_id})
            db.session.rollback()
    with app.app_context():
        entry = db.session.get(ScoreEntry, entry_id)
        assert (entry.total, entry.state) == (Decimal("75.00"), "已提交")


def test_evaluations_a_correction_is_a_new_revision_with_its_reason(app, make_user, login, client):
    world = _world(app, make_user)
    _enter(app, world.sthj, world.period_id, world.sthj_only, technical=60)  # total 67.50
    _act(app, world.sthj, evaluations.close_period, world.period_id)
    _act(app, world.sthj, evaluations.publish_period, world.period_id)
    login(world.sthj)
    url = f"/regulator/evaluations/{world.period_id}/providers/{world.sthj_only}/score"
    fields = {
        "c_technical": "100",
        "c_compliance": "80",
        "c_effectiveness": "70",
        "c_service": "60",
        "submission_key": "fix-1",
        "based_on": "1",  # the published revision the form showed
        "action": "correction",
    }
    refused = post_form(client, url, fields)
    assert refused.status_code == 200
    assert "请填写更正原因" in _page(refused)
    same = post_form(client, url, {**fields, "c_technical": "60", "reason": "复核"})
    assert "与当前得分相同" in _page(same)
    fixed = post_form(client, url, {**fields, "reason": "技术性得分录入错误,经复核更正"})
    assert fixed.status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(ScoreEntry).order_by(ScoreEntry.revision)).all()
        assert [(r.revision, r.state, r.total, r.after_publication) for r in rows] == [
            (1, "已提交", Decimal("67.50"), False),
            (2, "更正", Decimal("77.50"), True),
        ]
        assert rows[1].reason == "技术性得分录入错误,经复核更正"
        provider_id = rows[0].provider_id
        # The correction counts at once for the credit computation.
        assert evaluations.published_totals(provider_id, date(2026, 1, 1)) == [
            (date(2026, 6, 30), Decimal("77.50"), "STHJ")
        ]
    history = _page(
        client.get(f"/regulator/evaluations/{world.period_id}/providers/{world.sthj_only}")
    )
    assert "第 1 版" in history
    assert "第 2 版" in history
    assert "67.50" in history
    assert "77.50" in history
    assert "经复核更正" in history
    profile = _page(client.get(f"/providers/{world.sthj_only}"))
    assert "67.50 → 77.50" in profile
    assert "经复核更正" in profile


def test_evaluations_drafts_stay_private_and_only_published_periods_are_public(
    app, make_user, client
):
    world = _world(app, make_user)
    _enter(app, world.sthj, world.period_id, world.sthj_only, submit=False, technical=11)
    assert "暂无已发布的定期考评结果" in _page(client.get(f"/providers/{world.sthj_only}"))
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.uscc == world.sthj_only))
        assert evaluations.published_totals(provider.id, date(2000, 1, 1)) == []
        assert evaluations.public_scores(provider.id) == []


# ---------------------------------------------------------------------- concurrency


@pytest.mark.concurrency
def test_evaluations_concurrent_entry_loses_and_duplicates_nothing(app, make_user):
    """N regulators' sessions × M forms each for the same provider, every form posted twice by
    racing threads: exactly N×M revisions, numbered 1..N×M, and no error for anyone."""
    world = _world(app, make_user)
    writers, rounds = 4, 3
    barrier = threading.Barrier(writers * 2)
    errors: list[str] = []

    def enter(writer: int):
        barrier.wait(timeout=20)  # before any database access: on SQLite the first holds the lock
        for n in range(rounds):
            for _attempt in range(2):
                with app.app_context():
                    try:
                        evaluations.enter_scores(
                            db.session.get(User, world.sthj.id),
                            world.period_id,
                            world.sthj_only,
                            _scores(technical=writer * 10 + n),
                            submit=True,
                            submission_key=f"writer-{writer}-{n}",
                        )
                        db.session.commit()
                    except Exception as error:  # noqa: BLE001 - collected and asserted
                        db.session.rollback()
                        errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=enter, args=(w,)) for w in range(writers) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        rows = db.session.scalars(select(ScoreEntry)).all()
        assert len(rows) == writers * rounds
        assert sorted(r.revision for r in rows) == list(range(1, writers * rounds + 1))
        assert len({r.submission_key for r in rows}) == writers * rounds


def test_evaluations_close_and_entries_racing_never_leave_a_draft_in_a_closed_period(
    app, make_user
):
    """A close racing draft entries: either the close wins (later entries become corrections,
    which need a reason) or the drafts win (the close is refused). Never a closed period whose
    current score is a draft."""
    world = _world(app, make_user)
    _enter(app, world.sthj, world.period_id, world.both)
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def draft():
        barrier.wait(timeout=20)
        with app.app_context():
            try:
                evaluations.enter_scores(
                    db.session.get(User, world.sthj.id),
                    world.period_id,
                    world.sthj_only,
                    _scores(),
                    submit=False,
                    submission_key=uuid.uuid4().hex,
                )
                db.session.commit()
                outcomes.append("draft")
            except RegistryError as error:
                db.session.rollback()
                outcomes.append(error.message)

    def close():
        barrier.wait(timeout=20)
        with app.app_context():
            try:
                evaluations.close_period(db.session.get(User, world.sthj.id), world.period_id)
                db.session.commit()
                outcomes.append("closed")
            except RegistryError as error:
                db.session.rollback()
                outcomes.append(error.message)

    threads = [
        threading.Thread(target=draft),
        threading.Thread(target=draft),
        threading.Thread(target=close),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 3
    with app.app_context():
        period = db.session.get(EvaluationPeriod, world.period_id)
        drafts = [e for e in evaluations.current_entries(period).values() if e.state == "草稿"]
        assert period.status == "进行中" or drafts == [], outcomes


# ---------------------------------------------------------------------- files


def _stored(app) -> list[tuple[str, dict, str]]:
    with app.app_context():
        return [
            (e.provider.uscc, e.scores, e.state)
            for e in db.session.scalars(select(ScoreEntry).order_by(ScoreEntry.id))
        ]


def test_evaluations_csv_upload_stores_every_row_or_nothing(app, make_user, login, client):
    world = _world(app, make_user)
    login(world.sthj)
    good = _csv([f"{world.sthj_only},,90,80,70,60,按时提交", f"{world.both},,100,100,100,99.5,"])
    response = _upload(client, world.period_id, good)
    assert response.status_code == 302
    assert "保存 2 家机构的得分" in _page(client.get(response.headers["Location"]))
    assert [(u, s["service"], st) for u, s, st in _stored(app)] == [
        (world.sthj_only, 60, "已提交"),
        (world.both, 99.5, "已提交"),
    ]
    # The same file again changes nothing.
    again = _upload(client, world.period_id, good)
    assert "没有需要保存的变化" in _page(client.get(again.headers["Location"]))
    assert len(_stored(app)) == 2
    with app.app_context():
        audit = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "evaluation.upload")
            .order_by(AuditEntry.id)
        ).all()
        assert [a.after["stored"] for a in audit] == [2, 0]


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        (
            ["{a},,90,80,70"],
            "统一社会信用代码,机构名称,技术性,规范性,工作实效,备注",
            ["服务水平", "缺少此列"],
        ),
        (
            ["{a},,90,80,70,60,"],
            "代码,机构名称,技术性,规范性,工作实效,服务水平,备注",
            ["统一社会信用代码", "缺少此列"],
        ),
        (["{a},,101,80,70,60,"], HEADER, ["第 3 行", "技术性", "得分须在 0–100 之间"]),
        (["{a},,90,-5,70,60,"], HEADER, ["规范性", "得分须在 0–100 之间"]),
        (["{a},,90,80,七十,60,"], HEADER, ["工作实效", "不是有效的分数"]),
        (["{a},,90,80,=1+69,60,"], HEADER, ["“=1+69”不是有效的分数"]),
        (["{a},,90,80,70,,"], HEADER, ["服务水平", "未填写得分"]),
        (["{unknown},,90,80,70,60,"], HEADER, ["未找到该统一社会信用代码对应的中介机构"]),
        (["91120116MA05JQ1X2Y,,90,80,70,60,"], HEADER, ["校验"]),
        (
            ["{a},,90,80,70,60,", "{b},,90,80,70,60,", "{a},,80,80,80,80,"],
            HEADER,
            ["第 4 行", "与第 2 行的机构重复"],
        ),
        (["{a},别的公司,90,80,70,60,"], HEADER, ["机构名称", "不一致"]),
        ([], HEADER, ["没有数据行"]),
    ],
)
def test_evaluations_csv_errors_are_listed_by_row_and_column(
    app, make_user, login, client, rows, header, expected
):
    world = _world(app, make_user)
    login(world.sthj)
    codes = {"a": world.sthj_only, "b": world.both, "unknown": factories.uscc()}
    content = _csv([row.format(**codes) for row in rows], header=header)
    if rows and not any("{b}" in row for row in rows):
        # A good row first: the whole file is refused, so it is not stored either.
        content = content.replace(b"\r\n", f"\r\n{world.both},,1,2,3,4,\r\n".encode(), 1)
    response = _upload(client, world.period_id, content)
    page = _page(response)
    assert response.status_code == 200
    assert "未保存任何数据" in page
    for text_ in expected:
        assert text_ in page, text_
    assert _stored(app) == []


def test_evaluations_empty_and_unreadable_files_are_refused(app, make_user, login, client):
    world = _world(app, make_user)
    login(world.sthj)
    for content, name, message in [
        (b"", "scores.csv", "上传的文件是空的"),
        (b"   \r\n", "scores.csv", "上传的文件是空的"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "scores.xls", "不支持旧版 Excel"),
        (b"PK\x03\x04broken", "scores.xlsx", "无法读取该 XLSX 文件"),
        (b"\x00\x01\x02\xff\xfe" * 50, "scores.csv", "无法识别文件内容"),
        ("统一社会信用代码,技术性\r\n".encode(), "scores.csv", "缺少此列"),
        # An unclosed quote (it was read as one cell to the end of the file, then ignored).
        ('统一社会信用代码,"技术性\r\n'.encode(), "scores.csv", "引号不配对"),
        (_csv(['"91120116MA00002186,abc']), "scores.csv", "引号不配对"),
    ]:
        response = _upload(client, world.period_id, content, name)
        assert response.status_code == 200, name
        assert message in _page(response), (name, message)
    assert _stored(app) == []


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_evaluations_csv_in_utf8_with_or_without_bom_and_gbk_is_read(
    app, make_user, login, client, encoding
):
    world = _world(app, make_user)
    login(world.sthj)
    name = world.sthj_names[world.sthj_only]
    content = _csv([f"{world.sthj_only},{name},95,85,75,65,材料齐全"], encoding=encoding)
    assert content.startswith(codecs.BOM_UTF8) == (encoding == "utf-8-sig")
    assert _upload(client, world.period_id, content).status_code == 302
    with app.app_context():
        entry = db.session.scalars(select(ScoreEntry)).one()
        assert entry.note == "材料齐全"
        assert entry.total == Decimal("80.00")


def test_evaluations_formula_looking_cells_stay_data(app, make_user, login, client):
    """A note like =HYPERLINK(…) is stored as text; an XLSX formula is never evaluated (read as
    the value Excel cached; here none, and the message says so: it said 未填写得分, a tester at
    stop 30)."""
    world = _world(app, make_user)
    login(world.sthj)
    hostile = '"=HYPERLINK(""http://evil.example/"",""点我"")"'
    stored = _upload(client, world.period_id, _csv([f"{world.sthj_only},,90,80,70,60,{hostile}"]))
    assert stored.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(ScoreEntry)).one().note.startswith("=HYPERLINK(")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append([world.both, None, 90, "=50+50", 70, 60, None])
    out = io.BytesIO()
    workbook.save(out)
    response = _upload(client, world.period_id, out.getvalue(), "scores.xlsx")
    assert response.status_code == 200
    assert "规范性" in _page(response)
    assert "是公式,但文件中没有它的计算结果" in _page(response)
    assert "未填写得分" not in _page(response)
    assert len(_stored(app)) == 1


def test_evaluations_templates_round_trip_in_csv_and_xlsx(app, make_user, login, client):
    """Download the template, fill it in, upload it: every listed provider is scored. A provider
    whose name looks like a formula is written as inert text and still matches on upload."""
    world = _world(app, make_user)
    with app.app_context():
        hostile = factories.active_provider(("ZJ-10",), name='=HYPERLINK("http://x/")环境公司')
        hostile_code = hostile.uscc
        db.session.commit()
    login(world.sthj)
    base = f"/regulator/evaluations/{world.period_id}"
    csv_response = client.get(f"{base}/template.csv")
    assert csv_response.status_code == 200
    # A Chinese name for browsers (filename*), a readable ASCII one for clients that read only
    # filename (Werkzeug alone made that "--2026.csv").
    disposition = csv_response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="score-template-{world.period_id}.csv"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("考评得分模板-")
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = csv_response.data
    assert body.startswith(codecs.BOM_UTF8)
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == HEADER
    assert "'=HYPERLINK" in body.decode("utf-8-sig")
    assert {line.split(",")[0] for line in lines[1:]} == {world.sthj_only, world.both, hostile_code}
    filled = "\r\n".join(
        [lines[0]] + [line.replace(",,,,,", ",88,77,66,55,", 1) for line in lines[1:]]
    ).encode("utf-8-sig")
    assert _upload(client, world.period_id, filled, "filled.csv").status_code == 302
    assert {(u, s["technical"]) for u, s, _ in _stored(app)} == {
        (world.sthj_only, 88),
        (world.both, 88),
        (hostile_code, 88),
    }

    xlsx = client.get(f"{base}/template.xlsx")
    assert xlsx.status_code == 200
    workbook = load_workbook(io.BytesIO(xlsx.data))
    sheet = workbook.active
    assert [c.value for c in sheet[1]] == HEADER.split(",")
    names = {row[1].value: row[1] for row in sheet.iter_rows(min_row=2)}
    formula_like = next(cell for name, cell in names.items() if name.startswith("="))
    assert formula_like.data_type == "s"  # text, not a formula
    # The template carries the current scores; change one provider and upload.
    for row in sheet.iter_rows(min_row=2):
        assert row[2].value == 88
        if row[0].value == world.both:
            row[2].value = 99
    out = io.BytesIO()
    workbook.save(out)
    uploaded = _upload(client, world.period_id, out.getvalue(), "filled.xlsx")
    assert uploaded.status_code == 302
    flashed = _page(client.get(uploaded.headers["Location"]))
    assert "保存 1 家机构的得分" in flashed
    assert "2 家与当前得分相同" in flashed
    assert [s["technical"] for u, s, _ in _stored(app) if u == world.both] == [88, 99]


def test_evaluations_file_corrections_need_a_reason_after_the_period_ends(
    app, make_user, login, client
):
    world = _world(app, make_user)
    _enter(app, world.sthj, world.period_id, world.sthj_only)
    _enter(app, world.sthj, world.period_id, world.both)
    _act(app, world.sthj, evaluations.close_period, world.period_id)
    login(world.sthj)
    changed = _csv([f"{world.sthj_only},,90,80,70,60,", f"{world.both},,50,80,70,60,"])
    refused = _upload(client, world.period_id, changed)
    assert "第 3 行" in _page(refused)
    assert "须作为更正提交" in _page(refused)
    assert len(_stored(app)) == 2
    accepted = _upload(client, world.period_id, changed, reason="专家复核后更正")
    assert accepted.status_code == 302
    rows = _stored(app)
    assert len(rows) == 3
    assert rows[-1][0] == world.both
    assert rows[-1][2] == "更正"
    with app.app_context():
        assert db.session.scalars(
            select(ScoreEntry).order_by(ScoreEntry.id.desc())
        ).first().reason == ("专家复核后更正")


def test_evaluations_pages_render_for_the_regulator(app, make_user, login, client):
    world = _world(app, make_user)
    _enter(app, world.sthj, world.period_id, world.sthj_only, submit=False)
    login(world.sthj)
    page = client.get(f"/regulator/evaluations/{world.period_id}")
    html = _page(page)
    assert page.status_code == 200
    assert "草稿(第 1 版)" in html
    assert "提交全部草稿(1 家)" in html
    assert csrf_from(html)
    history = client.get(f"/regulator/evaluations/{world.period_id}/providers/{world.sthj_only}")
    assert history.status_code == 200
    assert "(当前)" in _page(history)
    assert "定期考评" in _page(client.get("/regulator/evaluations"))


def test_evaluations_publish_waits_for_the_end_or_an_early_close_and_a_confirmation(
    app, make_user, login, client
):
    """A half-year still running (to 12-31 on 12-07) is not published: closing it early needs a
    reason, stored and audited; publishing shows what becomes public and acts only when confirmed."""
    regulator = make_user("regulator", department="STHJ")
    with app.app_context():
        user = db.session.get(User, regulator.id)
        provider = factories.active_provider(("ZJ-03",), name="天津早结环境咨询有限公司")
        period = evaluations.open_period(user)  # the current half-year, still running
        scores = {c["code"]: 80 for c in period.criteria}
        evaluations.enter_scores(
            user, period, provider.uscc, scores, submit=True, submission_key="e1"
        )
        db.session.commit()
        period_id, ends_on, provider_id = period.id, period.ends_on, provider.id
    login(regulator)
    url = f"/regulator/evaluations/{period_id}"
    assert "提前结束原因" in _page(client.get(url))

    refused = post_form(client, f"{url}/close", {})
    assert "提前结束考评须填写原因" in _page(client.get(refused.headers["Location"]))

    def _stored() -> EvaluationPeriod:
        with app.app_context():
            return db.session.get(EvaluationPeriod, period_id)

    assert _stored().status == "进行中"
    # A period closed before its end without a reason (as before this rule) is not published.
    with app.app_context():
        db.session.execute(
            text("UPDATE evaluation_periods SET status = '已结束' WHERE id = :id"),
            {"id": period_id},
        )
        db.session.commit()
    early = post_form(client, f"{url}/publish", {"confirmed": "1"})
    assert f"考评周期至 {ends_on:%Y-%m-%d} 才结束,结束后方可发布结果" in _page(
        client.get(early.headers["Location"])
    )
    assert _stored().published_at is None
    with app.app_context():
        db.session.execute(
            text("UPDATE evaluation_periods SET status = '进行中' WHERE id = :id"),
            {"id": period_id},
        )
        db.session.commit()

    post_form(client, f"{url}/close", {"reason": "机构整合,提前汇总"})
    assert (_stored().status, _stored().close_reason) == ("已结束", "机构整合,提前汇总")
    with app.app_context():
        audited = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "evaluation.close_early")
        )
        assert audited.after["close_reason"] == "机构整合,提前汇总"

    asked = post_form(client, f"{url}/publish", {})
    assert asked.status_code == 200
    shown = _page(asked)
    for text_shown in (
        "请确认",
        "天津早结环境咨询有限公司",
        "80.00",
        "不能撤回",
        "机构整合,提前汇总",
    ):
        assert text_shown in shown
    assert (_stored().status, _stored().published_at) == ("已结束", None)
    done = post_form(client, f"{url}/publish", {"confirmed": "1"})
    assert "考评结果已发布" in _page(client.get(done.headers["Location"]))
    assert _stored().status == "已发布"
    # Published as 计入信用评价, it counts from the day it was closed, not from its planned last
    # day (a tester, stop 30: the grade and the trend left it out until 12-31).
    with app.app_context():
        totals = evaluations.published_totals(provider_id, date(2000, 1, 1))
    assert [(day, str(total)) for day, total, _ in totals] == [(clock.today(), "80.00")]


def test_evaluations_a_period_not_yet_begun_cannot_be_closed_or_published(app, make_user):
    """A tester (stop 30) opened next half-year, scored a firm, closed it "early" and published a
    result dated in the future on its public profile."""
    regulator = make_user("regulator", department="STHJ")
    with app.app_context():
        user = db.session.get(User, regulator.id)
        starts = date(clock.today().year + 1, 1, 1)
        period = evaluations.open_period(
            user, name="明年上半年", starts_on=starts, ends_on=starts + timedelta(days=180)
        )
        db.session.commit()
        with pytest.raises(RegistryError, match="尚未开始,不能结束考评或发布结果"):
            evaluations.close_period(user, period.id, reason="测试")
        db.session.rollback()
        assert db.session.get(EvaluationPeriod, period.id).status == "进行中"


def test_evaluations_parse_scores_reports_every_bad_score(app):
    from registry.services.errors import RegistryErrors
    from registry.services.evaluations.criteria import DEFAULT_CRITERIA, parse_scores

    criteria = [dict(c) for c in DEFAULT_CRITERIA]
    raw = {c["code"]: "101" for c in criteria}
    with pytest.raises(RegistryErrors) as caught:
        parse_scores(criteria, raw)
    assert [e.field for e in caught.value.errors] == [f"c_{c['code']}" for c in criteria]
    assert parse_scores(criteria, {c["code"]: "90.5" for c in criteria}) == {
        c["code"]: 90.5 for c in criteria
    }


def test_evaluations_a_score_saved_from_two_tabs_keeps_the_first_save(
    app, make_user, login, client
):
    """A tester (stop 30): tab B, opened before tab A saved 规范性 70, saved 80 as the next
    revision and silently put it back. The form carries the revision it showed; B is refused."""
    world = _world(app, make_user)
    _enter(app, world.sthj, world.period_id, world.sthj_only, submit=False)  # revision 1
    login(world.sthj)
    url = f"/regulator/evaluations/{world.period_id}/providers/{world.sthj_only}/score"

    def fields(page, **scores):
        hidden = dict(
            re.findall(r'name="(submission_key|based_on)" type="hidden" value="(\w+)"', page)
        )
        values = {"c_technical": "90", "c_compliance": "80", "c_effectiveness": "70"}
        return {**values, "c_service": "60", **scores, **hidden, "action": "draft"}

    tab_a, tab_b = _page(client.get(url)), _page(client.get(url))
    assert post_form(client, url, fields(tab_a, c_compliance="70")).status_code == 302
    refused = post_form(client, url, fields(tab_b, c_service="65"))
    assert refused.status_code == 200
    assert "已在别处保存为第 2 版,为免覆盖,本次未保存" in _page(refused)
    with app.app_context():
        rows = db.session.scalars(select(ScoreEntry).order_by(ScoreEntry.revision)).all()
        assert [(r.revision, r.scores["compliance"]) for r in rows] == [(1, 80), (2, 70)]
    # A form without the revision it showed is stale too.
    bare = {k: v for k, v in fields(_page(client.get(url))).items() if k != "based_on"}
    assert "本次未保存" in _page(post_form(client, url, bare))


def test_evaluations_empty_rows_do_not_count_towards_the_row_limit():
    """A tester (stop 30): one data row among 6,000 empty `,,,,,,` rows (or 20,000 formatted
    empty rows of a spreadsheet) was refused as over the 5,000-row limit. Rows with content
    count; row numbers stay the file's."""
    from openpyxl import Workbook

    header = HEADER.encode("utf-8-sig") + b"\r\n"
    data = (
        header + b",,,,,,\r\n" * 3 + b"91120116MA0000015H,x,90,80,70,60,\r\n" + b",,,,,,\r\n" * 60
    )
    rows = score_files.read_table(data, max_rows=5).rows
    assert len(rows) == 5  # the header, three empty rows, the data row (trailing empties dropped)
    assert rows[4][0] == "91120116MA0000015H"
    over = header + b"91120116MA0000015H,x,90,80,70,60,\r\n" * 6
    with pytest.raises(RegistryError, match="文件超过 5 行的上限"):
        score_files.read_table(over, max_rows=5)
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["91120116MA0000015H", "x", 90, 80, 70, 60, None])
    for row in range(3, 80):  # formatted, empty
        sheet.cell(row=row, column=1).number_format = "@"
        sheet.cell(row=row, column=3).value = None
    buffer = io.BytesIO()
    book.save(buffer)
    assert len(score_files.read_table(buffer.getvalue(), max_rows=5).rows) == 2


def test_evaluations_upload_finds_the_header_below_a_title_and_on_a_later_sheet(
    app, make_user, login, client
):
    """A tester (stop 30): a title row above the header was refused, and a workbook whose first
    sheet is not the data sheet got 缺少此列 without naming the sheet read. The header is found
    in the first rows of the first sheet that has one; row numbers stay the file's."""
    world = _world(app, make_user)
    login(world.sthj)
    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["请在“得分”工作表中填写。"])
    sheet = book.create_sheet("得分")
    sheet.append(["2026 年上半年 生态环境 中介服务机构考评得分"])
    sheet.append([])
    sheet.append(HEADER.split(","))
    sheet.append([world.sthj_only, None, 90, 80, 70, 101, None])
    out = io.BytesIO()
    book.save(out)
    refused = _page(_upload(client, world.period_id, out.getvalue(), "scores.xlsx"))
    assert "第 4 行" in refused  # the file's own row number, below the title and the header
    assert "得分须在 0–100 之间" in refused
    sheet.cell(row=4, column=6).value = 60
    out = io.BytesIO()
    book.save(out)
    assert _upload(client, world.period_id, out.getvalue(), "scores.xlsx").status_code == 302
    assert len(_stored(app)) == 1
    # A CSV with a title line is read the same way.
    titled = "考评得分\r\n".encode("utf-8-sig") + _csv([f"{world.both},,90,80,70,60,"])[3:]
    assert _upload(client, world.period_id, titled).status_code == 302
    assert len(_stored(app)) == 2
    # No sheet with the header: the message names the sheet it read.
    other = Workbook()
    other.active.title = "汇总"
    other.active.append(["机构", "得分"])
    out = io.BytesIO()
    other.save(out)
    page = _page(_upload(client, world.period_id, out.getvalue(), "scores.xlsx"))
    assert "未在工作表“汇总”的前 5 行中找到完整的表头" in page
    assert len(_stored(app)) == 2


def test_evaluations_new_period_form_offers_the_first_half_year_without_one(
    app, make_user, login, client
):
    """A tester (stop 30): the form to open a period offered the current half-year, which the
    department had already opened. It offers the first half-year from today without a period."""
    regulator = make_user("regulator", department="STHJ")
    login(regulator)
    name, starts_on, _ends = evaluations.half_year(clock.today())
    assert f'value="{name}"' in _page(client.get("/regulator/evaluations"))
    with app.app_context():
        evaluations.open_period(db.session.get(User, regulator.id))
        db.session.commit()
    following, next_start, _ = evaluations.half_year(starts_on + timedelta(days=200))
    page = _page(client.get("/regulator/evaluations"))
    assert f'value="{following}"' in page
    assert f'value="{next_start}"' in page
