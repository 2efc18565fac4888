"""A form sent after the session timed out keeps what was typed: the sign-in page carries it
and, signed in again as the same account, one button sends it on (a tester, stop 30: the text
was lost). Never for a forged request, another account, or a password."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Project
from tests import factories
from tests.conftest import csrf_from

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')

PROJECT = {
    "enterprise_name": "天津示范精密制造有限公司",
    "code": "2026-120116-34-01-000778",
    "name": "精密部件厂房(二期)",
    "category": "民营/外资",
    "location": "天津滨海高新区渤龙湖科技园",
}


def _hidden(page: str) -> dict[str, str]:
    """The page's hidden fields, its CSRF token among them."""
    fields = {html.unescape(n): html.unescape(v) for n, v in HIDDEN.findall(page)}
    return {**fields, "csrf_token": csrf_from(page)}


def _projects(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Project.id)))


def _timed_out_post(app, client, login, user, frozen_clock, data):
    """Sign in, open the new-project form, stay idle past the timeout, then send the form."""
    login(user)
    token = csrf_from(client.get("/my/projects/new").get_data(as_text=True))
    frozen_clock.advance(timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=5))
    return client.post("/my/projects/new", data={"csrf_token": token, **data})


def test_resume_a_form_sent_after_the_timeout_is_sent_on_after_signing_in(
    app, client, make_user, login, frozen_clock
):
    owner = make_user("enterprise")
    data = {**PROJECT, "enterprise_uscc": factories.uscc()}
    before = _projects(app)
    answer = _timed_out_post(app, client, login, owner, frozen_clock, data)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"  # an anonymous page holding typed text
    assert "自动退出" in page
    assert "登录超时前填写的内容已保留在本页,尚未提交" in page
    carried = _hidden(page)
    assert carried["resume:name"] == "精密部件厂房(二期)"
    assert carried["resume_for"] == owner.username
    assert "resume:csrf_token" not in carried
    assert data["enterprise_uscc"] == carried["resume:enterprise_uscc"]
    assert f'value="{owner.username}"' in page  # the account's name is filled in
    assert _projects(app) == before  # nothing stored

    signed_in = client.post(
        "/login?next=/my/projects/new",
        data={**carried, "username": owner.username, "password": owner.password},
    )
    resume = signed_in.get_data(as_text=True)
    assert signed_in.status_code == 200
    assert signed_in.headers["Cache-Control"] == "no-store"  # it holds what was typed
    assert "登录超时前填写的内容已保留,但尚未提交" in resume
    assert 'action="/my/projects/new"' in resume
    fields = _hidden(resume)
    assert fields["name"] == "精密部件厂房(二期)"
    assert _projects(app) == before  # still nothing until the button

    sent = client.post("/my/projects/new", data=fields)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    assert sent.headers["Location"].endswith(PROJECT["code"])
    assert _projects(app) == before + 1


def test_resume_a_wrong_password_keeps_the_carried_text(
    app, client, make_user, login, frozen_clock
):
    owner = make_user("enterprise")
    data = {**PROJECT, "enterprise_uscc": factories.uscc()}
    carried = _hidden(
        _timed_out_post(app, client, login, owner, frozen_clock, data).get_data(as_text=True)
    )
    refused = client.post(
        "/login?next=/my/projects/new",
        data={**carried, "username": owner.username, "password": "wrong"},
    )
    assert refused.status_code == 401
    again = _hidden(refused.get_data(as_text=True))
    assert again["resume:name"] == "精密部件厂房(二期)"
    assert again["resume_for"] == owner.username


def test_resume_not_offered_to_another_account(app, client, make_user, login, frozen_clock):
    owner, other = make_user("enterprise"), make_user("enterprise")
    data = {**PROJECT, "enterprise_uscc": factories.uscc()}
    carried = _hidden(
        _timed_out_post(app, client, login, owner, frozen_clock, data).get_data(as_text=True)
    )
    carried["username"] = other.username
    signed_in = client.post(
        "/login?next=/my/projects/new", data={**carried, "password": other.password}
    )
    assert signed_in.status_code == 302  # an ordinary sign-in: nothing of the form is offered
    assert signed_in.headers["Location"] == "/my/projects/new"


def test_resume_never_for_a_forged_request_or_a_password(
    app, client, make_user, login, frozen_clock
):
    owner = make_user("enterprise")
    login(owner)
    frozen_clock.advance(timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=5))
    forged = client.post("/my/projects/new", data={**PROJECT, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert "resume:" not in forged.get_data(as_text=True)

    login(owner)
    token = csrf_from(client.get("/account/password").get_data(as_text=True))
    frozen_clock.advance(timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=5))
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": owner.password,
            "new_password": "Another-Long-Passphrase-2026",
            "confirm": "Another-Long-Passphrase-2026",
        },
    )
    assert changed.status_code == 302  # the ordinary way to the sign-in page: nothing carried
    assert "/login" in changed.headers["Location"]


def test_resume_signing_in_in_another_tab_ends_the_carried_form(
    app, client, make_user, login, frozen_clock
):
    """Signing in again in another tab starts a new session, so the carried sign-in form's token
    no longer holds: it is refused as any stale form is, and nothing is sent on — never offered
    on a forged request's say-so (a reviewer asked, stop 31; see web/resume.py)."""
    owner = make_user("enterprise")
    data = {**PROJECT, "enterprise_uscc": factories.uscc()}
    carried = _hidden(
        _timed_out_post(app, client, login, owner, frozen_clock, data).get_data(as_text=True)
    )
    login(owner)  # the other tab
    before = _projects(app)
    again = client.post(
        "/login?next=/my/projects/new",
        data={**carried, "username": owner.username, "password": owner.password},
    )
    assert again.status_code == 400
    assert "resume:" not in again.get_data(as_text=True)
    assert _projects(app) == before
