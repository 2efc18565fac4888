"""Signing in and out, the account page and password change."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from registry.extensions import limiter
from registry.kernel import clock
from registry.policy import PUBLIC, SIGNED_IN, require
from registry.services import accounts
from registry.services.errors import RegistryError
from registry.web.forms import ChangePasswordForm, ConfirmForm, LoginForm
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("auth", __name__)
work = UnitOfWork()


def safe_next(target: str | None) -> str | None:
    """Accept only a local path (no scheme, no host, no '//' or backslash tricks)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@require(PUBLIC)
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in; failures are counted and lock the account for a while after too many."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = LoginForm()
    # A refused sign-in keeps what it wrote: the failure count and the audit entry.
    signed_in = work.submit(
        form, lambda: accounts.authenticate(form.username.data, form.password.data), keep=True
    )
    if signed_in:
        user = signed_in.value
        session.clear()
        login_user(user, remember=False)
        now = clock.timestamp()
        session["started"] = now
        session["seen"] = now
        flash(f"欢迎,{user.display_name or user.username}。", "success")
        return redirect(safe_next(request.args.get("next")) or url_for("auth.account"))
    return render_template("auth/login.html", form=form), 401 if signed_in.error else 200


@bp.post("/logout")
@require(SIGNED_IN)
def logout():
    """Sign out everywhere (the session token rotates, so a copied cookie is dead too)."""
    work.run(lambda: accounts.logout(actor()))  # CSRF was checked globally
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("public.index"))


@bp.get("/account")
@require(SIGNED_IN)
def account():
    """The signed-in user's own page."""
    return render_template("auth/account.html", logout_form=ConfirmForm())


@bp.route("/account/password", methods=["GET", "POST"])
@require(SIGNED_IN)
@limiter.limit(_login_limit, methods=["POST"])
def change_password():
    """Change password; every other session of this user ends."""
    form = ChangePasswordForm()
    user = actor()
    # A refused attempt changes nothing but keeps its audit entry.
    if work.submit(form, lambda: _change_password(user, form), keep=True):
        # This browser keeps working under the new token; all others are signed out.
        login_user(user, remember=False)
        flash("密码已修改,其他设备上的登录已失效。", "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


def _change_password(user, form: ChangePasswordForm) -> None:
    if form.new_password.data != form.confirm.data:
        raise RegistryError("confirm", "两次输入的新密码不一致。")
    accounts.change_password(user, form.current_password.data, form.new_password.data)
