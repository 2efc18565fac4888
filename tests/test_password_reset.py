"""Forgotten passwords: the same answer for known and unknown addresses, a one-time link that
expires, and a reset that ends every session and lifts a lockout."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import AuditEntry, MailMessage, User
from tests.conftest import post_form

NEW_PASSWORD = "Vq8!mZt4-Rp2"
LINK = re.compile(r"http://127\.0\.0\.1:5000(/password/reset/[A-Za-z0-9_-]+)")


def _with_address(app, user, email: str) -> None:
    with app.app_context():
        account = db.session.get(User, user.id)
        account.email = email
        account.email_confirmed_at = account.created_at
        db.session.commit()


def _reset_link(app) -> str:
    with app.app_context():
        mail = db.session.scalars(select(MailMessage)).one()
        assert mail.to_address == "li.ming@example.cn"
        return LINK.search(mail.body).group(1)


def test_password_reset_same_answer_for_known_and_unknown_addresses(app, client, make_user):
    _with_address(app, make_user("provider"), "li.ming@example.cn")
    answers = []
    for address in ("nobody@example.cn", "Li.Ming@example.cn"):
        response = post_form(client, "/password/forgot", {"email": address})
        assert response.status_code == 302
        answers.append(client.get(response.headers["Location"]).get_data(as_text=True))
    # The same page either way (a form's CSRF token is signed afresh on each page).
    unsigned = [re.sub(r'name="csrf_token"[^>]*>', "", answer) for answer in answers]
    assert unsigned[0] == unsigned[1]
    assert "如果该邮箱对应本平台的有效账户" in answers[0]
    with app.app_context():
        mails = db.session.scalars(select(MailMessage)).all()
        assert [m.to_address for m in mails] == ["li.ming@example.cn"]
        assert "重置密码" in mails[0].subject


def test_password_reset_link_sets_password_ends_sessions_and_works_once(
    app, client, make_user, login
):
    user = make_user("enterprise")
    _with_address(app, user, "li.ming@example.cn")
    elsewhere = app.test_client()
    login(user, on=elsewhere)
    with app.app_context():
        account = db.session.get(User, user.id)
        account.locked_until = account.created_at + timedelta(days=1)
        db.session.commit()
    post_form(client, "/password/forgot", {"email": "li.ming@example.cn"})
    link = _reset_link(app)

    assert user.username in client.get(link).get_data(as_text=True)
    weak = post_form(client, link, {"password": "password1", "confirm": "password1"})
    assert weak.status_code == 200
    assert "密码" in weak.get_data(as_text=True)
    done = post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.headers["Location"].endswith("/login")

    assert elsewhere.get("/account").headers["Location"].startswith("/login")
    assert login(user).status_code == 401  # the old password is gone
    assert login(user, password=NEW_PASSWORD).status_code == 302  # and the lock with it
    used = client.get(link)
    assert used.status_code == 410
    assert "已使用" in used.get_data(as_text=True)
    assert "/password/forgot" in used.get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "user.password_reset")
        )
        assert entry.actor_id == user.id


def test_password_reset_link_expires(app, client, make_user, frozen_clock):
    user = make_user("provider")
    _with_address(app, user, "li.ming@example.cn")
    post_form(client, "/password/forgot", {"email": "li.ming@example.cn"})
    link = _reset_link(app)
    frozen_clock.advance(timedelta(minutes=app.config["RESET_LINK_MINUTES"] + 1))
    expired = post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert expired.status_code == 410
    assert "已过期" in expired.get_data(as_text=True)
    assert client.get("/password/reset/not-a-real-link").status_code == 410


@pytest.mark.parametrize("app_config", [{"FORGOT_RATE_LIMIT": "2 per hour"}])
def test_password_reset_requests_are_rate_limited(client):
    for _ in range(2):
        assert post_form(client, "/password/forgot", {"email": "x@example.cn"}).status_code == 302
    assert post_form(client, "/password/forgot", {"email": "x@example.cn"}).status_code == 429
