"""Issue 17's "done when", in chromium at phone width, on each database: a provider registers
practitioners with certificates; another provider trying the same certificate number is refused
(nothing stored, a 挂证嫌疑 event recorded); a request requiring a 环境影响评价工程师 as 项目负责人
refuses a quote naming someone without one and accepts one naming the certified person; a
regulator blacklists that person and the record shows, masked, on the person's public page and on
the firm's profile; the blacklisted person can no longer be named; no public page, API answer or
search result shows the full name or the full certificate number. axe (WCAG A/AA) and the 375 px
width are checked on each page.

Services and factories only create the accounts, the two firms, the enterprise with its project
and the second firm's own person; every step of the flow goes through the real forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    BehaviourEvent,
    Practitioner,
    PractitionerCertificate,
    Quote,
    User,
)
from registry.pure.uscc import make_uscc
from registry.services import market, practitioners
from tests import factories
from tests.conftest import BACKENDS, make_app
from tests.e2e.steps import checked, flash, make_account, serving, sign_in

pytestmark = pytest.mark.e2e


def _id(body17: str) -> str:
    """body17 with its GB 11643 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


ENGINEER, ENGINEER_ID = "韩立群", _id("12011619820315001")
OFFICER, OFFICER_ID = "邵文清", _id("12011619791102003")
NEWCOMER_ID = _id("12011619900506005")
NUMBER = "HP-2023-518204"  # the 环评 engineer's certificate number
MASKED = "韩*群"
PROJECT_CODE = "2026-120116-47-01-000917"
RECORD_TITLE = "环评报告编制弄虚作假列入黑名单"


@pytest.fixture(params=BACKENDS)
def site(request, tmp_path, golden):
    """The catalogue (no demo) served on a free port, on a copy of the golden database."""
    sqlite = request.param == "sqlite"
    url = golden.sqlite_copy(tmp_path) if sqlite else golden.postgresql_copy()
    with serving(make_app(url, tmp_path)) as live:
        yield live
    if not sqlite:
        golden.postgresql_drop(url)


def _setup(app):
    """Two environment firms with accounts (the rival with a person of its own), an enterprise
    with a project, and the environment department's regulator."""
    firm_account, rival_account = make_account(app, "provider"), make_account(app, "provider")
    owner, regulator = make_account(app, "enterprise"), make_account(app, "regulator", "STHJ")
    with app.app_context():
        firm = factories.active_provider(
            ("ZJ-03",),
            name="天津韩氏环境咨询有限公司",
            account=db.session.get(User, firm_account.id),
        )
        rival = factories.active_provider(
            ("ZJ-03",),
            name="天津竞争者环保科技有限公司",
            account=db.session.get(User, rival_account.id),
        )
        rival_user = db.session.get(User, rival_account.id)
        started = clock.today() - timedelta(days=30)
        practitioners.register_practitioner(
            rival,
            {"name": "魏新民", "id_number": NEWCOMER_ID, "started_on": started},
            actor=rival_user,
        )
        user = db.session.get(User, owner.id)
        enterprise = market.create_enterprise(
            "天津人员测试制造有限公司", make_uscc("9112011677000917")
        )
        user.enterprise_id = enterprise.id
        market.create_project(
            user,
            code=PROJECT_CODE,
            name="人员测试厂房项目",
            category="民营/外资",
            location="天津滨海高新区",
        )
        db.session.commit()
        firm_uscc, rival_uscc = firm.uscc, rival.uscc
    return firm_account, firm_uscc, rival_account, rival_uscc, owner, regulator


def _register(page, base: str, name: str, id_number: str, kind: str, number: str) -> None:
    """Register a person and add one certificate through the provider's roster pages."""
    on = clock.today()
    page.goto(base + "/my/provider/practitioners/new")
    page.get_by_label("姓名").fill(name)
    page.get_by_label("身份证号").fill(id_number)
    page.get_by_label("职务(可选)").fill("项目负责人")
    page.get_by_label("入职日期").fill((on - timedelta(days=200)).isoformat())
    checked(page)
    page.get_by_role("button", name="登记").click()
    page.wait_for_url("**/my/provider/practitioners")
    expect(flash(page)).to_contain_text(f"已登记从业人员 {name}")
    page.get_by_role("link", name=re.compile(f"添加证书.*{name}")).click()
    page.wait_for_url("**/certificates/new")
    _certificate(page, kind, number)


def _certificate(page, kind: str, number: str) -> None:
    """Fill and send the certificate form."""
    on = clock.today()
    page.get_by_label("证书类型").select_option(kind)
    page.get_by_label("证书编号").fill(number)
    page.get_by_label("发证机关").fill("人力资源和社会保障部")
    page.get_by_label("有效期起").fill((on - timedelta(days=400)).isoformat())
    page.get_by_label("有效期止").fill((on + timedelta(days=700)).isoformat())
    page.get_by_role("button", name="保存").click()


def _post_request(
    page, base: str, leader_certificate: str | None, *, alongside: bool = False
) -> str:
    """Post a 随机抽取 request for ZJ-03 on the project, deadline in three hours; its ref. With
    `alongside`, one is already open for the item: the form asks first, and the owner ticks
    另行发布 (a second lot)."""
    page.goto(base + f"/my/projects/{PROJECT_CODE}/requests/new")
    deadline = clock.local(clock.now() + timedelta(hours=3))
    page.get_by_label("中介服务事项").select_option("ZJ-03")
    page.get_by_label("选取方式").select_option("随机抽取")
    page.get_by_label("报名截止时间").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    if leader_certificate:
        page.get_by_label("项目负责人证书要求").select_option(leader_certificate)
        checked(page)
    page.get_by_role("button", name="发布").click()
    if alongside:
        expect(page.get_by_role("main")).to_contain_text("尚未结束")
        checked(page)
        page.get_by_label("另行发布").check()
        page.get_by_role("button", name="发布").click()
    page.wait_for_url("**/my/requests/*")
    heading = page.get_by_role("heading", level=1).inner_text()
    return re.fullmatch(r"选取公告 (XQ-\d{4}-\d{6})", heading.strip()).group(1)


def _pick(select, text: str) -> None:
    """Choose the option of a select whose label starts with text."""
    value = select.locator("option").filter(has_text=re.compile(f"^{re.escape(text)}"))
    select.select_option(value.first.get_attribute("value"))


def _quote(page, base: str, ref: str, leader: str):
    """Send the application naming `leader` as 项目负责人."""
    page.goto(base + f"/my/requests/{ref}/quote")
    _pick(page.get_by_label("项目负责人", exact=True), leader)
    page.get_by_role("button", name="提交报名").click()


def test_e2e_practitioners_certificates_quotes_and_person_credit(site, phone_page):
    base, app = site.url, site.app
    firm_account, firm_uscc, rival_account, rival_uscc, owner, regulator = _setup(app)

    # 1. The firm registers its 环评 engineer and a safety engineer with their certificates.
    firm = phone_page()
    sign_in(firm, base, firm_account)
    firm.goto(base + "/my/provider/practitioners")
    checked(firm)
    _register(firm, base, ENGINEER, ENGINEER_ID, "环境影响评价工程师", NUMBER)
    firm.wait_for_url("**/my/provider/practitioners")
    expect(flash(firm)).to_contain_text(f"已为 {ENGINEER} 添加环境影响评价工程师证书")
    _register(firm, base, OFFICER, OFFICER_ID, "注册安全工程师", "AQ-2022-330917")
    firm.wait_for_url("**/my/provider/practitioners")
    expect(firm.locator("#strength-title + ul")).to_contain_text("环境影响评价工程师:1 人")
    checked(firm)

    # 2. The rival tries the same certificate number for its own person: refused, nothing stored.
    rival = phone_page()
    sign_in(rival, base, rival_account)
    rival.goto(base + "/my/provider/practitioners")
    rival.get_by_role("link", name=re.compile("添加证书.*魏新民")).click()
    rival.wait_for_url("**/certificates/new")
    checked(rival)
    _certificate(rival, "环境影响评价工程师", NUMBER.replace("-", " "))
    expect(rival.get_by_text(re.compile("同一证书不能在两家机构同时执业")).first).to_be_visible()
    checked(rival)
    with app.app_context():
        assert db.session.scalar(select(func.count(PractitionerCertificate.id))) == 2
        # Two entered firms: the event is recorded against both, the trying firm among them.
        events = db.session.scalars(select(BehaviourEvent)).all()
        assert {e.kind for e in events} == {"挂证嫌疑"}
        assert rival_uscc in {e.provider.uscc for e in events}
        assert len(events) == 2
        engineer = db.session.scalar(select(Practitioner).where(Practitioner.name == ENGINEER))
        engineer_id = engineer.id

    # 3. The enterprise asks for a 环境影响评价工程师 as 项目负责人.
    enterprise = phone_page()
    sign_in(enterprise, base, owner)
    ref = _post_request(enterprise, base, "环境影响评价工程师")
    expect(enterprise.get_by_role("main")).to_contain_text("环境影响评价工程师")

    # A quote naming the safety engineer as 项目负责人 is refused; naming the 环评 engineer works.
    _quote(firm, base, ref, OFFICER)
    expect(
        firm.get_by_text(re.compile("要求项目负责人持有有效的环境影响评价工程师证书")).first
    ).to_be_visible()
    checked(firm)
    with app.app_context():
        assert db.session.scalar(select(func.count(Quote.id))) == 0
    _quote(firm, base, ref, ENGINEER)
    firm.wait_for_url("**/my/opportunities")
    expect(flash(firm)).to_contain_text("已提交")

    # 4. The regulator blacklists the engineer (a record against the person) and publishes it.
    officer = phone_page()
    sign_in(officer, base, regulator)
    officer.goto(base + "/regulator/credit/new")
    _pick(officer.get_by_label("从业人员(可选)"), MASKED)
    officer.get_by_label("记录类型").select_option("列入黑名单")
    officer.get_by_label("标题").fill(RECORD_TITLE)
    officer.get_by_label("事实").fill("该人员主持编制的环境影响报告书编造监测数据,经核查属实。")
    officer.get_by_label("依据").fill("《建设项目环境影响报告书(表)编制监督管理办法》")
    officer.get_by_label("黑名单期限至").fill((clock.today() + timedelta(days=365)).isoformat())
    checked(officer)
    officer.get_by_role("button", name="保存草稿").click()
    officer.wait_for_url("**/regulator/credit/*")
    officer.get_by_role("button", name="发布", exact=True).click()
    officer.get_by_role("button", name="确认发布").click()
    expect(flash(officer)).to_contain_text("已发布。公示期至")

    # It shows, masked, on the person's public page and on the firm's profile.
    visitor = phone_page()
    for path in (f"/practitioners/{engineer_id}", f"/providers/{firm_uscc}"):
        visitor.goto(base + path)
        main = visitor.get_by_role("main")
        expect(main).to_contain_text(RECORD_TITLE)
        expect(main).to_contain_text(MASKED)
        checked(visitor)

    # 5. The blacklisted engineer cannot be named on a quote any more: the firm no longer meets
    # the first request's requirement (its quote page says so in place of the form), and a
    # request without one refuses him by name.
    firm.goto(base + f"/my/requests/{ref}/quote")
    expect(firm.get_by_role("alert")).to_contain_text("不满足人员要求")
    expect(firm.get_by_role("button", name="提交报名")).to_have_count(0)
    plain = _post_request(enterprise, base, None, alongside=True)
    _quote(firm, base, plain, ENGINEER)
    barred = re.compile(f"从业人员 {re.escape(MASKED)} 已被.*列入黑名单")
    expect(firm.get_by_role("alert")).to_contain_text(barred)
    checked(firm)
    with app.app_context():
        assert db.session.scalar(select(func.count(Quote.id))) == 1

    # 6. No public page, API answer or search result shows a full name or certificate number.
    pages = [
        f"/practitioners/{engineer_id}",
        f"/practitioners?provider={firm_uscc}",
        "/practitioners?certificate=环境影响评价工程师",
        f"/providers/{firm_uscc}",
        f"/requests/{ref}",
        "/search?q=环境影响评价工程师",
        "/search?q=天津韩氏环境咨询有限公司",
        "/api/v1/practitioners",
        f"/api/v1/practitioners/{engineer_id}",
        f"/api/v1/practitioners?provider={firm_uscc}",
        f"/api/v1/providers/{firm_uscc}",
    ]
    for path in pages:
        answer = visitor.request.get(base + path)
        assert answer.ok, path
        text = answer.text()
        for secret in (ENGINEER, OFFICER, NUMBER, NUMBER.replace("-", ""), ENGINEER_ID):
            assert secret not in text, (path, secret)
    visitor.goto(base + f"/search?q={ENGINEER}")
    results = visitor.locator("ol.results")  # found by the real name, which only the query shows
    expect(results).to_contain_text(MASKED)
    assert ENGINEER not in results.inner_text()
    checked(visitor)
    api = visitor.request.get(base + f"/api/v1/practitioners?provider={firm_uscc}").json()
    assert api["total"] == 2
    assert {item["name"] for item in api["items"]} == {MASKED, "邵*清"}
