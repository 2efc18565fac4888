"""A regulator's work, in real browsers on phone-sized screens (issue 5, bullet 8).

A regulator of 市生态环境局 (STHJ) opens an evaluation period, scores a provider that offers ZJ-03,
submits, closes and publishes the period; drafts and publishes a 警示通报 about the provider; the
public notice board shows it; the provider objects within the window; the regulator rejects the
objection with reasons; the provider sees the answer and the public sees the published score on
the provider's profile.

Every step goes through the real pages and forms. Services and factories are used only to create
the accounts and the (already active) provider.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from registry.extensions import db
from registry.models import User
from tests import factories
from tests.e2e.steps import checked, flash, make_account, sign_in

pytestmark = pytest.mark.e2e

DEPARTMENT = "STHJ"
SERVICE = "ZJ-03"
PROVIDER_NAME = "天津考评测试环境科技有限公司"
SCORES = {"技术性": "90", "规范性": "85", "工作实效": "80", "服务水平": "95"}
TOTAL = "87.5"  # 0.25 each
TITLE = "未按规定编制环评报告"
FACTS = "2026 年 10 月,该机构编制的环评报告引用的监测数据与原始记录不符。"
BASIS = "《环境影响评价法》第三十二条"
OBJECTION = "监测数据由建设单位提供,本机构已如实注明来源。"
ANSWER = "经核查,报告未对引用数据进行核实,异议不成立,维持原记录。"


def test_e2e_regulator_flow(live_server, phone_page, page):
    base, app = live_server.url, live_server.app
    regulator_account = make_account(app, "regulator", DEPARTMENT)
    provider_account = make_account(app, "provider")
    with app.app_context():
        provider = factories.active_provider(
            [SERVICE], name=PROVIDER_NAME, account=db.session.get(User, provider_account.id)
        )
        db.session.commit()
        uscc = provider.uscc

    # 1. The regulator opens an evaluation period (the default half-year).
    regulator = phone_page()
    sign_in(regulator, base, regulator_account)
    regulator.goto(base + "/regulator/evaluations")
    expect(regulator.get_by_role("heading", level=1)).to_have_text("定期考评")
    checked(regulator)
    regulator.get_by_role("button", name="开始考评").click()
    regulator.wait_for_url("**/regulator/evaluations/*")
    expect(flash(regulator)).to_contain_text("已开始")
    period_url = regulator.url
    checked(regulator)

    # 2. Scores for the provider, saved as a draft, then submitted from the period page.
    regulator.get_by_role("link", name=re.compile(rf"^录入\s*{PROVIDER_NAME}的得分$")).click()
    regulator.wait_for_url(f"**/providers/{uscc}/score")
    checked(regulator)
    for criterion, score in SCORES.items():
        regulator.get_by_label(criterion).fill(score)
    regulator.get_by_role("button", name="保存草稿").click()
    regulator.wait_for_url(period_url)
    expect(flash(regulator)).to_contain_text(f"已保存 {PROVIDER_NAME} 的得分")
    expect(flash(regulator)).to_contain_text("草稿")
    regulator.get_by_role("button", name="提交全部草稿(1 家)").click()
    regulator.wait_for_url(period_url)
    expect(flash(regulator)).to_contain_text("已提交 1 家机构的草稿得分")
    row = regulator.get_by_role("row").filter(has_text=PROVIDER_NAME)
    expect(row).to_contain_text(TOTAL)
    expect(row).to_contain_text("已提交")

    # 3. Close the period early (it runs to 12-31: only with a reason) and publish it after
    # confirming what becomes public.
    regulator.get_by_label("提前结束原因").fill("年度信用评价提前汇总")
    regulator.get_by_role("button", name="提前结束考评").click()
    regulator.wait_for_url(period_url)
    expect(flash(regulator)).to_contain_text("考评已结束")
    regulator.get_by_role("button", name="发布考评结果").click()
    expect(regulator.get_by_role("heading", level=1)).to_contain_text("请确认")
    expect(regulator.locator("main")).to_contain_text(PROVIDER_NAME)
    expect(regulator.locator("main")).to_contain_text("不能撤回")
    checked(regulator)
    regulator.get_by_role("button", name="确认发布").click()
    regulator.wait_for_url(period_url)
    expect(flash(regulator)).to_contain_text("考评结果已发布")
    expect(regulator.locator(".page-head .subtitle")).to_contain_text("已发布")
    checked(regulator)

    # 4. A 警示通报 about the provider: drafted, then published.
    regulator.goto(base + "/regulator/credit")
    checked(regulator)
    regulator.get_by_role("link", name="新建信用记录").click()
    regulator.wait_for_url("**/regulator/credit/new")
    checked(regulator)
    regulator.get_by_label("中介机构").select_option(uscc)
    regulator.get_by_label("记录类型").select_option("警示通报")
    regulator.get_by_label("标题").fill(TITLE)
    regulator.get_by_label("事实").fill(FACTS)
    regulator.get_by_label("依据").fill(BASIS)
    regulator.get_by_role("button", name="保存草稿").click()
    regulator.wait_for_url("**/regulator/credit/XY-*")
    expect(flash(regulator)).to_contain_text("草稿")
    number = regulator.url.rsplit("/", 1)[-1]
    regulator.get_by_role("button", name="发布", exact=True).click()
    expect(regulator.locator("main")).to_contain_text(TITLE)
    expect(regulator.locator("main")).to_contain_text("不能撤回")
    regulator.get_by_role("button", name="确认发布").click()
    regulator.wait_for_url(f"**/regulator/credit/{number}")
    expect(flash(regulator)).to_contain_text("已发布。公示期至")
    checked(regulator)

    # 5. The anonymous public board and the notice's own page.
    page.goto(base + "/notices")
    notices = page.get_by_role("table", name="信用公示(共 1 条)")
    expect(notices).to_contain_text(number)
    expect(notices).to_contain_text(PROVIDER_NAME)
    checked(page)
    notices.get_by_role("link", name=TITLE).click()
    page.wait_for_url(f"**/notices/{number}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    main = page.get_by_role("main")
    for expected in ("警示通报", "市生态环境局", FACTS, BASIS, uscc, "异议截止"):
        expect(main).to_contain_text(expected)
    checked(page)

    # 6. The provider objects within the window.
    provider_page = phone_page()
    sign_in(provider_page, base, provider_account)
    provider_page.goto(base + "/my/credit")
    expect(provider_page.get_by_role("heading", name=f"{number} 警示通报:{TITLE}")).to_be_visible()
    checked(provider_page)
    provider_page.get_by_role("link", name="提出异议").click()
    provider_page.wait_for_url(f"**/my/credit/{number}/object")
    expect(provider_page.get_by_role("heading", level=1)).to_have_text(f"对 {number} 提出异议")
    checked(provider_page)
    provider_page.get_by_label("异议理由").fill(OBJECTION)
    provider_page.get_by_role("button", name="提交异议").click()
    provider_page.wait_for_url("**/my/credit")
    expect(flash(provider_page)).to_contain_text("异议已提交")
    expect(provider_page.get_by_role("main")).to_contain_text("待答复")
    expect(provider_page.get_by_role("link", name="提出异议")).to_have_count(0)

    # 7. The regulator rejects the objection, with reasons.
    regulator.goto(base + "/regulator/credit/objections")
    objections = regulator.get_by_role("table", name="异议(共 1 件;待答复的在前)")
    expect(objections).to_contain_text(number)
    expect(objections).to_contain_text("待答复")
    checked(regulator)
    objections.get_by_role("link", name="异议 #").click()
    regulator.wait_for_url("**/regulator/credit/objections/*")
    expect(regulator.get_by_role("main")).to_contain_text(OBJECTION)
    checked(regulator)
    regulator.get_by_label("答复结论").select_option("维持")
    regulator.get_by_label("答复意见").fill(ANSWER)
    regulator.get_by_role("button", name="提交答复").click()
    # A confirmation page first; 返回修改 brings the answer back as typed.
    expect(regulator.get_by_role("heading", level=1)).to_contain_text("请确认:答复异议")
    regulator.get_by_role("button", name="返回修改").click()
    expect(regulator.get_by_label("答复意见")).to_have_value(ANSWER)
    regulator.get_by_role("button", name="提交答复").click()
    expect(regulator.get_by_role("main")).to_contain_text("异议不成立(维持原记录)")
    checked(regulator)
    regulator.get_by_role("button", name="确认答复").click()
    expect(flash(regulator)).to_contain_text("已答复")
    expect(regulator.get_by_role("main")).to_contain_text("异议不成立(维持原记录)")
    expect(regulator.get_by_role("button", name="提交答复")).to_have_count(0)

    # 8. The provider sees the outcome; the record stays published.
    provider_page.reload()
    answered = provider_page.get_by_role("main")
    expect(answered).to_contain_text("异议不成立(维持原记录)")
    expect(answered).to_contain_text(ANSWER)
    checked(provider_page)
    page.goto(base + f"/notices/{number}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)

    # 9. The public profile shows the published score.
    page.goto(base + f"/providers/{uscc}")
    scores = page.get_by_role("table", name="行业主管部门定期考评结果(已发布,共 1 期)")
    expect(scores).to_contain_text(TOTAL)
    expect(scores).to_contain_text("技术性 90")
    checked(page)
