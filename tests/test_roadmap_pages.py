"""Project roadmaps through their pages: registration with the roadmap's particulars, staff
registering for an enterprise, the one-map page (Gantt + table), progress entry and options, the
one-time checklist, and who may see what."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import (
    ApprovalItem,
    AuditEntry,
    Enterprise,
    Project,
    RoadmapStep,
    ServiceItem,
    User,
)
from registry.services import roadmaps
from registry.services.errors import RegistryError
from tests import factories
from tests.conftest import post_form

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

LAND = date(2026, 3, 2)


@pytest.fixture
def today(frozen_clock):
    """The pages' today (progress dates may not be later than it)."""
    frozen_clock.freeze(date(2026, 5, 4))
    return date(2026, 5, 4)


def _project(app, make_user, *, land=LAND, category="民营/外资"):
    """An enterprise account with a project and its roadmap; returns (account, code)."""
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user, category=category)
        project.land_contract_date = land
        roadmaps.create_roadmap(project, actor=user)
        db.session.commit()
        return owner, project.code


def _step(app, code: str, key: str) -> dict:
    with app.app_context():
        step = db.session.scalar(
            select(RoadmapStep).join(Project).where(Project.code == code, RoadmapStep.key == key)
        )
        return {
            "status": step.status,
            "started_on": step.started_on,
            "finished_on": step.finished_on,
            "planned_start": step.planned_start,
            "planned_finish": step.planned_finish,
            "covered_by_regional": step.covered_by_regional,
            "version": step.version,
        }


def _progress_audits(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.in_(["roadmap.progress", "roadmap.options"]))
        )


def _version(page: str, form: str, key: str) -> str:
    match = re.search(
        rf'id="{form}-{key}-version" name="version" type="hidden" value="(\d+)"', page
    )
    assert match, f"no {form} form for {key}"
    return match.group(1)


def test_roadmap_pages_register_project_then_roadmap_shows_gantt_and_table(
    app, client, make_user, login, today
):
    owner = make_user("enterprise")
    login(owner)
    form = client.get("/my/projects/new").get_data(as_text=True)
    assert "土地出让合同签订日期" in form
    assert "建筑面积(㎡)" in form
    created = post_form(
        client,
        "/my/projects/new",
        {
            "enterprise_name": "天津示范智能装备有限公司",
            "enterprise_uscc": factories.uscc(),
            "code": "2026-120116-34-01-000901",
            "name": "智能装备厂房",
            "category": "民营/外资",
            "location": "天津滨海高新区渤龙湖科技园",
            "land_contract_date": "2026-03-02",
            "building_type": "厂房",
            "floor_area": "12000.5",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    with app.app_context():
        project = db.session.scalar(
            select(Project).where(Project.code == "2026-120116-34-01-000901")
        )
        assert project.land_contract_date == LAND
        assert project.building_type == "厂房"
        assert project.floor_area == Decimal("12000.50")
        assert {s.key for s in project.steps} >= {"SP-01", "SP-05", "SP-15"}
    # The enterprise reaches its roadmap from the project page and from its project list.
    assert "/projects/2026-120116-34-01-000901/roadmap" in client.get(
        "/my/projects/2026-120116-34-01-000901"
    ).get_data(as_text=True)
    assert "/projects/2026-120116-34-01-000901/roadmap" in client.get("/my/projects").get_data(
        as_text=True
    )
    response = client.get("/projects/2026-120116-34-01-000901/roadmap")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'class="chart gantt"' in page
    assert "<table>" in page
    assert "SP-15" in page
    totals = re.search(r"计划 (\d+) 天 / 目标 160 天,余量 (\d+) 天", page)
    assert totals, "the plan against the target is stated"
    assert int(totals.group(1)) + int(totals.group(2)) == 160
    # A step's own slack is named for what it is (read as the project's 余量 it looked critical).
    assert ">可推迟天数</th>" in page
    # Stages in their order, the duration's source tag visible, the facts shown.
    assert page.index("第一阶段") < page.index("第二阶段") < page.index("第三阶段")
    assert "[S:《建筑法》第8条]" in page
    assert "12,000.50 ㎡" in page
    assert "★ 关键路径" in page
    # Approval items link to the catalogue; services to the catalogue and the provider directory;
    # the enterprise may open a selection request for each.
    assert 'href="/approval-items/SP-05"' in page
    assert 'href="/services/ZJ-03"' in page
    assert 'href="/providers?service=ZJ-03"' in page
    assert 'href="/my/projects/2026-120116-34-01-000901/requests/new?service=ZJ-03"' in page
    assert "打印" in page
    # Printing and the CSP: the roadmap stylesheet, no inline styles or scripts.
    assert "css/roadmap.css" in page
    assert "style=" not in page
    assert "<script" not in page


def test_roadmap_pages_bad_floor_area_is_refused_in_chinese(app, client, make_user, login):
    owner = make_user("enterprise")
    login(owner)
    for area, message in (
        ("NaN", "请填写有效的数值"),
        ("-5", "建筑面积须大于 0 平方米"),
        ("1e30", "建筑面积不能超过 9,999,999.99 平方米"),
        ("12000.555", "建筑面积最多保留两位小数"),
    ):
        response = post_form(
            client,
            "/my/projects/new",
            {
                "enterprise_name": "天津示范有限公司",
                "enterprise_uscc": factories.uscc(),
                "code": "2026-120116-34-01-000902",
                "name": "厂房",
                "category": "民营/外资",
                "location": "天津滨海高新区",
                "floor_area": area,
            },
        )
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Project)) == 0


def test_roadmap_pages_staff_register_project_for_enterprise_with_concierge_and_expert(
    app, client, make_user, login, today
):
    staff, concierge, expert = make_user("staff"), make_user("staff"), make_user("staff")
    login(staff)
    form = client.get("/staff/projects/new").get_data(as_text=True)
    assert concierge.username in form
    uscc = factories.uscc()
    fields = {
        "enterprise_uscc": uscc,
        "code": "2026-120116-34-01-000911",
        "name": "招商推送研发楼",
        "category": "民营/外资",
        "location": "天津滨海高新区华苑科技园",
        "land_contract_date": "2026-03-02",
        "building_type": "研发楼",
        "floor_area": "8000",
        "concierge": str(concierge.id),
        "expert": str(expert.id),
    }
    # A USCC nobody registered needs the enterprise's name: nothing is stored without it.
    refused = post_form(client, "/staff/projects/new", fields)
    assert refused.status_code == 200
    assert "请填写企业名称以新建企业" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Project)) == 0
        assert db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc)) is None
    created = post_form(
        client, "/staff/projects/new", {**fields, "enterprise_name": "天津招商示范有限公司"}
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    assert created.headers["Location"].endswith("/projects/2026-120116-34-01-000911/roadmap")
    # A second project for the same enterprise, named by its USCC alone.
    again = post_form(client, "/staff/projects/new", {**fields, "code": "2026-120116-34-01-000912"})
    assert again.status_code == 302, again.get_data(as_text=True)
    with app.app_context():
        project = db.session.scalar(
            select(Project).where(Project.code == "2026-120116-34-01-000911")
        )
        assert project.enterprise.name == "天津招商示范有限公司"
        assert (project.concierge_id, project.expert_id) == (concierge.id, expert.id)
        assert project.steps
        assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 1
    page = client.get("/projects/2026-120116-34-01-000911/roadmap").get_data(as_text=True)
    assert concierge.username in page
    assert expert.username in page
    assert "目标 160 天" in page
    assert "发起选取" not in page  # opening a selection request is the enterprise's own act
    listing = client.get("/staff/projects").get_data(as_text=True)
    assert "2026-120116-34-01-000911" in listing
    assert "天津招商示范有限公司" in listing
    assert concierge.username in listing
    # Staff change the assignment; an id that is not an active staff account is refused.
    swapped = post_form(
        client,
        "/projects/2026-120116-34-01-000911/assign",
        {
            "concierge": str(expert.id),
            "expert": "",
        },
    )
    assert swapped.status_code == 302
    bogus = post_form(
        client,
        "/projects/2026-120116-34-01-000911/assign",
        {
            "concierge": "999999",
            "expert": "",
        },
    )
    assert "未保存" in client.get(bogus.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        project = db.session.scalar(
            select(Project).where(Project.code == "2026-120116-34-01-000911")
        )
        assert (project.concierge_id, project.expert_id) == (expert.id, None)


def test_roadmap_pages_progress_entry_replans(app, client, make_user, login, today):
    owner, code = _project(app, make_user)
    login(owner)
    before = _step(app, code, "SP-15")["planned_finish"]
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    response = post_form(
        client,
        f"/projects/{code}/steps/ZJ-03/progress",
        {
            "status": "已完成",
            "started_on": "2026-03-03",
            "finished_on": "2026-03-20",
            "version": _version(page, "progress", "ZJ-03"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    step = _step(app, code, "ZJ-03")
    assert (step["status"], step["started_on"], step["finished_on"]) == (
        "已完成",
        date(2026, 3, 3),
        date(2026, 3, 20),
    )
    after = _step(app, code, "SP-15")["planned_finish"]
    assert after < before  # the environmental report was the long pole; the map moved forward
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "办结 2026-03-20" in page
    assert after.isoformat() in page
    # Marked 办理中 from a date: the planned finish follows the actual start.
    page_sp01 = _version(page, "progress", "SP-01")
    started = post_form(
        client,
        f"/projects/{code}/steps/SP-01/progress",
        {
            "status": "办理中",
            "started_on": "2026-03-10",
            "version": page_sp01,
        },
    )
    assert started.status_code == 302
    assert _step(app, code, "SP-01")["planned_start"] == date(2026, 3, 10)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"status": "已完成", "started_on": "2026-03-10", "finished_on": "2026-03-05"},
            "办结日期不能早于开始日期",
        ),
        ({"status": "办理中", "started_on": "2026-06-01"}, "开始日期不能晚于今天"),
        ({"status": "办理中", "started_on": "2026-02-01"}, "开始日期不能早于土地出让合同签订日"),
        ({"status": "已完成", "started_on": "2026-03-10"}, "须填写办结日期"),
        ({"status": "已提交", "started_on": "2026-03-10"}, "须填写提交日期"),
        ({"status": "办理中", "started_on": "2026-02-30"}, "不是有效的日期值"),
        ({"status": "不适用", "started_on": "2026-03-10"}, "不是有效的选择"),
    ],
)
def test_roadmap_pages_bad_dates_show_the_error_and_store_nothing(
    app, client, make_user, login, today, data, message
):
    owner, code = _project(app, make_user)
    login(owner)
    before = _step(app, code, "SP-05")
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    response = post_form(
        client,
        f"/projects/{code}/steps/SP-05/progress",
        {
            **data,
            "version": _version(page, "progress", "SP-05"),
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert "提交未成功" in html  # the error summary sits on the step's own form
    assert "步骤 SP-05 未保存" in html
    # Said once, on the form (the flash repeated it).
    summary = html.split('<div class="form-errors"', 1)[1]
    assert message not in html.split('<div class="form-errors"', 1)[0]
    assert message in summary
    assert _step(app, code, "SP-05") == before
    assert _progress_audits(app) == 0


def test_roadmap_pages_stale_version_says_updated_by_someone_else(
    app, client, make_user, login, today
):
    owner, code = _project(app, make_user)
    login(owner)
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    seen = _version(page, "progress", "ZJ-11")
    first = post_form(
        client,
        f"/projects/{code}/steps/ZJ-11/progress",
        {
            "status": "办理中",
            "started_on": "2026-03-04",
            "version": seen,
        },
    )
    assert first.status_code == 302
    stale = post_form(
        client,
        f"/projects/{code}/steps/ZJ-11/progress",
        {
            "status": "已完成",
            "started_on": "2026-03-04",
            "finished_on": "2026-03-09",
            "version": seen,
        },
    )
    assert stale.status_code == 200
    assert "已被他人更新" in stale.get_data(as_text=True)
    step = _step(app, code, "ZJ-11")
    assert (step["status"], step["finished_on"]) == ("办理中", None)
    # The options form checks the version too, and a missing version never skips the check.
    assert "已被他人更新" in post_form(
        client,
        f"/projects/{code}/steps/ZJ-11/options",
        {
            "applicable": "y",
        },
    ).get_data(as_text=True)


def test_roadmap_pages_regional_assessment_option_removes_the_steps_dates(
    app, client, make_user, login, today
):
    owner, code = _project(app, make_user)
    login(owner)
    assert _step(app, code, "SP-06")["planned_finish"] is not None
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    # Only offered where the template allows it.
    assert 'id="options-SP-06-covered_by_regional"' in page
    assert 'id="options-SP-05-covered_by_regional"' not in page
    response = post_form(
        client,
        f"/projects/{code}/steps/SP-06/options",
        {
            "applicable": "y",
            "covered_by_regional": "y",
            "version": _version(page, "options", "SP-06"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    step = _step(app, code, "SP-06")
    assert step["covered_by_regional"] is True
    assert (step["planned_start"], step["planned_finish"]) == (None, None)
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert "区域评估覆盖,不占时间" in page
    # Refused where it does not apply, with the service's words and nothing stored.
    refused = post_form(
        client,
        f"/projects/{code}/steps/SP-05/options",
        {
            "applicable": "y",
            "covered_by_regional": "y",
            "version": _version(page, "options", "SP-05"),
        },
    )
    assert refused.status_code == 200
    assert "该步骤不在区域评估覆盖范围内" in refused.get_data(as_text=True)
    assert _step(app, code, "SP-05")["covered_by_regional"] is False


def test_roadmap_pages_self_prepared_option_shortens_a_conditional_step(
    app, client, make_user, login, today
):
    owner, code = _project(app, make_user, category="国有")
    login(owner)
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert 'id="options-ZJ-01-self_prepared"' in page
    assert 'id="options-SP-05-self_prepared"' not in page
    assert _step(app, code, "ZJ-01")["status"] == "不适用"
    applied = post_form(
        client,
        f"/projects/{code}/steps/ZJ-01/options",
        {
            "applicable": "y",
            "version": _version(page, "options", "ZJ-01"),
        },
    )
    assert applied.status_code == 302
    full = _step(app, code, "ZJ-01")
    assert full["status"] == "未开始"
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    prepared = post_form(
        client,
        f"/projects/{code}/steps/ZJ-01/options",
        {
            "applicable": "y",
            "self_prepared": "y",
            "version": _version(page, "options", "ZJ-01"),
        },
    )
    assert prepared.status_code == 302
    short = _step(app, code, "ZJ-01")
    assert short["planned_finish"] < full["planned_finish"]
    checklist = client.get(f"/projects/{code}/checklist").get_data(as_text=True)
    assert "ZJ-01 可选自行编制(规划 14 日),本项目已选择" in checklist


def test_roadmap_pages_checklist_lists_approvals_services_and_conditional_steps(
    app, client, make_user, login, today
):
    owner, code = _project(app, make_user)
    with app.app_context():
        # The seeded phones are still to be verified (null); an admin has entered this one.
        approval = db.session.scalar(select(ApprovalItem).where(ApprovalItem.code == "SP-05"))
        approval.department.phone = "022-12340005"
        service = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-03"))
        department, complaint = approval.department.name, approval.department.complaint_phone
        service_name, fee = service.name, service.fee_regime
        db.session.commit()
    login(owner)
    response = client.get(f"/projects/{code}/checklist")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "一次性告知单" in page
    assert department in page
    assert 'href="tel:022-12340005"' in page
    assert complaint
    assert f'href="tel:{complaint}"' in page
    assert "兜底热线" in page
    assert "待核实" in page  # phones nobody has verified say so instead of staying blank
    assert service_name in page
    assert fee
    assert fee in page
    assert "《" in page  # legal bases
    assert "路线图:ZJ-04 可选区域评估覆盖" in page
    conditional = page.split("不适用”处理的条件性步骤", 1)[1]
    assert "SP-04" in conditional
    assert "年综合能源消费量超过节能审查阈值" in conditional
    approvals = page.split("一、需办理的审批事项", 1)[1].split("二、所需中介服务事项", 1)[0]
    assert "SP-15" in approvals
    assert "SP-04" not in approvals


def test_roadmap_pages_provisional_years_are_marked_and_missing_land_date_stated(
    app, client, make_user, login, today
):
    owner, code = _project(app, make_user, land=date(2026, 11, 2))
    login(owner)
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    # Every step is dated; those counted over 2027 (no official arrangement yet) say so.
    assert "无法排期" not in page
    assert "2027 年的日期暂按法定节假日推算,待国务院公布当年放假安排后自动调整" in page
    row = page.split('id="row-SP-15"', 1)[1].split("</tr>", 1)[0]
    assert "(暂定)" in row
    first = page.split('id="row-SP-01"', 1)[1].split("</tr>", 1)[0]
    assert "(暂定)" not in first  # finished inside 2026, on the official calendar
    assert re.search(r"计划 \d+ 天 / 目标 160 天", page)
    # No land-contract date: a notice instead of a plan, and the edit form fixes it.
    edited = post_form(
        client,
        f"/projects/{code}/edit",
        {
            "land_contract_date": "",
            "building_type": "",
            "floor_area": "",
            "location": "天津滨海高新区",
        },
    )
    assert edited.status_code == 302
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert "尚未填写土地出让合同签订日期" in page
    assert 'class="chart gantt"' not in page
    edited = post_form(
        client,
        f"/projects/{code}/edit",
        {
            "land_contract_date": "2026-03-02",
            "building_type": "办公楼",
            "floor_area": "5000",
            "location": "天津滨海高新区华苑",
        },
    )
    assert edited.status_code == 302
    assert _step(app, code, "SP-15")["planned_finish"] is not None
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert re.search(r"计划 \d+ 天 / 目标 160 天", page)


def test_roadmap_pages_another_enterprise_gets_not_found_and_stores_nothing(
    app, client, make_user, login, today
):
    owner, code = _project(app, make_user)
    stranger = make_user("enterprise")
    with app.app_context():
        factories.enterprise_with_project(db.session.get(User, stranger.id))
        db.session.commit()
    login(stranger)
    before = _step(app, code, "SP-05")
    assert client.get(f"/projects/{code}/roadmap").status_code == 404
    assert client.get(f"/projects/{code}/checklist").status_code == 404
    assert client.get(f"/projects/{code}/edit").status_code == 404
    progress = post_form(
        client,
        f"/projects/{code}/steps/SP-05/progress",
        {
            "status": "办理中",
            "started_on": "2026-03-10",
            "version": str(before["version"]),
        },
    )
    assert progress.status_code == 404
    options = post_form(
        client,
        f"/projects/{code}/steps/SP-05/options",
        {
            "version": str(before["version"]),
        },
    )
    assert options.status_code == 404
    edit = post_form(
        client,
        f"/projects/{code}/edit",
        {
            "land_contract_date": "2026-04-01",
            "location": "别处",
        },
    )
    assert edit.status_code == 404
    assert _step(app, code, "SP-05") == before
    assert _progress_audits(app) == 0
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.code == code))
        assert project.land_contract_date == LAND
    # The owner itself: an unknown step is not found either.
    mine = app.test_client()
    login(owner, on=mine)
    assert (
        post_form(
            mine,
            f"/projects/{code}/steps/SP-99/progress",
            {
                "status": "办理中",
                "started_on": "2026-03-10",
                "version": "1",
            },
        ).status_code
        == 404
    )


def test_roadmap_pages_anonymous_goes_to_login_and_other_roles_are_refused(
    app, client, make_user, login
):
    owner, code = _project(app, make_user)
    response = client.get(f"/projects/{code}/roadmap")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "/login" in client.get(f"/projects/{code}/checklist").headers["Location"]
    for role in ("provider", "regulator"):
        other = app.test_client()
        login(make_user(role), on=other)
        assert other.get(f"/projects/{code}/roadmap").status_code == 403
        assert other.get(f"/projects/{code}/checklist").status_code == 403
        assert (
            post_form(
                other,
                f"/projects/{code}/steps/SP-05/progress",
                {
                    "status": "办理中",
                    "started_on": "2026-03-10",
                },
            ).status_code
            == 403
        )
        assert other.get("/staff/projects").status_code == 403
    enterprise = app.test_client()
    login(owner, on=enterprise)
    assert enterprise.get("/staff/projects").status_code == 403
    assert enterprise.get("/staff/projects/new").status_code == 403
    assert post_form(enterprise, f"/projects/{code}/assign", {}).status_code == 403
    assert _progress_audits(app) == 0


def test_roadmap_pages_floor_area_nan_is_a_domain_error_not_a_crash(app, make_user):
    # Decimal("NaN") < x raises InvalidOperation: the service used to compare before checking.
    owner, code = _project(app, make_user)
    with app.app_context():
        user = db.session.get(User, owner.id)
        for bad in (Decimal("NaN"), Decimal("Infinity"), "abc", Decimal("0")):
            with pytest.raises(RegistryError, match="建筑面积须(为数字|大于 0 平方米)"):
                roadmaps.update_project(
                    user,
                    code,
                    land_contract_date=LAND,
                    building_type=None,
                    floor_area=bad,
                    location="天津滨海高新区",
                )
            db.session.rollback()
        project = roadmaps.update_project(
            user,
            code,
            land_contract_date=LAND,
            building_type="仓库",
            floor_area="1,234.56",
            location="天津滨海高新区",
        )
        assert project.floor_area == Decimal("1234.56")


@pytest.mark.parametrize("kind", ["progress", "options"])
def test_roadmap_pages_unknown_step_is_not_found_even_with_a_bad_form(
    app, client, make_user, login, today, kind
):
    owner, code = _project(app, make_user)
    login(owner)
    assert post_form(client, f"/projects/{code}/steps/SP-99/{kind}", {}).status_code == 404
    assert _progress_audits(app) == 0


def test_roadmap_pages_control_and_bidi_characters_never_reach_the_database(
    app, client, make_user, login
):
    """A NUL byte or a right-to-left override typed into a form is dropped (it was stored and
    sent raw into every list that shows the name)."""
    login(make_user("enterprise"))
    response = post_form(
        client,
        "/my/projects/new",
        {
            "enterprise_name": "天津示范有限公司",
            "enterprise_uscc": factories.uscc(),
            "code": "2026-120116-34-01-000903",
            "name": "研发\x00楼\u202e一期",
            "category": "民营/外资",
            "location": "天津\x07滨海高新区",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        project = db.session.scalar(select(Project))
        assert (project.name, project.location) == ("研发楼一期", "天津滨海高新区")


def test_roadmap_pages_a_step_names_its_open_selection_request(app, client, make_user, login):
    """A tester (stop 31): a step whose service already had a request open still offered 发起选取
    (a second, competing request). It names the request and its state; after a withdrawal it
    offers 发起选取 again."""
    from registry.services import market

    owner, code = _project(app, make_user)
    with app.app_context():
        user = db.session.get(User, owner.id)
        ref = market.open_request(
            user, code, service_code="ZJ-03", method="竞价选取", deadline=factories.later(3)
        ).ref
        db.session.commit()
    login(owner)
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert f'class="code">{ref}</a>(报名中)' in page
    assert 'service=ZJ-03">发起选取' not in page
    assert 'service=ZJ-04">发起选取' in page  # another service of the roadmap: none yet
    with app.app_context():
        market.cancel_request(db.session.get(User, owner.id), ref, reason="价格区间有误。")
        db.session.commit()
    page = client.get(f"/projects/{code}/roadmap").get_data(as_text=True)
    assert 'service=ZJ-03">发起选取' in page
