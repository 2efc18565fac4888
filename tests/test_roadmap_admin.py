"""The roadmap template editor (admins): list, steps, edit, add and delete, with the whole
template re-checked on every save, optimistic locking, and an audit entry per change."""

from __future__ import annotations

import html as html_module
import re

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import AuditEntry, RoadmapTemplate, User
from registry.services import roadmaps
from registry.services.errors import RegistryError
from tests.conftest import csrf_from, post_form

BASE = "/admin/roadmap-templates"


@pytest.fixture
def admin_client(client, make_user, login):
    """A client signed in as an admin."""
    login(make_user("admin"))
    return client


def _template(app, category="民营/外资") -> RoadmapTemplate:
    with app.app_context():
        template = db.session.scalar(
            select(RoadmapTemplate).where(RoadmapTemplate.category == category)
        )
        steps = {
            s.key: {
                "duration": s.duration,
                "depends_on": list(s.depends_on or []),
                "services": list(s.services or []),
                "unit": s.unit,
                "name": s.name,
                "stage": s.stage,
                "duration_source": s.duration_source,
            }
            for s in template.steps
        }
        return type("T", (), {"version": template.version, "steps": steps})


def _form(html: str) -> dict:
    """The edit form's current values, as the browser would post them back."""
    data = {"csrf_token": csrf_from(html)}
    for name, value in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html):
        if name not in ("conditional", "regional_assessment"):
            data[name] = value
    for name, value in re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[name] = html_module.unescape(value).removeprefix("\n").removeprefix("\r\n")
    for name in ("stage", "unit"):
        chosen = re.search(
            rf'<select[^>]*name="{name}"[^>]*>(?:(?!</select>).)*?<option selected value="([^"]*)"',
            html,
            re.S,
        )
        if chosen:
            data[name] = chosen.group(1)
    return data


def test_roadmap_admin_lists_the_three_templates_with_url_safe_slugs(admin_client):
    html = admin_client.get(BASE).get_data(as_text=True)
    for slug, category in (
        ("private", "民营/外资"),
        ("simple", "简易低风险厂房"),
        ("state", "国有"),
    ):
        assert f'href="{BASE}/{slug}"' in html
        assert category in html
    assert "登记表备案" in html  # the simple template's simplifications
    steps = admin_client.get(f"{BASE}/private").get_data(as_text=True)
    assert "SP-05" in steps
    assert "60 日" in steps
    assert "《环境影响评价法》第22条" in steps
    assert admin_client.get(f"{BASE}/nonsense").status_code == 404


def test_roadmap_admin_edit_duration_changes_the_template_and_is_audited(app, admin_client):
    before = _template(app)
    page = admin_client.get(f"{BASE}/private/steps/SP-05")
    assert page.status_code == 200
    data = _form(page.get_data(as_text=True))
    assert data["depends_on"] == "ZJ-03"
    data["duration"] = "45"
    response = admin_client.post(f"{BASE}/private/steps/SP-05", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    after = _template(app)
    assert after.steps["SP-05"]["duration"] == 45
    assert after.steps["SP-05"]["depends_on"] == ["ZJ-03"]
    assert after.version == before.version + 1
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "roadmap_template.update")
        ).one()
        assert entry.object_id == "民营/外资"
        old = next(s for s in entry.before["steps"] if s["key"] == "SP-05")
        new = next(s for s in entry.after["steps"] if s["key"] == "SP-05")
        assert (old["duration"], new["duration"]) == (60, 45)


def test_roadmap_admin_refuses_a_dependency_loop_and_stores_nothing(app, admin_client):
    before = _template(app)
    data = _form(admin_client.get(f"{BASE}/private/steps/SP-01").get_data(as_text=True))
    data["depends_on"] = "SP-15"
    response = admin_client.post(f"{BASE}/private/steps/SP-01", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "审批步骤之间存在循环依赖" in html
    assert "提交未成功" in html
    after = _template(app)
    assert after.steps == before.steps
    assert after.version == before.version
    with app.app_context():
        assert not db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "roadmap_template.update")
        ).all()


def test_roadmap_admin_refuses_a_stale_version(app, admin_client):
    first = _form(admin_client.get(f"{BASE}/private/steps/SP-05").get_data(as_text=True))
    second = dict(first)
    first["duration"] = "50"
    assert admin_client.post(f"{BASE}/private/steps/SP-05", data=first).status_code == 302
    second["duration"] = "40"
    response = admin_client.post(f"{BASE}/private/steps/SP-05", data=second)
    assert response.status_code == 200
    assert "模板已被他人修改,请刷新后重试" in response.get_data(as_text=True)
    assert _template(app).steps["SP-05"]["duration"] == 50


def test_roadmap_admin_adds_a_step_with_codes_separated_by_commas_and_spaces(app, admin_client):
    data = _form(admin_client.get(f"{BASE}/simple/steps/new").get_data(as_text=True))
    data.update(
        key="zj-12",
        name="安全预评价(示例步骤)",
        duration="21",
        unit="日",
        stage="1",
        depends_on="SP-01, ZJ-11",
        services="ZJ-12",
        duration_source="目录典型时长 1-2月,取下限 [GK]",
    )
    response = admin_client.post(f"{BASE}/simple/steps/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    step = _template(app, "简易低风险厂房").steps["ZJ-12"]
    assert step["depends_on"] == ["SP-01", "ZJ-11"]
    assert step["services"] == ["ZJ-12"]
    assert step["duration"] == 21


def test_roadmap_admin_reports_an_unknown_service_code(app, admin_client):
    before = _template(app)
    data = _form(admin_client.get(f"{BASE}/private/steps/SP-05").get_data(as_text=True))
    data["services"] = "ZJ-03 ZJ-99"
    html = admin_client.post(f"{BASE}/private/steps/SP-05", data=data).get_data(as_text=True)
    assert "引用的中介服务不存在:ZJ-99" in html
    assert _template(app).steps == before.steps


def test_roadmap_admin_delete_is_refused_while_depended_on(app, admin_client):
    before = _template(app)
    response = post_form(
        admin_client,
        f"{BASE}/private/steps/ZJ-03/delete",
        {"version": str(before.version)},
        follow_redirects=True,
    )
    assert "步骤 ZJ-03 仍是 SP-05 的前置步骤" in response.get_data(as_text=True)
    assert "ZJ-03" in _template(app).steps
    # A step nothing depends on can go (projects keep their own copies), once the admin has
    # confirmed it on a page naming it (stop 29's list: one click removed it).
    url, version = f"{BASE}/private/steps/SP-15/delete", str(before.version)
    asked = post_form(admin_client, url, {"version": version})
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "请确认:从民营/外资模板删除步骤 SP-15" in page
    assert "SP-15 建筑工程施工许可" in page
    assert "确认删除" in page
    assert "SP-15" in _template(app).steps  # nothing removed yet
    response = post_form(admin_client, url, {"version": version, "confirmed": "1"})
    assert response.status_code == 302
    assert "SP-15" not in _template(app).steps


def test_roadmap_admin_delete_refuses_a_stale_version(app, admin_client):
    before = _template(app)
    response = post_form(
        admin_client,
        f"{BASE}/private/steps/SP-15/delete",
        {"version": str(before.version - 1)},
        follow_redirects=True,
    )
    assert "模板已被他人修改" in response.get_data(as_text=True)
    assert "SP-15" in _template(app).steps


def test_roadmap_admin_is_for_admins_only(client, make_user, login):
    login(make_user("staff"))
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}/private/steps/SP-05").status_code == 403


def test_roadmap_admin_half_filled_new_step_is_a_domain_error_not_a_database_error(app, make_user):
    admin = make_user("admin")
    with app.app_context():
        user = db.session.get(User, admin.id)
        with pytest.raises(RegistryError, match="时长须为"):
            roadmaps.save_template_step(user, "国有", None, {"key": "ZJ-12", "name": "安全预评价"})
        db.session.rollback()
        assert "ZJ-12" not in {s.key for s in roadmaps.get_template("国有").steps}


def test_roadmap_admin_edit_keeps_the_duration_source_and_refuses_one_without_a_tag(
    app, admin_client
):
    page = admin_client.get(f"{BASE}/private/steps/SP-05").get_data(as_text=True)
    data = _form(page)
    assert "[S:《环境影响评价法》第22条]" in data["duration_source"]
    data["duration_source"] = "估计 30 天"
    response = admin_client.post(f"{BASE}/private/steps/SP-05", data=data)
    assert response.status_code == 200
    assert "来源标记" in response.get_data(as_text=True)
    assert _template(app).steps["SP-05"]["duration_source"].endswith("第22条]")


@pytest.mark.parametrize("version", [None, "", "abc", "-1", "9" * 12])
def test_roadmap_admin_edit_without_a_valid_version_is_refused(app, admin_client, version):
    """A dropped or garbled hidden version is stale, never "skip the check" (which would let a
    form silently overwrite another admin's edit)."""
    before = _template(app)
    data = _form(admin_client.get(f"{BASE}/private/steps/SP-05").get_data(as_text=True))
    data.pop("version")
    if version is not None:
        data["version"] = version
    data["duration"] = "45"
    response = admin_client.post(f"{BASE}/private/steps/SP-05", data=data)
    assert response.status_code == 200
    assert "模板已被他人修改,请刷新后重试" in response.get_data(as_text=True)
    after = _template(app)
    assert after.steps == before.steps
    assert after.version == before.version
    with app.app_context():
        assert not db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "roadmap_template.update")
        ).all()


@pytest.mark.parametrize("data", [{}, {"version": "x1"}])
def test_roadmap_admin_delete_without_a_valid_version_is_refused(app, admin_client, data):
    response = post_form(
        admin_client, f"{BASE}/private/steps/SP-15/delete", data, follow_redirects=True
    )
    assert "模板已被他人修改" in response.get_data(as_text=True)
    assert "SP-15" in _template(app).steps
