"""Composite credit score and grade: weights, bands at every edge, the rolling window, the minimum
sample, the deduction table and re-normalisation; recomputation whenever an input changes (and
never a lost update when two commits race); regulators' behaviour entries scoped to their
department; the charts with their tables; and grades in search ranking on both backends."""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    Award,
    BehaviourEvent,
    Department,
    Engagement,
    Enterprise,
    EvaluationPeriod,
    OwnerRating,
    Project,
    Provider,
    SelectionRequest,
    ServiceItem,
    User,
)
from registry.search.base import SearchRequest
from registry.search.engine import get_engine
from registry.search.query import parse_query
from registry.services import grades
from tests.conftest import csrf_from
from tests.factories import active_provider, uscc

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

ON = date(2026, 6, 30)  # computations "as of" this day: window 2025-07-01 … 2026-06-30
_serial = itertools.count(1)


# ---------------------------------------------------------------------- building inputs


def _at(day: date, hour: int = 12) -> datetime:
    """A stored timestamp on a local (Asia/Shanghai) day."""
    return clock.at(day, hour)


def _engagement(provider: Provider, service_code: str = "ZJ-03") -> Engagement:
    """A confirmed engagement of the provider (request, award and all), flushed."""
    n = next(_serial)
    enterprise = Enterprise(uscc=uscc(), name=f"天津测试业主{n}有限公司")
    project = Project(
        code=f"2026-120116-47-09-{n:06d}",
        name="测试项目",
        category="民营/外资",
        location="天津滨海高新区",
        enterprise=enterprise,
    )
    item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == service_code))
    request = SelectionRequest(
        ref=f"XQ-T-{uuid.uuid4().hex[:10]}",
        project=project,
        service_item=item,
        method="直接选取",
        deadline=clock.now(),
    )
    award = Award(request=request, provider_id=provider.id, method="直接选取", reason="测试")
    engagement = Engagement(award=award, committed_days=10, status="已确认")
    db.session.add_all([enterprise, project, request, award, engagement])
    db.session.flush()
    return engagement


def rate(provider: Provider, parts, day: date, *, hidden: bool = False) -> OwnerRating:
    """An owner rating with five sub-scores (one number: all five alike) on a local day."""
    parts = [parts] * 5 if isinstance(parts, int) else list(parts)
    rating = OwnerRating(
        engagement=_engagement(provider),
        provider_id=provider.id,
        quality=parts[0],
        timeliness=parts[1],
        attitude=parts[2],
        fee=parts[3],
        conduct=parts[4],
        created_at=_at(day),
        hidden=hidden,
    )
    db.session.add(rating)
    db.session.flush()
    return rating


def event(provider: Provider, kind: str, day: date, **details) -> BehaviourEvent:
    """A behaviour event on a day."""
    row = BehaviourEvent(
        provider_id=provider.id,
        kind=kind,
        source=f"test:{uuid.uuid4().hex}",
        occurred_on=day,
        details=details,
    )
    db.session.add(row)
    db.session.flush()
    return row


def regulator_score(provider: Provider, total, ends_on: date, department: str = "STHJ"):
    """A published evaluation period of the department ending on a day, with one score."""
    from registry.models import ScoreEntry

    dept = db.session.scalar(select(Department).where(Department.code == department))
    period = EvaluationPeriod(
        department_id=dept.id,
        name=f"测试周期{next(_serial)}",
        starts_on=ends_on - timedelta(days=180),
        ends_on=ends_on,
        status="已发布",
        criteria=[{"code": "technical", "name": "技术性", "weight": "1"}],
        published_at=_at(ends_on),
    )
    db.session.add(period)
    db.session.flush()
    db.session.add(
        ScoreEntry(
            period_id=period.id,
            provider_id=provider.id,
            revision=1,
            scores={"technical": float(total)},
            total=Decimal(str(total)),
            state="已提交",
            submission_key=uuid.uuid4().hex,
        )
    )
    db.session.flush()
    return period


def _stored(provider_id: int) -> tuple[str | None, Decimal | None]:
    row = db.session.execute(
        select(Provider.grade, Provider.credit_score)
        .where(Provider.id == provider_id)
        .execution_options(populate_existing=True)
    ).one()
    return row.grade, row.credit_score


# ---------------------------------------------------------------------- computation


def test_grades_composite_uses_weights_bands_and_every_part(app):
    with app.app_context():
        provider = active_provider()
        rate(provider, 80, date(2026, 1, 10))
        rate(provider, 90, date(2026, 3, 10), hidden=True)  # a hidden comment still counts
        regulator_score(provider, 70, date(2025, 12, 31))
        event(provider, "投诉属实", date(2026, 5, 1))
        result = grades.compute(provider.id, ON)
        assert result.since == date(2025, 7, 1)
        assert (result.owner, result.owner_count) == (Decimal(85), 2)
        assert (result.regulator, result.regulator_count) == (Decimal(70), 1)
        assert result.behaviour == Decimal(90)
        # 0.5 × 85 + 0.3 × 70 + 0.2 × 90 = 81.5
        assert result.score == Decimal("81.50")
        assert result.grade == "A"
        assert result.weights == {
            "owner": Decimal("0.5"),
            "regulator": Decimal("0.3"),
            "behaviour": Decimal("0.2"),
        }


EDGES = [
    (90, "AA"),
    (89.8, "A"),
    (80, "A"),
    (79.8, "B"),
    (70, "B"),
    (69.8, "C"),
    (60, "C"),
    (59.8, "D"),
    (0, "D"),
    (100, "AA"),
]


@pytest.mark.parametrize(("average", "grade"), EDGES)
def test_grades_band_edges(app, average, grade):
    """Owner weight only, two ratings averaging exactly the score: every band edge and just
    below it."""
    app.config["CREDIT_WEIGHTS"] = {"owner": 1, "regulator": 0, "behaviour": 0}
    whole = int(average)
    parts = [whole] * 5 if average == whole else [whole + 1] * 4 + [whole]  # whole + 0.8
    with app.app_context():
        provider = active_provider()
        rate(provider, parts, date(2026, 2, 1))
        rate(provider, parts, date(2026, 3, 1))
        result = grades.compute(provider.id, ON)
        assert result.score == Decimal(str(average)).quantize(Decimal("0.01"))
        assert result.grade == grade


def test_grades_band_for_exact_thresholds_and_custom_bands(app):
    with app.app_context():
        bands = grades.settings().bands
        assert grades.band_for(Decimal("90.00"), bands) == "AA"
        assert grades.band_for(Decimal("89.99"), bands) == "A"
        assert grades.band_for(Decimal("60.00"), bands) == "C"
        assert grades.band_for(Decimal("59.99"), bands) == "D"
        app.config["CREDIT_BANDS"] = [["A", 85], ["B", 65], ["D", 0]]
        custom = grades.settings().bands
        assert grades.band_for(Decimal("84.99"), custom) == "B"
        assert grades.band_for(Decimal("64.99"), custom) == "D"


def test_grades_window_edges(app):
    """12 months to 2026-06-30 are 2025-07-01 … 2026-06-30, by local (Asia/Shanghai) day."""
    app.config["CREDIT_MIN_SAMPLE"] = {"owner": 1, "regulator": 1}
    with app.app_context():
        provider = active_provider()
        rate(provider, 10, date(2025, 6, 30))  # one day too old
        rate(provider, 60, date(2025, 7, 1))  # first day of the window
        rate(provider, 80, ON)  # last day
        rate(provider, 10, ON + timedelta(days=1))  # after the day computed for
        # 00:30 on 2025-07-01 in Shanghai is still 2025-06-30 in UTC: it counts.
        early = rate(provider, 70, date(2025, 7, 1))
        early.created_at = datetime(2025, 6, 30, 16, 30, tzinfo=UTC)
        event(provider, "其他违规", date(2025, 6, 30))  # outside
        event(provider, "其他违规", date(2025, 7, 1))  # inside: 5 points
        regulator_score(provider, 10, date(2025, 6, 30))  # outside
        regulator_score(provider, 90, ON)  # inside
        db.session.flush()
        result = grades.compute(provider.id, ON)
        assert (result.owner_count, result.owner) == (3, Decimal(70))
        assert (result.regulator_count, result.regulator) == (1, Decimal(90))
        assert [(d.kind, d.on) for d in result.deductions] == [("其他违规", date(2025, 7, 1))]
        assert result.behaviour == Decimal(95)
        assert grades.window(date(2024, 2, 29), 12) == (date(2023, 3, 1), date(2024, 2, 29))
        assert grades.window(date(2026, 3, 31), 1) == (date(2026, 3, 1), date(2026, 3, 31))


def test_grades_minimum_sample_gives_unrated(app):
    with app.app_context():
        provider = active_provider()
        rate(provider, 95, date(2026, 5, 1))
        one = grades.compute(provider.id, ON)
        assert (one.rated, one.grade, one.score) == (False, None, None)
        assert one.grade_label == "未评级"
        rate(provider, 95, date(2026, 5, 2))
        two = grades.compute(provider.id, ON)
        assert (two.rated, two.grade) == (True, "AA")

        scored_only = active_provider()
        regulator_score(scored_only, 75, date(2025, 12, 31))
        assert grades.compute(scored_only.id, ON).score == Decimal("85.00")  # 0.6×75 + 0.4×100
        app.config["CREDIT_MIN_SAMPLE"] = {"owner": 2, "regulator": 2}
        assert grades.compute(scored_only.id, ON).grade is None

        nothing = active_provider()
        event(nothing, "投诉属实", date(2026, 1, 1))  # behaviour alone never rates
        assert grades.compute(nothing.id, ON).grade is None


def test_grades_deduction_table_overrun_threshold_and_floor(app):
    with app.app_context():
        provider = active_provider()
        event(provider, "超期服务", date(2026, 1, 5), overrun_days=10)  # not beyond 10: free
        event(provider, "超期服务", date(2026, 1, 6), overrun_days=11)  # 5
        event(provider, "放弃中选", date(2026, 2, 1))  # 10
        event(provider, "逾期签约", date(2026, 2, 2))  # 3
        event(provider, "资质过期", date(2026, 2, 3))  # 5
        event(provider, "投诉属实", date(2026, 2, 4))  # 10
        result = grades.compute(provider.id, ON)
        assert [d.points for d in result.deductions] == [0, 5, 10, 3, 5, 10]
        assert result.behaviour == Decimal(67)

        app.config["CREDIT_DEDUCTIONS"] = {"放弃中选": 50, "投诉属实": 60}  # the rest: 0
        app.config["CREDIT_OVERRUN_MIN_DAYS"] = 0
        again = grades.compute(provider.id, ON)
        assert again.behaviour == Decimal(0)  # 110 points off, floored at 0
        assert [d.points for d in again.deductions] == [0, 0, 50, 0, 0, 60]


def test_grades_published_credit_records_deduct(app):
    from registry.models import CreditRecord

    with app.app_context():
        provider = active_provider()
        dept = db.session.scalar(select(Department).where(Department.code == "STHJ"))
        for status, kind in (("已发布", "警示通报"), ("草稿", "通报批评"), ("已撤销", "约谈提醒")):
            db.session.add(
                CreditRecord(
                    number=f"XY-T-{uuid.uuid4().hex[:8]}",
                    kind=kind,
                    department_id=dept.id,
                    provider_id=provider.id,
                    provider_name=provider.name,
                    provider_uscc=provider.uscc,
                    title=f"测试{kind}",
                    facts="事实",
                    basis="依据",
                    status=status,
                    published_at=_at(date(2026, 4, 1)),
                )
            )
        db.session.flush()
        result = grades.compute(provider.id, ON)
        assert [(d.kind, d.points) for d in result.deductions] == [("警示通报", Decimal(5))]
        assert result.behaviour == Decimal(95)


def test_grades_missing_parts_renormalise_weights(app):
    with app.app_context():
        owner_only = active_provider()
        rate(owner_only, 65, date(2026, 1, 1))
        rate(owner_only, 65, date(2026, 1, 2))
        result = grades.compute(owner_only.id, ON)
        assert set(result.weights) == {"owner", "behaviour"}
        # (0.5 × 65 + 0.2 × 100) / 0.7 = 75
        assert result.score == Decimal("75.00")
        assert result.grade == "B"

        regulator_only = active_provider()
        regulator_score(regulator_only, 50, date(2026, 6, 30))
        result = grades.compute(regulator_only.id, ON)
        assert set(result.weights) == {"regulator", "behaviour"}
        # (0.3 × 50 + 0.2 × 100) / 0.5 = 70
        assert result.score == Decimal("70.00")
        assert result.weights["regulator"] == Decimal("0.6")


def test_grades_configurable_weights_change_the_result(app):
    with app.app_context():
        provider = active_provider()
        rate(provider, 100, date(2026, 1, 1))
        rate(provider, 100, date(2026, 1, 2))
        regulator_score(provider, 40, date(2026, 6, 30))
        default = grades.compute(provider.id, ON)
        assert default.score == Decimal("82.00")  # 50 + 12 + 20
        app.config["CREDIT_WEIGHTS"] = {"owner": 0.2, "regulator": 0.6, "behaviour": 0.2}
        changed = grades.compute(provider.id, ON)
        assert changed.score == Decimal("64.00")  # 20 + 24 + 20
        assert (default.grade, changed.grade) == ("A", "C")
        app.config["CREDIT_WINDOW_MONTHS"] = 1  # only the June score is left
        assert grades.compute(provider.id, ON).owner_count == 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("CREDIT_WEIGHTS", {"owner": 1, "regulator": 1}, "CREDIT_WEIGHTS"),
        ("CREDIT_WEIGHTS", {"owner": -1, "regulator": 1, "behaviour": 1}, "不小于 0"),
        ("CREDIT_BANDS", [["AA", 90], ["A", 95], ["D", 0]], "递减"),
        ("CREDIT_BANDS", [["AA", 90], ["A", 10]], "最后一档"),
        ("CREDIT_BANDS", [["AAA", 90], ["D", 0]], "未知的信用等级"),
        ("CREDIT_WINDOW_MONTHS", 0, "CREDIT_WINDOW_MONTHS"),
        ("CREDIT_MIN_SAMPLE", {"owner": "2", "regulator": 1}, "CREDIT_MIN_SAMPLE"),
        ("CREDIT_DEDUCTIONS", {"投诉属实": "很多"}, "CREDIT_DEDUCTIONS"),
    ],
)
def test_grades_bad_settings_stop_the_start(database_url, tmp_path, key, value, message):
    from tests.conftest import make_app

    with pytest.raises(ValueError, match=message):
        make_app(database_url, tmp_path, **{key: value})


# ---------------------------------------------------------------------- kept in step


def _search_clean(app) -> None:
    with app.app_context():
        assert get_engine().verify().clean


def test_grades_recomputed_on_a_new_rating_and_a_new_event(app):
    today = clock.today()
    with app.app_context():
        provider = active_provider()
        db.session.commit()
        provider_id, version = provider.id, provider.version
        rate(provider, 95, today - timedelta(days=3))
        db.session.commit()
        assert _stored(provider_id) == (None, None)  # one rating: below the minimum sample
        rate(db.session.get(Provider, provider_id), 95, today - timedelta(days=2))
        db.session.commit()  # no service called recompute: the commit did
        assert _stored(provider_id) == ("AA", Decimal("96.43"))  # (47.5 + 20) / 0.7
        for kind in ("投诉属实", "放弃中选", "其他违规"):
            event(db.session.get(Provider, provider_id), kind, today)
        db.session.commit()
        assert _stored(provider_id) == ("A", Decimal("89.29"))  # (47.5 + 0.2 × 75) / 0.7
        # The grade is written without touching the provider's version: an edit form the
        # provider has open stays valid.
        assert db.session.get(Provider, provider_id).version == version
        entries = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "provider.grade", AuditEntry.object_id == str(provider_id))
            .order_by(AuditEntry.id)
        ).all()
        assert [(e.before["grade"], e.after["grade"]) for e in entries] == [
            (None, "AA"),
            ("AA", "A"),
        ]
        assert "业主评价 95.00(2 次)" in entries[0].detail
        assert "扣分 3 项" in entries[1].detail
        # A commit that changes nothing the grade depends on writes no audit entry.
        db.session.get(Provider, provider_id).contact_name = "王五"
        db.session.commit()
        assert (
            db.session.scalar(select(func.count()).where(AuditEntry.action == "provider.grade"))
            == 2
        )
    _search_clean(app)  # the provider document (its rank) was re-indexed in the same commit


def test_grades_rollback_recomputes_nothing(app):
    with app.app_context():
        provider = active_provider()
        db.session.commit()
        rate(provider, 95, clock.today())
        rate(provider, 95, clock.today())
        db.session.rollback()
        db.session.commit()
        assert _stored(provider.id) == (None, None)
        assert (
            db.session.scalar(select(func.count()).where(AuditEntry.action == "provider.grade"))
            == 0
        )


def test_grades_recomputed_when_a_period_is_published(app, make_user):
    from registry.services import evaluations

    regulator = make_user("regulator", department="STHJ")
    with app.app_context():
        provider = active_provider(("ZJ-03",))
        db.session.commit()
        provider_id, code = provider.id, provider.uscc
        user = db.session.get(User, regulator.id)
        today = clock.today()
        period = evaluations.open_period(
            user, name="测试考评", starts_on=today - timedelta(days=30), ends_on=today
        )
        scores = {c["code"]: 72 for c in period.criteria}
        evaluations.enter_scores(user, period, code, scores, submit=True, submission_key="k1")
        db.session.commit()
        assert _stored(provider_id) == (None, None)  # submitted, not published
        evaluations.close_period(user, period.id, reason="提前结束测试")
        db.session.commit()
        evaluations.publish_period(user, period.id)
        db.session.commit()
        assert _stored(provider_id) == ("A", Decimal("83.20"))  # 0.6 × 72 + 0.4 × 100
    _search_clean(app)


def test_grades_blacklisting_gives_the_lowest_grade_and_a_marker(app, client):
    today = clock.today()
    with app.app_context():
        provider = active_provider()
        rate(provider, 98, today - timedelta(days=5))
        rate(provider, 98, today - timedelta(days=4))
        db.session.commit()
        provider_id, code = provider.id, provider.uscc
        assert _stored(provider_id)[0] == "AA"
        db.session.get(Provider, provider_id).blacklisted_until = today + timedelta(days=30)
        db.session.commit()
        assert _stored(provider_id) == ("D", Decimal("98.57"))  # the score stays visible
    page = client.get(f"/providers/{code}").get_data(as_text=True)
    assert "黑名单" in page
    assert "期间信用等级为 D 级" in page
    # The lists say so too (they showed only the grade D).
    marker = f"黑名单(至 {today + timedelta(days=30):%Y-%m-%d})"
    assert marker in client.get("/providers?service=ZJ-03").get_data(as_text=True)
    assert marker in client.get("/services/ZJ-03").get_data(as_text=True)
    with app.app_context():
        db.session.get(Provider, provider_id).blacklisted_until = today - timedelta(days=1)
        db.session.commit()
        assert _stored(provider_id)[0] == "AA"


def test_grades_cli_recompute_is_idempotent(app, runner):
    with app.app_context():
        provider = active_provider()
        rate(provider, 85, clock.today() - timedelta(days=1))
        rate(provider, 85, clock.today() - timedelta(days=1))
        db.session.commit()
        # Stale values (as an old import would leave them): the columns themselves are no
        # input, so this commit recomputes nothing.
        provider.grade, provider.credit_score = "D", Decimal(1)
        db.session.commit()
        code = provider.uscc
    first = runner.invoke(args=["recompute-grades"])
    assert first.exit_code == 0, first.output
    assert "有变化 1 家" in first.output
    assert f"{code}:D(1.00) → A(89.29)" in first.output
    second = runner.invoke(args=["recompute-grades"])
    assert second.exit_code == 0, second.output
    assert "有变化 0 家" in second.output
    past = runner.invoke(args=["recompute-grades", "--yes", "--date", "2020-01-01"])
    assert "→ 未评级(—)" in past.output
    daily = runner.invoke(args=["check-deadlines"])
    assert "信用等级:重新计算" in daily.output
    assert "有变化 1 家" in daily.output
    _search_clean(app)


@pytest.mark.concurrency
def test_grades_concurrent_ratings_lose_no_update(app):
    """Ratings for one provider committed at once by several threads: the stored score counts
    every one of them (rows locked before computing), and nobody sees an error."""
    writers = 4
    today = clock.today()
    with app.app_context():
        provider = active_provider()
        engagements = [_engagement(provider).id for _ in range(writers)]
        db.session.commit()
        provider_id = provider.id
    barrier = threading.Barrier(writers)
    errors: list[str] = []

    def write(engagement_id: int, score: int) -> None:
        barrier.wait(timeout=20)  # before any database access
        with app.app_context():
            try:
                db.session.add(
                    OwnerRating(
                        engagement_id=engagement_id,
                        provider_id=provider_id,
                        quality=score,
                        timeliness=score,
                        attitude=score,
                        fee=score,
                        conduct=score,
                        created_at=_at(today),
                    )
                )
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - collected and asserted
                db.session.rollback()
                errors.append(f"{type(error).__name__}: {error}")

    scores = [60, 70, 80, 90]
    threads = [
        threading.Thread(target=write, args=(e, s))
        for e, s in zip(engagements, scores, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert grades.compute(provider_id).owner_count == writers
        # (0.5 × 75 + 0.2 × 100) / 0.7 = 82.14
        assert _stored(provider_id) == ("A", Decimal("82.14"))
    _search_clean(app)


# ---------------------------------------------------------------------- regulator entries


def _post_behaviour(client, login, user, data: dict):
    login(user, on=client)
    page = client.get("/regulator/behaviour/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    key = html.split('name="key" type="hidden" value="')[1].split('"')[0]
    payload = {
        "csrf_token": csrf_from(html),
        "key": key,
        "kind": "投诉属实",
        "occurred_on": clock.today().isoformat(),
        "facts": "经核查,投诉反映的收费问题属实。",
    }
    payload.update(data)
    return html, payload, client.post("/regulator/behaviour/new", data=payload)


def test_grades_regulator_records_behaviour_for_its_department(app, client, make_user, login):
    regulator = make_user("regulator", department="SW")
    with app.app_context():
        water = active_provider(("ZJ-04",), name="天津水务咨询甲有限公司")
        for _ in range(2):
            rate(water, 85, clock.today() - timedelta(days=1))
        db.session.commit()
        water_id, code = water.id, water.uscc
        assert _stored(water_id) == ("A", Decimal("89.29"))
    html, payload, response = _post_behaviour(
        client, login, regulator, {"provider": code, "reference": "津水罚〔2026〕1号"}
    )
    assert code in html
    assert response.status_code == 302
    assert client.post("/regulator/behaviour/new", data=payload).status_code == 302  # again
    with app.app_context():
        rows = db.session.scalars(select(BehaviourEvent)).all()
        assert len(rows) == 1  # the double-submit stored one row
        assert rows[0].source.startswith("regulator:SW:")
        assert rows[0].details["facts"] == "经核查,投诉反映的收费问题属实。"
        assert (
            db.session.scalar(
                select(func.count()).where(AuditEntry.action == "behaviour_event.create")
            )
            == 1
        )
        assert _stored(water_id) == ("A", Decimal("86.43"))  # (42.5 + 0.2 × 90) / 0.7
    listing = client.get("/regulator/behaviour").get_data(as_text=True)
    assert "天津水务咨询甲有限公司" in listing
    assert "本部门录入" in listing
    assert "津水罚〔2026〕1号" in listing


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "放弃中选", "请选择行为类型"),
        ("occurred_on", "tomorrow", "不能晚于今天"),  # resolved on the frozen clock below
        ("occurred_on", "2026-13-01", "日期"),
        ("facts", "", "请填写事实和依据"),
        ("provider", "", "请选择中介机构"),
        ("key", "not-a-key", "表单已失效"),
    ],
)
def test_grades_behaviour_form_errors_are_chinese_and_store_nothing(
    app, client, make_user, login, field, value, message
):
    regulator = make_user("regulator", department="SW")
    with app.app_context():
        code = active_provider(("ZJ-04",)).uscc
        db.session.commit()
    _html, payload, _ = _post_behaviour(client, login, regulator, {"provider": code})
    payload["key"] = uuid.uuid4().hex
    if value == "tomorrow":
        value = (clock.today() + timedelta(days=1)).isoformat()
    payload[field] = value
    response = client.post("/regulator/behaviour/new", data=payload)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(BehaviourEvent.id))) == 1  # the first post


def test_grades_behaviour_cross_department_is_denied_audited_and_stores_nothing(
    app, client, make_user, login
):
    """A 市水务局 regulator cannot record behaviour about a 市生态环境局-only provider, nor see
    the 生态环境局's own entries."""
    water_regulator = make_user("regulator", department="SW")
    env_regulator = make_user("regulator", department="STHJ")
    with app.app_context():
        env_only = active_provider(("ZJ-03", "ZJ-10"), name="天津环评咨询乙有限公司")
        both = active_provider(("ZJ-03", "ZJ-04"), name="天津综合咨询丙有限公司")
        db.session.commit()
        env_code, both_code = env_only.uscc, both.uscc
    html, payload, response = _post_behaviour(
        client, login, water_regulator, {"provider": env_code}
    )
    assert env_code not in html
    assert both_code in html
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(BehaviourEvent.id))) == 0
        denied = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "behaviour.denied")
        ).all()
        assert len(denied) == 1
        assert denied[0].outcome == "denied"
        assert env_code in denied[0].detail

    # The 生态环境局 records one about the shared provider; the 水务局 does not see it.
    env_client = app.test_client()
    _h, _p, ok = _post_behaviour(env_client, login, env_regulator, {"provider": both_code})
    assert ok.status_code == 302
    assert "天津综合咨询丙有限公司" in env_client.get("/regulator/behaviour").get_data(as_text=True)
    assert "天津综合咨询丙有限公司" not in client.get("/regulator/behaviour").get_data(as_text=True)


def test_grades_behaviour_only_for_providers_in_the_market(app, make_user):
    from registry.services.errors import RegistryError

    regulator = make_user("regulator", department="SW")
    with app.app_context():
        applicant = active_provider(("ZJ-04",))
        applicant.status = "草稿"
        db.session.commit()
        user = db.session.get(User, regulator.id)
        assert applicant not in grades.scoped_providers(user)
        with pytest.raises(RegistryError, match="尚未入驻"):
            grades.record_behaviour(
                user,
                provider_uscc=applicant.uscc,
                kind="其他违规",
                occurred_on=clock.today(),
                facts="事实",
                submission_key=uuid.uuid4().hex,
            )
        db.session.rollback()
        assert db.session.scalar(select(func.count(BehaviourEvent.id))) == 0


# ---------------------------------------------------------------------- pages, charts, API


def test_grades_profile_shows_parts_and_trend_chart_with_table(app, client):
    today = clock.today()
    with app.app_context():
        provider = active_provider()
        rate(provider, 80, today - timedelta(days=200))
        rate(provider, 90, today - timedelta(days=10))
        regulator_score(provider, 77, today - timedelta(days=20))
        db.session.commit()
        code = provider.uscc
        unrated = active_provider().uscc
        db.session.commit()
    page = client.get(f"/providers/{code}").get_data(as_text=True)
    assert 'id="score-trend-title"' in page
    assert 'role="img"' in page
    assert "得分趋势(按半年度)" in page  # the table beside the chart
    assert "生态环境局:77.00" in page or "市生态环境局:77.00" in page
    assert "综合得分构成" in page
    assert "已发布考评 1 期" in page
    other = client.get(f"/providers/{unrated}").get_data(as_text=True)
    assert "未评级" in other
    assert "近三年暂无计入评级的考评结果或业主评价" in other
    listing = client.get("/providers").get_data(as_text=True)
    assert "未评级" in listing
    api = client.get(f"/api/v1/providers/{unrated}").get_json()
    assert api["grade"] is None  # OpenAPI: null means 未评级


def test_grades_department_distribution_chart_and_table(app, client):
    with app.app_context():
        for grade in ("AA", "A", "A", None):
            active_provider(("ZJ-03",)).grade = grade  # the column is no input: it stays
        active_provider(("ZJ-04",))  # another department's item
        db.session.commit()
    departments = client.get("/departments").get_data(as_text=True)
    assert "/departments/STHJ/grades" in departments
    page = client.get("/departments/STHJ/grades")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="grade-distribution-title"' in html
    assert "信用等级分布(共 4 家)" in html
    assert "<td>2</td>" in html
    assert "50.0%" in html
    assert "失信行为扣分表" in html
    assert "投诉属实" in html
    assert client.get("/departments/NOPE/grades").status_code == 404
    assert client.get("/departments/%3Cscript%3E/grades").status_code == 404


def test_grades_charts_escape_and_keep_gaps():
    from registry.web.charts import bar_chart, series_chart

    svg = series_chart(
        ["2025年下半年", "2026年上半年", "<b>"],
        [("主管部门", [80, None, 90]), ("业主<script>", [70, 75, None])],
        title="趋势",
        x_label="半年度",
        y_label="得分",
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "&lt;b&gt;" in svg
    assert svg.count("<polyline") == 1  # 主管部门 has no two neighbours; 业主 one segment
    assert series_chart(["x"], [("a", [None])], title="t", x_label="x", y_label="y") == ""
    bars = bar_chart([("AA", 3), ("未评级", 0)], title="分布", x_label="等级", y_label="家")
    assert bars.count("<rect") == 2
    assert "AA:3" in bars


# ---------------------------------------------------------------------- search ranking


def _provider_order(app, text: str) -> list[str]:
    with app.app_context():
        result = get_engine().search(SearchRequest(parse_query(text), kind="provider"))
        return [hit.doc_id for hit in result.hits]


def test_grades_search_ranks_aa_above_an_otherwise_equal_c(app):
    """Two providers alike but for the name: unrated, the older document comes first; graded,
    the AA provider outranks the C provider whatever the index order (both backends)."""
    with app.app_context():
        first = active_provider(("ZJ-03",), name="天津甲乙环境科技有限公司")
        second = active_provider(("ZJ-03",), name="天津丙丁环境科技有限公司")
        db.session.commit()
        c_doc, aa_doc = f"provider:{first.uscc}", f"provider:{second.uscc}"
        first_id, second_id = first.id, second.id
    before = _provider_order(app, "环评")
    assert before.index(c_doc) < before.index(aa_doc)
    with app.app_context():
        db.session.get(Provider, first_id).grade = "C"
        db.session.get(Provider, second_id).grade = "AA"
        db.session.commit()
    for query in ("环评", "环境科技", "huanping"):
        order = _provider_order(app, query)
        assert order.index(aa_doc) < order.index(c_doc), (query, order)
    _search_clean(app)


def test_grades_search_rank_term_is_not_searchable(app):
    with app.app_context():
        provider = active_provider(("ZJ-03",), name="天津戊己环境科技有限公司")
        provider.grade = "AA"
        db.session.commit()
        for text in ("rank:5", "rank5", "5"):
            hits = get_engine().search(SearchRequest(parse_query(text))).hits
            assert f"provider:{provider.uscc}" not in [h.doc_id for h in hits]
