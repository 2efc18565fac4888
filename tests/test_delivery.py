"""Delivery (contract date, service timer, result upload, return, confirmation, overrun) and the
owner rating (window, scores, one edit, sanitised comment, admin hiding), through the real forms
and services, with each party limited to its own engagements."""

from __future__ import annotations

import io
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    BehaviourEvent,
    BehaviourKind,
    Engagement,
    OwnerRating,
    Provider,
    Upload,
    User,
)
from registry.services import delivery, market
from registry.services.errors import RegistryError
from tests import factories
from tests.conftest import post_form

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PDF_2 = PDF.replace(b"1 0 obj", b"2 0 obj")
SCORES = {"quality": "90", "timeliness": "80", "attitude": "95", "fee": "70", "conduct": "85"}
# The engagements below are awarded in September 2026 and delivered over the National Day
# holiday; the tests act on AFTER, a Monday after all of it, unless they move the clock.
AFTER = date(2026, 11, 16)


@pytest.fixture(autouse=True)
def after_the_autumn(frozen_clock):
    """The clock on AFTER, 10:00 Beijing time."""
    frozen_clock.freeze(AFTER)
    return frozen_clock


@dataclass
class Deal:
    """An award and its engagement: the owner, the winning and the losing provider accounts."""

    owner: type
    winner: type
    loser: type
    engagement_id: int
    provider_id: int
    uscc: str


def _award(app, make_user, *, awarded_on: date = date(2026, 9, 24), committed_days: int = 10):
    """A lowest-price request opened at 08:00 and decided at 10:00 on `awarded_on` (the first
    provider quotes lower); the clock is back where it was afterwards."""
    owner, winner, loser = make_user("enterprise"), make_user("provider"), make_user("provider")
    with clock.frozen(clock.at(awarded_on, 8)), app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        providers = [
            factories.active_provider(
                account=db.session.get(User, a.id), committed_days=committed_days
            )
            for a in (winner, loser)
        ]
        ref = market.open_request(
            user, project.code, service_code="ZJ-03", method="竞价选取", deadline=factories.later(1)
        ).ref
        uscc = providers[0].uscc
        db.session.commit()
        for account, amount in ((winner, "40000"), (loser, "50000")):
            market.submit_quote(
                db.session.get(User, account.id),
                ref,
                amount=amount,
                submission_key=uuid.uuid4().hex,
            )
            db.session.commit()
    with clock.frozen(clock.at(awarded_on, 10)), app.app_context():
        award = market.decide(db.session.get(User, owner.id), ref).award
        db.session.commit()
        assert award.provider.uscc == uscc
        return Deal(owner, winner, loser, award.engagement.id, award.provider_id, uscc)


def _client(app, login, user):
    client = app.test_client()
    assert login(user, on=client).status_code == 302
    return client


def _version(html: str, prefix: str) -> str:
    match = re.search(rf'name="{prefix}-version" type="hidden" value="(\d+)"', html)
    assert match, f"no {prefix}-version field on the page"
    return match.group(1)


def _engagement(app, engagement_id: int) -> Engagement:
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        db.session.expunge(engagement)
        return engagement


def _events(app, kind: BehaviourKind) -> list[tuple[str, dict]]:
    with app.app_context():
        rows = db.session.scalars(select(BehaviourEvent).where(BehaviourEvent.kind == kind.value))
        return [(e.source, e.details) for e in rows]


def _set(app, engagement_id: int, **values) -> None:
    """Time travel: move stored dates of an engagement."""
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        for name, value in values.items():
            setattr(engagement, name, value)
        db.session.commit()


def _at(day: date, hour: int = 10) -> datetime:
    return clock.at(day, hour)


def _post_result(client, engagement_id, data: bytes, name: str, note: str = ""):
    page = client.get(f"/my/work/{engagement_id}").get_data(as_text=True)
    return post_form(
        client,
        f"/my/work/{engagement_id}/result",
        {
            "result-version": _version(page, "result"),
            "result-note": note,
            "result-file": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def _download(client, engagement_id):
    """GET the result file: status, body and headers (the streamed file closed)."""
    response = client.get(f"/engagements/{engagement_id}/result")
    try:
        return response.status_code, response.data, response.headers
    finally:
        response.close()


def _owner_post(client, engagement_id, action: str, prefix: str, data: dict | None = None):
    page = client.get(f"/my/engagements/{engagement_id}").get_data(as_text=True)
    payload = {f"{prefix}-version": _version(page, prefix)}
    payload.update({f"{prefix}-{k}": v for k, v in (data or {}).items()})
    return post_form(client, f"/my/engagements/{engagement_id}/{action}", payload)


def _rate(client, engagement_id, scores=None, comment=""):
    return _owner_post(
        client, engagement_id, "rating", "rating", {**(scores or SCORES), "comment": comment}
    )


def _through_to_submitted(app, login, deal: Deal, contract: str = "2026-09-30"):
    owner, provider = _client(app, login, deal.owner), _client(app, login, deal.winner)
    assert (
        _owner_post(
            owner, deal.engagement_id, "contract", "contract", {"contract_date": contract}
        ).status_code
        == 302
    )
    assert _post_result(provider, deal.engagement_id, PDF, "成果.pdf").status_code == 302
    return owner, provider


# ---------------------------------------------------------------------- the whole flow


def test_delivery_full_flow_through_the_forms(app, make_user, login):
    deal = _award(app, make_user)
    eid = deal.engagement_id
    owner, provider = _client(app, login, deal.owner), _client(app, login, deal.winner)

    listing = owner.get("/my/engagements").get_data(as_text=True)
    assert "待签约" in listing
    assert f"/my/engagements/{eid}" in listing

    # Contract on 2026-09-30: 10 working days skip the National Day holiday (10-01..10-07) and
    # count the make-up working Saturday 10-10, so the service is due on 2026-10-20.
    done = _owner_post(owner, eid, "contract", "contract", {"contract_date": "2026-09-30"})
    assert done.status_code == 302
    page = owner.get(done.headers["Location"]).get_data(as_text=True)
    assert "已登记签约日期" in page
    assert "2026-10-20" in page
    stored = _engagement(app, eid)
    assert (stored.status, stored.contract_date, stored.due_date) == (
        "服务中",
        date(2026, 9, 30),
        date(2026, 10, 20),
    )
    assert _events(app, BehaviourKind.LATE_CONTRACT) == []  # 3 working days after the award
    # Past 10-20 with no result yet: the list marks it overdue.
    listing = owner.get("/my/engagements").get_data(as_text=True)
    assert "2026-10-20" in listing
    assert "已超期" in listing

    # The provider sees it and uploads: a file that is not a PDF/PNG/JPG is refused, nothing kept.
    assert f"/my/work/{eid}" in provider.get("/my/work").get_data(as_text=True)
    bad = _post_result(provider, eid, b"MZ\x90\x00 not a pdf", "成果.pdf", note="第一版")
    assert bad.status_code == 200
    assert "只接受 PDF、PNG 或 JPG 文件" in bad.get_data(as_text=True)
    assert "第一版" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Upload.id))) == 0
    assert not [f for f in Path(app.config["UPLOAD_DIR"]).rglob("*") if f.is_file()]
    assert _engagement(app, eid).status == "服务中"

    assert _post_result(provider, eid, PDF, "环评报告.pdf", note="第一版").status_code == 302
    assert _engagement(app, eid).status == "成果待确认"

    # The owner downloads it; the losing provider cannot.
    detail = owner.get(f"/my/engagements/{eid}").get_data(as_text=True)
    assert f"/engagements/{eid}/result" in detail
    status, data, headers = _download(owner, eid)
    assert (status, data) == (200, PDF)
    assert "attachment" in headers["Content-Disposition"]
    assert _download(_client(app, login, deal.loser), eid)[0] == 404
    assert _download(provider, eid)[1] == PDF
    assert _download(_client(app, login, make_user("admin")), eid)[1] == PDF

    # Return: a reason is required; the provider sees it and submits again.
    empty = _owner_post(owner, eid, "return", "return", {"reason": "  "})
    assert empty.status_code == 200
    assert "请填写退回原因" in empty.get_data(as_text=True)
    assert _engagement(app, eid).status == "成果待确认"
    returned = _owner_post(owner, eid, "return", "return", {"reason": "缺少噪声监测数据附表。"})
    assert returned.status_code == 302
    work = provider.get(f"/my/work/{eid}").get_data(as_text=True)
    assert "服务成果已被业主退回" in work
    assert "缺少噪声监测数据附表" in work
    told = provider.get("/my/notifications").get_data(as_text=True)
    assert "退回原因:缺少噪声监测数据附表。请修改后重新提交" in told  # not "。。" (stop 31)
    assert _post_result(provider, eid, PDF_2, "环评报告-修改.pdf").status_code == 302
    stored = _engagement(app, eid)
    assert stored.status == "成果待确认"
    assert _download(owner, eid)[1] == PDF_2

    # Time travel: the resubmission came in on Friday 10-23, three working days after 10-20.
    _set(app, eid, submitted_at=_at(date(2026, 10, 23)))
    confirm_page = owner.get(f"/my/engagements/{eid}").get_data(as_text=True)
    old_version = _version(confirm_page, "confirm")
    confirmed = post_form(owner, f"/my/engagements/{eid}/confirm", {"confirm-version": old_version})
    assert confirmed.status_code == 302
    page = owner.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "已确认服务成果" in page
    assert "超期 3 个工作日" in page
    stored = _engagement(app, eid)
    assert (stored.status, stored.overrun_days) == ("已确认", 3)
    events = _events(app, BehaviourKind.OVERRUN)
    assert events == [
        (
            f"engagement:{eid}",
            {
                "due_date": "2026-10-20",
                "submitted_on": "2026-10-23",
                "overrun_days": 3,
                "committed_days": 10,
            },
        )
    ]

    # The same confirmation again (a second tab): a message, no second event.
    again = post_form(owner, f"/my/engagements/{eid}/confirm", {"confirm-version": old_version})
    assert again.status_code == 302
    assert "本次操作未生效" in owner.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context(), pytest.raises(RegistryError, match="成果已确认"):
        delivery.confirm_result(db.session.get(User, deal.owner.id), eid)
    assert len(_events(app, BehaviourKind.OVERRUN)) == 1

    # The rating form shows the window's closing date and the edit rule.
    page = owner.get(f"/my/engagements/{eid}").get_data(as_text=True)
    closes = delivery.deadline_after(clock.today(), 15)
    assert f"截止 <strong>{closes:%Y-%m-%d}</strong>" in page
    assert "提交后 3 个工作日内可以修改一次" in page
    for label in ("质量(0–100)", "时效(0–100)", "态度(0–100)", "收费(0–100)", "规范(0–100)"):
        assert label in page
    rated = _rate(
        owner,
        eid,
        comment="<p>报告<strong>专业</strong>,联系电话13812345678</p><script>alert(1)</script>",
    )
    assert rated.status_code == 302
    page = owner.get(f"/my/engagements/{eid}").get_data(as_text=True)
    assert "评价已提交" in page
    assert "<strong>专业</strong>" in page
    assert "<script>alert(1)" not in page
    with app.app_context():
        rating = db.session.scalars(select(OwnerRating)).one()
        assert (rating.quality, rating.timeliness, rating.attitude, rating.fee, rating.conduct) == (
            90,
            80,
            95,
            70,
            85,
        )
        assert "script" not in rating.comment_html
        assert rating.provider_id == deal.provider_id
    public = _client_anonymous(app).get(f"/providers/{deal.uscc}/ratings").get_data(as_text=True)
    assert "<strong>专业</strong>" in public
    assert "<script>alert(1)" not in public
    # A phone number in the comment is partly hidden in public (a tester, stop 31).
    assert "联系电话138****5678" in public
    assert "13812345678" not in public
    assert "84.0" in public  # (90 + 80 + 95 + 70 + 85) / 5
    assert "84.0" in provider.get(f"/my/work/{eid}").get_data(as_text=True)


def _client_anonymous(app):
    return app.test_client()


# ---------------------------------------------------------------------- contract date


def test_delivery_late_contract_records_one_event_and_dates_are_checked(app, make_user, login):
    deal = _award(app, make_user, awarded_on=date(2026, 9, 17))
    eid = deal.engagement_id
    owner = _client(app, login, deal.owner)

    early = _owner_post(owner, eid, "contract", "contract", {"contract_date": "2026-09-16"})
    assert early.status_code == 200
    assert "签约日期不能早于中选日期 2026-09-17" in early.get_data(as_text=True)
    future = (clock.today() + timedelta(days=1)).isoformat()
    later = _owner_post(owner, eid, "contract", "contract", {"contract_date": future})
    assert "签约日期不能晚于今天" in later.get_data(as_text=True)
    garbage = _owner_post(owner, eid, "contract", "contract", {"contract_date": "2026-13-45"})
    assert garbage.status_code == 200
    assert _engagement(app, eid).contract_date is None
    # The window (to 09-23) has passed: the page says so (it only named the day: stop 29).
    page = owner.get(f"/my/engagements/{eid}").get_data(as_text=True)
    assert '即 2026-09-23 前,含当日) <strong class="tag tag-warn">签约已逾期</strong>' in page

    # Nine working days after the award (the 5th was 09-23; Sunday 09-20 was a working day).
    assert (
        _owner_post(owner, eid, "contract", "contract", {"contract_date": "2026-09-30"}).status_code
        == 302
    )
    events = _events(app, BehaviourKind.LATE_CONTRACT)
    assert events == [
        (
            f"engagement:{eid}",
            {
                "award_date": "2026-09-17",
                "window_from": "2026-09-17",
                "contract_date": "2026-09-30",
                "working_days": 9,
                "limit": 5,
            },
        )
    ]
    with app.app_context():
        user = db.session.get(User, deal.owner.id)
        with pytest.raises(RegistryError, match="已登记签约日期"):
            delivery.record_contract(user, eid, date(2026, 9, 30))
        db.session.rollback()
    assert len(_events(app, BehaviourKind.LATE_CONTRACT)) == 1
    with app.app_context():
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "engagement.contract")
        ).one()
        assert audit.before["status"] == "待签约"
        assert audit.after["due_date"] == "2026-10-20"


def test_delivery_contract_window_stops_while_an_objection_waits(app, make_user, login):
    """A tester (stop 31): with an objection answered on the 5th working day, the contract
    window had closed and a contract signed after the answer marked the provider 逾期签约. The
    window stops while an objection waits and runs again from a 不成立 answer."""
    deal = _award(app, make_user, awarded_on=date(2026, 9, 17))
    eid = deal.engagement_id
    staff = make_user("staff")
    with clock.frozen(clock.at(date(2026, 9, 17), 15)):
        fresh = _client(app, login, deal.owner).get(f"/my/engagements/{eid}")
    assert "建议公示期满后签约" in fresh.get_data(as_text=True)  # signing now risks an objection
    with clock.frozen(clock.at(date(2026, 9, 18), 10)), app.app_context():
        award_id = db.session.get(Engagement, eid).award.id
        objection = market.object_to_award(
            db.session.get(User, deal.owner.id), award_id, reason="报价计算有误。"
        )
        db.session.commit()
        objection_id = objection.id
        assert delivery.contract_deadline(db.session.get(Engagement, eid)) is None
    with clock.frozen(clock.at(date(2026, 9, 21), 10)):
        page = _client(app, login, deal.owner).get(f"/my/engagements/{eid}").get_data(as_text=True)
    assert "签约期限暂停" in page
    assert "签约已逾期" not in page
    answered_on = date(2026, 9, 28)
    with clock.frozen(clock.at(answered_on, 10)), app.app_context():
        market.answer_objection(
            db.session.get(User, staff.id), objection_id, outcome="不成立", answer="报价无误。"
        )
        db.session.commit()
        deadline = delivery.contract_deadline(db.session.get(Engagement, eid))
    assert deadline == delivery.deadline_after(answered_on, 5)
    assert not delivery.within_working_days(date(2026, 9, 17), 5, deadline)  # late by the award
    owner = _client(app, login, deal.owner)
    signed = _owner_post(
        owner, eid, "contract", "contract", {"contract_date": deadline.isoformat()}
    )
    assert signed.status_code == 302
    assert _events(app, BehaviourKind.LATE_CONTRACT) == []


def test_delivery_contract_deadline_counts_working_days():
    # Award Thursday 09-17: 09-18, Sunday 09-20 (make-up day), 09-21, 09-22, 09-23.
    assert delivery.within_working_days(date(2026, 9, 17), 5, date(2026, 9, 23))
    assert not delivery.within_working_days(date(2026, 9, 17), 5, date(2026, 9, 24))
    # From 09-24 (09-25 is the Mid-Autumn holiday) the 3rd working day is 09-30; the National Day
    # holiday right after it is already past the window, while a holiday inside it is not.
    assert delivery.within_working_days(date(2026, 9, 24), 3, date(2026, 9, 30))
    assert not delivery.within_working_days(date(2026, 9, 24), 3, date(2026, 10, 1))
    assert delivery.within_working_days(date(2026, 9, 28), 3, date(2026, 10, 7))
    assert not delivery.within_working_days(date(2026, 9, 28), 3, date(2026, 10, 9))


def test_delivery_due_date_in_a_year_without_an_arrangement_is_counted_on_statutory_days(
    app, make_user, after_the_autumn
):
    deal = _award(app, make_user)
    after_the_autumn.freeze(date(2026, 12, 28))
    with app.app_context():
        user = db.session.get(User, deal.owner.id)
        delivery.record_contract(user, deal.engagement_id, date(2026, 12, 28))
        db.session.commit()
    # 12-29, 12-30, 12-31, then 2027 (provisional): 元旦 on Friday 1 January is off, and
    # 4–8 and 11–12 January are the other seven working days.
    stored = _engagement(app, deal.engagement_id)
    assert (stored.status, stored.due_date) == ("服务中", date(2027, 1, 12))


def test_delivery_result_on_time_records_no_overrun(app, make_user, login):
    deal = _award(app, make_user)
    owner, _provider = _through_to_submitted(app, login, deal)
    _set(app, deal.engagement_id, due_date=date(2026, 12, 31))  # time travel: due later
    assert _owner_post(owner, deal.engagement_id, "confirm", "confirm").status_code == 302
    stored = _engagement(app, deal.engagement_id)
    assert (stored.status, stored.overrun_days) == ("已确认", 0)
    assert _events(app, BehaviourKind.OVERRUN) == []


# ---------------------------------------------------------------------- rating


def test_delivery_rating_window_through_the_forms(app, make_user, login):
    deal = _award(app, make_user)
    eid = deal.engagement_id
    owner, _provider = _through_to_submitted(app, login, deal)

    # Before confirmation: refused.
    early = post_form(
        owner,
        f"/my/engagements/{eid}/rating",
        {**{f"rating-{k}": v for k, v in SCORES.items()}, "rating-version": "0"},
    )
    assert "服务成果确认后才能评价" in owner.get(early.headers["Location"]).get_data(as_text=True)
    assert _owner_post(owner, eid, "confirm", "confirm").status_code == 302

    # Confirmed on 09-30: the window closed after 15 working days (10-27).
    _set(app, eid, confirmed_at=_at(date(2026, 9, 30)))
    page = owner.get(f"/my/engagements/{eid}").get_data(as_text=True)
    assert "评价期已结束" in page
    assert "截止 <strong>2026-10-27</strong>" in page
    late = post_form(
        owner,
        f"/my/engagements/{eid}/rating",
        {**{f"rating-{k}": v for k, v in SCORES.items()}, "rating-version": "0"},
    )
    assert "评价期已结束" in owner.get(late.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(OwnerRating.id))) == 0

    # Confirmed today: out-of-range scores are refused with what was typed kept.
    _set(app, eid, confirmed_at=_at(clock.today()))
    bad = _rate(owner, eid, {**SCORES, "quality": "101"}, comment="很好")
    assert bad.status_code == 200
    html = bad.get_data(as_text=True)
    assert "“质量”得分须在 0–100 之间" in html
    assert 'value="101"' in html
    assert "很好" in html
    not_integer = _rate(owner, eid, {**SCORES, "fee": "八十"})
    assert not_integer.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(OwnerRating.id))) == 0

    assert _rate(owner, eid, comment="按时交付").status_code == 302
    with app.app_context():
        rating = db.session.scalars(select(OwnerRating)).one()
        assert (rating.quality, rating.edit_count) == (90, 0)

    # One edit: a bad score leaves the stored rating intact, a valid edit is audited.
    bad_edit = _rate(owner, eid, {**SCORES, "conduct": "-1"})
    assert "“规范”得分须在 0–100 之间" in bad_edit.get_data(as_text=True)
    assert (
        _rate(owner, eid, {**SCORES, "quality": "60"}, comment="按时交付,但需补正").status_code
        == 302
    )
    page = owner.get(f"/my/engagements/{eid}").get_data(as_text=True)
    assert "评价已修改(只能修改一次)" in page
    assert "评价已修改过一次,不能再修改" in page
    third = post_form(
        owner,
        f"/my/engagements/{eid}/rating",
        {**{f"rating-{k}": v for k, v in SCORES.items()}, "rating-version": "2"},
    )
    assert "评价已修改过一次" in owner.get(third.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        rating = db.session.scalars(select(OwnerRating)).one()
        assert (rating.quality, rating.edit_count, rating.comment_html) == (
            60,
            1,
            "按时交付,但需补正",
        )
        edit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "rating.edit")
        ).one()
        assert (edit.before["quality"], edit.after["quality"]) == (90, 60)
        assert edit.actor_id == deal.owner.id


def test_delivery_rating_window_and_edit_limits_on_working_days(app, make_user):
    deal = _award(app, make_user)
    eid = deal.engagement_id
    with app.app_context():
        owner = db.session.get(User, deal.owner.id)
        provider = db.session.get(User, deal.winner.id)
        delivery.record_contract(owner, eid, date(2026, 9, 28))
        delivery.submit_result(provider, eid, _file(PDF), "", now=_at(date(2026, 9, 29)))
        delivery.confirm_result(owner, eid, on=date(2026, 9, 30))
        db.session.commit()
        assert db.session.get(Engagement, eid).overrun_days == 0
        # 15 working days after 09-30, across the National Day holiday: 10-27.
        window = delivery.rating_window(db.session.get(Engagement, eid), date(2026, 10, 27))
        assert (window.opened_on, window.closes_on, window.is_open) == (
            date(2026, 9, 30),
            date(2026, 10, 27),
            True,
        )
        with pytest.raises(RegistryError, match="评价期已结束"):
            delivery.rate(owner, eid, SCORES, "", on=date(2026, 10, 28))
        db.session.rollback()
        delivery.rate(owner, eid, SCORES, "", on=date(2026, 10, 27))
        db.session.commit()
        # Edit window: three working days after 10-27 is Friday 10-30; Saturday is too late.
        with pytest.raises(RegistryError, match="修改期已结束"):
            delivery.rate(owner, eid, {**SCORES, "fee": 10}, "", on=date(2026, 10, 31), version=1)
        db.session.rollback()
        delivery.rate(owner, eid, {**SCORES, "fee": 10}, "", on=date(2026, 10, 30), version=1)
        db.session.commit()
        assert db.session.scalars(select(OwnerRating)).one().fee == 10


def test_delivery_scores_must_be_integers_from_0_to_100():
    assert delivery.validate_scores({**SCORES, "quality": "１００", "fee": 0})["quality"] == 100
    for value, message in [
        (None, "请填写“质量”得分"),
        ("", "请填写“质量”得分"),
        ("85.5", "须为整数"),
        (85.0, "须为整数"),
        (True, "请填写“质量”得分"),
        ("101", "须在 0–100 之间"),
        (-1, "须在 0–100 之间"),
    ]:
        with pytest.raises(RegistryError, match=message) as error:
            delivery.validate_scores({**SCORES, "quality": value})
        assert error.value.field == "quality"


def test_delivery_admin_hides_a_comment_kept_and_audited(app, make_user, login):
    deal = _award(app, make_user)
    eid = deal.engagement_id
    owner, provider = _through_to_submitted(app, login, deal)
    assert _owner_post(owner, eid, "confirm", "confirm").status_code == 302
    assert _rate(owner, eid, comment="这家机构的人都是骗子").status_code == 302
    with app.app_context():
        rating_id = db.session.scalar(select(OwnerRating.id))

    admin = _client(app, login, make_user("admin"))
    listing = admin.get("/admin/ratings").get_data(as_text=True)
    assert "这家机构的人都是骗子" in listing
    assert f'<label for="hide-{rating_id}-reason">隐藏原因' in listing
    empty = post_form(
        admin,
        f"/admin/ratings/{rating_id}/hide",
        {f"hide-{rating_id}-reason": "", f"hide-{rating_id}-version": "1"},
    )
    assert empty.status_code == 200
    assert "请填写隐藏原因" in empty.get_data(as_text=True)
    # Only admins moderate.
    assert (
        post_form(
            owner, f"/admin/ratings/{rating_id}/hide", {f"hide-{rating_id}-reason": "x"}
        ).status_code
        == 403
    )
    hidden = post_form(
        admin,
        f"/admin/ratings/{rating_id}/hide",
        {f"hide-{rating_id}-reason": "含侮辱性言论", f"hide-{rating_id}-version": "1"},
    )
    assert hidden.status_code == 302

    with app.app_context():
        rating = db.session.get(OwnerRating, rating_id)
        assert rating.hidden
        assert rating.hidden_reason == "含侮辱性言论"
        assert rating.comment_html == "这家机构的人都是骗子"  # kept, never deleted
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "rating.hide")
        ).one()
        assert (entry.before["hidden"], entry.after["hidden"]) == (False, True)
        assert entry.detail == "含侮辱性言论"
        provider_row = db.session.get(Provider, deal.provider_id)
        points = delivery.provider_ratings(provider_row)
        assert [(p.average, p.quality, p.conduct) for p in points] == [(84.0, 90, 85)]
        assert points[0].date == clock.today()
    # The public, the owner and the provider see the notice; the text stays in the row.
    for client, url in (
        (app.test_client(), f"/providers/{deal.uscc}/ratings"),
        (owner, f"/my/engagements/{eid}"),
        (provider, f"/my/work/{eid}"),
    ):
        page = client.get(url).get_data(as_text=True)
        assert "该评价内容已被管理员隐藏" in page, url
        assert "骗子" not in page, url
    assert "84.0" in app.test_client().get(f"/providers/{deal.uscc}/ratings").get_data(as_text=True)
    # The moderated text is no longer editable by its author.
    with app.app_context(), pytest.raises(RegistryError, match="已被管理员隐藏"):
        delivery.rate(db.session.get(User, deal.owner.id), eid, SCORES, "改过的评价", version=2)


def test_delivery_provider_ratings_are_sorted_by_date(app, make_user):
    first = _award(app, make_user)
    other_account = make_user("provider")
    with app.app_context():
        winner = db.session.get(User, first.winner.id)
        provider = db.session.get(Provider, first.provider_id)
        owner = db.session.get(User, first.owner.id)
        # A second engagement for the same provider, rated earlier than the first one.
        project = market.create_project(
            owner,
            code="2026-120116-99-01-000001",
            name="二期厂房",
            category="民营/外资",
            location="天津滨海高新区",
        )
        factories.active_provider(account=db.session.get(User, other_account.id))
        with clock.frozen(_at(date(2026, 9, 24), 8)):
            ref = market.open_request(
                owner,
                project.code,
                service_code="ZJ-03",
                method="竞价选取",
                deadline=factories.later(1),
            ).ref
            db.session.commit()
            market.submit_quote(winner, ref, amount="30000", submission_key=uuid.uuid4().hex)
            db.session.commit()
            market.submit_quote(
                db.session.get(User, other_account.id),
                ref,
                amount="35000",
                submission_key=uuid.uuid4().hex,
            )
            db.session.commit()
        with clock.frozen(_at(date(2026, 9, 24))):
            second = market.decide(owner, ref).award.engagement.id
            db.session.commit()
        for eid, rated_on, quality in (
            (first.engagement_id, date(2026, 10, 20), 50),
            (second, date(2026, 10, 9), 100),
        ):
            delivery.record_contract(owner, eid, date(2026, 9, 28))
            delivery.submit_result(winner, eid, _file(PDF), "", now=_at(date(2026, 9, 29)))
            delivery.confirm_result(owner, eid, on=date(2026, 10, 8))
            delivery.rate(owner, eid, {**SCORES, "quality": quality}, "", on=rated_on)
            db.session.commit()
        points = delivery.provider_ratings(provider)
        assert [(p.date, p.quality) for p in points] == [
            (date(2026, 10, 9), 100),
            (date(2026, 10, 20), 50),
        ]
        assert points[0] == (date(2026, 10, 9), 86.0, 100, 80, 95, 70, 85)


def _file(data: bytes, name: str = "成果.pdf"):
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(data), filename=name)


# ---------------------------------------------------------------------- reach and races


def test_delivery_other_parties_cannot_see_or_act(app, make_user, login):
    deal = _award(app, make_user)
    eid = deal.engagement_id
    owner, _provider = _through_to_submitted(app, login, deal)
    before = _engagement(app, eid)

    stranger = make_user("enterprise")
    with app.app_context():
        factories.enterprise_with_project(db.session.get(User, stranger.id))
        db.session.commit()
    other_owner = _client(app, login, stranger)
    other_provider = _client(app, login, deal.loser)  # has its own provider row

    assert f"/my/engagements/{eid}" not in other_owner.get("/my/engagements").get_data(as_text=True)
    assert f"/my/work/{eid}" not in other_provider.get("/my/work").get_data(as_text=True)
    version = str(before.version)
    attempts = [
        (other_owner, "GET", f"/my/engagements/{eid}", {}),
        (other_owner, "POST", f"/my/engagements/{eid}/confirm", {"confirm-version": version}),
        (
            other_owner,
            "POST",
            f"/my/engagements/{eid}/return",
            {"return-version": version, "return-reason": "不合格"},
        ),
        (
            other_owner,
            "POST",
            f"/my/engagements/{eid}/contract",
            {"contract-version": version, "contract-contract_date": "2026-09-30"},
        ),
        (
            other_owner,
            "POST",
            f"/my/engagements/{eid}/rating",
            {**{f"rating-{k}": v for k, v in SCORES.items()}, "rating-version": "0"},
        ),
        (other_owner, "GET", f"/engagements/{eid}/result", {}),
        (other_provider, "GET", f"/my/work/{eid}", {}),
        (
            other_provider,
            "POST",
            f"/my/work/{eid}/result",
            {"result-version": version, "result-file": (io.BytesIO(PDF_2), "x.pdf")},
        ),
        (other_provider, "GET", f"/engagements/{eid}/result", {}),
    ]
    for client, method, url, data in attempts:
        if method == "GET":
            response = client.get(url)
        else:
            response = post_form(client, url, data, content_type="multipart/form-data")
        assert response.status_code == 404, (method, url)
        assert PDF not in response.data

    after = _engagement(app, eid)
    assert (after.status, after.version, after.result_id, after.return_reason) == (
        before.status,
        before.version,
        before.result_id,
        None,
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(OwnerRating.id))) == 0
        assert db.session.scalar(select(func.count(Upload.id))) == 1
        denied = db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "engagement.denied")
        )
        assert denied == len(attempts)
    # Roles that can never hold an engagement are refused outright.
    for role in ("staff", "regulator"):
        assert (
            _client(app, login, make_user(role)).get(f"/engagements/{eid}/result").status_code
            == 403
        )
    # The owner's account is not a provider account.
    assert owner.get(f"/my/work/{eid}").status_code == 403


def test_delivery_stale_form_shows_a_message_and_changes_nothing(app, make_user, login):
    deal = _award(app, make_user)
    eid = deal.engagement_id
    owner = _client(app, login, deal.owner)
    second_tab = _client(app, login, deal.owner)
    old = _version(owner.get(f"/my/engagements/{eid}").get_data(as_text=True), "contract")
    assert (
        post_form(
            second_tab,
            f"/my/engagements/{eid}/contract",
            {"contract-version": old, "contract-contract_date": "2026-09-28"},
        ).status_code
        == 302
    )
    stale = post_form(
        owner,
        f"/my/engagements/{eid}/contract",
        {"contract-version": old, "contract-contract_date": "2026-09-30"},
    )
    assert stale.status_code == 302
    page = owner.get(stale.headers["Location"]).get_data(as_text=True)
    assert "本次操作未生效" in page
    assert _engagement(app, eid).contract_date == date(2026, 9, 28)

    # The real race: the row changed between loading and flushing (the version column catches it).
    provider = _client(app, login, deal.winner)
    assert _post_result(provider, eid, PDF, "成果.pdf").status_code == 302
    _set(app, eid, submitted_at=_at(date(2026, 10, 23)))
    with app.app_context():
        user = db.session.get(User, deal.owner.id)
        engagement = db.session.get(Engagement, eid)
        loaded = engagement.version
        db.session.execute(text("UPDATE engagements SET version = version + 1"))
        with pytest.raises(RegistryError, match="本次操作未生效"):
            delivery.confirm_result(user, eid, version=loaded)
        db.session.rollback()
    assert _engagement(app, eid).status == "成果待确认"
    assert _events(app, BehaviourKind.OVERRUN) == []


def test_delivery_racing_confirmations_record_one_event(app, make_user, login):
    deal = _award(app, make_user)
    eid = deal.engagement_id
    _through_to_submitted(app, login, deal)
    _set(app, eid, submitted_at=_at(date(2026, 10, 23)))
    version = _engagement(app, eid).version
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm():
        with app.app_context():
            user = db.session.get(User, deal.owner.id)
            db.session.rollback()  # start the racing transaction after the barrier
            barrier.wait(timeout=10)
            try:
                delivery.confirm_result(user, eid, version=version)
                db.session.commit()
                outcomes.append("ok")
            except RegistryError as error:
                db.session.rollback()
                outcomes.append(error.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == sorted(["ok", delivery.STALE_MESSAGE])
    assert len(_events(app, BehaviourKind.OVERRUN)) == 1
    with app.app_context():
        confirmations = db.session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == "engagement.confirm_result"
            )
        )
        assert confirmations == 1
