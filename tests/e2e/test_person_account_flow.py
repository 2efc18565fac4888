"""Issue 17's practitioner's own account (从业人员本人账户), in chromium at phone width, on each
database: the employing provider invites one of its staff from its roster; the person opens the
one-time link of the invitation mail, sets a password, signs in, reads their own record
(certificates with full numbers, employment, credit standing) and files an objection (异议), with
evidence, against the person-level record a regulator published against them; the regulator finds
it in its queue. 政务办 then opens the audited unmasked view and unlinks the account with a
reason (解除本人账户关联): the person's session ends and they can no longer sign in. No page the
person or the public sees, nor the mail, shows the full ID number. axe (WCAG A/AA) and the
375 px width are checked on each page. Two browsers: the person's own, and one the firm, the
regulator, 政务办 and finally a visitor take turns at (each signing out).

Services and factories only create the accounts, the firm, the person with a certificate and the
published record; every step of the flow goes through the real forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import AuditEntry, MailMessage, User
from registry.services import credit, jobs, practitioners
from tests import factories
from tests.conftest import BACKENDS, make_app
from tests.e2e.steps import checked, fact, flash, make_account, serving, sign_in
from tests.test_practitioners import id_number

pytestmark = pytest.mark.e2e

NAME, MASKED = "蒋若溪", "蒋*溪"
ID_NUMBER = id_number(47)
TAIL = ID_NUMBER[-4:]
CERT = "HP-2021-447130"
FIRM = "天津若溪环境咨询有限公司"
ADDRESS, USERNAME, PASSWORD = "jiang.ruoxi@person-e2e.cn", "jiangruoxi", "Qm5#tRw8-Lk2"
TITLE = "环评报告引用失效监测数据"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ERROR = "用户名或密码错误,或账户暂时无法登录"


@pytest.fixture(params=BACKENDS)
def site(request, tmp_path, golden):
    """The catalogue (no demo) served on a free port, on a copy of the golden database."""
    sqlite = request.param == "sqlite"
    url = golden.sqlite_copy(tmp_path) if sqlite else golden.postgresql_copy()
    with serving(make_app(url, tmp_path)) as live:
        live.app.config["SITE_URL"] = live.url  # the invitation's link leads back here
        yield live
    if not sqlite:
        golden.postgresql_drop(url)


def _setup(app):
    """The firm with its account and one person holding a 环评 certificate, the environment
    department's regulator (who has published a 警示通报 against the person) and 政务办 staff."""
    firm_account, regulator = make_account(app, "provider"), make_account(app, "regulator", "STHJ")
    staff = make_account(app, "staff")
    on = clock.today()
    with app.app_context():
        owner = db.session.get(User, firm_account.id)
        firm = factories.active_provider(("ZJ-03",), name=FIRM, account=owner)
        employment = practitioners.register_practitioner(
            firm,
            {
                "name": NAME,
                "id_number": ID_NUMBER,
                "title": "技术负责人",
                "started_on": on - timedelta(days=300),
            },
            actor=owner,
        )
        practitioners.add_certificate(
            firm,
            employment.practitioner_id,
            {
                "kind": "环境影响评价工程师",
                "number": CERT,
                "issuer": "生态环境部",
                "valid_from": on - timedelta(days=400),
                "valid_to": on + timedelta(days=700),
            },
            actor=owner,
        )
        officer = db.session.get(User, regulator.id)
        record = credit.draft_record(
            officer,
            provider_uscc=None,
            practitioner_id=employment.practitioner_id,
            kind="警示通报",
            title=TITLE,
            facts="该人员主持编制的环境影响报告表引用了已失效的监测数据。",
            basis="《建设项目环境影响报告书(表)编制监督管理办法》第二十七条",
        )
        db.session.commit()
        credit.publish_record(officer, record.number)
        db.session.commit()
        return firm_account, regulator, staff, employment.practitioner_id, record.number, firm.uscc


def _invitation_link(app, base: str) -> tuple[str, str]:
    """The worker sends the outbox; the invitation's subject and body, and the path of its link."""
    with app.app_context():
        jobs.send_due_mail()
        mail = db.session.scalars(
            select(MailMessage).where(MailMessage.to_address == ADDRESS)
        ).one()
        text = f"{mail.subject}\n{mail.body}"
    return text, re.search(re.escape(base) + r"(/password/reset/[A-Za-z0-9_-]+)", text).group(1)


def _sign_out(page) -> None:
    """Sign out through the header's 退出 button (the phone menu opened first)."""
    if page.locator("summary.menu-button").is_visible():
        page.locator("summary.menu-button").click()
    page.locator("header").get_by_role("button", name="退出").click()
    expect(flash(page)).to_contain_text("您已安全退出。")


def _no_full_id(page) -> None:
    """The page shows neither the full ID number nor its first fourteen characters (area code
    and birth date): of the ID, only the last four appear anywhere."""
    assert ID_NUMBER[:14] not in page.content(), page.url


def test_e2e_person_opens_own_account_objects_and_is_unlinked(site, phone_page):
    base, app = site.url, site.app
    firm_account, regulator, staff, person_id, number, firm_uscc = _setup(app)

    # 1. The firm invites the person from its roster.
    firm = phone_page()
    sign_in(firm, base, firm_account)
    firm.goto(base + "/my/provider/practitioners")
    expect(firm.get_by_role("main")).to_contain_text("本人账户:未开通")
    firm.get_by_role("link", name=re.compile(f"邀请本人开通账户.*{NAME}")).click()
    firm.wait_for_url(f"**/my/provider/practitioners/{person_id}/account")
    expect(firm.get_by_role("heading", level=1)).to_have_text(f"邀请 {NAME} 开通本人账户")
    expect(fact(firm, "身份证号末四位")).to_have_text(TAIL)
    checked(firm)
    firm.get_by_role("button", name="发送邀请").click()
    expect(firm.get_by_role("alert")).to_contain_text("请填写电子邮箱。")
    firm.get_by_label("本人电子邮箱").fill(ADDRESS)
    firm.get_by_label("用户名").fill(USERNAME)
    firm.get_by_role("button", name="发送邀请").click()
    firm.wait_for_url("**/my/provider/practitioners")
    expect(flash(firm)).to_contain_text(f"已向 {ADDRESS} 发送开通邀请")
    expect(firm.get_by_role("main")).to_contain_text(f"已邀请,待本人设置密码({ADDRESS})")

    # 2. The mail names the person masked; its one-time link sets the password.
    mail, link = _invitation_link(app, base)
    for shown in (MASKED, FIRM, USERNAME):
        assert shown in mail
    for hidden in (NAME, ID_NUMBER[:14]):
        assert hidden not in mail
    person = phone_page()
    person.goto(base + link)
    expect(person.get_by_role("heading", level=1)).to_have_text("设置密码")
    expect(person.get_by_role("main")).to_contain_text(USERNAME)
    checked(person)
    person.locator("#password").fill(PASSWORD)
    person.get_by_label("再次输入新密码").fill(PASSWORD)
    person.get_by_role("button", name="保存密码").click()
    person.wait_for_url("**/login**")
    expect(flash(person)).to_contain_text("密码已设置,请用新密码登录。")
    # The link works once.
    person.goto(base + link)
    expect(person.get_by_role("main")).to_contain_text("链接")
    me = type("Account", (), {"username": USERNAME, "password": PASSWORD})
    sign_in(person, base, me)
    expect(person.get_by_role("main")).to_contain_text("异议期内的本人信用记录")
    _no_full_id(person)
    checked(person)

    # 3. Their own record: full name and certificate number, the ID's last four only.
    person.goto(base + "/my/person")
    expect(person.get_by_role("heading", level=1)).to_have_text("本人从业信息")
    expect(fact(person, "姓名")).to_have_text(NAME)
    expect(fact(person, "身份证号末四位")).to_have_text(TAIL)
    expect(fact(person, "当前执业机构")).to_have_text(FIRM)
    expect(person.get_by_role("table", name="本人执业资格证书")).to_contain_text(CERT)
    expect(person.get_by_role("table", name="任职记录")).to_contain_text(f"{FIRM} 技术负责人")
    expect(person.locator("#credit-title + dl")).to_contain_text("个人信用分")
    expect(person.get_by_role("main")).to_contain_text(f"{number} 警示通报:{TITLE}")
    _no_full_id(person)
    checked(person)

    # 4. The objection: an empty reason is refused in Chinese, then filed with evidence.
    person.get_by_role("link", name=f"提出异议 {number}").click()
    person.wait_for_url(f"**/my/person/credit/{number}/object")
    expect(person.get_by_role("heading", level=1)).to_have_text(f"对 {number} 提出异议")
    checked(person)
    person.get_by_role("button", name="提交异议").click()
    expect(person.get_by_role("alert")).to_contain_text("请填写异议理由。")
    person.get_by_label("异议理由").fill("所引监测数据系委托方提供,本人已书面提示其时效。")
    person.get_by_label("证据材料(可选)").set_input_files(
        {"name": "时效提示函.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    person.get_by_role("button", name="提交异议").click()
    person.wait_for_url("**/my/person/credit")
    expect(flash(person)).to_contain_text("异议已提交")
    record = person.locator("section.panel").filter(has_text=number)
    expect(record).to_contain_text("本人已书面提示其时效")
    expect(record).to_contain_text("时效提示函.pdf")
    expect(record).to_contain_text("待答复")
    _no_full_id(person)
    checked(person)

    # 5. The regulator finds the objection in its queue and reads it with the evidence.
    _sign_out(firm)
    officer = firm  # the same browser, the next person at the desk
    sign_in(officer, base, regulator)
    officer.goto(base + "/regulator/credit/objections")
    row = officer.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text(FIRM)
    row.get_by_role("link", name=re.compile("异议 #")).click()
    officer.wait_for_url("**/regulator/credit/objections/*")
    expect(officer.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(officer.get_by_role("main")).to_contain_text("本人已书面提示其时效")
    expect(officer.get_by_role("link", name="时效提示函.pdf")).to_be_visible()
    checked(officer)

    # 6. 政务办 unlinks the account on the unmasked view: a reason is required, then it is done.
    _sign_out(officer)
    office = officer
    sign_in(office, base, staff)
    office.goto(base + f"/office/practitioners/{person_id}")
    expect(office.get_by_role("note")).to_contain_text(
        "本次查看(查看人、时间、查看对象)已记入审计日志"
    )
    account = office.locator("#account-title + p")
    expect(account).to_contain_text(f"已开通(用户名 {USERNAME})")
    checked(office)
    office.get_by_label("解除原因").fill("本人反映邮箱被他人冒用,解除后重新邀请。")
    office.get_by_role("button", name="解除本人账户关联").click()
    office.wait_for_url(f"**/office/practitioners/{person_id}")
    expect(flash(office)).to_contain_text("已解除本人账户关联并停用该账户,可重新邀请本人开通账户。")
    expect(account).to_contain_text("未开通")
    expect(office.get_by_role("button", name="解除本人账户关联")).to_have_count(0)
    expect(office.get_by_role("link", name="邀请本人开通账户")).to_be_visible()
    checked(office)

    # The person's session has ended, and the password no longer signs in.
    person.goto(base + "/my/person")
    person.wait_for_url("**/login**")
    expect(flash(person)).to_contain_text("请先登录。")
    person.get_by_label("用户名").fill(USERNAME)
    person.get_by_label("密码").fill(PASSWORD)
    person.get_by_role("button", name="登录").click()
    expect(person.get_by_role("alert")).to_contain_text(ERROR)
    assert "/login" in person.url
    with app.app_context():
        assert db.session.scalar(select(User.is_enabled).where(User.username == USERNAME)) is False
        done = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor_id == staff.id)
        ).all()
        assert {"practitioner.view_unmasked", "practitioner.account_unlink"} <= set(done)

    # 7. The public sees the person masked, with the record, and never the full ID number.
    _sign_out(office)
    visitor = office
    visitor.goto(base + f"/practitioners/{person_id}")
    expect(visitor.get_by_role("main")).to_contain_text(TITLE)
    checked(visitor)
    for path in (f"/practitioners/{person_id}", f"/providers/{firm_uscc}", f"/search?q={NAME}"):
        visitor.goto(base + path)
        expect(visitor.get_by_role("main")).to_contain_text(MASKED)
        _no_full_id(visitor)
    expect(visitor.get_by_role("main")).not_to_contain_text(NAME)  # only the query box has it
    for path in (
        f"/api/v1/practitioners/{person_id}",
        f"/api/v1/practitioners?provider={firm_uscc}",
    ):
        answer = visitor.request.get(base + path)
        assert answer.ok, path
        for hidden in (NAME, ID_NUMBER[:14]):
            assert hidden not in answer.text(), path
