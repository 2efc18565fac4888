"""Signing in and out, the account page and password change."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from registry.extensions import limiter
from registry.kernel import clock
from registry.models import TokenPurpose
from registry.policy import PUBLIC, SIGNED_IN, can, declared_action, landing_endpoint, require
from registry.services import accounts, registration
from registry.services.errors import RegistryError
from registry.web import resume
from registry.web.account_forms import ForgotPasswordForm, RegisterForm, ResetPasswordForm
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


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def _register_attempt_limit() -> str:
    return current_app.config["REGISTER_ATTEMPT_RATE_LIMIT"]


def _registered(response) -> bool:
    """A registration that created an account (the form redirects only then)."""
    return response.status_code == 302


def _forgot_limit() -> str:
    return current_app.config["FORGOT_RATE_LIMIT"]


def _start_session(user) -> None:
    """A fresh session for user (nothing of the anonymous one survives: no fixation)."""
    session.clear()
    # The CSRF token cached for this request belonged to the cleared session: a page rendered
    # now (the resumed form, web/resume.py) gets a new one.
    g.pop("csrf_token", None)
    login_user(user, remember=False)
    now = clock.timestamp()
    session["started"] = now
    session["seen"] = now


# ------------------------------------------------------------------ what an account must do first

# Pages an account that owes a step can still reach, besides the page of that step and any
# public page: signing out (and, waiting for confirmation, the link and a new link).
_OWED_OPEN = {"static", "auth.logout", "auth.confirm_email", "auth.resend_confirmation"}


@bp.before_app_request
def _owed_step():
    """An account created or reset by an admin changes its password first; a self-registered
    account confirms its e-mail address first. Until then only public pages open."""
    endpoint = request.endpoint
    if endpoint is None or not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        target, message = "auth.change_password", "请先修改初始密码,然后才能使用其他功能。"
    elif accounts.awaiting_confirmation(current_user):
        target, message = "auth.unconfirmed", "请先确认您的电子邮箱,然后才能使用其他功能。"
    else:
        return None
    if endpoint == target or endpoint in _OWED_OPEN:
        return None
    if declared_action(current_app.view_functions.get(endpoint), endpoint) == PUBLIC:
        return None
    if request.blueprint == "api":
        abort(403)
    flash(message, "warning")
    return redirect(url_for(target))


@bp.route("/login", methods=["GET", "POST"])
@require(PUBLIC)
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in; failures are counted and lock the account for a while after too many."""
    if current_user.is_authenticated:
        return redirect(url_for(landing_endpoint(current_user)))
    carried = resume.from_sign_in()
    form = LoginForm()
    # A refused sign-in keeps what it wrote: the failure count and the audit entry.
    signed_in = work.submit(
        form, lambda: accounts.authenticate(form.username.data, form.password.data), keep=True
    )
    if signed_in:
        user = signed_in.value
        _start_session(user)
        landing = url_for(landing_endpoint(user))
        target = safe_next(request.args.get("next"))
        if carried and target and carried.username == user.username:
            # Signed in again after a timeout: send on the form it interrupted, by one button.
            return resume.carry_on(target, carried, landing)
        flash(f"欢迎,{user.display_name or user.username}。", "success")
        return redirect(target or landing)
    page = render_template("auth/login.html", form=form, resume=carried)
    status = 401 if signed_in.error else 200
    return resume.private(page, status) if carried else (page, status)


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


# ------------------------------------------------------------------ self-registration

_NUMERALS = "零一二三四五六七八九"


def _digest(nonce: str, answer: int) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"register:{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()


def _new_question() -> str:
    """A small sum in Chinese; the session keeps only a keyed digest of its answer (the signed
    session cookie is readable by its holder, so the answer itself is not in it)."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    multiply = secrets.randbelow(2) == 1
    nonce = secrets.token_hex(8)
    session["register_question"] = [nonce, _digest(nonce, a * b if multiply else a + b)]
    return f"{_NUMERALS[a]}{'乘以' if multiply else '加'}{_NUMERALS[b]}等于多少?"


def _check_human(form: RegisterForm) -> None:
    """The honeypot is empty and the question of this session was answered (once)."""
    nonce, digest = (session.pop("register_question", None) or ["", ""])[:2]
    if form.website.data:
        raise RegistryError(None, "提交未通过校验,请刷新页面后重新填写。")
    answer = unicodedata.normalize("NFKC", form.challenge.data or "").strip()
    if not (nonce and answer.isdigit() and len(answer) < 4) or not hmac.compare_digest(
        digest, _digest(nonce, int(answer))
    ):
        raise RegistryError("challenge", "验证题答案不正确,请计算新的题目后重新提交。")


def _register(form: RegisterForm):
    try:
        _check_human(form)
    except RegistryError as error:
        robot = error
    else:
        robot = None
    return registration.register(
        registration.Application(
            **form.data_of(
                "role",
                "org_name",
                "org_uscc",
                "contact_name",
                "phone",
                "email",
                "username",
                "password",
                "confirm",
            )
        ),
        also=robot,
    )


@bp.route("/register", methods=["GET", "POST"])
@require(PUBLIC)
@limiter.limit(_register_limit, methods=["POST"], deduct_when=_registered)
@limiter.limit(_register_attempt_limit, methods=["POST"])
def register():
    """An enterprise or an intermediary registers its own account; a confirmation link is
    mailed, and the new account is signed in to wait for it."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = RegisterForm()
    done = work.submit(form, lambda: _register(form))
    if done:
        user = done.value
        _start_session(user)
        flash(f"注册成功。确认邮件已发送至 {user.email},请打开邮件中的链接完成确认。", "success")
        return redirect(url_for("auth.unconfirmed"))
    form.challenge.data = ""
    return render_template("auth/register.html", form=form, question=_new_question())


@bp.get("/account/confirm-email")
@require(SIGNED_IN)
def unconfirmed():
    """What an account waiting for its address confirmation sees, with a new-link button."""
    return render_template(
        "auth/unconfirmed.html",
        waiting=accounts.awaiting_confirmation(actor()),
        action_form=ConfirmForm(),
    )


@bp.post("/account/confirm-email/resend")
@require(SIGNED_IN)
@limiter.limit(_register_limit)
def resend_confirmation():
    """Mail a new confirmation link (the earlier one stops working)."""
    back = url_for("auth.unconfirmed")
    return work.press(
        lambda: registration.resend_confirmation(actor()),
        back=back,
        form=ConfirmForm(),
        done="新的确认邮件已发送,请查收。之前的确认链接已失效。",
    )


def _next_step(user) -> str:
    """Where a newly confirmed account starts: its first project, or its entry application."""
    if can(user, "projects.own"):
        return url_for("market.new_project")
    if can(user, "providers.self"):
        return url_for("providers.edit_application")
    return url_for("auth.account")


def _dead_link(message: str, purpose: TokenPurpose):
    return render_template("auth/link_invalid.html", message=message, purpose=purpose.value), 410


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
@require(PUBLIC)
def confirm_email(token: str):
    """Confirm the address with the mailed link (a button: opening the link changes nothing)."""
    form = ConfirmForm()
    if request.method == "POST":
        done = work.run(lambda: registration.confirm(token), form=form)
        if done:
            flash("邮箱已确认,账户可以正常使用了。", "success")
            if current_user.is_authenticated and current_user.id == done.value.id:
                return redirect(_next_step(current_user))
            return redirect(url_for("auth.login"))
        return _dead_link(
            done.error.message if done.error else registration.BAD_LINK, TokenPurpose.CONFIRM
        )
    try:
        user = registration.check_link(token, TokenPurpose.CONFIRM)
    except RegistryError as error:
        return _dead_link(error.message, TokenPurpose.CONFIRM)
    return render_template("auth/confirm_email.html", form=form, user=user)


# ------------------------------------------------------------------ forgotten password


@bp.route("/password/forgot", methods=["GET", "POST"])
@require(PUBLIC)
@limiter.limit(_forgot_limit, methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the address is known."""
    form = ForgotPasswordForm()
    if work.submit(form, lambda: registration.request_reset(form.email.data)):
        minutes = current_app.config["RESET_LINK_MINUTES"]
        flash(
            "如果该邮箱对应本平台的有效账户,重置密码的链接已发送到该邮箱,"
            f"{minutes} 分钟内有效。没有收到请检查垃圾邮件,或联系政务办。",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@require(PUBLIC)
@limiter.limit(_forgot_limit, methods=["POST"])
def reset_password(token: str):
    """Choose a new password through the mailed link; every session of the account ends."""
    try:
        user = registration.check_link(token, TokenPurpose.RESET)
    except RegistryError as error:
        return _dead_link(error.message, TokenPurpose.RESET)
    form = ResetPasswordForm()
    first = registration.first_password(user)  # an invited colleague: 设置密码, not 重置
    if work.submit(form, lambda: registration.reset(token, form.password.data, form.confirm.data)):
        logout_user()
        session.clear()
        if first:
            flash("密码已设置,请用新密码登录。", "success")
        else:
            flash("密码已重置,该账户在所有设备上的登录均已失效。请用新密码登录。", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user, first=first)
