"""The marketplace through its pages: project, selection request, sealed quotes, award notice,
public verification, and who may see what."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.kernel import clock
from registry.models import AuditEntry, Award, Notification, Quote, SelectionRequest, User
from registry.services import market
from registry.services.errors import RegistryError
from tests import factories
from tests.conftest import csrf_from, post_form

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates


def _providers(app, make_user, login, count=3):
    """Provider accounts with active providers offering ZJ-03; signed-in clients."""
    clients = []
    for _ in range(count):
        account = make_user("provider")
        with app.app_context():
            factories.active_provider(account=db.session.get(User, account.id))
            db.session.commit()
        client = app.test_client()
        login(account, on=client)
        clients.append(client)
    return clients


def _open_request(app, make_user, **extra) -> str:
    """An enterprise's 竞价选取 request for ZJ-03, open for two hours; its number."""
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        ref = market.open_request(
            user,
            project.code,
            service_code="ZJ-03",
            method="竞价选取",
            deadline=factories.later(),
            **extra,
        ).ref
        db.session.commit()
    return ref


def _form_key(html: str) -> str:
    return re.search(r'name="submission_key"[^>]*value="([0-9a-f]+)"', html).group(1)


def test_market_pages_whole_flow_from_project_to_verified_award(app, client, make_user, login):
    owner = make_user("enterprise")
    login(owner)
    created = post_form(
        client,
        "/my/projects/new",
        {
            "enterprise_name": "天津示范精密制造有限公司",
            "enterprise_uscc": factories.uscc(),
            "code": "2026-120116-34-01-000777",
            "name": "精密部件厂房",
            "category": "民营/外资",
            "location": "天津滨海高新区渤龙湖科技园",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    page = client.get("/my/projects/2026-120116-34-01-000777").get_data(as_text=True)
    assert "精密部件厂房" in page
    assert "目标 160 天" in page
    deadline = clock.local(clock.now() + timedelta(hours=3))
    opened = post_form(
        client,
        "/my/projects/2026-120116-34-01-000777/requests/new",
        {
            "service": "ZJ-03",
            "method": "竞价选取",
            "price_min": "10000",
            "price_max": "90000",
            "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
            "requirements": "编制环境影响报告表",
        },
    )
    assert opened.status_code == 302, opened.get_data(as_text=True)
    ref = opened.headers["Location"].rsplit("/", 1)[-1]
    providers = _providers(app, make_user, login)
    for provider, amount in zip(providers, ["52000", "38000", "61000"], strict=True):
        form = provider.get(f"/my/requests/{ref}/quote").get_data(as_text=True)
        response = provider.post(
            f"/my/requests/{ref}/quote",
            data={
                "csrf_token": csrf_from(form),
                "submission_key": _form_key(form),
                "amount": amount,
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    # Sealed: the owner sees how many applied, not what they quoted; providers see only their own.
    manage = client.get(f"/my/requests/{ref}").get_data(as_text=True)
    assert "已有 3 家机构报名" in manage
    assert "38000" not in manage
    mine = providers[0].get(f"/my/requests/{ref}/quote").get_data(as_text=True)
    assert "¥52,000.00" in mine  # the one money format
    assert "38000" not in mine
    clock.advance(timedelta(hours=3, minutes=1))  # past the deadline
    login(owner)  # hours later: the old session has timed out
    # 确定结果并公示 first names the winner and amount; nothing is decided until confirmed.
    asked = post_form(client, f"/my/requests/{ref}/decide", {})
    shown = asked.get_data(as_text=True)
    assert asked.status_code == 200, shown
    assert "请确认:确定结果并公示" in shown
    assert "¥38,000.00" in shown
    assert "不能撤回" in shown
    with app.app_context():
        assert db.session.scalars(select(Award)).first() is None
        assert market.get_request(ref).status == "报名中"
    expect = re.search(r'name="expect" value="([^"]+)"', shown).group(1)
    decided = post_form(client, f"/my/requests/{ref}/decide", {"confirmed": "1", "expect": expect})
    assert decided.status_code == 302, decided.get_data(as_text=True)
    notice = client.get(decided.headers["Location"]).get_data(as_text=True)
    assert "2026-120116-34-01-000777" in notice
    assert "¥38,000.00" in notice
    assert "天津示范精密制造有限公司" in notice
    with app.app_context():
        award = db.session.scalars(select(Award)).one()
        assert award.seed in notice
        winner = award.provider.name
        award_id = award.id
    assert winner in notice
    anonymous = app.test_client()
    verify = anonymous.get(f"/awards/{award_id}/verify").get_data(as_text=True)
    assert "与公示结果一致</dt><dd><strong>是" in verify
    assert winner in anonymous.get("/awards").get_data(as_text=True)
    assert ref in anonymous.get("/requests").get_data(as_text=True)


def test_market_pages_another_enterprise_gets_not_found(app, client, make_user, login):
    owner, stranger = make_user("enterprise"), make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        factories.active_provider()
        ref = market.open_request(
            user, project.code, service_code="ZJ-03", method="随机抽取", deadline=factories.later()
        ).ref
        db.session.commit()
        code = project.code
    login(stranger)
    assert client.get(f"/my/projects/{code}").status_code == 404
    assert client.get(f"/my/requests/{ref}").status_code == 404
    assert post_form(client, f"/my/requests/{ref}/decide", {}).status_code == 404
    with app.app_context():
        assert market.get_request(ref).status == "报名中"


def test_market_pages_bad_input_gets_a_message_and_stores_nothing(app, client, make_user, login):
    owner = make_user("enterprise")
    with app.app_context():
        project = factories.enterprise_with_project(db.session.get(User, owner.id))
        db.session.commit()
        code = project.code
    login(owner)
    past = clock.local(clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    cases = [
        ({"price_min": "abc"}, "价格区间下限须为数字(元)"),
        ({"price_min": "500", "price_max": "100"}, "上限不能低于下限"),
        ({"deadline": past}, "报名截止时间过早"),
        ({"deadline": f"{clock.today().year + 1}-12-31T17:00"}, "报名截止时间过晚"),
        ({"exclusions": "91350100M000100Y43"}, "回避理由"),
        ({"service": "ZJ-XX"}, "不是有效的选择"),
    ]
    future = clock.local(clock.now() + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    for extra, message in cases:
        data = {"service": "ZJ-03", "method": "竞价选取", "deadline": future, **extra}
        response = post_form(client, f"/my/projects/{code}/requests/new", data)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert message in body, extra
    with app.app_context():
        assert market.list_requests().total == 0


def test_market_pages_quote_bad_amounts_say_what_is_wrong(app, make_user, login):
    ref = _open_request(app, make_user)
    (provider,) = _providers(app, make_user, login, count=1)
    for amount, message in (
        ("0", "报价须大于 0 元"),
        ("-1", "报价须大于 0 元"),
        ("NaN", "报价须为数字(元)"),
        ("45000.001", "报价最多保留两位小数"),
        ("1e10", "报价不能超过 9,999,999,999.99 元"),
        ("", "本次选取须填写报价(元)"),
    ):
        form = provider.get(f"/my/requests/{ref}/quote").get_data(as_text=True)
        data = {"csrf_token": csrf_from(form), "submission_key": _form_key(form), "amount": amount}
        page = provider.post(f"/my/requests/{ref}/quote", data=data)
        assert page.status_code == 200
        assert message in page.get_data(as_text=True), amount
    # A forged person id too large for an id column (it overflowed the driver: a 500).
    for leader, members in (("9223372036854775808", ""), ("", "9223372036854775808")):
        form = provider.get(f"/my/requests/{ref}/quote").get_data(as_text=True)
        data = {
            "csrf_token": csrf_from(form),
            "submission_key": _form_key(form),
            "amount": "45000",
            "leader": leader,
            "members": members,
        }
        page = provider.post(f"/my/requests/{ref}/quote", data=data)
        assert page.status_code == 200
        assert "所选人员无效" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Quote)).all() == []


def test_market_pages_blacklisted_provider_is_told_before_the_form(app, make_user, login):
    """The quote page says why a provider may not apply (here: blacklisted, with the end date)
    instead of offering a form that is refused with a generic list of reasons."""
    from registry.models import Provider

    ref = _open_request(app, make_user)
    (provider,) = _providers(app, make_user, login, count=1)
    assert 'name="amount"' in provider.get(f"/my/requests/{ref}/quote").get_data(as_text=True)
    until = clock.today() + timedelta(days=200)
    with app.app_context():
        firm = db.session.scalars(select(Provider).order_by(Provider.id.desc())).first()
        firm.blacklisted_until = until
        db.session.commit()
    page = provider.get(f"/my/requests/{ref}/quote").get_data(as_text=True)
    assert f"贵机构不符合本次选取的报名条件:已列入黑名单(至 {until:%Y-%m-%d})。" in page
    assert 'name="amount"' not in page


def test_market_pages_quote_double_submit_stores_one_row(app, make_user, login):
    ref = _open_request(app, make_user)
    (provider,) = _providers(app, make_user, login, count=1)
    form = provider.get(f"/my/requests/{ref}/quote").get_data(as_text=True)
    data = {"csrf_token": csrf_from(form), "submission_key": _form_key(form), "amount": "45000"}
    assert provider.post(f"/my/requests/{ref}/quote", data=data).status_code == 302
    assert provider.post(f"/my/requests/{ref}/quote", data=data).status_code == 302
    with app.app_context():
        assert len(db.session.scalars(select(Quote)).all()) == 1


@pytest.mark.demo
def test_market_api_awards_lists_notices_with_draw_inputs(client):
    body = client.get("/api/v1/awards?per_page=100").get_json()
    assert body["total"] >= 5
    drawn = [item for item in body["items"] if item["seed"]]
    assert drawn
    item = drawn[0]
    assert item["draw_inputs"]["candidates"] == sorted(item["draw_inputs"]["candidates"])
    assert item["winner"]["uscc"] in item["draw_inputs"]["candidates"]
    assert item["is_demo"] is True
    assert client.get(item["verify_url"]).status_code == 200
    only = client.get("/api/v1/awards?service=ZJ-03").get_json()
    assert all(i["service"] == "ZJ-03" for i in only["items"])
    assert only["total"] >= 1


@pytest.mark.demo
def test_market_awards_page_past_the_last_goes_to_the_last(client):
    """A tester's finding (stop 29): /awards?page=999 read 中选结果(共 14 条) beside 暂无中选公示."""
    response = client.get("/awards?page=999")
    assert response.status_code == 302
    assert re.fullmatch(r"/awards\?page=\d+", response.headers["Location"])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "暂无中选公示" not in page
    assert "中选公示" in page


@pytest.mark.demo
def test_market_requests_list_puts_those_taking_applications_first(app, client):
    """A tester's finding (stop 29): /requests listed the open requests (报名中) among finished
    ones, by number. Those still taking applications now come first."""
    with app.app_context():
        result = market.list_requests(per_page=100)
        taking = [
            r.status == "报名中" and clock.local(r.deadline) > clock.local(clock.now())
            for r in result.items
        ]
    assert any(taking)
    assert not all(taking)
    assert taking == sorted(taking, reverse=True)
    page = client.get("/requests").get_data(as_text=True)
    first_open, first_done = page.find("报名中"), page.find("已选定")
    assert -1 < first_open < first_done


def test_market_award_notices_are_searchable(app, make_user):
    from registry.search.base import SearchRequest
    from registry.search.engine import get_engine
    from registry.search.query import parse_query

    owner, accounts = make_user("enterprise"), [make_user("provider") for _ in range(2)]
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user, code="2026-120116-88-01-424242")
        for account in accounts:
            factories.active_provider(account=db.session.get(User, account.id))
        ref = market.open_request(
            user, project.code, service_code="ZJ-03", method="随机抽取", deadline=factories.later()
        ).ref
        db.session.commit()
        for account in accounts:
            market.submit_quote(
                db.session.get(User, account.id), ref, submission_key=account.username
            )
            db.session.commit()
        clock.freeze(market.get_request(ref).deadline + timedelta(minutes=1))
        award = market.decide(user, ref).award
        db.session.commit()
        winner, award_id = award.provider.name, award.id
        result = get_engine().search(SearchRequest(parse_query("2026-120116-88-01-424242")))
        hits = [h for h in result.hits if h.kind == "award"]
        assert hits, [h.doc_id for h in result.hits]
        assert hits[0].url == f"/awards/{award_id}"
        assert winner in hits[0].title
        assert get_engine().verify().clean


def test_market_pages_request_requirements_keep_their_simple_formatting(app, client, make_user):
    """服务要求 is shown with the simple formatting the hint offers (lists, bold), sanitised; it
    ran together on one line with the ** left in."""
    ref = _open_request(
        app,
        make_user,
        requirements="编制报告书,**含**公众参与。\n- 第一项\n- 第二项<script>alert(1)</script>",
    )
    page = client.get(f"/requests/{ref}").get_data(as_text=True)
    assert "<strong>含</strong>" in page
    assert "<li>第一项</li>" in page
    assert "<script>alert(1)" not in page


@pytest.mark.demo
def test_market_awards_page_links_say_which_award_they_open(client):
    """A tester with a screen reader (stop 30): two rows' links both read the project code but
    opened different awards. Each link names its service too."""
    page = client.get("/awards?per_page=100").get_data(as_text=True)
    links = re.findall(r'<a href="/awards/(\d+)">(.*?)</a>', page)
    assert len(links) >= 5
    texts = {}
    for award_id, text in links:
        texts.setdefault(re.sub(r"<[^>]+>", "", text), set()).add(award_id)
    assert all(len(ids) == 1 for ids in texts.values()), texts


@pytest.mark.demo
def test_market_api_award_detail_is_the_lists_item(client):
    """An integrator had to page through the list to read one award (a tester, stop 30)."""
    listed = client.get("/api/v1/awards?per_page=100").get_json()["items"]
    assert listed
    for item in listed[:3]:
        award_id = int(item["url"].rstrip("/").rsplit("/", 1)[1])
        assert client.get(f"/api/v1/awards/{award_id}").get_json() == item
    missing = client.get("/api/v1/awards/999999")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"] == "未找到编号为 999999 的中选公示"


def test_market_owner_withdraws_a_request_before_its_deadline(app, make_user, login):
    """A tester (stop 31): a published request could not be withdrawn or corrected, and a second
    one for the same item was accepted beside it. The owner withdraws it before the deadline
    with a public reason (after a confirmation page); a second one waits for the first to end."""
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        code = factories.enterprise_with_project(user).code
        db.session.commit()
    client = app.test_client()
    login(owner, on=client)
    fields = {
        "service": "ZJ-03",
        "method": "竞价选取",
        "price_min": "10000",
        "price_max": "9000000",
        "deadline": clock.local(clock.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    opened = post_form(client, f"/my/projects/{code}/requests/new", fields)
    ref = opened.headers["Location"].rsplit("/", 1)[-1]
    (provider,) = _providers(app, make_user, login, count=1)
    form = provider.get(f"/my/requests/{ref}/quote").get_data(as_text=True)
    quote = {"csrf_token": csrf_from(form), "submission_key": _form_key(form), "amount": "45000"}
    assert provider.post(f"/my/requests/{ref}/quote", data=quote).status_code == 302

    twice = post_form(client, f"/my/projects/{code}/requests/new", fields)
    assert twice.status_code == 200
    assert f"已有选取公告 {ref} 尚未结束" in twice.get_data(as_text=True)

    url = f"/my/requests/{ref}/cancel"
    reason = "价格区间上限填写有误,撤销后重新发布。"
    shown = post_form(client, url, {"reason": reason}).get_data(as_text=True)
    assert f"请确认:撤销选取公告 {ref}" in shown
    assert "1 家(报价不开启)" in shown
    assert _status(app, ref) == "报名中"
    assert "请填写撤销原因" in client.get(
        post_form(client, url, {"reason": ""}).headers["Location"]
    ).get_data(as_text=True)
    done = post_form(client, url, {"reason": reason, "confirmed": "1"})
    assert done.status_code == 302
    assert _status(app, ref) == "已撤销"
    public = app.test_client().get(f"/requests/{ref}").get_data(as_text=True)
    assert f"由业主撤销:{reason}" in public
    assert "45,000" not in public
    assert "45000" not in public
    # Past the old deadline the quotes stay sealed for everyone, their number too (a reviewer).
    with clock.frozen(clock.now() + timedelta(hours=4)), app.app_context():
        owner_user = db.session.get(User, owner.id)
        selection = market.get_request(ref)
        assert market.quotes_visible_to(owner_user, selection) == []
        after = app.test_client().get(f"/requests/{ref}").get_data(as_text=True)
        assert "家机构报名" not in after
        assert "报名进行中" not in after
    told = provider.get("/my/notifications").get_data(as_text=True)
    assert f"{ref}" in told
    assert "已由业主撤销" in told
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "selection.cancel")
        ).one()
        assert entry.detail == reason
    again = post_form(client, f"/my/projects/{code}/requests/new", fields)
    assert again.status_code == 302  # the first has ended: a corrected one may be posted
    # A second lot beside an open request: the owner says so, and it is posted.
    lot = post_form(client, f"/my/projects/{code}/requests/new", {**fields, "alongside": "y"})
    assert lot.status_code == 302
    # Past its deadline a request is decided, not withdrawn.
    new_ref = again.headers["Location"].rsplit("/", 1)[-1]
    with clock.frozen(clock.now() + timedelta(hours=4)):
        late = _fresh_owner(app, login, owner)
        refused = post_form(late, f"/my/requests/{new_ref}/cancel", {"reason": reason})
        page = late.get(refused.headers["Location"]).get_data(as_text=True)
    assert "报名已截止,不能撤销" in page
    assert _status(app, new_ref) == "报名中"


def _status(app, ref: str) -> str:
    with app.app_context():
        return db.session.scalar(select(SelectionRequest.status).where(SelectionRequest.ref == ref))


def _fresh_owner(app, login, owner):
    client = app.test_client()
    login(owner, on=client)
    return client


def test_market_owner_is_told_once_to_decide_after_the_deadline(app, make_user, runner):
    """A tester (stop 31): nothing told the owner that applications had closed and the result
    was theirs to decide. The daily check tells the owner's accounts once per request."""
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        code = factories.enterprise_with_project(user).code
        ref = market.open_request(
            user, code, service_code="ZJ-03", method="竞价选取", deadline=factories.later(2)
        ).ref
        db.session.commit()

    def told() -> list[str]:
        with app.app_context():
            return db.session.scalars(
                select(Notification.message).where(
                    Notification.user_id == owner.id, Notification.kind == "待确定结果"
                )
            ).all()

    assert runner.invoke(args=["check-deadlines"]).exit_code == 0
    assert told() == []  # still taking applications
    with clock.frozen(clock.now() + timedelta(hours=3)):
        for _ in range(2):
            result = runner.invoke(args=["check-deadlines"])
            assert result.exit_code == 0, result.output
    (message,) = told()
    assert f"选取公告 {ref}" in message
    assert "请确定选取结果" in message


def test_market_the_same_request_form_sent_twice_posts_one_request(app, make_user, login):
    """A double click on 发布 (or two tabs sending one form) posted two competing requests on
    PostgreSQL; the form's one-time key makes the second send answer with the first."""
    owner = make_user("enterprise")
    with app.app_context():
        code = factories.enterprise_with_project(db.session.get(User, owner.id)).code
        db.session.commit()
    client = app.test_client()
    login(owner, on=client)
    form = client.get(f"/my/projects/{code}/requests/new").get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([0-9a-f]+)"', form).group(1)
    fields = {
        "csrf_token": csrf_from(form),
        "submission_key": key,
        "service": "ZJ-03",
        "method": "竞价选取",
        "deadline": clock.local(clock.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    first = client.post(f"/my/projects/{code}/requests/new", data=fields)
    second = client.post(f"/my/projects/{code}/requests/new", data=fields)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(SelectionRequest.id))) == 1
    # A key from another project's form is a stale form, not that project's request.
    other = make_user("enterprise")
    with app.app_context():
        other_code = factories.enterprise_with_project(db.session.get(User, other.id)).code
        db.session.commit()
        with pytest.raises(RegistryError, match="表单已失效"):
            market.open_request(
                db.session.get(User, other.id),
                other_code,
                service_code="ZJ-03",
                method="竞价选取",
                deadline=factories.later(3),
                submission_key=key,
            )
