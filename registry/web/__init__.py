"""The web layer: blueprints, the deny-by-default request guard, sessions and template helpers."""

from __future__ import annotations

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import select

from registry.database import write_intent
from registry.extensions import db, login_manager
from registry.kernel import clock
from registry.models.accounts import ROLE_LABELS, Role, User
from registry.policy import can, declared_action
from registry.pure import workdays
from registry.services import audit
from registry.web import resume
from registry.web.filters import FILTERS, is_timestamp
from registry.web.forms import LoginForm
from registry.web.headers import SECURITY_HEADERS
from registry.web.params import unread_filters
from registry.web.unit_of_work import record_denial

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def install(app: Flask) -> None:
    """Register blueprints, the guard and the Jinja helpers on app."""
    from registry import observability
    from registry.web import (
        admin,
        api,
        api_practitioners,  # noqa: F401 - its routes join the API blueprint on import
        auth,
        catalogue,
        colleagues,
        credit,
        credit_person,  # noqa: F401 - its routes join the credit blueprint on import
        deadlines,
        engagements,
        evaluations,
        grades,
        health,
        mail_admin,
        market,
        page_cache,
        page_fast_path,
        pending,
        people,
        person,
        practitioners,
        providers,
        public,
        roadmaps,
        search,
        static_files,
        stats,
    )

    # First: the request id and timing wrap everything after, the guard's refusals included.
    observability.install(app)
    for module in (
        health,
        public,
        catalogue,
        providers,
        practitioners,
        people,
        person,
        engagements,
        market,
        roadmaps,
        deadlines,
        evaluations,
        credit,
        grades,
        search,
        stats,
        auth,
        pending,
        colleagues,
        admin,
        mail_admin,
        api,
    ):
        app.register_blueprint(module.bp)
    app.before_request(_guard)
    app.after_request(_security_headers)
    page_cache.install(app)  # after the guard: it answers only what the guard let through
    page_fast_path.install(app)  # and in front of Flask, a cached page for anonymous visitors
    static_files.install(app)  # versioned static URLs, cached a year, gzipped
    app.teardown_request(_reset_context)
    _install_templates(app)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)


def _install_templates(app: Flask) -> None:
    """What every template may use: the policy's `can`, role labels, the calendar's provisional
    check, the filters a page did not read, the formatting filters, the config and the clock."""
    app.jinja_env.globals.update(
        can=can,
        role_labels=ROLE_LABELS,
        Role=Role,
        provisional=workdays.spans_provisional,
        unread_filters=unread_filters,
    )
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.tests["timestamp"] = is_timestamp
    app.context_processor(lambda: {"config": app.config, "now": clock.now})


def _load_user(token: str) -> User | None:
    """Sessions carry the rotating session token; a rotated token means the session is dead."""
    user = db.session.scalar(select(User).where(User.session_token == token))
    return user if user is not None and user.is_enabled else None


def _reset_context(_exc=None) -> None:
    write_intent.set(True)
    audit.client_ip.set(None)


def _expire_idle_session() -> None:
    """Idle and absolute session timeouts, checked on every request of a signed-in user."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return
    now = clock.timestamp()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    started = session.get("started", now)
    if now - session.get("seen", now) > idle or now - started > absolute:
        # Whose form a POST sent now was (see web/resume.py).
        g.expired_username = current_user.username
        logout_user()
        session.clear()
        flash("由于长时间未操作,您已自动退出,请重新登录。", "warning")
        return
    session["seen"] = now


def _guard():
    """Deny by default: every endpoint must declare an action, and the user must be allowed it."""
    write_intent.set(request.method not in SAFE_METHODS)
    audit.client_ip.set(request.remote_addr)
    if request.endpoint is None:
        return None  # routing failed: the 404/405 handlers answer
    view = current_app.view_functions.get(request.endpoint)
    action = declared_action(view, request.endpoint)
    _expire_idle_session()
    if action is None:
        _deny(f"undeclared endpoint {request.endpoint}")
    if can(current_user, action):
        return None
    if not current_user.is_authenticated:
        record_denial(f"anonymous; {request.endpoint} needs {action}")
        if request.blueprint == "api":
            abort(401)
        # Back to the page after sign-in, but not an over-long address (a 150 KB Location header
        # that proxies refuse): then the path alone.
        back = request.full_path.rstrip("?")
        sign_in = url_for("auth.login", next=back if len(back) <= 2000 else request.path)
        expired = g.pop("expired_username", None)
        fields = resume.carried_fields(request) if request.method == "POST" else None
        if expired and fields:
            # A form sent just after the session timed out: what was typed is carried.
            return resume.sign_in_again(LoginForm(formdata=None), expired, fields, sign_in)
        flash("请先登录。", "info")
        return redirect(sign_in)
    _deny(f"{request.endpoint} needs {action}")
    return None


def _deny(detail: str) -> None:
    """Record a refused attempt and answer 403."""
    g.denied = True
    record_denial(detail)
    abort(403)


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_user.is_authenticated:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
