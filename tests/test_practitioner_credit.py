"""Credit that follows the person (issue 17): records against a practitioner, their standing, the
firm's profile showing its current staff's records, objections by the person (both databases)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from registry.extensions import db
from registry.kernel import clock as system_clock
from registry.models import CreditRecord, Objection, Practitioner, Provider, User
from registry.services import credit, practitioners
from registry.services.errors import Forbidden, RegistryError
from registry.services.practitioners import standing
from tests.conftest import csrf_from
from tests.factories import active_provider
from tests.test_market_practitioners import EIA, _market, _people, _quote, _refused
from tests.test_practitioners import id_number

TODAY = date(2026, 9, 29)
ZHANG = "张三明"


@pytest.fixture
def clock(frozen_clock):
    """The clock on TODAY (a Tuesday; the objection window runs over National Day)."""
    frozen_clock.freeze(TODAY)
    return frozen_clock


@dataclass
class World:
    sthj: object  # regulator of 市生态环境局 (supervises ZJ-03)
    sw: object  # regulator of 市水务局 (ZJ-04)
    first: object  # account of the person's first firm
    second: object  # account of the firm they move to
    first_uscc: str
    second_uscc: str
    person_account: object  # the person's own account
    person_id: int


def _user(made) -> User:
    return db.session.get(User, made.id)


def _world(app, make_user) -> World:
    sthj, sw = make_user("regulator", department="STHJ"), make_user("regulator", department="SW")
    first, second, own = make_user("provider"), make_user("provider"), make_user("practitioner")
    with app.app_context():
        a = active_provider(["ZJ-03"], account=_user(first), name="天津清源环境科技有限公司")
        b = active_provider(["ZJ-03"], account=_user(second), name="天津碧水环境咨询有限公司")
        employment = practitioners.register_practitioner(
            a,
            {
                "name": ZHANG,
                "id_number": id_number(31),
                "title": "技术负责人",
                "started_on": TODAY - timedelta(days=60),
            },
            actor=_user(first),
        )
        employment.practitioner.account_id = own.id
        db.session.commit()
        return World(sthj, sw, first, second, a.uscc, b.uscc, own, employment.practitioner_id)


def _published(app, regulator, person_id, *, kind="警示通报", **extra) -> str:
    with app.app_context():
        item = credit.draft_record(
            _user(regulator),
            provider_uscc=None,
            practitioner_id=person_id,
            kind=kind,
            title="环评报告编制中弄虚作假",
            facts="2026 年 8 月,该人员主持编制的报告存在数据错误。",
            basis="《建设项目环境影响报告书(表)编制监督管理办法》第二十七条",
            **extra,
        )
        db.session.commit()
        credit.publish_record(_user(regulator), item.number)
        db.session.commit()
        return item.number


def _person(person_id: int) -> Practitioner:
    return db.session.get(Practitioner, person_id)


def _signed_in(app, login, user):
    client = app.test_client()
    assert login(user, on=client).status_code == 302
    return client


def _move(app, world: World, on: date) -> None:
    """The person leaves the first firm and joins the second on the day."""
    with app.app_context():
        first = db.session.scalar(select(Provider).where(Provider.uscc == world.first_uscc))
        second = db.session.scalar(select(Provider).where(Provider.uscc == world.second_uscc))
        employment = _person(world.person_id).current_employment
        practitioners.end_employment(
            first, employment.id, {"ended_on": on}, actor=_user(world.first)
        )
        practitioners.register_practitioner(
            second,
            {"name": ZHANG, "id_number": id_number(31), "title": None, "started_on": on},
            actor=_user(world.second),
        )
        db.session.commit()


def test_practitioner_credit_record_shows_on_person_and_firm_masked(app, make_user, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.person_id)
    with app.app_context():
        records = standing.person_records(_person(world.person_id))
        assert [r.number for r in records] == [number]
        item = records[0]
        assert item.provider_uscc == world.first_uscc  # the firm at the time
        first = db.session.scalar(select(Provider).where(Provider.uscc == world.first_uscc))
        # The firm's own records, its grade and the public board are about firms only.
        assert credit.published_records(first.id) == []
        assert credit.list_notices(credit.NoticeFilters()).total == 0
        score = standing.person_standing(_person(world.person_id))
        assert score.score == 90
        assert score.label == "良好"
    client = app.test_client()
    profile = client.get(f"/providers/{world.first_uscc}").get_data(as_text=True)
    assert "张*明" in profile
    assert "环评报告编制中弄虚作假" in profile
    assert ZHANG not in profile
    page = client.get(f"/practitioners/{world.person_id}")
    if page.status_code == 200:  # the public person page (built alongside)
        body = page.get_data(as_text=True)
        assert number in body
        assert ZHANG not in body
    assert client.get(f"/notices/{number}").status_code == 404
    assert number not in client.get("/search?q=弄虚作假").get_data(as_text=True)


def test_practitioner_credit_record_follows_the_person(app, make_user, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.person_id)
    clock.freeze(TODAY + timedelta(days=1))
    _move(app, world, TODAY + timedelta(days=1))
    client = app.test_client()
    old = client.get(f"/providers/{world.first_uscc}").get_data(as_text=True)
    new = client.get(f"/providers/{world.second_uscc}").get_data(as_text=True)
    assert "环评报告编制中弄虚作假" not in old
    assert "环评报告编制中弄虚作假" in new
    assert "张*明" in new
    with app.app_context():
        # Still the same record, noting the firm at the time.
        item = standing.person_records(_person(world.person_id))[0]
        assert item.number == number
        assert item.provider_uscc == world.first_uscc
        second = db.session.scalar(select(Provider).where(Provider.uscc == world.second_uscc))
        assert [r.record.number for r in standing.staff_records(second)] == [number]


def test_practitioner_credit_blacklisted_person_is_barred(app, make_user, clock):
    world = _world(app, make_user)
    with app.app_context():
        person = _person(world.person_id)
        assert not standing.is_barred(person, TODAY)
    number = _published(
        app, world.sthj, world.person_id, kind="列入黑名单", term_until=date(2027, 9, 28)
    )
    with app.app_context():
        person = _person(world.person_id)
        assert standing.is_barred(person, TODAY)
        reason = standing.bar_reason(person, TODAY)
        assert number in reason
        assert "张*明" in reason
        assert "不能在报价中列名" in reason
        assert not standing.is_barred(person, date(2027, 9, 29))  # the term is over
        result = standing.person_standing(person)
        assert result.label == "黑名单"
        assert result.barred_until == date(2027, 9, 28)
        # The firm is not blacklisted for its employee's record.
        first = db.session.scalar(select(Provider).where(Provider.uscc == world.first_uscc))
        assert first.blacklisted_until is None


def test_practitioner_credit_person_objects_within_the_window(app, make_user, login, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.person_id)
    # The firm does not object for its people, nor sees the record among its own.
    with app.app_context(), pytest.raises(Forbidden):
        credit.get_record_about(_user(world.first), number)
    firm = _signed_in(app, login, world.first)
    assert number not in firm.get("/my/credit").get_data(as_text=True)
    client = _signed_in(app, login, world.person_account)
    page = client.get("/my/person/credit").get_data(as_text=True)
    assert ZHANG in page
    assert number in page
    assert "提出异议" in page
    url = f"/my/person/credit/{number}/object"
    form = client.get(url).get_data(as_text=True)
    assert f"<dd>{ZHANG}</dd>" in form  # the person sees their own name on the record, unmasked
    token = csrf_from(form)
    response = client.post(url, data={"csrf_token": token, "reason": "数据错误系委托方提供。"})
    assert response.status_code == 302
    with app.app_context():
        objection = db.session.scalar(select(Objection))
        assert objection.reason == "数据错误系委托方提供。"
        assert objection.submitted_by_id == world.person_account.id
        assert objection.record.number == number
        # The department's regulator answers it like any other.
        assert [o.id for o in credit.objections_for_department(_user(world.sthj))] == [objection.id]
    # Answered (the person hears back), then after the window a new objection is refused.
    with app.app_context():
        credit.answer_objection(
            _user(world.sthj), objection.id, outcome="维持", answer="经核查,数据错误属实。"
        )
        db.session.commit()
        until = credit.get_record_about(_user(world.person_account), number).objection_until
    assert "异议不成立" in client.get("/my/person/credit").get_data(as_text=True)
    clock.freeze(until + timedelta(days=1))
    with app.app_context(), pytest.raises(RegistryError, match="异议期已于"):
        credit.object_to_record(_user(world.person_account), number, reason="再次异议")


def test_practitioner_credit_other_department_refused(app, make_user, clock):
    world = _world(app, make_user)
    with app.app_context():
        with pytest.raises(credit.OutOfScope):
            credit.draft_record(
                _user(world.sw),
                provider_uscc=None,
                practitioner_id=world.person_id,
                kind="约谈提醒",
                title="约谈",
                facts="事实",
                basis="依据",
            )
        # Person records are of the four negative kinds only; the firm named must be theirs.
        with pytest.raises(RegistryError, match="记录类型只能是"):
            credit.draft_record(
                _user(world.sthj),
                provider_uscc=None,
                practitioner_id=world.person_id,
                kind="表扬",
                title="表扬",
                facts="事实",
                basis="依据",
            )
        with pytest.raises(RegistryError, match="不在所选中介机构"):
            credit.draft_record(
                _user(world.sthj),
                provider_uscc=world.second_uscc,
                practitioner_id=world.person_id,
                kind="约谈提醒",
                title="约谈",
                facts="事实",
                basis="依据",
            )
    number = _published(app, world.sthj, world.person_id)
    with app.app_context(), pytest.raises(credit.OutOfScope):
        credit.get_record_for(_user(world.sw), number)


def test_practitioner_credit_record_never_edited_in_place(app, make_user, clock):
    world = _world(app, make_user)
    other = make_user("provider")
    with app.app_context():
        firm = active_provider(["ZJ-03"], account=_user(other))
        someone = practitioners.register_practitioner(
            firm,
            {
                "name": "李四",
                "id_number": id_number(32),
                "title": None,
                "started_on": TODAY - timedelta(days=5),
            },
            actor=_user(other),
        ).practitioner_id
        db.session.commit()
    number = _published(app, world.sthj, world.person_id)
    with app.app_context():
        item = db.session.scalar(select(CreditRecord).where(CreditRecord.number == number))
        item.practitioner_id = someone
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(Exception, match="never changed"):
            db.session.execute(
                text("UPDATE credit_records SET practitioner_id = :p WHERE number = :n"),
                {"p": someone, "n": number},
            )
        db.session.rollback()
        # A revision keeps the person; the old row is only marked superseded.
        revision = credit.revise_record(
            _user(world.sthj),
            number,
            reason="更正依据条款",
            kind="警示通报",
            title="环评报告编制中弄虚作假",
            facts="事实",
            basis="第二十八条",
        )
        db.session.commit()
        assert revision.practitioner_id == world.person_id
        records = standing.person_records(_person(world.person_id), public=False)
        assert [(r.number, r.status) for r in records] == [
            (revision.number, "已发布"),
            (number, "已修订"),
        ]


def test_practitioner_credit_person_table_is_checked():
    config = {
        "PRACTITIONER_CREDIT_DEDUCTIONS": {"警示通报": 10},
        "PRACTITIONER_CREDIT_BANDS": [("良好", 90), ("较差", 0)],
    }
    assert standing.person_settings(config).deductions == {"警示通报": 10}
    with pytest.raises(ValueError, match="只能包含"):
        standing.person_settings({**config, "PRACTITIONER_CREDIT_DEDUCTIONS": {"表扬": 1}})
    with pytest.raises(ValueError, match="最后一档为 0"):
        standing.person_settings({**config, "PRACTITIONER_CREDIT_BANDS": [("良好", 90)]})
    with pytest.raises(ValueError, match="不小于 0"):
        standing.person_settings({**config, "PRACTITIONER_CREDIT_DEDUCTIONS": {"警示通报": -1}})


def test_practitioner_credit_blacklisted_person_cannot_be_named_on_a_quote(app, make_user):
    deal = _market(app, make_user)
    sthj = make_user("regulator", department="STHJ")
    account = deal["accounts"][0]
    barred, other = _people(app, deal["providers"][0], ("王五", EIA), ("赵六", EIA))
    with app.app_context():
        item = credit.draft_record(
            _user(sthj),
            provider_uscc=None,
            practitioner_id=barred,
            kind="列入黑名单",
            title="出租执业资格证书",
            facts="该人员将执业资格证书出借给其他单位使用。",
            basis="《环境影响评价工程师职业资格制度规定》",
            term_until=system_clock.today() + timedelta(days=365),
        )
        credit.publish_record(_user(sthj), item.number)
        db.session.commit()
        number = item.number
    message = _refused(app, account, deal["ref"], barred)
    assert "从业人员 王* 已被" in message
    assert number in message
    assert "列入黑名单" in message
    assert "不能在报价中列名" in message
    # As a team member too; a quote naming someone else goes through.
    assert number in _refused(app, account, deal["ref"], other, [barred])
    assert _quote(app, account, deal["ref"], other)


def test_practitioner_credit_publishing_a_person_blacklisting_says_what_it_does(
    app, make_user, login, clock
):
    world = _world(app, make_user)
    with app.app_context():
        item = credit.draft_record(
            _user(world.sthj),
            provider_uscc=None,
            practitioner_id=world.person_id,
            kind="列入黑名单",
            title="出借执业资格证书",
            facts="该人员将证书出借给其他机构使用。",
            basis="《环境影响评价工程师职业资格制度规定》",
            term_until=TODAY + timedelta(days=365),
        )
        db.session.commit()
        number = item.number
    client = _signed_in(app, login, world.sthj)
    draft = client.get(f"/regulator/credit/{number}").get_data(as_text=True)
    assert "列入黑名单的从业人员将立即不能在报价中列名" in draft
    page = client.post(
        f"/regulator/credit/{number}/publish", data={"csrf_token": csrf_from(draft)}
    ).get_data(as_text=True)
    assert "张*明" in page
    assert ZHANG not in page
    assert "记录时所在机构" in page
    assert "列入黑名单的从业人员将立即不能在报价中列名" in page
    assert "列入黑名单的机构" not in page
    with app.app_context():
        assert db.session.scalar(select(CreditRecord).filter_by(number=number)).is_draft


def test_practitioner_credit_record_links_to_the_page_that_shows_it(app, make_user, login, clock):
    """The regulator's 查看公示页面 on a person record leads to the person's page, where the
    record is listed (person records are not on the notice board, whose link would be a 404)."""
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.person_id)
    client = _signed_in(app, login, world.sthj)
    page = client.get(f"/regulator/credit/{number}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">查看公示页面</a>', page)
    assert link is not None
    assert link.group(1) == f"/practitioners/{world.person_id}#records-title"
    shown = app.test_client().get(link.group(1))
    assert shown.status_code == 200
    assert number in shown.get_data(as_text=True)
    # A firm's record still links to its notice on the board.
    with app.app_context():
        item = credit.draft_record(
            _user(world.sthj),
            provider_uscc=world.first_uscc,
            kind="约谈提醒",
            title="环评报告质量问题",
            facts="2026 年 8 月,该机构编制的报告存在数据错误。",
            basis="《建设项目环境影响报告书(表)编制监督管理办法》",
        )
        db.session.commit()
        credit.publish_record(_user(world.sthj), item.number)
        db.session.commit()
        firm_number = item.number
    page = client.get(f"/regulator/credit/{firm_number}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">查看公示页面</a>', page)
    assert link is not None
    assert link.group(1) == f"/notices/{firm_number}"
    assert app.test_client().get(link.group(1)).status_code == 200


def test_practitioner_credit_forged_person_id_is_not_found(app, make_user, clock):
    """An id too large for an id column (posted by hand) is 未找到, not a driver overflow."""
    world = _world(app, make_user)
    with app.app_context():
        for forged in (2**63, 2**31, 0, -1):
            with pytest.raises(RegistryError, match="未找到该从业人员"):
                credit.draft_record(
                    _user(world.sthj),
                    provider_uscc=None,
                    practitioner_id=forged,
                    kind="约谈提醒",
                    title="标题",
                    facts="事实",
                    basis="依据",
                )
            db.session.rollback()
