"""The whole marketplace, in real browsers on phone-sized screens, as its users walk it.

A provider applies (入驻) and an admin approves it; an enterprise registers a project and opens a
竞价选取 request; two providers send sealed quotes; after the deadline the enterprise decides and
the public award notice and its verification show the lowest quote winning; the work is contracted,
delivered as a PDF, confirmed and rated; the public sees the rating on the winner's profile.

Every step goes through the real pages and forms. Services and factories are used only to create
the accounts and the second (already active) provider, and to move the deadline into the past
(the frozen clock stays put, so the signed-in sessions do not time out).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from registry.extensions import db
from registry.kernel import clock
from registry.models import SelectionRequest, User
from registry.pure.uscc import make_uscc
from tests import factories
from tests.e2e.steps import checked, fact, flash, make_account, nav_link, sign_in

pytestmark = pytest.mark.e2e

SERVICE = "ZJ-03"
SERVICE_NAME = "建设项目环境影响报告书/报告表编制"
SCORES = {"质量": 95, "时效": 90, "态度": 100, "收费": 85, "规范": 92}
AVERAGE = "92.4"
COMMENT = "报告编制规范,按期提交,沟通顺畅。"


def minimal_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_e2e_marketplace_flow(live_server, phone_page, page):
    base, app = live_server.url, live_server.app
    provider_account = make_account(app, "provider")
    admin = make_account(app, "admin")
    owner = make_account(app, "enterprise")
    rival_account = make_account(app, "provider")
    with app.app_context():
        rival = factories.active_provider(
            (SERVICE,),
            name="天津竞争者环境咨询有限公司",
            account=db.session.get(User, rival_account.id),
        )
        db.session.commit()
        rival_uscc, rival_name = rival.uscc, rival.name
        on = clock.today()  # the zone's (Beijing) date, as the services see it
    applicant_uscc = make_uscc("9112011677000001")
    applicant_name = "天津入驻测试环境科技有限公司"

    # 1. The provider signs in and applies: application, qualification, offer, submit.
    applicant = phone_page()
    sign_in(applicant, base, provider_account)
    applicant.goto(base + "/my/provider")
    expect(applicant.get_by_role("heading", level=1)).to_have_text("本机构入驻")
    checked(applicant)
    applicant.get_by_role("link", name="填写入驻申请").click()
    applicant.wait_for_url("**/my/provider/application")
    checked(applicant)
    applicant.get_by_label("统一社会信用代码").fill(applicant_uscc)
    applicant.get_by_label("机构名称").fill(applicant_name)
    applicant.get_by_label("法定代表人").fill("王五")
    applicant.get_by_label("所在区域").select_option("滨海高新区")
    applicant.get_by_label("地址").fill("天津市滨海高新区华苑产业区梓苑路 8 号")
    applicant.get_by_label("联系人").fill("赵六")
    applicant.get_by_label("联系电话").fill("022-58001234")
    applicant.get_by_label("营业执照经营范围").fill("环境影响评价;环保技术咨询")
    applicant.get_by_role("button", name="保存").click()
    applicant.wait_for_url("**/my/provider")
    expect(flash(applicant)).to_contain_text("入驻资料已保存")
    expect(applicant.locator("#status-title")).to_contain_text("草稿")

    applicant.get_by_role("link", name="添加资质").click()
    applicant.wait_for_url("**/my/provider/qualifications/new")
    checked(applicant)
    applicant.get_by_label("资质类别").select_option("工程咨询单位资信")
    applicant.get_by_label("资质等级").fill("乙级")
    applicant.get_by_label("证书编号").fill("ZX-2025-0417")
    applicant.get_by_label("发证机关").fill("中国工程咨询协会")
    applicant.get_by_label("有效期起").fill((on - timedelta(days=200)).isoformat())
    applicant.get_by_label("有效期止").fill((on + timedelta(days=500)).isoformat())
    applicant.get_by_role("button", name="保存").click()
    applicant.wait_for_url("**/my/provider")
    expect(flash(applicant)).to_contain_text("资质已添加")

    applicant.get_by_role("link", name="添加服务承诺").click()
    applicant.wait_for_url("**/my/provider/offers/new")
    checked(applicant)
    applicant.get_by_label("中介服务事项").select_option(SERVICE)
    applicant.get_by_label("承诺办理时限(工作日)").fill("12")
    applicant.get_by_label("报价(元)").fill("50000")
    applicant.get_by_label("收费依据").fill("市场调节价,按工作量计算。")
    applicant.get_by_label("服务承诺").fill("按时提交报告书,免费修改至通过审查。")
    applicant.get_by_role("button", name="保存").click()
    applicant.wait_for_url("**/my/provider")
    expect(flash(applicant)).to_contain_text("服务承诺已保存")
    expect(applicant.get_by_role("table", name="本机构服务承诺")).to_contain_text(SERVICE_NAME)

    applicant.get_by_role("button", name="提交审核").click()
    applicant.wait_for_url("**/my/provider")
    expect(flash(applicant)).to_contain_text("已提交审核")
    expect(applicant.locator("#status-title")).to_contain_text("待审核")
    checked(applicant)

    # 2. The admin approves it from the review queue.
    reviewer = phone_page()
    sign_in(reviewer, base, admin)
    reviewer.goto(base + "/admin/providers")
    checked(reviewer)
    reviewer.get_by_role("link", name=f"审核 {applicant_name}").click()
    reviewer.wait_for_url("**/admin/providers/*")
    expect(reviewer.get_by_role("heading", level=1)).to_have_text(f"审核:{applicant_name}")
    checked(reviewer)
    reviewer.get_by_role("button", name="通过入驻申请").click()
    reviewer.wait_for_url("**/admin/providers")
    expect(flash(reviewer)).to_contain_text(f"已通过 {applicant_name} 的入驻申请")

    applicant.reload()
    expect(applicant.locator("#status-title")).to_contain_text("已入驻")

    # 3. The enterprise registers itself and a project, then opens a 竞价选取 request.
    enterprise = phone_page()
    sign_in(enterprise, base, owner)
    enterprise.goto(base + "/my/projects/new")
    checked(enterprise)
    project_code = "2026-120116-47-01-000731"
    enterprise.get_by_label("企业名称").fill("天津示范精密制造有限公司")
    enterprise.get_by_label("企业统一社会信用代码").fill(make_uscc("9112011677000002"))
    enterprise.get_by_label("项目代码").fill(project_code)
    enterprise.get_by_label("项目名称").fill("精密零部件厂房新建项目")
    enterprise.get_by_label("项目类别").select_option("民营/外资")
    enterprise.get_by_label("建设地点").fill("天津滨海高新区海洋科技园")
    enterprise.get_by_role("button", name="登记").click()
    enterprise.wait_for_url(f"**/my/projects/{project_code}")
    expect(flash(enterprise)).to_contain_text(f"项目 {project_code} 已登记")

    enterprise.get_by_role("link", name="发布选取公告").click()
    enterprise.wait_for_url(f"**/my/projects/{project_code}/requests/new")
    checked(enterprise)
    deadline = clock.local(clock.now() + timedelta(hours=3))
    enterprise.get_by_label("中介服务事项").select_option(SERVICE)
    enterprise.get_by_label("选取方式").select_option("竞价选取")
    enterprise.get_by_label("价格区间下限(元)").fill("30000")
    enterprise.get_by_label("价格区间上限(元)").fill("60000")
    enterprise.get_by_label("报名截止时间").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    enterprise.get_by_label("资质要求").select_option("工程咨询单位资信")
    enterprise.get_by_label("服务要求").fill("编制环境影响报告表并配合技术审查。")
    enterprise.get_by_role("button", name="发布").click()
    enterprise.wait_for_url("**/my/requests/*")
    heading = enterprise.get_by_role("heading", level=1).inner_text()
    ref = re.fullmatch(r"选取公告 (XQ-\d{4}-\d{6})", heading.strip()).group(1)
    expect(flash(enterprise)).to_contain_text(f"选取公告 {ref} 已发布")
    expect(fact(enterprise, "选取方式")).to_have_text("竞价选取")
    checked(enterprise)

    # 4. Both providers send sealed quotes; the rival's is the lower one.
    applicant.goto(base + "/my/opportunities")
    checked(applicant)
    applicant.get_by_role("link", name=ref).click()
    applicant.wait_for_url(f"**/my/requests/{ref}/quote")
    checked(applicant)
    applicant.get_by_label("报价(元)").fill("46800")
    applicant.get_by_role("button", name="提交报名").click()
    applicant.wait_for_url("**/my/opportunities")
    expect(flash(applicant)).to_contain_text("已提交")
    expect(applicant.get_by_role("row", name=ref)).to_contain_text("已报名")

    rival_page = phone_page()
    sign_in(rival_page, base, rival_account)
    rival_page.goto(base + "/my/opportunities")
    rival_page.get_by_role("link", name=ref).click()
    rival_page.wait_for_url(f"**/my/requests/{ref}/quote")
    rival_page.get_by_label("报价(元)").fill("43500")
    rival_page.get_by_role("button", name="提交报名").click()
    rival_page.wait_for_url("**/my/opportunities")
    expect(rival_page.get_by_role("row", name=ref)).to_contain_text("已报名")

    # Sealed: before the deadline the owner sees only how many applied, and cannot decide.
    enterprise.reload()
    expect(enterprise.get_by_role("main")).to_contain_text("已有 2 家机构报名")
    expect(enterprise.get_by_role("button", name="确定结果并公示")).to_have_count(0)

    # 5. Time travel past the deadline; the enterprise decides; the public checks the result.
    with app.app_context():
        db.session.execute(
            update(SelectionRequest)
            .where(SelectionRequest.ref == ref)
            .values(deadline=clock.now() - timedelta(minutes=1))
        )
        db.session.commit()
    enterprise.reload()
    quotes = enterprise.get_by_role("table", name=re.compile("有效报名"))
    expect(quotes.get_by_role("row")).to_have_count(3)
    expect(quotes.get_by_role("row", name=rival_name)).to_contain_text("¥43,500.00")
    expect(quotes.get_by_role("row", name=applicant_name)).to_contain_text("¥46,800.00")
    checked(enterprise)
    enterprise.get_by_role("button", name="确定结果并公示").click()
    expect(enterprise.get_by_role("heading", level=1)).to_have_text("请确认:确定结果并公示")
    expect(enterprise.get_by_role("main")).to_contain_text(f"{rival_name}({rival_uscc})")
    expect(enterprise.get_by_role("main")).to_contain_text("¥43,500.00")
    expect(enterprise.get_by_role("main")).to_contain_text("不能撤回")
    checked(enterprise)
    enterprise.get_by_role("button", name="确认发布").click()
    enterprise.wait_for_url("**/awards/*")
    award_id = int(enterprise.url.rsplit("/", 1)[1])
    expect(flash(enterprise)).to_contain_text("已确定中选机构")

    page.goto(f"{base}/awards/{award_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("中选公示")
    expect(fact(page, "选取方式")).to_have_text("竞价选取")
    expect(fact(page, "中选机构")).to_have_text(f"{rival_name}({rival_uscc})")
    expect(fact(page, "中选金额")).to_have_text("¥43,500.00")
    expect(fact(page, "项目代码")).to_have_text(project_code)
    checked(page)
    page.get_by_role("link", name="用公开信息重新运行抽取").click()
    page.wait_for_url(f"**/awards/{award_id}/verify")
    expect(page.get_by_role("heading", level=1)).to_have_text("复核抽取结果")
    expect(fact(page, "与公示结果一致")).to_have_text("是")
    expect(fact(page, "与公示种子一致")).to_have_text("是")
    expect(fact(page, "重新运行得到的中选机构")).to_have_text(f"{rival_name}({rival_uscc})")
    checked(page)
    page.goto(f"{base}/requests/{ref}")
    expect(fact(page, "状态")).to_have_text("已选定")
    expect(page.get_by_role("main")).to_contain_text("截止时共有 2 家机构报名")
    checked(page)

    # 6. Delivery: contract date, the winner's PDF result, confirmation, the owner's rating.
    nav_link(enterprise, "服务项目", exact=True).click()
    enterprise.wait_for_url("**/my/engagements")
    checked(enterprise)
    enterprise.get_by_role("link", name=f"查看 {SERVICE_NAME}({ref})").click()
    enterprise.wait_for_url("**/my/engagements/*")
    engagement_id = int(enterprise.url.rsplit("/", 1)[1])
    expect(fact(enterprise, "状态")).to_have_text("待签约")
    checked(enterprise)
    enterprise.get_by_role("textbox", name="签约日期").fill(on.isoformat())  # the award date
    enterprise.get_by_role("button", name="登记签约日期").click()
    enterprise.wait_for_url(f"**/my/engagements/{engagement_id}")
    expect(flash(enterprise)).to_contain_text("已登记签约日期")
    expect(fact(enterprise, "状态")).to_have_text("服务中")

    nav_link(rival_page, "我的服务").click()
    rival_page.wait_for_url("**/my/work")
    checked(rival_page)
    rival_page.get_by_role("link", name=f"查看 {SERVICE_NAME}({ref})").click()
    rival_page.wait_for_url(f"**/my/work/{engagement_id}")
    checked(rival_page)
    rival_page.get_by_label("服务成果文件").set_input_files(
        files=[{"name": "环评报告表.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf()}]
    )
    rival_page.get_by_label("成果说明").fill("报告表终稿,已按专家意见修改。")
    rival_page.get_by_role("button", name="提交成果").click()
    rival_page.wait_for_url(f"**/my/work/{engagement_id}")
    expect(flash(rival_page)).to_contain_text("服务成果已提交")
    expect(fact(rival_page, "状态")).to_have_text("成果待确认")
    expect(fact(rival_page, "服务成果")).to_contain_text("环评报告表.pdf")

    enterprise.reload()
    expect(fact(enterprise, "状态")).to_have_text("成果待确认")
    expect(enterprise.get_by_role("link", name="下载 环评报告表.pdf")).to_be_visible()
    checked(enterprise)
    enterprise.get_by_role("button", name="确认服务成果").click()
    enterprise.wait_for_url(f"**/my/engagements/{engagement_id}")
    expect(flash(enterprise)).to_contain_text("已确认服务成果")
    expect(fact(enterprise, "状态")).to_have_text("已确认")
    checked(enterprise)
    for label, score in SCORES.items():
        enterprise.get_by_label(f"{label}(0–100)").fill(str(score))
    enterprise.get_by_label("评价意见").fill(COMMENT)
    enterprise.get_by_role("button", name="提交评价").click()
    enterprise.wait_for_url(f"**/my/engagements/{engagement_id}")
    expect(flash(enterprise)).to_contain_text("评价已提交")
    expect(fact(enterprise, "平均分")).to_have_text(AVERAGE)

    # 7. A member of the public sees the rating on the winner's profile and its ratings page.
    page.goto(f"{base}/providers/{rival_uscc}")
    expect(page.get_by_role("heading", level=1)).to_have_text(rival_name)
    expect(page.get_by_role("img", name=re.compile(f"{rival_name}业主评价历史"))).to_be_visible()
    history = page.get_by_role("table", name=re.compile("业主评价历史"))
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td")).to_have_text([*(str(s) for s in SCORES.values()), AVERAGE])
    expect(page.get_by_role("link", name=f"{SERVICE_NAME}({ref})")).to_be_visible()
    checked(page)

    page.goto(f"{base}/providers/{rival_uscc}/ratings")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{rival_name}的业主评价")
    for label, score in SCORES.items():
        expect(fact(page, label)).to_have_text(str(score))
    expect(fact(page, "平均分")).to_have_text(AVERAGE)
    expect(fact(page, "评价意见")).to_contain_text(COMMENT)
    checked(page)

    # The approved applicant is public too, with its offer, and no rating yet.
    page.goto(f"{base}/providers/{applicant_uscc}")
    expect(page.get_by_role("heading", level=1)).to_have_text(applicant_name)
    expect(page.get_by_role("table", name=re.compile("提供的中介服务"))).to_contain_text(
        SERVICE_NAME
    )
    expect(page.locator("#ratings-title + p")).to_have_text("暂无业主评价。")
    checked(page)
