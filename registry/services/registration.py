"""Joining the site: an enterprise (项目业主) or an intermediary (中介机构) registers its own
account, confirms its e-mail address by a one-time link, and anyone who forgot a password asks
for a one-time reset link.

Links carry a random secret; only its SHA-256 is stored (`AccountToken`), so a copy of the
database opens no account. A link works once (an atomic update claims it) and expires.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import AccountToken, Enterprise, TokenPurpose, User
from registry.models.accounts import Role
from registry.pure.uscc import validate_uscc
from registry.sanitize import plain_text
from registry.services import accounts, audit, notify
from registry.services.errors import Checks, Forbidden, RegistryError, add_unique, text_field

# The roles an organisation may register for itself; every other account is made by 政务办.
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
CONFIRM_PATH = "/register/confirm/"
RESET_PATH = "/password/reset/"
BAD_LINK = "该链接无效、已使用或已过期。"


@dataclass(frozen=True)
class Application:
    """What a registering organisation fills in."""

    role: str
    org_name: str
    org_uscc: str
    contact_name: str
    phone: str
    email: str
    username: str
    password: str
    confirm: str


def normalise_mobile(raw: str | None) -> str:
    """A mainland mobile number as 11 digits (full-width digits, spaces, dashes and a +86
    prefix accepted), or a RegistryError on `phone`."""
    text = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", raw or ""))
    if text.startswith("+86"):
        text = text[3:]
    if not MOBILE_RE.fullmatch(text):
        raise RegistryError("phone", "请填写 11 位中国大陆手机号码(以 13–19 开头)。")
    return text


def normalise_email(raw: str | None) -> str:
    """An e-mail address trimmed and lower-cased (addresses are compared that way)."""
    text = unicodedata.normalize("NFKC", raw or "").strip().lower()
    if len(text) > 254 or not EMAIL_RE.fullmatch(text):
        raise RegistryError("email", "请填写有效的电子邮箱地址。")
    return text


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _issue(user: User, purpose: TokenPurpose, lifetime: timedelta) -> str:
    """A fresh one-time link secret for user; earlier unused links of that purpose die."""
    now = clock.now()
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose.value,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    secret = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=_hash(secret),
            expires_at=now + lifetime,
        )
    )
    return secret


def _valid(secret: str, purpose: TokenPurpose) -> AccountToken:
    """The unused, unexpired link with this secret, or a RegistryError."""
    if not secret or len(secret) > 100:
        raise RegistryError(None, BAD_LINK)
    token = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == _hash(secret), AccountToken.purpose == purpose.value
        )
    )
    if token is None or token.used_at is not None or token.expires_at <= clock.now():
        raise RegistryError(None, BAD_LINK)
    if not token.user.is_enabled:
        raise RegistryError(None, BAD_LINK)
    return token


def _claim(token: AccountToken) -> None:
    """Mark the link used; of two requests racing with the same link only one wins."""
    claimed = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=clock.now())
    ).rowcount
    if claimed != 1:
        raise RegistryError(None, BAD_LINK)


def check_link(secret: str, purpose: TokenPurpose) -> User:
    """The account a link is for, without using it (the page that shows the form); or a
    RegistryError saying the link is dead."""
    return _valid(secret, purpose).user


# --------------------------------------------------------------------------- registering


def _check_organisation(role: Role, uscc: str) -> None:
    """One account per organisation and role; an enterprise 政务办 already registered is not
    claimed by whoever types its code."""
    label = role.label
    if db.session.scalar(select(User.id).where(policy.organisation_accounts(role, uscc))):
        raise RegistryError(
            "org_uscc",
            f"该统一社会信用代码已注册过{label}账户。每个机构只能注册一个{label}账户,"
            "请联系本机构已有账户的使用人,或联系政务办。",
        )
    existing = policy.firm_of_role(role)
    if db.session.scalar(select(existing.id).where(existing.uscc == uscc)):
        raise RegistryError(
            "org_uscc",
            f"该统一社会信用代码的{label}已在本平台登记,不能自助注册。请联系政务办开通或找回账户。",
        )


def _role(value: str | None) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if not policy.may_register_as(role):
        raise RegistryError("role", "请选择注册类型:企业(项目业主)或中介机构。")
    return role


def _uscc(value: str | None) -> str:
    try:
        return validate_uscc(plain_text(value))
    except ValueError as error:
        raise RegistryError("org_uscc", str(error)) from None


def _free_email(value: str | None) -> str:
    email = normalise_email(value)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise RegistryError("email", "该邮箱已被其他账户使用。如忘记密码,请使用“忘记密码”找回。")
    return email


def _same_password(application: Application) -> None:
    if application.password != application.confirm:
        raise RegistryError("confirm", "两次输入的密码不一致。")


def register(application: Application, *, also: RegistryError | None = None) -> User:
    """Create an organisation's own account (e-mail not yet confirmed): for an enterprise also
    its Enterprise, bound to the account; write a confirmation link and queue its mail.

    Every field is checked before anything is written and every problem is reported at once
    (RegistryErrors), with `also`, one the caller found (the anti-robot question). With that one,
    only the form of each field is checked: a robot is not told which user names, addresses or
    organisation codes are registered."""
    check = Checks(also)
    lookups = also is None
    role = check(_role, application.role)
    org_name = check(text_field, application.org_name, "org_name", "机构名称", 200)
    uscc = check(_uscc, application.org_uscc)
    contact_name = check(text_field, application.contact_name, "contact_name", "联系人姓名", 50)
    phone = check(normalise_mobile, application.phone)
    email = check(_free_email if lookups else normalise_email, application.email)
    check(accounts.check_username if lookups else accounts.username_format, application.username)
    check(
        accounts.check_password_policy,
        application.password or "",
        username=(application.username or "").strip(),
    )
    check(_same_password, application)
    if lookups and role is not None and uscc is not None:
        check(_check_organisation, role, uscc)
    check.done()
    user = accounts.create_user(
        username=application.username,
        password=application.password,
        role=role.value,
        display_name=contact_name,
        actor_name=plain_text(application.username)[:64],
        action="user.register",
        email=email,
        phone=phone,
        org_name=org_name,
        org_uscc=uscc,
    )
    if policy.is_enterprise_account(user):
        enterprise = Enterprise(
            name=org_name, uscc=uscc, contact_name=contact_name, contact_phone=phone
        )
        add_unique(db.session, enterprise, "org_uscc", "该企业已在本平台登记,请联系政务办。")
        user.enterprise_id = enterprise.id
        audit.record("enterprise.create", actor=user, of=enterprise, detail="self-registration")
    _send_confirmation(user)
    return user


def _send_confirmation(user: User) -> None:
    hours = int(current_app.config["CONFIRM_LINK_HOURS"])
    secret = _issue(user, TokenPurpose.CONFIRM, timedelta(hours=hours))
    notify.queue_mail(
        user.email,
        "请确认您的注册邮箱",
        f"{user.display_name or user.username},您好:\n\n"
        f"您在本平台注册了{user.role_enum.label}账户“{user.username}”({user.org_name})。"
        f"请在 {hours} 小时内打开下面的链接确认邮箱,确认后即可使用账户:\n\n"
        f"{notify.absolute(CONFIRM_PATH + secret)}\n\n"
        "如果这不是您本人的操作,请忽略此邮件。",
        topic=notify.ACCOUNT_TOPIC,
        user=user,
    )


def resend_confirmation(user: User) -> None:
    """A new confirmation link for an account still waiting (the earlier link dies)."""
    if not accounts.awaiting_confirmation(user):
        raise RegistryError(None, "您的账户无需确认邮箱。")
    _send_confirmation(user)
    audit.record("user.confirm_resend", actor=user, of=user)


def confirm(secret: str) -> User:
    """Use a confirmation link: the account's address is confirmed and it may act."""
    token = _valid(secret, TokenPurpose.CONFIRM)
    _claim(token)
    user = token.user
    user.email_confirmed_at = clock.now()
    audit.record("user.email_confirm", actor=user, of=user, after={"email": user.email})
    return user


# --------------------------------------------------------------------------- colleagues

# The accounts one enterprise may hold (its first account and the colleagues it invites).
MAX_ENTERPRISE_ACCOUNTS = 20


def colleagues(user: User) -> list[User]:
    """Every account of the user's enterprise, enabled or not, oldest first (none when the
    account is bound to no enterprise)."""
    if user.enterprise_id is None:
        return []
    return list(
        db.session.scalars(
            select(User).where(policy.enterprise_members(user.enterprise_id)).order_by(User.id)
        )
    )


def invite(inviter: User, name: str, email: str, username: str) -> User:
    """An enterprise's account invites a colleague: a new account of the same enterprise with
    no password anyone knows, and a mailed one-time link (valid CONFIRM_LINK_HOURS) on which
    the colleague chooses a password, which also confirms the address."""
    if not policy.may_invite_colleagues(inviter):
        raise Forbidden("只有已绑定企业并已确认电子邮箱的企业账户可以邀请同事。")
    display_name = text_field(name, "name", "同事姓名", 50)
    address = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == address)):
        raise RegistryError("email", "该邮箱已被其他账户使用,请换一个邮箱。")
    held = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(policy.enterprise_members(inviter.enterprise_id))
    )
    if held >= MAX_ENTERPRISE_ACCOUNTS:
        raise RegistryError(
            None,
            f"每家企业最多 {MAX_ENTERPRISE_ACCOUNTS} 个账户,已达上限。如确需更多账户,请联系政务办。",
        )
    enterprise = inviter.enterprise
    # org_uscc stays empty: the one-account-per-code rule is for self-registration only.
    user = accounts.create_user(
        username=username,
        password=accounts.generate_password(),  # never shown: the link sets the real one
        role=Role.ENTERPRISE.value,
        display_name=display_name,
        actor=inviter,
        action="user.invite",
        email=address,
        org_name=enterprise.name,
    )
    user.enterprise_id = enterprise.id
    link, hours = setup_link(user)
    notify.queue_mail(
        address,
        f"您被邀请加入“{enterprise.name}”的中介服务超市账户",
        f"{display_name},您好:\n\n"
        f"{inviter.display_name or inviter.username}邀请您以“{enterprise.name}”同事的身份使用本平台,"
        f"为您开设了账户“{user.username}”。请在 {hours} 小时内打开下面的链接设置密码"
        f"(链接只能使用一次),之后即可登录查看和办理本企业的项目:\n\n"
        f"{link}\n\n"
        "链接过期后,可在登录页点击“忘记密码”,用本邮箱重新获取链接。"
        "如果您不认识邀请人,请忽略此邮件。",
        topic=notify.ACCOUNT_TOPIC,
        user=user,
    )
    return user


def setup_link(user: User) -> tuple[str, int]:
    """A one-time link (valid CONFIRM_LINK_HOURS, earlier ones die) on which an invited account
    chooses its first password, which also confirms its address: the link and its hours."""
    hours = int(current_app.config["CONFIRM_LINK_HOURS"])
    secret = _issue(user, TokenPurpose.RESET, timedelta(hours=hours))
    return notify.absolute(RESET_PATH + secret), hours


def first_password(user: User) -> bool:
    """Whether the account has never had a password of its own (an invited colleague who has
    not used the link yet): the link page then says 设置密码 rather than 重置密码."""
    return user.email_confirmed_at is None and user.last_login_at is None


# --------------------------------------------------------------------------- password reset


def request_reset(email: str) -> None:
    """Queue a reset link when an enabled account has this address. The caller answers the
    same either way, and both ways do the same work (a secret drawn, an audit entry written)."""
    try:
        address = normalise_email(email)
    except RegistryError:
        address = ""
    user = (
        db.session.scalar(select(User).where(User.email == address, User.is_enabled.is_(True)))
        if address
        else None
    )
    if user is None:
        _hash(secrets.token_urlsafe(32))
        audit.record(
            "user.password_reset_request",
            outcome="denied",
            actor_name=address[:64] or None,
            detail="no enabled account with this address",
        )
        return
    minutes = int(current_app.config["RESET_LINK_MINUTES"])
    secret = _issue(user, TokenPurpose.RESET, timedelta(minutes=minutes))
    notify.queue_mail(
        address,
        "重置密码",
        f"{user.display_name or user.username},您好:\n\n"
        f"有人为账户“{user.username}”申请了重置密码。请在 {minutes} 分钟内打开下面的链接设置新密码"
        f"(链接只能使用一次):\n\n{notify.absolute(RESET_PATH + secret)}\n\n"
        "如果这不是您本人的操作,请忽略此邮件,您的密码不会改变。",
        topic=notify.ACCOUNT_TOPIC,
        user=user,
    )
    audit.record("user.password_reset_request", actor_name=address[:64], of=user)


def reset(secret: str, password: str, confirm: str) -> User:
    """Use a reset link: set the new password (policy checked), lift a lockout, end every
    session of the account."""
    token = _valid(secret, TokenPurpose.RESET)
    user = token.user
    if password != confirm:
        raise RegistryError("confirm", "两次输入的新密码不一致。")
    accounts.check_password_policy(password, username=user.username)
    _claim(token)
    accounts.set_password(user, password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = clock.now()  # the link reached this mailbox
    audit.record("user.password_reset", actor=user, of=user, detail="by e-mailed link")
    return user
