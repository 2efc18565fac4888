"""Credit records, objections and the public notice board (on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select, text

from registry.extensions import db
from registry.models import (
    AuditEntry,
    CreditRecord,
    Objection,
    Provider,
    SelectionRequest,
    User,
)
from registry.services import credit, market
from registry.services.errors import Forbidden, NotFound, RegistryError
from tests import factories
from tests.conftest import csrf_from, post_form

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

ATOM = "{http://www.w3.org/2005/Atom}"
# Publication on a Tuesday before National Day: the objection window (5 working days) runs over
# the 1–7 October holiday and the Saturday make-up working day (10 October).
PUBLISHED_ON = date(2026, 9, 29)


@pytest.fixture
def clock(frozen_clock):
    """The clock set to PUBLISHED_ON; tests move it with clock.freeze() (windows and deadlines).
    A jump of days ends signed-in sessions (idle timeout): sign in again after one."""
    frozen_clock.freeze(PUBLISHED_ON)
    return frozen_clock


@dataclass
class World:
    sthj: object  # regulator of 市生态环境局 (supervises ZJ-03)
    sw: object  # regulator of 市水务局 (ZJ-04)
    account: object  # the provider account of `uscc`
    uscc: str  # offers ZJ-03 (STHJ)
    other: str  # offers ZJ-04 only (SW)
    other_account: object


def _world(app, make_user) -> World:
    sthj = make_user("regulator", department="STHJ")
    sw = make_user("regulator", department="SW")
    account, other_account = make_user("provider"), make_user("provider")
    with app.app_context():
        mine = factories.active_provider(
            ["ZJ-03"], account=db.session.get(User, account.id), name="天津清源环境科技有限公司"
        )
        other = factories.active_provider(
            ["ZJ-04"], account=db.session.get(User, other_account.id), name="天津水利咨询有限公司"
        )
        db.session.commit()
        return World(sthj, sw, account, mine.uscc, other.uscc, other_account)


def _user(made) -> User:
    return db.session.get(User, made.id)


def _draft(app, regulator, uscc, *, kind="警示通报", title="未按规定编制环评报告", **extra):
    with app.app_context():
        item = credit.draft_record(
            _user(regulator),
            provider_uscc=uscc,
            kind=kind,
            title=title,
            facts=extra.pop("facts", "2026 年 8 月,该机构编制的报告存在数据错误。"),
            basis=extra.pop("basis", "《建设项目环境影响报告书(表)编制监督管理办法》第二十六条"),
            **extra,
        )
        db.session.commit()
        return item.number


def _publish(app, regulator, number):
    with app.app_context():
        credit.publish_record(_user(regulator), number)
        db.session.commit()


def _published(app, regulator, uscc, **kwargs) -> str:
    number = _draft(app, regulator, uscc, **kwargs)
    _publish(app, regulator, number)
    return number


def _record(app, number) -> CreditRecord:
    with app.app_context():
        item = db.session.scalar(select(CreditRecord).where(CreditRecord.number == number))
        db.session.expunge(item)
        return item


def _client(app, login, user):
    client = app.test_client()
    assert login(user, on=client).status_code == 302
    return client


def _audit(app, action):
    with app.app_context():
        return db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()


# ---------------------------------------------------------------------- lifecycle


def test_credit_lifecycle_draft_publish_object_upheld_revision(app, make_user, login, clock):
    world = _world(app, make_user)
    regulator = _client(app, login, world.sthj)
    public = app.test_client()

    form = regulator.get("/regulator/credit/new").get_data(as_text=True)
    assert world.uscc in form
    assert world.other not in form
    made = regulator.post(
        "/regulator/credit/new",
        data={
            "csrf_token": csrf_from(form),
            "provider": world.uscc,
            "kind": "警示通报",
            "title": "报告数据失实",
            "facts": "报告中的监测数据与原始记录不符。",
            "basis": "《环境影响评价法》第三十二条",
        },
    )
    assert made.status_code == 302, made.get_data(as_text=True)
    number = made.headers["Location"].rsplit("/", 1)[-1]
    assert number.startswith("XY-")
    assert len(number) == len("XY-2026-000001")
    assert public.get(f"/notices/{number}").status_code == 404  # a draft is not public

    # The first POST only shows what becomes public; the confirmed one publishes.
    asked = post_form(regulator, f"/regulator/credit/{number}/publish")
    assert asked.status_code == 200
    shown = asked.get_data(as_text=True)
    assert "请确认:发布信用记录" in shown
    assert "报告数据失实" in shown
    assert "不能撤回" in shown
    assert 'name="confirmed" value="1"' in shown
    assert public.get(f"/notices/{number}").status_code == 404
    published = post_form(regulator, f"/regulator/credit/{number}/publish", {"confirmed": "1"})
    assert published.status_code == 302
    page = regulator.get(published.headers["Location"]).get_data(as_text=True)
    assert "公示期至 2026-10-14" in page
    assert "异议截止 2026-10-12" in page
    notice = public.get(f"/notices/{number}")
    assert notice.status_code == 200
    assert "报告数据失实" in notice.get_data(as_text=True)
    stored = _record(app, number)
    # 5 working days after Tue 29 Sep: 30 Sep, 8, 9, 10 (make-up Saturday) and 12 Oct.
    assert (stored.objection_until, stored.disclosure_until) == (
        date(2026, 10, 12),
        date(2026, 10, 14),
    )

    provider = _client(app, login, world.account)
    mine = provider.get("/my/credit").get_data(as_text=True)
    assert number in mine
    assert "提出异议" in mine
    clock.freeze(date(2026, 10, 12))  # the last day of the window still counts
    provider, regulator = _client(app, login, world.account), _client(app, login, world.sthj)
    objected = post_form(
        provider, f"/my/credit/{number}/object", {"reason": "监测数据由业主提供,本机构已如实引用。"}
    )
    assert objected.status_code == 302, objected.get_data(as_text=True)
    again = post_form(provider, f"/my/credit/{number}/object", {"reason": "再次提出"})
    assert "已有待答复的异议" in again.get_data(as_text=True)
    with app.app_context():
        objection = db.session.scalars(select(Objection)).one()
        objection_id = objection.id
        assert objection.answer_due == date(2026, 10, 26)  # 10 working days after 12 Oct

    dashboard = regulator.get("/regulator/credit").get_data(as_text=True)
    assert f"答复异议 #{objection_id}" in dashboard
    assert "答复已逾期" not in dashboard
    # The record cannot be revised around the objection: it is answered first.
    blocked = post_form(regulator, f"/regulator/credit/{number}/revoke", {"reason": "撤销"})
    assert "待答复的异议" in regulator.get(blocked.headers["Location"]).get_data(as_text=True)

    # Upheld without saying how the record changes: refused, nothing stored.
    incomplete = post_form(
        regulator,
        f"/regulator/credit/objections/{objection_id}",
        {"outcome": "成立", "answer": "经核实,数据来源于业主。"},
    )
    assert "请选择修订或撤销原记录" in incomplete.get_data(as_text=True)
    upheld = {
        "outcome": "成立",
        "answer": "经核实,数据来源于业主,改为约谈提醒。",
        "resolution": "revise",
        "kind": "约谈提醒",
        "title": "报告引用数据未核实",
        "facts": "报告引用业主提供的监测数据未经核实。",
        "basis": "《环境影响评价法》第三十二条",
    }
    url = f"/regulator/credit/objections/{objection_id}"
    # An answer is final and here publishes a revision: first a confirmation page naming it
    # (it took effect at once before: a tester, stop 30), nothing stored yet.
    shown = post_form(regulator, url, upheld).get_data(as_text=True)
    assert f"请确认:答复异议 #{objection_id}" in shown
    assert f"修订原记录 {number}" in shown
    assert "报告引用数据未核实" in shown
    assert "修订版本立即公开" in shown
    assert 'name="confirmed" value="1"' in shown
    with app.app_context():
        assert db.session.get(Objection, objection_id).outcome is None
    assert _record(app, number).status == "已发布"
    # 返回修改 brings the typed answer back on the form, nothing lost and nothing stored.
    again = post_form(regulator, url, {**upheld, "confirmed": "1", "edit": "1"})
    form_page = again.get_data(as_text=True)
    assert "提交答复" in form_page
    assert "经核实,数据来源于业主,改为约谈提醒。" in form_page
    assert 'value="报告引用数据未核实"' in form_page
    assert _record(app, number).status == "已发布"
    answered = post_form(regulator, url, {**upheld, "confirmed": "1"})
    assert answered.status_code == 302, answered.get_data(as_text=True)

    with app.app_context():
        old = db.session.scalar(select(CreditRecord).where(CreditRecord.number == number))
        objection = db.session.get(Objection, objection_id)
        new = objection.revision
        assert (old.status, new.status) == ("已修订", "已发布")
        assert new.revises_id == old.id
        assert new.kind == "约谈提醒"
        assert old.title == "报告数据失实"  # the old row is kept as it was published
        assert objection.outcome == "成立"
        assert objection.open_record_id is None
        new_number = new.number
    moved = public.get(f"/notices/{number}")
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith(f"/notices/{new_number}")
    # The API moves to the current revision too (it answered 404, a tester found at stop 30).
    api_moved = public.get(f"/api/v1/notices/{number}")
    assert api_moved.status_code == 301
    assert api_moved.headers["Location"].endswith(f"/api/v1/notices/{new_number}")
    assert public.get(api_moved.headers["Location"]).get_json()["number"] == new_number
    shown = public.get(f"/notices/{new_number}").get_data(as_text=True)
    assert "报告引用数据未核实" in shown
    assert "报告数据失实" not in shown
    answer_page = provider.get("/my/credit").get_data(as_text=True)
    assert "异议成立" in answer_page
    assert "改为约谈提醒" in answer_page
    actions = [
        e.action
        for e in _audit(app, "credit.draft")
        + _audit(app, "credit.publish")
        + _audit(app, "credit.object")
        + _audit(app, "credit.revise")
        + _audit(app, "credit.answer")
    ]
    assert actions == [
        "credit.draft",
        "credit.publish",
        "credit.object",
        "credit.revise",
        "credit.answer",
    ]


def test_credit_objection_rejected_needs_reasons_and_keeps_the_record(app, make_user, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    with app.app_context():
        objection = credit.object_to_record(_user(world.account), number, reason="事实有误")
        db.session.commit()
        objection_id = objection.id
    with app.app_context():
        with pytest.raises(RegistryError, match="不予采纳的理由"):
            credit.answer_objection(_user(world.sthj), objection_id, outcome="维持", answer=" ")
        db.session.rollback()
        credit.answer_objection(
            _user(world.sthj),
            objection_id,
            outcome="维持",
            answer="经复核,报告数据错误属实,维持原记录。",
        )
        db.session.commit()
    with app.app_context():
        objection = db.session.get(Objection, objection_id)
        assert (objection.outcome, objection.record.status) == ("维持", "已发布")
        assert objection.answer == "经复核,报告数据错误属实,维持原记录。"
        with pytest.raises(RegistryError, match="已答复"):
            credit.answer_objection(
                _user(world.sthj), objection_id, outcome="成立", answer="改判", resolution="revoke"
            )
        db.session.rollback()
        # After a rejection, the provider may object again while the window is open.
        credit.object_to_record(_user(world.account), number, reason="补充证据")
        db.session.commit()
        assert db.session.scalar(select(func.count(Objection.id))) == 2


def test_credit_objection_after_the_window_is_refused(app, make_user, login, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    clock.freeze(date(2026, 10, 13))  # the day after the window closed
    provider = _client(app, login, world.account)
    assert f"/my/credit/{number}/object" not in provider.get("/my/credit").get_data(as_text=True)
    page = post_form(provider, f"/my/credit/{number}/object", {"reason": "理由"})
    assert page.status_code == 200
    assert "异议期已于 2026-10-12 截止,不能再提出异议" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Objection.id))) == 0
        with pytest.raises(RegistryError, match="异议期已于 2026-10-12 截止"):
            credit.object_to_record(_user(world.account), number, reason="理由")


def test_credit_overdue_answer_shows_on_the_dashboard(app, make_user, login, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    with app.app_context():
        objection_id = credit.object_to_record(_user(world.account), number, reason="不服").id
        db.session.commit()
    clock.freeze(date(2026, 10, 19))  # the due date itself: not yet overdue
    regulator = _client(app, login, world.sthj)
    assert "答复已逾期" not in regulator.get("/regulator/credit").get_data(as_text=True)
    clock.freeze(date(2026, 10, 20))
    regulator = _client(app, login, world.sthj)  # a day later: the old session has timed out
    dashboard = regulator.get("/regulator/credit").get_data(as_text=True)
    assert "有 1 件异议已超过答复期限" in dashboard
    assert "答复已逾期" in dashboard
    assert "答复已逾期" in regulator.get("/regulator/credit/objections").get_data(as_text=True)
    with app.app_context():
        assert [o.id for o in credit.overdue_objections(_user(world.sthj))] == [objection_id]
        assert credit.overdue_objections(_user(world.sw)) == []  # another department's
    # Another department's dashboard does not show it.
    other = _client(app, login, world.sw)
    assert f"#{objection_id}" not in other.get("/regulator/credit").get_data(as_text=True)


# ---------------------------------------------------------------------- scope and visibility


def test_credit_cross_department_is_refused_audited_and_changes_nothing(
    app, make_user, login, clock
):
    world = _world(app, make_user)
    draft = _draft(app, world.sthj, world.uscc, title="生态环境局的草稿")
    published = _published(app, world.sthj, world.uscc, title="生态环境局的公示")
    with app.app_context():
        objection_id = credit.object_to_record(_user(world.account), published, reason="不服").id
        db.session.commit()
    water = _client(app, login, world.sw)

    # By form: a provider that offers no 市水务局 item.
    form = water.get("/regulator/credit/new").get_data(as_text=True)
    assert world.uscc not in form
    refused = water.post(
        "/regulator/credit/new",
        data={
            "csrf_token": csrf_from(form),
            "provider": world.uscc,
            "kind": "通报批评",
            "title": "越权记录",
            "facts": "事实",
            "basis": "依据",
        },
    )
    assert refused.status_code == 200
    assert "未提供天津市水务局监管的中介服务事项" in refused.get_data(as_text=True)

    # By URL: another department's draft and published record, and its objection.
    for url in (
        f"/regulator/credit/{draft}",
        f"/regulator/credit/{draft}/edit",
        f"/regulator/credit/{published}/revise",
        f"/regulator/credit/objections/{objection_id}",
    ):
        assert water.get(url).status_code == 404, url
    assert post_form(water, f"/regulator/credit/{draft}/publish").status_code == 404
    assert (
        post_form(water, f"/regulator/credit/{published}/revoke", {"reason": "x"}).status_code
        == 404
    )
    answer = post_form(
        water,
        f"/regulator/credit/objections/{objection_id}",
        {"outcome": "成立", "answer": "x", "resolution": "revoke", "confirmed": "1"},
    )
    assert answer.status_code == 404
    listing = water.get("/regulator/credit").get_data(as_text=True)
    assert draft not in listing
    assert published not in listing

    with app.app_context():
        with pytest.raises(Forbidden):
            credit.publish_record(_user(world.sw), draft)
        db.session.rollback()
        statuses = dict(db.session.execute(select(CreditRecord.number, CreditRecord.status)).all())
        assert statuses == {draft: "草稿", published: "已发布"}
        assert db.session.scalar(select(func.count(CreditRecord.id))) == 2
        assert db.session.get(Objection, objection_id).outcome is None
        denied = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "credit.denied")
        ).all()
        assert len(denied) == 8
        assert {e.outcome for e in denied} == {"denied"}
        assert {e.actor_id for e in denied} == {world.sw.id}

    # A provider cannot object to (or read) a record about another provider.
    stranger = _client(app, login, world.other_account)
    assert stranger.get(f"/my/credit/{published}/object").status_code == 404
    assert post_form(stranger, f"/my/credit/{published}/object", {"reason": "x"}).status_code == 404
    assert published not in stranger.get("/my/credit").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Objection.id))) == 1
    assert len(_audit(app, "credit.denied")) == 10


def test_credit_drafts_are_never_public(app, make_user, login, clock):
    world = _world(app, make_user)
    draft = _draft(app, world.sthj, world.uscc, title="草稿甲醛超标通报")
    shown = _published(app, world.sthj, world.uscc, title="公示噪声超标通报")
    public = app.test_client()
    assert public.get(f"/notices/{draft}").status_code == 404
    board = public.get("/notices").get_data(as_text=True)
    assert shown in board
    assert draft not in board
    assert "草稿甲醛" not in board
    api = public.get("/api/v1/notices").get_json()
    assert [i["number"] for i in api["items"]] == [shown]
    missing = public.get(f"/api/v1/notices/{draft}")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    feed = public.get("/notices.xml").get_data(as_text=True)
    assert shown in feed
    assert draft not in feed
    assert draft not in public.get("/notices.csv").get_data(as_text=True)
    assert "草稿甲醛" not in public.get(f"/providers/{world.uscc}").get_data(as_text=True)
    assert "公示噪声超标通报" in public.get(f"/providers/{world.uscc}").get_data(as_text=True)
    found = public.get("/api/v1/search", query_string={"q": "甲醛", "type": "notice"}).get_json()
    assert found["total"] == 0
    # The provider itself sees only what was published.
    provider = _client(app, login, world.account)
    assert draft not in provider.get("/my/credit").get_data(as_text=True)
    assert provider.get(f"/my/credit/{draft}/object").status_code == 404


def test_credit_published_records_cannot_be_changed_in_the_orm_or_by_raw_sql(app, make_user, clock):
    world = _world(app, make_user)
    draft = _draft(app, world.sthj, world.uscc, title="草稿可改")
    number = _published(app, world.sthj, world.uscc, title="原始标题")
    with app.app_context():
        objection_id = credit.object_to_record(_user(world.account), number, reason="原始理由").id
        db.session.commit()
    with app.app_context():
        item = db.session.scalar(select(CreditRecord).where(CreditRecord.number == number))
        item.title = "偷改"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        for statement in (
            "UPDATE credit_records SET title = '偷改' WHERE number = :n",
            "UPDATE credit_records SET facts = '偷改', basis = '偷改' WHERE number = :n",
            "UPDATE credit_records SET kind = '表扬' WHERE number = :n",
            "UPDATE credit_records SET term_until = '2099-01-01' WHERE number = :n",
            "UPDATE credit_records SET provider_id = provider_id + 1 WHERE number = :n",
            "UPDATE credit_records SET status = '草稿' WHERE number = :n",
            "DELETE FROM credit_records WHERE number = :n",
        ):
            with pytest.raises(Exception, match="never changed or deleted"):
                db.session.execute(text(statement), {"n": number})
            db.session.rollback()
        with pytest.raises(Exception, match="are final"):
            db.session.execute(
                text("UPDATE credit_objections SET reason = '改' WHERE id = :i"),
                {"i": objection_id},
            )
        db.session.rollback()
        # Status changes stay possible (revoking), and drafts are still drafts.
        db.session.execute(
            text("UPDATE credit_records SET status = '已撤销' WHERE number = :n"), {"n": number}
        )
        db.session.execute(
            text("UPDATE credit_records SET title = '草稿已改' WHERE number = :n"), {"n": draft}
        )
        with pytest.raises(Exception, match="never changed or deleted"):
            # ... but a revoked record is final.
            db.session.execute(
                text("UPDATE credit_records SET status = '已发布' WHERE number = :n"), {"n": number}
            )
        db.session.rollback()
        item = db.session.scalar(select(CreditRecord).where(CreditRecord.number == number))
        assert (item.title, item.status) == ("原始标题", "已发布")
        assert db.session.get(Objection, objection_id).reason == "原始理由"


# ---------------------------------------------------------------------- blacklisting


def _open_request(app, make_user) -> str:
    owner = make_user("enterprise")
    with app.app_context():
        project = factories.enterprise_with_project(_user(owner))
        request = market.open_request(
            _user(owner),
            project.code,
            service_code="ZJ-03",
            method="随机抽取",
            deadline=factories.later(),
        )
        db.session.commit()
        return request.ref


def _eligible(app, ref, on) -> list[str]:
    with app.app_context():
        request = db.session.scalar(select(SelectionRequest).where(SelectionRequest.ref == ref))
        return [p.uscc for p in market.eligible_providers(request, on)]


def _blacklisted_until(app, uscc):
    with app.app_context():
        return db.session.scalar(select(Provider.blacklisted_until).where(Provider.uscc == uscc))


def test_credit_blacklisting_leaves_selection_and_repair_or_revocation_restores(
    app, make_user, clock
):
    world = _world(app, make_user)
    ref = _open_request(app, make_user)
    assert world.uscc in _eligible(app, ref, PUBLISHED_ON)
    with app.app_context(), pytest.raises(RegistryError, match="不在本部门的黑名单中"):
        credit.draft_record(
            _user(world.sthj),
            provider_uscc=world.uscc,
            kind="信用修复",
            title="修复",
            facts="已整改",
            basis="办法",
        )
    with app.app_context(), pytest.raises(RegistryError, match="须填写期限"):
        credit.draft_record(
            _user(world.sthj),
            provider_uscc=world.uscc,
            kind="列入黑名单",
            title="黑名单",
            facts="事实",
            basis="依据",
        )

    term = date(2027, 9, 28)
    banned = _draft(
        app, world.sthj, world.uscc, kind="列入黑名单", title="弄虚作假列入黑名单", term_until=term
    )
    assert _blacklisted_until(app, world.uscc) is None  # a draft changes nothing
    _publish(app, world.sthj, banned)
    assert _blacklisted_until(app, world.uscc) == term
    assert world.uscc not in _eligible(app, ref, PUBLISHED_ON)

    # A repair published in the same instant as the blacklisting (a frozen or coarse clock) still
    # ends it: records of one instant are ordered by creation.
    repair = _published(app, world.sthj, world.uscc, kind="信用修复", title="整改完成信用修复")
    assert _blacklisted_until(app, world.uscc) is None
    assert world.uscc in _eligible(app, ref, PUBLISHED_ON)
    # Revoking the repair puts the blacklisting back in force.
    with app.app_context():
        credit.revoke_record(_user(world.sthj), repair, reason="修复材料不实")
        db.session.commit()
    assert _blacklisted_until(app, world.uscc) == term
    # Revoking the blacklisting itself lifts it.
    with app.app_context():
        credit.revoke_record(_user(world.sthj), banned, reason="依据适用错误")
        db.session.commit()
    assert _blacklisted_until(app, world.uscc) is None
    assert world.uscc in _eligible(app, ref, PUBLISHED_ON)
    changes = [(e.before, e.after) for e in _audit(app, "provider.blacklist")]
    assert changes == [
        ({"blacklisted_until": None}, {"blacklisted_until": "2027-09-28"}),
        ({"blacklisted_until": "2027-09-28"}, {"blacklisted_until": None}),
        ({"blacklisted_until": None}, {"blacklisted_until": "2027-09-28"}),
        ({"blacklisted_until": "2027-09-28"}, {"blacklisted_until": None}),
    ]


def test_credit_publish_confirmation_marks_provisional_windows(app, make_user, login, clock):
    """A tester's finding (stop 29): the confirmation before publishing showed the 公示期 and the
    objection window without 暂定 in a year without an official arrangement, though the record
    published showed it. Both say it; in an official year neither does."""
    world = _world(app, make_user)
    for day, marked in ((PUBLISHED_ON, False), (date(2035, 3, 6), True)):
        clock.freeze(day)
        regulator = _client(app, login, world.sthj)
        number = _draft(app, world.sthj, world.uscc)
        shown = post_form(regulator, f"/regulator/credit/{number}/publish").get_data(as_text=True)
        assert "请确认:发布信用记录" in shown
        assert ("(暂定)" in shown) is marked, day


def test_credit_blacklisting_ended_by_repair_says_so_in_public(app, make_user, client, clock):
    """A tester's finding (stop 29): a blacklisting ended early by 信用修复 still read, on its
    notice and in the API, as running to its term. The term stays as published; beside it the
    notice names the repair, and the API gives it as `ended_early`."""
    world = _world(app, make_user)
    # An earlier blacklisting whose term ran out on its own: a later repair did not end it.
    lapsed = _published(
        app,
        world.sthj,
        world.uscc,
        kind="列入黑名单",
        title="逾期未整改",
        term_until=date(2026, 10, 9),
    )
    term = date(2027, 9, 28)
    banned = _published(
        app, world.sthj, world.uscc, kind="列入黑名单", title="弄虚作假列入黑名单", term_until=term
    )
    assert "提前结束" not in client.get(f"/notices/{banned}").get_data(as_text=True)
    assert client.get(f"/api/v1/notices/{banned}").get_json()["ended_early"] is None

    clock.freeze(date(2026, 11, 3))
    repair = _published(app, world.sthj, world.uscc, kind="信用修复", title="整改完成信用修复")
    page = client.get(f"/notices/{banned}").get_data(as_text=True)
    assert "2027-09-28" in page
    assert "已于 2026-11-03 经信用修复提前结束" in page
    assert f'href="/notices/{repair}"' in page
    data = client.get(f"/api/v1/notices/{banned}").get_json()
    assert data["term_until"] == "2027-09-28"
    assert data["ended_early"] == {"number": repair, "day": "2026-11-03"}
    # The repair's own notice and any other kind carry nothing of the sort, nor does a
    # blacklisting whose term had run out before the repair.
    assert client.get(f"/api/v1/notices/{repair}").get_json()["ended_early"] is None
    assert client.get(f"/api/v1/notices/{lapsed}").get_json()["ended_early"] is None
    # The firm's profile lists the blacklisting with its term and its early end.
    profile = client.get(f"/providers/{world.uscc}").get_data(as_text=True)
    assert "期限至 2027-09-28 · 已于 2026-11-03 经信用修复提前结束" in profile
    # The exports and the feed say it too (a tester, stop 30: they showed only the term, and a
    # reader of the export believed the firm still blacklisted).
    said = "已于 2026-11-03 经信用修复(" + repair + ")提前结束"
    rows = list(csv.reader(io.StringIO(client.get("/notices.csv").get_data(as_text=True))))
    by_number = {row[0].lstrip("\ufeff"): row for row in rows}
    assert by_number[banned][-1] == said
    assert by_number[repair][-1] == ""
    feed = ET.fromstring(client.get("/notices.xml").get_data())  # noqa: S314 - our own feed
    atom = "{http://www.w3.org/2005/Atom}"
    entry = next(e for e in feed.iter(f"{atom}entry") if e.find(f"{atom}id").text.endswith(banned))
    assert said in entry.find(f"{atom}summary").text
    assert entry.find(f"{atom}updated").text.startswith("2026-11-03")
    # The list says the same as each notice, reading the firms' repairs once for the page (it
    # read them once per blacklisting, stop 29's list).
    listed = client.get("/api/v1/notices?per_page=100").get_json()["items"]
    assert {i["number"]: i["ended_early"] for i in listed} == {
        n: client.get(f"/api/v1/notices/{n}").get_json()["ended_early"]
        for n in (banned, repair, lapsed)
    }
    with app.app_context():
        items = db.session.scalars(select(CreditRecord)).all()
        statements = []

        def count(_conn, _cursor, statement, *_rest):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            ended = credit.ended_early_of(items)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(statements) == 1
        assert {i.number for i in items if i.id in ended} == {banned}


# ---------------------------------------------------------------------- exports, feed, API


def _titled(app, make_user, clock, titles):
    world = _world(app, make_user)
    numbers = [_published(app, world.sthj, world.uscc, title=t) for t in titles]
    return world, numbers


def _insert_published_title(app, world, title) -> str:
    """A title starting with a tab cannot come through the form (fields are trimmed), but data
    imported from elsewhere could hold one: store the draft directly, publish normally."""
    with app.app_context():
        number = _draft(app, world.sthj, world.uscc, title="占位")
        item = db.session.scalar(select(CreditRecord).where(CreditRecord.number == number))
        item.title = title
        db.session.commit()
    _publish(app, world.sthj, number)
    return number


def test_credit_csv_has_a_bom_and_neutralises_formulas(app, make_user, clock):
    world, _ = _titled(app, make_user, clock, ["=1+1", "＝SUM(A1)", "@cmd", "-5 分", "普通标题"])
    _insert_published_title(app, world, "\tTAB")
    response = app.test_client().get("/notices.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    header = "公示编号,记录类型,标题,中介机构,统一社会信用代码,监管部门,事实,依据,黑名单期限至,发布时间,公示期至,异议截止,修订自,链接,提前结束\r\n"
    assert body[3:].startswith(header.encode("utf-8"))
    for cell in (
        b",'=1+1,",
        ",'＝SUM(A1),".encode(),
        b",'@cmd,",
        ",'-5 分,".encode(),
        b",'\tTAB,",
        ",普通标题,".encode(),
    ):
        assert cell in body, cell
    assert b",=1+1," not in body
    assert b",@cmd," not in body
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 7
    assert {r[2] for r in rows[1:]} == {
        "'=1+1",
        "'＝SUM(A1)",
        "'@cmd",
        "'-5 分",
        "普通标题",
        "'\tTAB",
    }


def test_credit_xlsx_holds_the_same_rows_as_strings(app, make_user, clock):
    world, _ = _titled(app, make_user, clock, ['=HYPERLINK("http://x")', "普通标题"])
    _insert_published_title(app, world, "+1")
    client = app.test_client()
    csv_rows = list(csv.reader(io.StringIO(client.get("/notices.csv").data.decode("utf-8-sig"))))
    response = client.get("/notices.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value if c.value is not None else "" for c in row] for row in sheet.iter_rows()]
    assert rows == csv_rows
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value is not None)
    assert '\'=HYPERLINK("http://x")' in [r[2] for r in rows]


def test_credit_atom_feed_is_well_formed_and_lists_only_published(app, make_user, clock):
    world = _world(app, make_user)
    shown = _published(app, world.sthj, world.uscc, title="公示 <b>&</b> 标题")
    _draft(app, world.sthj, world.uscc, title="草稿不入订阅")
    revoked = _published(app, world.sthj, world.uscc, title="撤销不入订阅")
    with app.app_context():
        credit.revoke_record(_user(world.sthj), revoked, reason="撤销")
        db.session.commit()
    response = app.test_client().get("/notices.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)  # noqa: S314 - our own output, parsed to prove it is XML
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.find(f"{ATOM}id").text.endswith(f"/notices/{shown}")
    assert entry.find(f"{ATOM}title").text.startswith("警示通报:公示 <b>&</b> 标题")
    assert entry.find(f"{ATOM}author/{ATOM}name").text == "天津市生态环境局"
    assert b"<b>" not in response.data  # escaped, not markup


def test_credit_api_shape_and_filters(app, make_user, clock):
    world = _world(app, make_user)
    first = _published(app, world.sthj, world.uscc, title="第一条", kind="约谈提醒")
    second = _published(app, world.sthj, world.uscc, title="第二条", kind="表扬")
    client = app.test_client()
    body = client.get("/api/v1/notices?per_page=1").get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    assert (body["total"], body["page"], body["per_page"]) == (2, 1, 1)
    item = body["items"][0]
    assert item["number"] == second  # newest first
    assert set(item) == {
        "number",
        "kind",
        "title",
        "facts",
        "basis",
        "department",
        "provider",
        "term_until",
        "ended_early",
        "published_at",
        "disclosure_until",
        "objection_until",
        "windows_provisional",
        "in_disclosure",
        "revises",
        "url",
    }
    assert item["windows_provisional"] is False  # October 2026: the official calendar
    assert item["department"] == {"code": "STHJ", "name": "天津市生态环境局"}
    assert item["provider"] == {"uscc": world.uscc, "name": "天津清源环境科技有限公司"}
    assert item["objection_until"] == "2026-10-12"
    assert item["in_disclosure"] is True

    def numbers(**query):
        return [
            i["number"]
            for i in client.get("/api/v1/notices", query_string=query).get_json()["items"]
        ]

    assert numbers(kind="约谈提醒") == [first]
    assert numbers(department="STHJ") == [second, first]
    assert numbers(department="SW") == []
    assert numbers(provider="清源") == [second, first]
    assert numbers(provider=world.uscc.lower()) == [second, first]
    assert numbers(provider="水利") == []
    year = _record(app, first).published_at.year
    assert numbers(year=str(year)) == [second, first]
    assert numbers(year=str(year - 1)) == []
    assert numbers(date_to="2001-01-01") == []
    # Filters the API cannot read are refused with the parameter named (stop 30), not ignored.
    for bad in ({"kind": "不存在"}, {"department": "'; --"}, {"year": "abc"}, {"date_from": "x"}):
        refused = client.get("/api/v1/notices", query_string=bad)
        assert refused.status_code == 400
        assert f"{next(iter(bad))}=" in refused.get_json()["error"]["message"]
    detail = client.get(f"/api/v1/notices/{first}").get_json()
    assert detail["title"] == "第一条"
    # A number in another case is the same notice (as catalogue codes are): the API answers,
    # the page moves to the notice's own address (a tester, stop 30: both were 404).
    assert client.get(f"/api/v1/notices/{first.lower()}").get_json() == detail
    moved = client.get(f"/notices/{first.lower()}")
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith(f"/notices/{first}")
    assert detail["kind"] == "约谈提醒"
    board = client.get("/notices", query_string={"kind": "表扬"}).get_data(as_text=True)
    assert second in board
    assert first not in board


def test_credit_search_finds_a_published_notice_and_forgets_it_when_revoked(app, make_user, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc, title="危险废物台账造假通报")
    client = app.test_client()

    def hits(q):
        body = client.get("/api/v1/search", query_string={"q": q, "type": "notice"}).get_json()
        return [h["url"] for h in body["items"]]

    # Absolute, as every link the API gives (stop 30: some were relative, some absolute).
    assert hits("危险废物台账") == [f"{app.config['SITE_URL']}/notices/{number}"]
    with app.app_context():
        revision = credit.revise_record(
            _user(world.sthj),
            number,
            kind="警示通报",
            title="危险废物台账不规范通报",
            facts="台账记录不完整。",
            basis="《固体废物污染环境防治法》",
            reason="措辞更正",
        )
        db.session.commit()
        revised = revision.number
    # The superseded one left the index.
    assert hits("危险废物台账") == [f"{app.config['SITE_URL']}/notices/{revised}"]
    with app.app_context():
        credit.revoke_record(_user(world.sthj), revised, reason="撤销")
        db.session.commit()
    assert hits("危险废物台账") == []


def test_credit_profile_shows_published_records(app, make_user, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc, title="表扬优质服务", kind="表扬")
    page = app.test_client().get(f"/providers/{world.uscc}").get_data(as_text=True)
    assert f"/notices/{number}" in page
    assert "表扬:表扬优质服务" in page
    with app.app_context():
        assert [r.number for r in credit.published_records(_provider_id(world.uscc))] == [number]


def _provider_id(uscc):
    return db.session.scalar(select(Provider.id).where(Provider.uscc == uscc))


def test_credit_bad_input_gets_chinese_messages_and_stores_nothing(app, make_user, login, clock):
    world = _world(app, make_user)
    regulator = _client(app, login, world.sthj)
    form = regulator.get("/regulator/credit/new").get_data(as_text=True)
    cases = [
        (
            {"provider": world.uscc, "kind": "", "title": "t", "facts": "f", "basis": "b"},
            "请选择记录类型",
        ),
        (
            {"provider": "", "kind": "表扬", "title": "t", "facts": "f", "basis": "b"},
            "请选择中介机构",
        ),
        (
            {
                "provider": world.uscc,
                "kind": "列入黑名单",
                "title": "t",
                "facts": "f",
                "basis": "b",
                "term_until": "2026-09-01",
            },
            "黑名单期限截止日期须晚于今天",
        ),
        (
            {
                "provider": world.uscc,
                "kind": "表扬",
                "title": "x" * 201,
                "facts": "f",
                "basis": "b",
            },
            "标题不超过 200 字",
        ),
        (
            {
                "provider": world.uscc,
                "kind": "表扬",
                "title": "t",
                "facts": "f",
                "basis": "b",
                "term_until": "2026-13-45",
            },
            "不是有效的日期",
        ),
    ]
    for data, message in cases:
        response = regulator.post(
            "/regulator/credit/new", data={"csrf_token": csrf_from(form), **data}
        )
        assert response.status_code == 200
        assert message in response.get_data(as_text=True), (data, message)
    with app.app_context():
        assert db.session.scalar(select(func.count(CreditRecord.id))) == 0
    # A draft whose blacklisting term has passed by publication time is not published.
    number = _draft(app, world.sthj, world.uscc, kind="列入黑名单", term_until=date(2026, 10, 1))
    clock.freeze(date(2026, 10, 2))
    regulator = _client(app, login, world.sthj)  # days later: sign in again
    published = post_form(regulator, f"/regulator/credit/{number}/publish")
    assert "黑名单期限截止日期须晚于今天" in regulator.get(published.headers["Location"]).get_data(
        as_text=True
    )
    assert _record(app, number).status == "草稿"
    # Unknown numbers are 404, never 500.
    for url in (
        "/notices/XY-2026-999999",
        "/notices/%00",
        "/regulator/credit/nope",
        "/regulator/credit/objections/999",
    ):
        assert regulator.get(url).status_code == 404, url


@pytest.mark.concurrency
def test_credit_concurrent_objections_leave_exactly_one_open(app, make_user, clock):
    """Two submissions of the objection at once (a double click): one objection, no error page."""
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def submit():
        barrier.wait(timeout=20)  # before any database access
        with app.app_context():
            try:
                credit.object_to_record(_user(world.account), number, reason="不服")
                db.session.commit()
                results.append("ok")
            except RegistryError as error:
                db.session.rollback()
                results.append(error.message)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "该记录已有待答复的异议,请等待主管部门答复"], results
    with app.app_context():
        assert db.session.scalar(select(func.count(Objection.id))) == 1


def test_credit_windows_follow_the_configured_working_days(app, make_user, clock):
    app.config.update(CREDIT_OBJECTION_DAYS=3, CREDIT_DISCLOSURE_DAYS=10, CREDIT_ANSWER_DAYS=2)
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    item = _record(app, number)
    assert item.objection_until == date(2026, 10, 9)  # 30 Sep, 8 Oct, 9 Oct
    assert item.disclosure_until == date(2026, 10, 19)
    with app.app_context():
        objection = credit.object_to_record(_user(world.account), number, reason="不服")
        assert objection.answer_due == date(2026, 10, 8)  # from 29 Sep: 30 Sep, 8 Oct
        db.session.rollback()
    with app.app_context(), pytest.raises(NotFound):
        credit.get_public_notice("XY-2026-000000")


def test_credit_revision_and_revocation_are_confirmed_first(app, make_user, login, clock):
    """Revising or revoking a published record shows what will be published first, as a first
    publication does (they took effect at once); a content error stays on the form, input kept."""
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc, kind="约谈提醒")
    regulator = _client(app, login, world.sthj)
    url = f"/regulator/credit/{number}/revise"
    fields = {
        "kind": "警示通报",
        "title": "未按规定编制环评报告(修订)",
        "facts": "2026 年 8 月,该机构编制的报告存在数据错误。",
        "basis": "《建设项目环境影响报告书(表)编制监督管理办法》第二十六条",
        "reason": "记录类型有误。",
    }
    first = post_form(regulator, url, fields)
    page = first.get_data(as_text=True)
    assert first.status_code == 200
    assert f"请确认:发布信用记录 {number} 的修订版本" in page
    assert "未按规定编制环评报告(修订)" in page
    assert _record(app, number).status == "已发布"  # nothing written yet
    # A blacklisting needs its term: told on the form, the text typed kept.
    missing = post_form(regulator, url, {**fields, "kind": "列入黑名单"})
    assert "请确认" not in missing.get_data(as_text=True)
    assert "未按规定编制环评报告(修订)" in missing.get_data(as_text=True)
    assert "列入黑名单须填写期限截止日期" in missing.get_data(as_text=True)
    done = post_form(regulator, url, {**fields, "confirmed": "1"})
    assert done.status_code == 302
    assert _record(app, number).status == "已修订"
    with app.app_context():
        revision = db.session.scalar(
            select(CreditRecord).where(CreditRecord.revises_id.is_not(None))
        )
        revised = revision.number
    revoke = f"/regulator/credit/{revised}/revoke"
    asked = post_form(regulator, revoke, {"reason": "重复记录。"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert f"请确认:撤销信用记录 {revised}" in page
    assert "确认撤销" in page
    assert _record(app, revised).status == "已发布"
    assert (
        post_form(regulator, revoke, {"reason": "重复记录。", "confirmed": "1"}).status_code == 302
    )
    assert _record(app, revised).status == "已撤销"


def test_credit_board_says_what_is_wrong_with_its_date_filter(client):
    """A start after the end gave 0 rows silently, an unreadable date was silently ignored."""
    reversed_ = client.get("/notices?date_from=2026-12-01&date_to=2026-11-01")
    assert reversed_.status_code == 200
    assert "发布日期起晚于发布日期止,没有符合条件的记录" in reversed_.get_data(as_text=True)
    unreadable = client.get("/notices?date_from=bad").get_data(as_text=True)
    assert "发布日期起“bad”无法识别,请按 YYYY-MM-DD 填写;该条件未使用。" in unreadable
    plain = client.get("/notices?date_from=2026-01-01").get_data(as_text=True)
    assert "无法识别" not in plain
    assert "没有符合条件的记录" not in plain


def test_credit_a_draft_made_by_mistake_can_be_deleted_a_published_record_never(
    app, make_user, login, clock
):
    world = _world(app, make_user)
    draft = _draft(app, world.sthj, world.uscc, title="误建的草稿")
    published = _published(app, world.sthj, world.uscc)
    regulator = _client(app, login, world.sthj)
    page = regulator.get(f"/regulator/credit/{draft}").get_data(as_text=True)
    assert "删除草稿" in page
    done = post_form(regulator, f"/regulator/credit/{draft}/discard")
    assert done.status_code == 302
    assert f"已删除草稿 {draft}(误建的草稿)" in regulator.get(done.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(select(CreditRecord).where(CreditRecord.number == draft)) is None
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "credit.discard")
        ).one()
        assert entry.before["title"] == "误建的草稿"
    assert "删除草稿" not in regulator.get(f"/regulator/credit/{published}").get_data(as_text=True)
    refused = post_form(regulator, f"/regulator/credit/{published}/discard")
    assert "不能删除" in regulator.get(refused.headers["Location"]).get_data(as_text=True)
    assert _record(app, published).status == "已发布"
    # Another department's draft is not found.
    other = _draft(app, world.sthj, world.uscc)
    water = _client(app, login, world.sw)
    assert post_form(water, f"/regulator/credit/{other}/discard").status_code == 404


def _seen_of(page: str) -> str:
    """The hidden `seen` of a draft's edit form."""
    return re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', page).group(1)


def test_credit_a_draft_saved_from_two_tabs_keeps_the_first_save(app, make_user, login, clock):
    """A tester (stop 30): tab A changed 事实 and saved, tab B (opened before) changed 依据 and
    saved; both said 草稿已保存, and A's 事实 was gone. B's save is now refused, nothing lost."""
    world = _world(app, make_user)
    number = _draft(app, world.sthj, world.uscc, title="两个窗口")
    regulator = _client(app, login, world.sthj)
    url = f"/regulator/credit/{number}/edit"
    tab_a = regulator.get(url).get_data(as_text=True)
    tab_b = regulator.get(url).get_data(as_text=True)
    content = {"kind": "警示通报", "title": "两个窗口", "facts": "原事实。", "basis": "原依据。"}

    def save(page, **change):
        data = {**content, **change, "csrf_token": csrf_from(page), "seen": _seen_of(page)}
        return regulator.post(url, data=data, follow_redirects=True).get_data(as_text=True)

    assert "草稿已保存" in save(tab_a, facts="A 窗口修改的事实。")
    refused = save(tab_b, basis="B 窗口修改的依据。")
    assert "该草稿已在别处修改并保存" in refused
    assert "草稿已保存" not in refused
    stored = _record(app, number)
    assert (stored.facts, stored.basis) == ("A 窗口修改的事实。", "原依据。")
    # A form without its `seen` (dropped, forged) is stale too, never an unchecked overwrite.
    page = regulator.get(url).get_data(as_text=True)
    data = {**content, "csrf_token": csrf_from(page)}
    assert "该草稿已在别处修改并保存" in regulator.post(url, data=data).get_data(as_text=True)
    # Reloaded, the form saves.
    assert "草稿已保存" in save(regulator.get(url).get_data(as_text=True), basis="B 重新修改。")
    assert _record(app, number).basis == "B 重新修改。"


def test_credit_a_blacklisting_lasts_ten_years_at_most_counting_its_first_day(
    app, make_user, clock
):
    """A tester (stop 30): listed on 2026-12-08, a last day of 2036-12-08 was accepted — ten
    years and a day, counting both ends, under a rule of at most ten years."""
    world = _world(app, make_user)
    clock.freeze(date(2026, 12, 8))
    with pytest.raises(RegistryError, match=r"不能超过 10 年\(自今天起算,最晚至 2036-12-07\)"):
        _draft(app, world.sthj, world.uscc, kind="列入黑名单", term_until=date(2036, 12, 8))
    _draft(app, world.sthj, world.uscc, kind="列入黑名单", term_until=date(2036, 12, 7))
    assert credit.last_term_day(date(2028, 2, 29)) == date(2038, 2, 28)


def test_credit_a_revoked_notice_says_when_and_why_it_was_revoked(app, make_user, client, clock):
    """A tester (stop 30): the revoke confirmation promised 撤销及其原因公开留痕, but the number
    answered a bare 404 (可能已被移除) to the links in earlier exports and feeds. It answers 410
    with the day and the reason; the content is no longer shown."""
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc, title="待撤销的记录")
    with app.app_context():
        credit.revoke_record(_user(world.sthj), number, reason="事实认定有误,予以撤销")
        db.session.commit()
    said = f"已于 {clock.today()} 撤销,不再公示。撤销原因:事实认定有误,予以撤销"
    page = client.get(f"/notices/{number}")
    assert page.status_code == 410
    assert said in page.get_data(as_text=True)
    assert "待撤销的记录" not in page.get_data(as_text=True)
    api = client.get(f"/api/v1/notices/{number}")
    assert api.status_code == 410
    assert said in api.get_json()["error"]["message"]
    assert number not in client.get("/notices").get_data(as_text=True)
