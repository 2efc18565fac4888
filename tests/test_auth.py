"""Signing in and out: password policy, lockout without hints, CSRF, session invalidation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import AuditEntry, User
from registry.services import accounts
from registry.services.errors import RegistryError
from tests.conftest import csrf_from, post_form


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!", "至少需要 8 个字符"),
        ("abcdefghij", "至少三类"),
        ("abcdefgh12", "至少三类"),
        ("Password1", "常见"),
        ("Qwerty123!", "常见"),
    ],
)
def test_auth_password_policy_refuses_weak_passwords(password, message):
    # A pure rule: no application, no database.
    with pytest.raises(RegistryError, match=message):
        accounts.check_password_policy(password)


def test_auth_password_policy_accepts_a_strong_password():
    accounts.check_password_policy("Hj7#kLq2-Wm9")
    for _ in range(5):
        accounts.check_password_policy(accounts.generate_password())


@pytest.mark.parametrize("app_config", [{"PASSWORD_HASH_METHOD": "scrypt"}])
def test_auth_real_password_hash_is_scrypt(app, client, make_user, login):
    # The suite signs in with a cheap hash; this test runs the site's real default.
    assert app.config["PASSWORD_HASH_METHOD"] == "scrypt"
    user = make_user("enterprise")
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("scrypt:")
    assert login(user).status_code == 302
    assert client.get("/account").status_code == 200
    assert post_form(client, "/logout").status_code == 302
    assert login(user, password=user.password + "x").status_code == 401
    assert client.get("/account").status_code == 302


def test_auth_login_and_logout(client, make_user, login):
    user = make_user("enterprise")
    response = login(user)
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert user.username in client.get("/account").get_data(as_text=True)
    assert post_form(client, "/logout").status_code == 302
    assert client.get("/account").status_code == 302


def test_auth_refused_sign_in_says_so_in_the_title(client, make_user):
    """A screen reader hears the title first: a refused form's page starts with 错误: (a
    tester, stop 30: the failed login kept the login page's title)."""
    user = make_user("enterprise")
    page = client.get("/login").get_data(as_text=True)
    assert "<title>登录 - " in page
    refused = post_form(client, "/login", {"username": user.username, "password": "wrong-Pass-1"})
    assert "<title>错误:登录 - " in refused.get_data(as_text=True)


def test_auth_session_replay_after_logout_is_refused(app, client, make_user, login):
    user = make_user("admin")
    login(user)
    stolen = client.get_cookie("session").value
    post_form(client, "/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/admin/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_auth_password_change_ends_other_sessions(app, client, make_user, login):
    user = make_user("enterprise")
    other = app.test_client()
    login(user)
    login(user, on=other)
    assert other.get("/account").status_code == 200
    new = "Zq8!mPx4-Ltr"
    response = post_form(
        client,
        "/account/password",
        {"current_password": user.password, "new_password": new, "confirm": new},
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert other.get("/account").status_code == 302  # the other one is signed out
    post_form(client, "/logout")
    assert login(user).status_code == 401  # the old password no longer works
    assert login(user, password=new).status_code == 302


def test_auth_disabling_a_user_ends_sessions(app, client, make_user, login):
    admin = make_user("admin")
    victim = make_user("provider")
    victim_client = app.test_client()
    login(victim, on=victim_client)
    assert victim_client.get("/account").status_code == 200
    login(admin)
    response = post_form(client, f"/admin/users/{victim.id}/disable")
    assert response.status_code == 302
    assert victim_client.get("/account").status_code == 302
    assert login(victim, on=app.test_client()).status_code == 401


def test_auth_lockout_gives_no_hint(app, client, make_user, login):
    user = make_user("enterprise")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = login(user, password="Wrong-pass-123")
        assert response.status_code == 401
    locked = login(user)  # the right password, but locked now
    unknown = login(type("U", (), {"username": "nobody-here", "password": "Whatever-1x"}))
    wrong = login(user, password="Wrong-pass-123")
    texts = {r.get_data(as_text=True).count("用户名或密码错误") for r in (locked, unknown, wrong)}
    assert texts == {1}
    assert {r.status_code for r in (locked, unknown, wrong)} == {401}
    assert client.get("/account").status_code == 302
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.locked_until is not None
        denied = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "auth.login", AuditEntry.outcome == "denied"
            )
        ).all()
        assert len(denied) >= app.config["LOGIN_MAX_FAILURES"] + 2


def test_auth_lock_expires(app, make_user, login, frozen_clock):
    user = make_user("enterprise")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(user, password="Wrong-pass-123")
    lockout = timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"])
    frozen_clock.advance(lockout - timedelta(seconds=1))
    assert login(user).status_code == 401  # still locked, even with the right password
    frozen_clock.advance(timedelta(seconds=1))
    assert login(user).status_code == 302


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_auth_login_is_rate_limited(client, make_user, login):
    user = make_user("enterprise")
    codes = [login(user, password="Wrong-pass-123").status_code for _ in range(4)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429
    assert "请求过于频繁" in login(user).get_data(as_text=True)


def test_auth_post_without_csrf_is_refused(client, make_user, login):
    user = make_user("enterprise")
    response = client.post("/login", data={"username": user.username, "password": user.password})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    login(user)
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200  # still signed in: the forged logout failed


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_auth_next_only_goes_to_local_paths(client, make_user, login, target):
    response = login(make_user("enterprise"), next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/my/pending"


def test_auth_next_local_path_is_followed(client, make_user, login):
    response = login(make_user("admin"), next_url="/admin/audit")
    assert response.headers["Location"] == "/admin/audit"


def test_auth_sign_in_redirect_keeps_a_short_address_and_drops_a_long_query(client):
    assert client.get("/account?tab=1").headers["Location"] == "/login?next=/account?tab%3D1"
    long = client.get("/account?" + "&".join(f"p{i}={'A' * 5000}" for i in range(30)))
    assert long.status_code == 302
    assert long.headers["Location"] == "/login?next=/account"


def test_auth_idle_session_expires(app, client, make_user, login, frozen_clock):
    user = make_user("enterprise")
    login(user)
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    frozen_clock.advance(idle)
    assert client.get("/account").status_code == 200  # exactly the idle time: still signed in
    frozen_clock.advance(idle + timedelta(seconds=5))
    response = client.get("/account")
    assert response.status_code == 302
    assert "自动退出" in client.get("/login").get_data(as_text=True)


def test_auth_absolute_session_limit(app, client, make_user, login, frozen_clock):
    """A session kept busy (never idle) still ends SESSION_ABSOLUTE_HOURS after sign-in."""
    login(make_user("enterprise"))
    step = timedelta(minutes=20)
    for _ in range(app.config["SESSION_ABSOLUTE_HOURS"] * 3):
        frozen_clock.advance(step)
        assert client.get("/account").status_code == 200
    frozen_clock.advance(timedelta(seconds=1))
    assert client.get("/account").status_code == 302


def test_auth_login_page_renders_in_chinese(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page
    assert 'lang="zh-CN"' in page
    assert csrf_from(page)


def test_auth_cli_creates_user_from_stdin(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "wang.regulator",
            "--role",
            "regulator",
            "--department",
            "SW",
            "--password-stdin",
        ],
        input="Hj7#kLq2-Wm9\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = accounts.find_user("wang.regulator")
        assert user.role == "regulator"
        assert user.department.code == "SW"
        assert user.must_change_password  # the operator chose it: the person chooses their own
    weak = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "weak.user",
            "--role",
            "enterprise",
            "--password-stdin",
        ],
        input="password\n",
    )
    assert weak.exit_code != 0
    assert "密码" in weak.output
    unbound = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "reg.nodept",
            "--role",
            "regulator",
            "--password-stdin",
        ],
        input="Hj7#kLq2-Wm9\n",
    )
    assert unbound.exit_code != 0
    assert "绑定" in unbound.output
    with app.app_context():
        assert accounts.find_user("weak.user") is None
        assert accounts.find_user("reg.nodept") is None


def test_auth_demo_accounts_get_random_passwords_printed_once(app, runner):
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    assert "demo-admin" in first.output
    second = runner.invoke(args=["seed", "--demo"])
    assert "demo-admin" not in second.output
    with app.app_context():
        demo = accounts.find_user("demo-admin")
        assert demo.is_demo
        assert "示例" in demo.display_name
        assert not demo.must_change_password  # demo accounts stay usable as printed
    # No fixed password: the printed one works and is not a well-known default.
    line = next(ln for ln in first.output.splitlines() if ln.strip().startswith("demo-admin"))
    password = line.split()[-1]
    assert len(password) >= 12
    with app.app_context():
        accounts.authenticate("demo-admin", password)
        db.session.rollback()


@pytest.mark.concurrency
def test_auth_parallel_wrong_passwords_still_lock(app, make_user):
    import threading

    user = make_user("enterprise")
    barrier = threading.Barrier(8)

    def guess():
        with app.app_context():
            barrier.wait()
            try:
                accounts.authenticate(user.username, "Wrong-pass-123")
            except RegistryError:
                db.session.commit()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.locked_until is not None


def test_auth_denials_are_audited(app, client, make_user, login):
    assert client.get("/admin/").status_code == 302  # anonymous, sent to the login page
    assert client.post("/logout").status_code == 400  # no CSRF token
    user = make_user("enterprise")
    login(user)
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": "Not-the-one-9",
            "new_password": "Zq8!mPx4-Ltr",
            "confirm": "Zq8!mPx4-Ltr",
        },
    )
    assert response.status_code == 200
    assert "当前密码不正确" in response.get_data(as_text=True)
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        actions = {(e.action, e.object_id) for e in entries}
        assert ("access.denied", "admin.dashboard") in actions
        assert ("csrf.denied", "auth.logout") in actions
        assert ("user.password_change", str(user.id)) in actions


@pytest.mark.parametrize("app_config", [{"PROXY_COUNT": 1}])
def test_auth_audit_sees_the_client_behind_one_proxy(app, client):
    client.get("/admin/", headers={"X-Forwarded-For": "203.0.113.7"})
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "access.denied")
        ).one()
        assert entry.ip == "203.0.113.7"


def test_auth_forwarded_header_is_not_trusted_without_a_proxy(app, client):
    client.get("/admin/", headers={"X-Forwarded-For": "203.0.113.7"})
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "access.denied")
        ).one()
        assert entry.ip == "127.0.0.1"


def test_auth_user_name_differing_only_in_case_is_taken(app, make_user):
    """A tester's finding (stop 29): an admin created Demo-Admin (role admin, same display name)
    beside demo-admin. A user name is taken in any case."""
    make_user("admin", username="demo-admin-x")
    with app.app_context():
        with pytest.raises(RegistryError) as refused:
            accounts.create_user(
                username="Demo-Admin-X",
                password=accounts.generate_password(),
                role="admin",
                actor_name="test",
            )
        assert refused.value.message == "该用户名已被使用。"
        db.session.rollback()
        assert accounts.find_user("Demo-Admin-X") is None
