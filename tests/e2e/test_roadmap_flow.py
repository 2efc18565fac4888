"""A project's roadmap in a real browser, as its users walk it.

An enterprise registers a project with its land-contract date; the project's one-map page shows
the plan against the 160-day target, the Gantt chart (SVG) and the step table; from the EIA step
it follows the service to the provider directory, opens a provider's profile, comes back and
opens a selection request for that service on this project. Progress entered on the page
re-plans. Staff see the project on their list and dashboard; another enterprise cannot open it.
The checklist prints everything the project needs. axe (WCAG A/AA) and the 375 px phone width
are checked on every page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from registry.extensions import db
from registry.kernel import clock
from registry.models import User
from registry.pure.uscc import make_uscc
from tests import factories
from tests.e2e.steps import checked, flash, make_account, sign_in

pytestmark = pytest.mark.e2e

SERVICE = "ZJ-03"
PROJECT = "2026-120116-47-01-000902"


def test_e2e_roadmap_flow(live_server, phone_page):
    base, app = live_server.url, live_server.app
    owner = make_account(app, "enterprise")
    staff = make_account(app, "staff")
    stranger = make_account(app, "enterprise")
    provider_account = make_account(app, "provider")
    with app.app_context():
        provider = factories.active_provider(
            (SERVICE,),
            name="天津路线图环境咨询有限公司",
            account=db.session.get(User, provider_account.id),
        )
        factories.enterprise_with_project(db.session.get(User, stranger.id))
        db.session.commit()
        provider_name = provider.name

    # 1. The enterprise registers itself and the project with the roadmap's particulars.
    page = phone_page()
    sign_in(page, base, owner)
    page.goto(base + "/my/projects/new")
    checked(page)
    page.get_by_label("企业名称").fill("天津路线图精密制造有限公司")
    page.get_by_label("企业统一社会信用代码").fill(make_uscc("9112011677000903"))
    page.get_by_label("项目代码").fill(PROJECT)
    page.get_by_label("项目名称").fill("精密零部件厂房新建项目")
    page.get_by_label("项目类别").select_option("民营/外资")
    page.get_by_label("建设地点").fill("天津滨海高新区海洋科技园")
    page.get_by_label("土地出让合同签订日期").fill("2026-03-02")
    page.get_by_label("建筑类型").select_option("厂房")
    page.get_by_label("建筑面积").fill("12800")
    page.get_by_role("button", name="登记").click()
    page.wait_for_url(f"**/my/projects/{PROJECT}")
    expect(flash(page)).to_contain_text(f"项目 {PROJECT} 已登记")

    # 2. Its one-map page: the plan against the target, the Gantt chart and the table.
    page.get_by_role("link", name=re.compile("审批路线图")).first.click()
    page.wait_for_url(f"**/projects/{PROJECT}/roadmap")
    expect(page.get_by_role("heading", level=1)).to_contain_text("审批路线图")
    # Registered in March, seen in December with nothing done: the headline is the forecast,
    # the original plan below it.
    expect(page.locator(".plan-total")).to_contain_text("按当前进度预计")
    expect(page.locator(".plan-original")).to_contain_text("原计划 158 天 / 目标 160 天")
    chart = page.locator("svg.gantt")
    expect(chart).to_have_count(1)
    expect(chart.locator("desc").first).to_contain_text("计划 158 天,目标 160 天")
    assert chart.locator("rect.gantt-bar").count() >= 10
    table = page.get_by_role("table", name=re.compile("各审批步骤"))
    expect(table.locator("#row-SP-15")).to_contain_text("建筑工程施工许可证")
    expect(table.locator("#row-SP-05")).to_contain_text("关键路径")
    checked(page)

    # 3. From the EIA report step: the providers for the service, one profile, then back.
    panel = page.locator("#step-ZJ-03")
    panel.get_by_role("link", name=re.compile("可提供该服务的中介机构")).click()
    page.wait_for_url(f"**/providers?service={SERVICE}*")
    checked(page)
    page.get_by_role("link", name=provider_name).first.click()
    page.wait_for_url("**/providers/*")
    expect(page.get_by_role("heading", level=1)).to_contain_text(provider_name)
    checked(page)
    page.go_back()
    page.go_back()
    page.wait_for_url(f"**/projects/{PROJECT}/roadmap")

    # 4. "发起选取" for that service opens a selection request on this project.
    page.locator("#step-ZJ-03").get_by_role("link", name=re.compile("发起选取")).click()
    page.wait_for_url(f"**/my/projects/{PROJECT}/requests/new?service={SERVICE}")
    checked(page)
    expect(page.get_by_label("中介服务事项")).to_have_value(SERVICE)
    deadline = clock.local(clock.now() + timedelta(hours=3))
    page.get_by_label("选取方式").select_option("随机抽取")
    page.get_by_label("报名截止时间").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="发布").click()
    page.wait_for_url("**/my/requests/*")
    expect(flash(page)).to_contain_text("已发布")
    expect(page.locator("body")).to_contain_text("建设项目环境影响报告书/报告表编制")

    # 5. Progress on the page re-plans: 备案 done on the day after the land contract.
    page.goto(base + f"/projects/{PROJECT}/roadmap")
    step = page.locator("#step-SP-01")
    step.locator("summary").click()
    form = step.locator("form").first
    form.get_by_label("办理状态").select_option("已完成")
    form.get_by_label("开始日期").fill("2026-03-03")
    form.get_by_label("办结日期").fill("2026-03-03")
    form.get_by_role("button", name=re.compile("保存进度")).click()
    page.wait_for_url(f"**/projects/{PROJECT}/roadmap*")
    expect(page.locator("#row-SP-01")).to_contain_text("已完成")
    expect(page.locator("#row-SP-01")).to_contain_text("办结 2026-03-03")
    checked(page)

    # 5b. A refused progress form is where the browser lands, open, its error beside the field
    # (a tester on a phone found it 11,000 px below the top, with only a flash up there). The
    # row's 登记进度 link opens the step's forms too.
    page.locator("#row-SP-05").get_by_role("link", name=re.compile("登记进度")).click()
    forms = page.locator("#step-SP-05-forms")
    expect(forms).to_be_visible()
    form = forms.locator("form").first
    form.get_by_label("办理状态").select_option("已提交")
    form.get_by_label("开始日期").fill("2026-03-05")
    form.get_by_role("button", name=re.compile("保存进度")).click()
    page.wait_for_url(f"**/projects/{PROJECT}/steps/SP-05/progress#step-SP-05-forms")
    field = page.locator("#step-SP-05-forms").get_by_label("提交日期")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_in_viewport()
    checked(page)

    # 6. The printable one-time checklist.
    page.goto(base + f"/projects/{PROJECT}/checklist")
    expect(page.get_by_role("heading", level=1)).to_contain_text("一次性告知")
    expect(page.locator("body")).to_contain_text("市生态环境局")
    expect(page.locator("body")).to_contain_text("建设项目环境影响报告书/报告表编制")
    checked(page)

    # 7. Staff see it on their list and their dashboard; another enterprise cannot open it.
    desk = phone_page()
    sign_in(desk, base, staff)
    desk.goto(base + "/staff/projects")
    expect(desk.locator("body")).to_contain_text(PROJECT)
    checked(desk)
    desk.goto(base + "/staff/deadlines")
    expect(desk.get_by_role("heading", level=1)).to_be_visible()
    # Planned from March 2026, its open steps are overdue on any later day (the calendar reaches
    # every year, provisionally beyond the official arrangements).
    expect(desk.locator("body")).to_contain_text(PROJECT)
    checked(desk)
    other = phone_page()
    sign_in(other, base, stranger)
    response = other.goto(base + f"/projects/{PROJECT}/roadmap")
    assert response.status == 404
