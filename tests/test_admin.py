"""Admin editing of the catalogue: audited, sanitised, and bad input leaves data intact."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select, text

from registry.extensions import db
from registry.models import AuditEntry, Department, ServiceItem, User
from registry.services import accounts, market
from tests import factories
from tests.conftest import post_form

NEW_ITEM = {
    "code": "ZJ-90",
    "name": "测试用中介服务事项",
    "stages": ["2"],
    "department": "ZJW",
    "legal_basis": "建筑法 | 第8条 | 2019修正\n建设工程质量管理条例 | 第11条",
    "time_limit_days": "15",
    "time_limit_unit": "工作日",
    "fee_regime": "市场调节价",
    "validity": "有效",
    "may_self_prepare": "no",
    "covered_by_regional_assessment": "",
    "approval_items": ["SP-12"],
    "notes_html": '<p onclick="x()">须知<script>alert(1)</script><a href="javascript:alert(2)">链接</a></p>',
    "source_note": "GK",
}


@pytest.fixture
def admin_client(app, client, make_user, login):
    login(make_user("admin"))
    return client


def _audit(app, action, object_id=None):
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action == action)
        if object_id:
            query = query.where(AuditEntry.object_id == object_id)
        return db.session.scalars(query).all()


def test_admin_creates_a_service_item_with_sanitised_notes(app, admin_client):
    response = post_form(admin_client, "/admin/services/new", NEW_ITEM)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-90"))
        assert item.legal_basis == [
            {"law": "建筑法", "article": "第8条", "version": "2019修正", "note": None},
            {"law": "建设工程质量管理条例", "article": "第11条", "version": None, "note": None},
        ]
        assert item.time_limit_days == 15
        assert item.time_limit_unit == "工作日"
        assert item.may_self_prepare is False
        assert item.covered_by_regional_assessment is None
        assert "<script" not in item.notes_html
        assert "onclick" not in item.notes_html
        assert "javascript:" not in item.notes_html
        assert "须知" in item.notes_html
        assert [a.code for a in item.approval_items] == ["SP-12"]
    page = admin_client.get("/services/ZJ-90").get_data(as_text=True)
    assert "须知" in page
    assert "<script>alert(1)" not in page
    [entry] = _audit(app, "service_item.create", "ZJ-90")
    assert entry.after["code"] == "ZJ-90"
    assert entry.before is None


def test_admin_edit_is_audited_with_before_and_after(app, admin_client):
    form = admin_client.get("/admin/services/ZJ-04/edit").get_data(as_text=True)
    assert "水土保持法" in html.unescape(form)  # the legal basis is pre-filled for editing
    data = dict(
        NEW_ITEM,
        code="ZJ-04",
        name="生产建设项目水土保持方案编制(修订)",
        approval_items=["SP-06"],
        stages=["1"],
        department="SW",
        legal_basis="水土保持法 | 第25条",
    )
    response = post_form(admin_client, "/admin/services/ZJ-04/edit", data)
    assert response.status_code == 302
    [entry] = _audit(app, "service_item.update")
    assert entry.before["name"] == "生产建设项目水土保持方案编制"
    assert entry.after["name"] == "生产建设项目水土保持方案编制(修订)"
    assert entry.actor_name.startswith("admin-")
    audit_page = html.unescape(admin_client.get("/admin/audit").get_data(as_text=True))
    assert "service_item.update" in audit_page
    assert "ZJ-04" in audit_page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legal_basis": " | 第3条"}, "缺少法规名称"),
        ({"code": "ZJ 01; DROP"}, "编码只能"),
        ({"code": "ZJ-03"}, "已被使用"),
        ({"code": "zj-03"}, "已被使用"),  # pages find a code in any case: zj-03 is ZJ-03's
        ({"department": "NOPE"}, "未找到部门"),
        ({"time_limit_days": "abc"}, "不是有效的整数"),
        ({"time_limit_days": "5", "time_limit_unit": ""}, "时限单位"),
        ({"stages": ["7"]}, "未知审批阶段"),
        ({"name": ""}, "请填写事项名称"),
    ],
)
def test_admin_bad_input_is_explained_and_stores_nothing(app, admin_client, change, message):
    with app.app_context():
        before = db.session.scalar(select(func.count(ServiceItem.id)))
    response = post_form(admin_client, "/admin/services/new", dict(NEW_ITEM, **change))
    assert response.status_code == 200
    body = html.unescape(response.get_data(as_text=True))
    assert message in body
    assert 'aria-invalid="true"' in body or "error" in body
    with app.app_context():
        assert db.session.scalar(select(func.count(ServiceItem.id))) == before
    assert _audit(app, "service_item.create", NEW_ITEM["code"]) == []


def test_admin_retire_requires_a_reason(app, admin_client):
    response = post_form(admin_client, "/admin/services/ZJ-25/retire", {"retire-reason": ""})
    assert response.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(select(ServiceItem.validity).where(ServiceItem.code == "ZJ-25"))
            == "有效"
        )
    post_form(admin_client, "/admin/services/ZJ-25/retire", {"retire-reason": "政策调整"})
    [entry] = _audit(app, "service_item.retire")
    assert entry.detail == "政策调整"
    assert entry.after["validity"] == "已废止"


def test_admin_department_in_use_cannot_be_retired(app, admin_client):
    response = post_form(
        admin_client,
        "/admin/departments/STHJ/retire",
        {"retire-reason": "机构调整"},
        follow_redirects=True,
    )
    assert "仍有" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Department.is_active).where(Department.code == "STHJ"))


def test_admin_department_edit_validates_phone(app, admin_client):
    data = {
        "code": "SW",
        "name": "天津市水务局",
        "short_name": "市水务局",
        "phone": "<b>call</b>",
        "complaint_phone": "12345",
    }
    response = post_form(admin_client, "/admin/departments/SW/edit", data)
    assert response.status_code == 200
    assert "电话号码只能包含" in response.get_data(as_text=True)
    data["phone"] = "022-12345678"
    assert post_form(admin_client, "/admin/departments/SW/edit", data).status_code == 302
    [entry] = _audit(app, "department.update")
    assert entry.after["phone"] == "022-12345678"


def test_admin_approval_item_edit(app, admin_client):
    form = admin_client.get("/admin/approval-items/SP-05/edit")
    assert form.status_code == 200
    data = {
        "code": "SP-05",
        "name": "环评审批(报告书/报告表;登记表备案)",
        "stages": ["1", "2"],
        "department": "STHJ",
        "legal_basis": "环境影响评价法 | 第16、22、25条",
        "time_limit_days": "60",
        "time_limit_unit": "日",
        "validity": "有效",
        "commitment_approval": "yes",
        "accept_with_deficiency": "",
    }
    assert post_form(admin_client, "/admin/approval-items/SP-05/edit", data).status_code == 302
    page = admin_client.get("/approval-items/SP-05").get_data(as_text=True)
    assert "告知承诺" in page
    [entry] = _audit(app, "approval_item.update")
    assert entry.after["commitment_approval"] is True


def test_admin_creates_a_regulator_account(app, admin_client):
    data = {
        "username": "li.sw",
        "role": "regulator",
        "department": "SW",
        "password": "Hj7#kLq2-Wm9",
        "display_name": "李(水务)",
    }
    response = post_form(admin_client, "/admin/users", data)
    assert response.status_code == 302
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "li.sw" in page
    weak = post_form(admin_client, "/admin/users", dict(data, username="x.sw", password="12345678"))
    assert weak.status_code == 200
    assert "密码" in weak.get_data(as_text=True)


def test_admin_audit_log_is_append_only_in_the_database(app):
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) > 0
        for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        entry = db.session.scalars(select(AuditEntry)).first()
        entry.action = "forged"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()


def test_admin_two_people_creating_the_same_code_at_once(app):
    import threading

    from registry.services import catalogue
    from registry.services.errors import RegistryError

    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def create():
        with app.app_context():
            barrier.wait()
            try:
                catalogue.create_service_item(
                    {
                        "code": "ZJ-77",
                        "name": "同时创建的事项",
                        "department": "SW",
                        "legal_basis": [],
                    },
                    actor=None,
                )
                db.session.commit()
                outcomes.append("created")
            except RegistryError as error:
                db.session.rollback()
                outcomes.append(error.message)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["编码 ZJ-77 已被使用。"] * 3
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(ServiceItem.id)).where(ServiceItem.code == "ZJ-77"))
            == 1
        )


def test_admin_audit_log_filters_by_object(app, admin_client):
    post_form(admin_client, "/admin/services/ZJ-25/retire", {"retire-reason": "政策调整"})
    page = html.unescape(admin_client.get("/admin/audit?object_id=ZJ-25").get_data(as_text=True))
    assert "service_item.retire" in page
    assert "ZJ-04" not in page
    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert "26" in dashboard


def test_admin_new_account_has_no_default_role_and_must_change_its_password(
    app, admin_client, login
):
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert re.search(r'<select[^>]*name="role"[^>]*>\s*<option[^>]*value="">请选择角色', page)
    data = {"username": "zhao.staff", "password": "Hj7#kLq2-Wm9", "role": ""}
    assert "请选择角色" in post_form(admin_client, "/admin/users", data).get_data(as_text=True)
    assert post_form(admin_client, "/admin/users", dict(data, role="staff")).status_code == 302

    person = type("U", (), {"username": "zhao.staff", "password": "Hj7#kLq2-Wm9"})
    client = app.test_client()
    login(person, on=client)
    assert client.get("/staff/deadlines").headers["Location"].endswith("/account/password")
    assert "初始或临时密码" in client.get("/account/password").get_data(as_text=True)
    assert client.get("/guide").status_code == 200  # public pages stay open
    changed = post_form(
        client,
        "/account/password",
        {
            "current_password": "Hj7#kLq2-Wm9",
            "new_password": "Vq8!mZt4-Rp2",
            "confirm": "Vq8!mZt4-Rp2",
        },
    )
    assert changed.status_code == 302
    assert client.get("/staff/deadlines").status_code == 200
    with app.app_context():
        assert not accounts.find_user("zhao.staff").must_change_password


def test_admin_resets_a_password_to_a_temporary_one_shown_once(app, admin_client, make_user, login):
    user = make_user("provider")
    elsewhere = app.test_client()
    login(user, on=elsewhere)
    page = post_form(admin_client, f"/admin/users/{user.id}/password").get_data(as_text=True)
    temporary = re.search(r'<code id="temporary-password">([^<]+)</code>', page).group(1)
    assert "只显示这一次" in page
    assert elsewhere.get("/my/provider").headers["Location"].startswith("/login")
    fresh = app.test_client()
    assert login(user, password=html.unescape(temporary), on=fresh).status_code == 302
    assert fresh.get("/my/provider").headers["Location"].endswith("/account/password")
    with app.app_context():
        entry = _audit(app, "user.password_reset", str(user.id))
        assert len(entry) == 1
        assert temporary not in str(entry[0].after)


def test_admin_changes_a_role_keeping_bindings_consistent(app, admin_client, make_user):
    staff, owner = make_user("staff"), make_user("enterprise")
    url = f"/admin/users/{staff.id}"
    assert "必须绑定一个部门" in post_form(admin_client, url, {"role": "regulator"}).get_data(
        as_text=True
    )
    moved = post_form(admin_client, url, {"role": "regulator", "department": "SW"})
    assert moved.status_code == 302
    with app.app_context():
        entry = _audit(app, "user.role_change", str(staff.id))[0]
        assert entry.before == {"role": "staff", "department": None}
        assert entry.after == {"role": "regulator", "department": "SW"}
        account = db.session.get(User, owner.id)
        account.enterprise_id = market.create_enterprise("天津某某有限公司", factories.uscc()).id
        db.session.commit()
    refused = post_form(admin_client, f"/admin/users/{owner.id}", {"role": "provider"})
    assert "已关联企业" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, owner.id).role == "enterprise"
        me = db.session.scalar(select(User).where(User.role == "admin"))
    own = post_form(admin_client, f"/admin/users/{me.id}", {"role": "staff"})
    assert "不能修改自己的角色" in own.get_data(as_text=True)


def test_admin_stopped_department_can_be_put_back_in_use(app, admin_client):
    """Stop 29's list: a department stopped by mistake (or whose duties came back after a
    reorganisation) could not be restarted. 重新启用 asks for a reason and is audited."""
    new = {"code": "XZSP", "name": "示例行政审批局", "short_name": "示例审批局", "phone": "022-1"}
    assert post_form(admin_client, "/admin/departments/new", new).status_code == 302
    post_form(
        admin_client,
        "/admin/departments/XZSP/retire",
        {"retire-reason": "机构改革"},
        follow_redirects=True,
    )
    assert "示例行政审批局" not in admin_client.get("/departments").get_data(as_text=True)
    page = admin_client.get("/admin/departments/XZSP/edit").get_data(as_text=True)
    assert "当前状态:已停用" in page
    assert "重新启用 示例行政审批局" in page

    refused = post_form(
        admin_client,
        "/admin/departments/XZSP/reinstate",
        {"reinstate-reason": ""},
        follow_redirects=True,
    )
    assert "请填写重新启用的原因" in refused.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(select(Department.is_active).where(Department.code == "XZSP"))

    done = post_form(
        admin_client,
        "/admin/departments/XZSP/reinstate",
        {"reinstate-reason": "职能划回"},
        follow_redirects=True,
    )
    assert "示例行政审批局 已重新启用" in done.get_data(as_text=True)
    assert "示例行政审批局" in admin_client.get("/departments").get_data(as_text=True)
    [entry] = _audit(app, "department.reinstate")
    assert (entry.detail, entry.before["is_active"], entry.after["is_active"]) == (
        "职能划回",
        False,
        True,
    )
    again = post_form(
        admin_client,
        "/admin/departments/XZSP/reinstate",
        {"reinstate-reason": "再次"},
        follow_redirects=True,
    )
    assert "无需重新启用" in again.get_data(as_text=True)
    assert len(_audit(app, "department.reinstate")) == 1
