"""Issue 16's "done when", in chromium on a fresh demo install (`registry seed --demo`, as
`make run` does), on each database: a newcomer finds 环评 first by name, abbreviation and pinyin;
sees notices on the home page and the board; reads an award notice in Chinese with names,
Beijing time and a 公示期, and files an objection to it; cannot post a request without choosing a
method or with a 30-minute deadline; is asked to confirm before 确定结果并公示; and staff open
/stats and see the zone's timeliness and the marketplace's health, with a signal traced to its
request. axe (WCAG A/AA) and the 375 px phone width are checked on each page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from registry.config import DEFAULTS
from registry.extensions import db
from registry.kernel import clock
from registry.models import Award, Project, SelectionRequest, User
from registry.services import accounts
from tests.conftest import BACKENDS, make_app
from tests.e2e.steps import checked, flash, serving, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(params=BACKENDS)
def demo_server(request, tmp_path, golden):
    """The site as a newcomer finds it after `make run`: the catalogue and the demo, served on a
    free port, with the default minimum notice period of selection requests."""
    sqlite = request.param == "sqlite"
    url = golden.sqlite_copy(tmp_path) if sqlite else golden.postgresql_copy()
    notice = DEFAULTS["REQUEST_MIN_NOTICE_WORKDAYS"]
    app = make_app(url, tmp_path, REQUEST_MIN_NOTICE_WORKDAYS=notice)
    seeded = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert seeded.exit_code == 0, seeded.output
    with serving(app) as live:
        yield live
    if not sqlite:
        golden.postgresql_drop(url)


def _demo_account(app, username: str):
    """A demo account with a password the test knows (the seed printed a random one once)."""
    password = accounts.generate_password()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        accounts.set_password(user, password)
        db.session.commit()
    return type("Account", (), {"username": username, "password": password})


def _first_result(page) -> str:
    """The address of the first hit on the search page (the first group's first result)."""
    return page.locator("ol.results li.result a").first.get_attribute("href")


def test_e2e_newcomer_on_a_fresh_demo_install(demo_server, phone_page):
    base, app = demo_server.url, demo_server.app

    # 1. The guide first: 环评 by its full name, abbreviation and pinyin.
    visitor = phone_page()
    for query in ("环境影响评价", "环评", "huanping", "hp"):
        visitor.goto(base + "/")
        visitor.get_by_role("searchbox").first.fill(query)
        visitor.get_by_role("searchbox").first.press("Enter")
        visitor.wait_for_url("**/search?*")
        assert _first_result(visitor).endswith("/services/ZJ-03"), query
    checked(visitor)

    # 2. Notices on the home page and on the board.
    visitor.goto(base + "/")
    credit_list = visitor.locator("#credit-notices-title + *")
    award_list = visitor.locator("#award-notices-title + *")
    expect(credit_list.get_by_role("link").first).to_be_visible()
    expect(award_list.get_by_role("link").first).to_be_visible()
    expect(visitor.get_by_text("暂无信用公示信息")).to_have_count(0)
    checked(visitor)
    visitor.goto(base + "/notices")
    expect(visitor.locator("table tbody tr").first).to_contain_text("示例")
    checked(visitor)

    # 3. The newest award notice: Chinese, names with codes, Beijing time, its 公示期.
    with app.app_context():
        award = db.session.scalars(select(Award).order_by(Award.awarded_at.desc())).first()
        award_id, winner, code = award.id, award.provider.name, award.provider.uscc
    visitor.goto(base + f"/awards/{award_id}")
    expect(visitor.get_by_text(winner).first).to_be_visible()
    expect(visitor.get_by_text(code).first).to_be_visible()
    expect(visitor.get_by_text("北京时间").first).to_be_visible()
    expect(visitor.locator("#notice-state")).to_contain_text("公示中")
    expect(visitor.get_by_text(re.compile(r"个工作日,节假日不计"))).to_be_visible()
    expect(visitor.get_by_text("抽取说明与复核").first).to_be_visible()  # the rule, in Chinese
    expect(visitor.locator(f'a[href$="/awards/{award_id}/verify"]').first).to_be_visible()
    checked(visitor)

    # The demo provider's firm bid and lost: it files an objection (an empty reason refused).
    bidder = phone_page()
    sign_in(bidder, base, _demo_account(app, "demo-provider"))
    bidder.goto(base + f"/awards/{award_id}")
    bidder.get_by_role("link", name="对中选结果提出异议").click()
    bidder.wait_for_url(f"**/awards/{award_id}/object")
    checked(bidder)
    bidder.get_by_role("button", name="提交异议").click()
    expect(bidder.get_by_text("请填写异议理由。").first).to_be_visible()
    bidder.get_by_label("异议理由").fill("中选报价低于成本价,请核实其服务方案能否履约。")
    bidder.get_by_role("button", name="提交异议").click()
    bidder.wait_for_url(f"**/awards/{award_id}")
    expect(bidder.locator("#notice-state")).to_contain_text("异议处理中")
    checked(bidder)

    # 4. The demo enterprise cannot post a request without a method or with a 30-minute notice.
    owner = phone_page()
    sign_in(owner, base, _demo_account(app, "demo-enterprise"))
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "demo-enterprise"))
        project = db.session.scalars(
            select(Project).where(Project.enterprise_id == user.enterprise_id).order_by(Project.id)
        ).first()
        project_code = project.code
        requests_before = db.session.scalar(select(func.count(SelectionRequest.id)))
        open_ref = db.session.scalars(
            select(SelectionRequest.ref)
            .where(SelectionRequest.status == "报名中")
            .order_by(SelectionRequest.deadline)
        ).first()
    owner.goto(base + f"/my/projects/{project_code}/requests/new")
    checked(owner)
    soon = clock.local(clock.now() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    owner.get_by_label("中介服务事项").select_option("ZJ-03")
    expect(owner.get_by_label("选取方式")).to_have_value("")  # no default method
    owner.get_by_label("报名截止时间").fill(soon)
    owner.get_by_role("button", name="发布").click()
    expect(owner.get_by_text("请选择选取方式。").first).to_be_visible()
    owner.get_by_label("选取方式").select_option("随机抽取")
    owner.get_by_label("报名截止时间").fill(soon)
    owner.get_by_role("button", name="发布").click()
    expect(owner.get_by_text(re.compile(r"截止时间最早为 \d{4}-\d{2}-\d{2}")).first).to_be_visible()
    with app.app_context():
        assert db.session.scalar(select(func.count(SelectionRequest.id))) == requests_before

    # 5. Asked to confirm before 确定结果并公示: after an open request's deadline, the first
    # click shows what becomes public and that it cannot be withdrawn; nothing is decided yet.
    with app.app_context():
        deadline = db.session.scalar(
            select(SelectionRequest.deadline).where(SelectionRequest.ref == open_ref)
        )
    before = clock.now()
    clock.freeze(deadline + timedelta(minutes=5))
    try:
        sign_in(owner, base, _demo_account(app, "demo-enterprise"))
        owner.goto(base + f"/my/requests/{open_ref}")
        owner.get_by_role("button", name="确定结果并公示").click()
        expect(owner.get_by_role("heading", name="请确认:确定结果并公示")).to_be_visible()
        expect(owner.get_by_text(re.compile("不能撤回")).first).to_be_visible()
        checked(owner)
        with app.app_context():
            still = db.session.scalar(
                select(SelectionRequest.status).where(SelectionRequest.ref == open_ref)
            )
            assert still == "报名中"
    finally:
        clock.freeze(before)

    # 6. Staff open /stats: timeliness, the marketplace's health, and a signal to its request.
    staff = phone_page()
    sign_in(staff, base, _demo_account(app, "demo-staff"))
    staff.goto(base + "/stats")
    permits = staff.locator("#permit-by-category table")
    row = permits.locator("tbody tr").filter(has_text="民营/外资").first.locator("th, td")
    assert row.nth(1).inner_text().strip() == "160"  # the target
    assert int(row.nth(2).inner_text()) >= 1  # demo projects with their permit
    assert re.fullmatch(r"\d+(\.\d)?", row.nth(3).inner_text().strip())  # their mean days
    expect(staff.locator("#requests-by-method table")).to_contain_text("合计")
    expect(staff.locator("#award-concentration table tbody tr").first).to_be_visible()
    signals = staff.locator("#signal-co-bidding")
    link = signals.get_by_role("link", name=re.compile(r"XQ-\d{4}-\d{6}")).first
    ref = link.inner_text().strip()
    checked(staff)
    link.click()
    staff.wait_for_url(f"**/requests/{ref}")
    expect(staff.get_by_role("heading", name=f"选取公告 {ref}")).to_be_visible()
    expect(flash(staff)).to_have_count(0)
