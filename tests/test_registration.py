"""Self-registration: an organisation's own account, its confirmation link, what it may do before
and after, and the registrations that are refused (nothing stored)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import AccountToken, AuditEntry, Enterprise, MailMessage, User
from registry.services import market
from tests import factories
from tests.conftest import csrf_from, post_form

PASSWORD = "Hj7#kLq2-Wm9"
DIGITS = "一二三四五六七八九"
QUESTION = re.compile(r"验证题:([一二三四五六七八九])(加|乘以)([一二三四五六七八九])等于多少")
LINK = re.compile(r"http://127\.0\.0\.1:5000(/register/confirm/[A-Za-z0-9_-]+)")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in text)


def register(client, **changes):
    """Fill the registration form as a person would (answering the question on the page)."""
    page = client.get("/register").get_data(as_text=True)
    a, op, b = QUESTION.search(page).groups()
    a, b = DIGITS.index(a) + 1, DIGITS.index(b) + 1
    data = {
        "csrf_token": csrf_from(page),
        "role": "enterprise",
        "org_name": "天津示范精密制造有限公司",
        "org_uscc": factories.uscc(),
        "contact_name": "王芳",
        "phone": "138 1234 5678",
        "email": "Wang.Fang@Example.cn",
        "username": "jingmi",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "challenge": str(a * b if op == "乘以" else a + b),
        "website": "",
    }
    data.update(changes)
    return client.post("/register", data=data)


def _confirm_link(app, to: str) -> str:
    with app.app_context():
        mails = db.session.scalars(
            select(MailMessage).where(MailMessage.to_address == to).order_by(MailMessage.id)
        ).all()
    return LINK.search(mails[-1].body).group(1)


def test_registration_enterprise_registers_confirms_and_registers_a_project(app, client):
    code = factories.uscc()
    response = register(client, org_uscc=" " + _full_width(code.lower()) + " ")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/confirm-email")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "jingmi"))
        assert (user.role, user.org_uscc, user.email) == (
            "enterprise",
            code,
            "wang.fang@example.cn",
        )
        assert (user.phone, user.display_name) == ("13812345678", "王芳")
        assert not user.email_confirmed
        assert not user.must_change_password
        assert (user.enterprise.name, user.enterprise.uscc) == ("天津示范精密制造有限公司", code)
        assert user.enterprise.contact_phone == "13812345678"
        mail = db.session.scalars(select(MailMessage)).one()
        assert mail.to_address == "wang.fang@example.cn"
        assert "确认" in mail.subject
        secret = LINK.search(mail.body).group(1).rsplit("/", 1)[1]
        token = db.session.scalars(select(AccountToken)).one()
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest() != secret
        assert db.session.scalar(select(func.count()).where(AuditEntry.action == "user.register"))
    # Signed in but waiting: public pages open, nothing else.
    page = client.get("/account/confirm-email").get_data(as_text=True)
    assert "wang.fang@example.cn" in page
    assert "重新发送确认邮件" in page
    blocked = client.get("/my/projects")
    assert blocked.headers["Location"].endswith("/account/confirm-email")
    assert client.get("/guide").status_code == 200

    link = _confirm_link(app, "wang.fang@example.cn")
    assert "确认邮箱" in client.get(link).get_data(as_text=True)  # opening the link changes nothing
    confirmed = post_form(client, link)
    assert confirmed.headers["Location"].endswith("/my/projects/new")
    again = post_form(client, link)
    assert again.status_code == 410
    assert "已使用" in again.get_data(as_text=True)

    # The first project keeps the enterprise the account registered (no enterprise fields needed).
    created = post_form(
        client,
        "/my/projects/new",
        {
            "code": "2026-120116-34-01-000901",
            "name": "精密部件厂房",
            "category": "民营/外资",
            "location": "天津滨海高新区渤龙湖科技园",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "jingmi"))
        assert user.email_confirmed
        assert [p.code for p in user.enterprise.projects] == ["2026-120116-34-01-000901"]
        assert user.enterprise.name == "天津示范精密制造有限公司"


def test_registration_provider_goes_to_its_prefilled_application(app, client):
    code = factories.uscc()
    register(client, role="provider", org_name="天津某某环境咨询有限公司", org_uscc=code)
    confirmed = post_form(client, _confirm_link(app, "wang.fang@example.cn"))
    assert confirmed.headers["Location"].endswith("/my/provider/application")
    page = client.get("/my/provider/application").get_data(as_text=True)
    assert f'value="{code}"' in page
    assert 'value="天津某某环境咨询有限公司"' in page
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "jingmi"))
        assert user.enterprise_id is None
        assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 0


def _stored(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Enterprise, MailMessage)
        )


@pytest.mark.parametrize("app_config", [{"REGISTER_RATE_LIMIT": "100 per hour"}])
def test_registration_refusals_say_why_and_store_nothing(app, client, make_user):
    staff = make_user("staff")
    taken = factories.uscc()
    with app.app_context():
        market.create_enterprise("政务办已登记的企业", taken, actor=db.session.get(User, staff.id))
        db.session.commit()
    before = _stored(app)
    valid = factories.uscc()
    wrong_check_digit = valid[:-1] + ("1" if valid[-1] == "0" else "0")
    cases = [
        ({"challenge": "1000"}, "验证题答案不正确"),
        ({"website": "http://spam.example"}, "未通过校验"),
        ({"org_uscc": wrong_check_digit}, "校验"),
        ({"phone": "12345678901"}, "手机号码"),
        ({"email": "not-an-address"}, "有效的电子邮箱"),
        ({"confirm": PASSWORD + "x"}, "不一致"),
        ({"password": "password1", "confirm": "password1"}, "密码"),
        ({"role": "admin"}, "注册类型"),
        ({"org_uscc": taken}, "联系政务办"),
    ]
    for changes, message in cases:
        response = register(client, **changes)
        assert response.status_code == 200, changes
        assert message in response.get_data(as_text=True), changes
    assert _stored(app) == before

    # One account per organisation and role; the same firm may also register as a provider.
    code = factories.uscc()
    assert register(client, org_uscc=code).status_code == 302
    second = app.test_client()
    response = register(second, org_uscc=code, username="other", email="b@example.cn")
    assert "已注册过企业(项目业主)账户" in response.get_data(as_text=True)
    assert (
        register(
            second, role="provider", org_uscc=code, username="other", email="b@example.cn"
        ).status_code
        == 302
    )


@pytest.mark.parametrize("app_config", [{"REGISTER_RATE_LIMIT": "100 per hour"}])
def test_registration_lists_every_problem_at_once(app, client):
    """A form with six mistakes is told all six (it was told one per try, and each try counted
    against the limit); nothing is stored."""
    before = _stored(app)
    valid = factories.uscc()
    response = register(
        client,
        challenge="1000",
        org_uscc=valid[:-1] + ("1" if valid[-1] == "0" else "0"),
        phone="123",
        email="not-an-email",
        username="q",
        confirm=PASSWORD + "x",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for message in (
        "验证题答案不正确",
        "校验",
        "手机号码",
        "有效的电子邮箱",
        "用户名须为",
        "不一致",
    ):
        assert message in page, message
    assert _stored(app) == before


@pytest.mark.parametrize("app_config", [{"REGISTER_RATE_LIMIT": "100 per hour"}])
def test_registration_tells_a_robot_nothing_about_who_is_registered(app, client):
    """With a wrong answer or the honeypot filled, only the form of the fields is checked: a
    bot learns nothing about which user names, addresses or codes exist."""
    code = factories.uscc()
    assert register(client, org_uscc=code).status_code == 302
    second = app.test_client()
    for robot in ({"challenge": "1000"}, {"website": "http://spam.example"}):
        page = register(second, org_uscc=code, **robot).get_data(as_text=True)
        assert "验证" in page or "未通过校验" in page
        for told in ("该用户名已被使用", "该邮箱已被其他账户使用", "已注册过"):
            assert told not in page, (robot, told)
    # A person who answered is told, as before.
    page = register(second, org_uscc=code).get_data(as_text=True)
    assert "该用户名已被使用" in page


@pytest.mark.parametrize(
    "app_config",
    [
        {
            # The app's own counters, which read the test clock (memory:// reads the machine's).
            "RATELIMIT_STORAGE_URI": "registry-db://",
            "REGISTER_RATE_LIMIT": "2 per hour",
            "REGISTER_ATTEMPT_RATE_LIMIT": "4 per hour",
        }
    ],
)
def test_registration_is_rate_limited(app, frozen_clock):
    """Refused forms count only against the attempts (4 here), accounts against the accounts
    (2); the 429 page says how long to wait. (One address: every test client is 127.0.0.1.)"""
    for _ in range(3):
        assert register(app.test_client(), challenge="0").status_code == 200
    assert register(app.test_client()).status_code == 302
    assert register(app.test_client(), challenge="0").status_code == 429
    frozen_clock.advance(timedelta(hours=1))
    for number in (2, 3):
        person = {"username": f"user{number}", "email": f"u{number}@example.cn"}
        assert register(app.test_client(), **person).status_code == 302
    refused = register(app.test_client(), username="user4", email="u4@example.cn")
    assert refused.status_code == 429
    assert "请约 60 分钟后再试" in refused.get_data(as_text=True)


def test_registration_new_link_kills_the_old_and_links_expire(app, client, frozen_clock):
    register(client)
    first = _confirm_link(app, "wang.fang@example.cn")
    assert post_form(client, "/account/confirm-email/resend").status_code == 302
    second = _confirm_link(app, "wang.fang@example.cn")
    assert first != second
    dead = post_form(client, first)
    assert dead.status_code == 410
    assert "重新发送确认邮件" in dead.get_data(as_text=True)
    frozen_clock.advance(timedelta(hours=app.config["CONFIRM_LINK_HOURS"], minutes=1))
    assert client.get(second).status_code == 410
    with app.app_context():
        assert not db.session.scalar(select(User).where(User.username == "jingmi")).email_confirmed
