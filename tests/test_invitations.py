"""Colleagues: an enterprise's account invites a colleague by e-mail; the colleague sets a
password through the link and works on the enterprise's projects; refusals store nothing."""

from __future__ import annotations

import re
from types import SimpleNamespace

from sqlalchemy import func, select

from registry.extensions import db
from registry.models import AuditEntry, MailMessage, User
from registry.services import registration
from tests import factories
from tests.conftest import post_form

PASSWORD = "Hj7#kLq2-Wm9"
LINK = re.compile(r"http://127\.0\.0\.1:5000(/password/reset/[A-Za-z0-9_-]+)")
COLLEAGUE = {"name": "赵敏", "email": "Zhao.Min@Example.cn", "username": "zhaomin"}


def _owner(app, make_user, login, client, *, confirmed: bool = True):
    """An enterprise account with a project and a confirmed address, signed in on client."""
    user = make_user("enterprise")
    with app.app_context():
        account = db.session.get(User, user.id)
        project = factories.enterprise_with_project(account)
        account.email = f"{user.username}@example.cn"
        account.email_confirmed_at = account.created_at if confirmed else None
        name = project.name
        db.session.commit()
    assert login(user, on=client).status_code == 302
    return user, name


def _stored(app) -> tuple[int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (User, MailMessage)
        )


def test_invitations_colleague_sets_password_and_sees_the_projects(app, client, make_user, login):
    owner, project_name = _owner(app, make_user, login, client)
    assert "/my/colleagues" in client.get("/account").get_data(as_text=True)
    sent = post_form(client, "/my/colleagues", COLLEAGUE)
    assert sent.status_code == 302
    page = client.get("/my/colleagues").get_data(as_text=True)
    assert "已向 zhao.min@example.cn 发送邀请邮件" in page
    assert "zhaomin" in page
    assert "赵敏" in page
    assert "待确认" in page
    with app.app_context():
        mail = db.session.scalars(select(MailMessage)).one()
        assert mail.to_address == "zhao.min@example.cn"
        assert "您被邀请加入" in mail.subject
        link = LINK.search(mail.body).group(1)
        colleague = db.session.scalar(select(User).where(User.username == "zhaomin"))
        inviter = db.session.get(User, owner.id)
        assert (colleague.role, colleague.enterprise_id) == ("enterprise", inviter.enterprise_id)
        assert (colleague.org_uscc, colleague.display_name) == (None, "赵敏")
        assert not colleague.email_confirmed
        assert not colleague.must_change_password
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.invite")
        ).one()
        assert entry.actor_id == owner.id

    other = app.test_client()
    assert "设置密码" in other.get(link).get_data(as_text=True)
    done = post_form(other, link, {"password": PASSWORD, "confirm": PASSWORD})
    assert done.headers["Location"].endswith("/login")
    assert post_form(other, link, {"password": PASSWORD, "confirm": PASSWORD}).status_code == 410
    assert (
        login(SimpleNamespace(username="zhaomin", password=PASSWORD), on=other).status_code == 302
    )
    assert project_name in other.get("/my/projects").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "zhaomin")).email_confirmed


def test_invitations_refusals_say_why_and_store_nothing(app, client, make_user, login, monkeypatch):
    _owner(app, make_user, login, client)
    provider, unbound = app.test_client(), app.test_client()
    login(make_user("provider"), on=provider)
    login(make_user("enterprise"), on=unbound)
    assert post_form(client, "/my/colleagues", COLLEAGUE).status_code == 302
    before = _stored(app)
    cases = [
        ({"email": "ZHAO.MIN@example.cn", "username": "zhaomin2"}, "该邮箱已被其他账户使用"),
        ({"email": "not-an-address", "username": "zhaomin2"}, "有效的电子邮箱"),
        ({"email": "qian@example.cn", "username": "zhaomin"}, "该用户名已被使用"),
        ({"email": "qian@example.cn", "username": "赵 敏"}, "用户名须为"),
    ]
    for changes, message in cases:
        response = post_form(client, "/my/colleagues", {**COLLEAGUE, **changes})
        assert response.status_code == 200, changes
        assert message in response.get_data(as_text=True), changes
    monkeypatch.setattr(registration, "MAX_ENTERPRISE_ACCOUNTS", 2)  # the owner and 赵敏
    full = post_form(
        client, "/my/colleagues", {**COLLEAGUE, "email": "q@example.cn", "username": "q1"}
    )
    assert "每家企业最多 2 个账户" in full.get_data(as_text=True)
    assert _stored(app) == before

    assert provider.get("/my/colleagues").status_code == 403
    assert post_form(provider, "/my/colleagues", COLLEAGUE).status_code == 403
    # An enterprise account bound to no enterprise sees no form and cannot invite.
    assert "尚未绑定企业" in unbound.get("/my/colleagues").get_data(as_text=True)
    fresh = {**COLLEAGUE, "email": "sun@example.cn", "username": "sunli"}
    assert post_form(unbound, "/my/colleagues", fresh).status_code == 403
    assert _stored(app) == before
