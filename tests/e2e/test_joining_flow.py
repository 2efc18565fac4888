"""Joining and hearing back in a real browser, with mail as `.eml` files the worker writes.

A new enterprise finds the guide from the home page, registers, finds the confirmation mail in
the mail folder, follows its link, confirms, registers a project whose land contract is months
old; the next morning's worker pass mails it the roadmap's overdue notices and its inbox shows
them. Then it forgets its password: the reset mail's link sets a new one, and the session that
was still open on another device is dead. axe (WCAG A/AA) and the 375 px width on every page.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from registry.cli import DAILY_JOBS
from registry.extensions import db
from registry.kernel import clock
from registry.models import User
from registry.pure.uscc import make_uscc
from registry.services import accounts, jobs, market
from tests import factories
from tests.e2e.steps import checked, flash, make_account, sign_in

pytestmark = pytest.mark.e2e

PROJECT = "2026-120116-47-01-000931"
PASSWORD, NEW_PASSWORD = "Hj7#kLq2-Wm9", "Zr4!pTn8-Qx3"
DIGITS = "一二三四五六七八九"
QUESTION = re.compile(r"([一二三四五六七八九])(加|乘以)([一二三四五六七八九])等于多少")


def _deliver(app) -> list[email.message.EmailMessage]:
    """One worker pass (daily jobs if due, then the outbox), and every mail written so far."""
    with app.app_context():
        jobs.Worker(DAILY_JOBS, node="e2e").run_pass()
        folder = Path(app.config["MAIL_DIR"])
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def _to(mails, address: str, subject: str):
    found = [m for m in mails if m["To"] == address and subject in m["Subject"]]
    assert found, f"no mail to {address} about {subject}: {[m['Subject'] for m in mails]}"
    return found[-1]


def _link(mail, base: str) -> str:
    body = mail.get_body(preferencelist=("plain",)).get_content()
    return re.search(re.escape(base) + r"(/[^\s]+)", body).group(1)


def test_e2e_enterprise_joins_hears_back_and_resets_its_password(live_server, phone_page):
    base, app = live_server.url, live_server.app
    app.config["SITE_URL"] = base  # the links in the mails lead back to this server
    address = "li.ming@jingmi-e2e.cn"

    # 1. From the home page to the guide, and from the guide to registration.
    page = phone_page()
    page.goto(base + "/")
    page.get_by_role("link", name=re.compile("如何入驻")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("如何入驻")
    checked(page)
    page.get_by_role("link", name=re.compile("注册")).first.click()
    page.wait_for_url("**/register")
    checked(page)
    page.get_by_label("企业(项目业主)").check()
    page.get_by_label("机构名称").fill("天津入驻精密制造有限公司")
    page.get_by_label("统一社会信用代码").fill(make_uscc("9112011677000931"))
    page.get_by_label("联系人姓名").fill("李明")
    page.get_by_label("联系人手机号码").fill("13812345678")
    page.get_by_label("电子邮箱").fill(address)
    page.get_by_label("用户名").fill("jingmi-e2e")
    page.locator("#password").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    a, op, b = QUESTION.search(page.content()).groups()
    a, b = DIGITS.index(a) + 1, DIGITS.index(b) + 1
    page.get_by_label("验证题").fill(str(a * b if op == "乘以" else a + b))
    page.get_by_role("button", name="注册").click()
    page.wait_for_url("**/account/confirm-email")
    expect(page.get_by_role("heading", level=1)).to_contain_text("请先确认邮箱")
    checked(page)
    # Before confirming, the account cannot act: its pages lead back here.
    page.goto(base + "/my/projects/new")
    page.wait_for_url("**/account/confirm-email")

    # 2. The confirmation mail is in the mail folder; its link confirms the address.
    confirm = _to(_deliver(app), address, "确认")
    page.goto(base + _link(confirm, base))
    checked(page)
    page.get_by_role("button", name="确认邮箱").click()
    page.wait_for_url("**/my/projects/new")

    # 3. A project whose land contract is four months old: steps are already overdue.
    contract_day = clock.today() - timedelta(days=120)
    page.get_by_label("项目代码").fill(PROJECT)
    page.get_by_label("项目名称").fill("入驻示范厂房新建项目")
    page.get_by_label("项目类别").select_option("民营/外资")
    page.get_by_label("建设地点").fill("天津滨海高新区海洋科技园")
    page.get_by_label("土地出让合同签订日期").fill(contract_day.isoformat())
    page.get_by_label("建筑类型").select_option("厂房")
    page.get_by_label("建筑面积").fill("9800")
    page.get_by_role("button", name="登记").click()
    page.wait_for_url(f"**/my/projects/{PROJECT}")
    expect(flash(page)).to_contain_text(f"项目 {PROJECT} 已登记")

    # 4. The next morning the worker's daily job runs and mails the overdue notices.
    clock.freeze(clock.at(clock.today() + timedelta(days=1), 7))
    notices = [m for m in _deliver(app) if "审批路线图" in m["Subject"]]
    assert len(notices) == 1  # one mail with every notice the check raised on the project
    notice = notices[0]
    assert PROJECT in notice.get_body(preferencelist=("plain",)).get_content()
    assert _link(notice, base) == f"/projects/{PROJECT}/roadmap"
    # A night later the idle session has ended: sign in again and read the inbox.
    sign_in(page, base, type("Account", (), {"username": "jingmi-e2e", "password": PASSWORD}))
    page.goto(base + "/my/notifications")
    expect(page.locator("main")).to_contain_text("超时通报")
    checked(page)

    # 5. A second device stays signed in; the password is forgotten and reset by mail.
    other = phone_page()
    other.goto(base + "/login")
    other.get_by_label("用户名").fill("jingmi-e2e")
    other.get_by_label("密码").fill(PASSWORD)
    other.get_by_role("button", name="登录").click()
    other.wait_for_url("**/my/pending")
    reset_page = phone_page()
    reset_page.goto(base + "/login")
    reset_page.get_by_role("link", name=re.compile("忘记密码")).click()
    checked(reset_page)
    reset_page.get_by_label("电子邮箱").fill(address)
    reset_page.get_by_role("button", name="发送重置链接").click()
    expect(flash(reset_page)).to_contain_text("如果")
    reset = _to(_deliver(app), address, "重置")
    reset_page.goto(base + _link(reset, base))
    checked(reset_page)
    reset_page.locator("#password").fill(NEW_PASSWORD)
    reset_page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    reset_page.get_by_role("button", name="保存新密码").click()
    reset_page.wait_for_url("**/login**")
    # The old sessions are dead: the other device is sent to sign in again.
    other.goto(base + "/account")
    other.wait_for_url("**/login**")
    # The link works once.
    reset_page.goto(base + _link(reset, base))
    expect(reset_page.locator("main")).to_contain_text("链接")
    reset_page.goto(base + "/login")
    reset_page.get_by_label("用户名").fill("jingmi-e2e")
    reset_page.get_by_label("密码").fill(NEW_PASSWORD)
    reset_page.get_by_role("button", name="登录").click()
    reset_page.wait_for_url("**/my/pending")


def _register(page, base: str, *, role: str, name: str, code: str, address: str, username: str):
    """Fill and send the registration form as a person would, answering its question."""
    page.goto(base + "/register")
    page.get_by_label(role).check()
    page.get_by_label("机构名称").fill(name)
    page.get_by_label("统一社会信用代码").fill(code)
    page.get_by_label("联系人姓名").fill("周婷")
    page.get_by_label("联系人手机号码").fill("13612345678")
    page.get_by_label("电子邮箱").fill(address)
    page.get_by_label("用户名").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    a, op, b = QUESTION.search(page.content()).groups()
    a, b = DIGITS.index(a) + 1, DIGITS.index(b) + 1
    page.get_by_label("验证题").fill(str(a * b if op == "乘以" else a + b))
    page.get_by_role("button", name="注册").click()
    page.wait_for_url("**/account/confirm-email")


def test_e2e_provider_joins_chooses_its_mail_and_hears_of_a_request(live_server, phone_page):
    base, app = live_server.url, live_server.app
    app.config["SITE_URL"] = base
    address, code = "bid@qingyuan-e2e.cn", make_uscc("9112011677000932")
    name = "天津清源入驻环境科技有限公司"

    # 1. Registration as a provider; the mailed link confirms; the application comes pre-filled.
    page = phone_page()
    _register(
        page, base, role="中介机构", name=name, code=code, address=address, username="qingyuan-e2e"
    )
    page.goto(base + _link(_to(_deliver(app), address, "确认"), base))
    page.get_by_role("button", name="确认邮箱").click()
    page.wait_for_url("**/my/provider**")
    expect(page.get_by_label("机构名称")).to_have_value(name)
    expect(page.get_by_label("统一社会信用代码")).to_have_value(code)
    checked(page)

    # 2. Its mail choices: ratings in the site only, everything else by mail too.
    page.goto(base + "/my/notifications/settings")
    checked(page)
    expect(page.locator("main")).to_contain_text(f"{address}(已确认)")
    page.get_by_label("同时发送邮件:业主评价").uncheck()
    page.get_by_role("button", name="保存设置").click()
    expect(page.get_by_label("同时发送邮件:业主评价")).not_to_be_checked()
    expect(page.get_by_label("同时发送邮件:新的选取需求")).to_be_checked()

    # 3. Approved (the review pages have their own flow), then an enterprise asks for ZJ-03.
    with app.app_context():
        account = db.session.scalar(select(User).where(User.username == "qingyuan-e2e"))
        # Its entry as the review leaves it: active, qualified, offering ZJ-03, under its code.
        factories.active_provider(("ZJ-03",), name=name, account=account).uscc = code
        owner = accounts.create_user(
            username="owner-e2e", password=PASSWORD, role="enterprise", actor_name="e2e"
        )
        project = factories.enterprise_with_project(owner)
        ref = market.open_request(
            owner, project.code, service_code="ZJ-03", method="竞价选取", deadline=factories.later()
        ).ref
        db.session.commit()

    # 4. The worker's pass mails it; the inbox shows it with a link to where it quotes.
    news = _to(_deliver(app), address, "新的选取需求")
    assert _link(news, base) == f"/my/requests/{ref}/quote"
    page.goto(base + "/my/notifications")
    expect(page.locator("main")).to_contain_text(ref)
    checked(page)
    page.get_by_role("link", name="查看并办理").first.click()
    page.wait_for_url(f"**/my/requests/{ref}/quote")

    # 5. Admins read the outbox: every mail sent, this one among them.
    admin = make_account(app, "admin")
    reader = phone_page()
    sign_in(reader, base, admin)
    reader.goto(base + "/admin/mail")
    expect(reader.locator("main")).to_contain_text(f"新的选取需求 {ref}")
    checked(reader)
