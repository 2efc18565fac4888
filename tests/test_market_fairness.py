"""Fair by default: the method is chosen explicitly (直接选取 with a published reason), the
minimum notice period in working days, 报名截止 after the deadline, the national project code."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from registry.config import DEFAULTS
from registry.extensions import db
from registry.kernel import clock
from registry.models import SelectionRequest, User
from registry.pure.workdays import add_working_days
from registry.services import market
from registry.services.errors import RegistryError
from tests import factories
from tests.conftest import post_form

NOTICE = DEFAULTS["REQUEST_MIN_NOTICE_WORKDAYS"]
REASON = "涉密工程,仅一家机构具备保密资质"


@pytest.fixture
def app_config():
    """The default minimum notice period (the suite's flows use 0)."""
    return {"REQUEST_MIN_NOTICE_WORKDAYS": NOTICE}


def _owner(app, make_user) -> tuple[User, str]:
    owner = make_user("enterprise")
    with app.app_context():
        project = factories.enterprise_with_project(db.session.get(User, owner.id))
        db.session.commit()
        return owner, project.code


def _deadline(workdays: int) -> str:
    """17:00 Beijing on the workdays-th working day after today, as the form takes it."""
    day = add_working_days(clock.today(), workdays)
    return f"{day:%Y-%m-%d}T17:00"


def _requests(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SelectionRequest))


def test_market_fairness_the_request_form_refuses_what_weakens_fairness(
    app, client, make_user, login
):
    owner, code = _owner(app, make_user)
    login(owner)
    url = f"/my/projects/{code}/requests/new"
    form = client.get(url).get_data(as_text=True)
    assert 'value="">请选择</option>' in form
    fields = {"service": "ZJ-03", "method": "", "deadline": _deadline(NOTICE)}
    before = _requests(app)
    refused = post_form(client, url, fields).get_data(as_text=True)
    assert "请选择选取方式" in refused
    refused = post_form(client, url, {**fields, "method": "直接选取"}).get_data(as_text=True)
    assert "采用直接选取须说明理由" in refused
    soon = {**fields, "method": "随机抽取", "deadline": _deadline(1)}
    refused = post_form(client, url, soon).get_data(as_text=True)
    earliest = add_working_days(clock.today(), NOTICE)
    assert f"截止时间最早为 {earliest:%Y-%m-%d}" in refused
    assert _requests(app) == before
    opened = post_form(client, url, {**fields, "method": "直接选取", "method_reason": REASON})
    assert opened.status_code == 302, opened.get_data(as_text=True)
    ref = opened.headers["Location"].rsplit("/", 1)[-1]
    with app.app_context():
        assert market.get_request(ref).method_reason == REASON
    page = client.get(f"/requests/{ref}").get_data(as_text=True)
    assert REASON in page
    assert "报名中" in page


def _direct_request_with_two_quotes(app, make_user) -> tuple[User, str, list[str], object]:
    """A 直接选取 request with two quotes; returns (owner, ref, the bidders' codes, deadline)."""
    owner, code = _owner(app, make_user)
    accounts = [make_user("provider") for _ in range(2)]
    with app.app_context():
        providers = [
            factories.active_provider(account=db.session.get(User, a.id)) for a in accounts
        ]
        deadline = clock.at(add_working_days(clock.today(), NOTICE), 17)
        user = db.session.get(User, owner.id)
        ref = market.open_request(
            user,
            code,
            service_code="ZJ-03",
            method="直接选取",
            method_reason=REASON,
            deadline=deadline,
        ).ref
        for account in accounts:
            market.submit_quote(
                db.session.get(User, account.id),
                ref,
                amount=None,
                proposal="服务方案",
                submission_key=uuid.uuid4().hex,
            )
        db.session.commit()
        return owner, ref, [p.uscc for p in providers], deadline


def test_market_fairness_after_the_deadline_it_reads_closed_and_the_award_shows_the_reason(
    app, client, make_user
):
    owner, ref, bidders, deadline = _direct_request_with_two_quotes(app, make_user)
    winner = bidders[0]
    clock.freeze(deadline + timedelta(minutes=1))
    page = client.get("/requests").get_data(as_text=True)
    assert "报名截止" in page
    assert "报名中" not in page.split("<tbody>")[1]
    with app.app_context():
        award = market.decide(
            db.session.get(User, owner.id), ref, chosen_uscc=winner, reason="方案最优"
        )
        db.session.commit()
        award_id = award.award.id
    assert "已选定" in client.get(f"/requests/{ref}").get_data(as_text=True)
    assert REASON in client.get(f"/awards/{award_id}").get_data(as_text=True)


@pytest.mark.parametrize("bad", ["ABC-123", "2024-12011-47-03-000001", "2024-120116-47-03-00001"])
def test_market_fairness_a_malformed_project_code_is_refused(app, make_user, bad):
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        factories.enterprise_with_project(user)
        with pytest.raises(RegistryError, match="全国投资项目代码"):
            market.create_project(
                user, code=bad, name="新建厂房", category="民营/外资", location="天津"
            )
        project = market.create_project(
            user,
            code="2024-120116-47-03-000001",
            name="新建厂房",
            category="民营/外资",
            location="天津",
        )
        assert project.code == "2024-120116-47-03-000001"
        # Full-width digits and dash, as an IME types them, are read (the USCC already was).
        typed = market.create_project(
            user,
            code="２０２４－１２０１１６－４７－０３－０００００２",
            name="新建厂房",
            category="民营/外资",
            location="天津",
        )
        assert typed.code == "2024-120116-47-03-000002"


def test_market_fairness_a_future_land_contract_date_is_accepted_with_a_warning(
    client, make_user, login
):
    login(make_user("enterprise"))
    later = clock.today() + timedelta(days=30)
    created = post_form(
        client,
        "/my/projects/new",
        {
            "enterprise_name": "天津示范预约制造有限公司",
            "enterprise_uscc": factories.uscc(),
            "code": "2026-120116-34-01-000555",
            "name": "预约厂房",
            "category": "民营/外资",
            "location": "天津滨海高新区",
            "land_contract_date": later.isoformat(),
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"土地出让合同签订日期 {later:%Y-%m-%d} 晚于今天" in created
    # Editing it to another future date warns the same way, and a past date does not.
    edit = "/projects/2026-120116-34-01-000555/edit"
    fields = {"location": "天津滨海高新区", "building_type": "", "floor_area": ""}
    edited = post_form(
        client,
        edit,
        {**fields, "land_contract_date": (later + timedelta(days=1)).isoformat()},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"{later + timedelta(days=1):%Y-%m-%d} 晚于今天" in edited
    past = clock.today() - timedelta(days=3)
    edited = post_form(
        client, edit, {**fields, "land_contract_date": past.isoformat()}, follow_redirects=True
    ).get_data(as_text=True)
    assert "项目信息已保存" in edited
    assert "晚于今天,已按预计日期排期" not in edited


def test_market_fairness_staff_registering_a_future_land_contract_date_are_warned(
    client, make_user, login
):
    login(make_user("staff"))
    later = clock.today() + timedelta(days=10)
    created = post_form(
        client,
        "/staff/projects/new",
        {
            "enterprise_uscc": factories.uscc(),
            "enterprise_name": "天津招商预约有限公司",
            "code": "2026-120116-34-01-000556",
            "name": "招商推送厂房",
            "category": "民营/外资",
            "location": "天津滨海高新区",
            "land_contract_date": later.isoformat(),
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已为 天津招商预约有限公司 登记" in created
    assert f"土地出让合同签订日期 {later:%Y-%m-%d} 晚于今天" in created


def test_market_fairness_a_decision_differing_from_the_confirmed_one_is_refused(
    app, client, make_user, login
):
    """确定结果并公示 decides only what the confirmation page showed: a confirmed POST whose result
    is no longer the one named (here another winner than confirmed) is refused, nothing written."""
    owner, ref, bidders, deadline = _direct_request_with_two_quotes(app, make_user)
    clock.freeze(deadline + timedelta(minutes=1))
    login(owner)
    url = f"/my/requests/{ref}/decide"
    asked = post_form(client, url, {"winner": bidders[0], "reason": "方案最优"})
    shown = asked.get_data(as_text=True)
    assert "请确认:确定结果并公示" in shown
    assert bidders[0] in shown
    changed = {"confirmed": "1", "expect": bidders[0], "winner": bidders[1], "reason": "方案最优"}
    refused = post_form(client, url, changed)
    assert refused.headers["Location"] == f"/my/requests/{ref}"
    shown = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "选取结果与确认页面所示的不一致" in shown
    with app.app_context():
        assert market.get_request(ref).status == "报名中"
        assert market.get_request(ref).award is None
    decided = post_form(client, url, {**changed, "expect": bidders[1]})
    assert decided.status_code == 302, decided.get_data(as_text=True)
    with app.app_context():
        assert market.get_request(ref).award.provider.uscc == bidders[1]
