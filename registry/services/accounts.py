"""Accounts: password policy, creating users, signing in with lockout, and session invalidation."""

from __future__ import annotations

import functools
import re
import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from registry import policy
from registry.extensions import db
from registry.models.accounts import Role, User, new_session_token
from registry.models.catalogue import Department
from registry.models.practitioners import Practitioner
from registry.models.providers import Provider
from registry.models.types import utcnow
from registry.services import audit
from registry.services.errors import RegistryError, add_unique

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
GENERIC_LOGIN_ERROR = "用户名或密码错误,或账户暂时无法登录。请稍后再试。"


def _hash(password: str) -> str:
    """The password's hash with the configured method (PASSWORD_HASH_METHOD)."""
    from flask import current_app

    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@functools.cache
def _dummy_hash(method: str) -> str:
    """A real hash so that a login for an unknown user costs the same time as for a known one."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def _letters_and_digits(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _contains_name(password: str, username: str) -> bool:
    """Whether the password holds the user name in any case, with or without its punctuation
    (sec-policy215e in Secpolicy215e123). Names of fewer than 3 letters and digits are ignored."""
    name = _letters_and_digits(username or "")
    return len(name) >= 3 and name in _letters_and_digits(password)


def username_format(username: str | None) -> str:
    """The username trimmed, or a RegistryError when it is malformed (its form only)."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise RegistryError("username", "用户名须为 3–64 位字母、数字或 _ . -。")
    return username


def check_username(username: str | None) -> str:
    """The username trimmed, or a RegistryError when it is malformed or taken."""
    username = username_format(username)
    # In any case: Demo-Admin beside demo-admin passes for it (a tester, stop 29).
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise RegistryError("username", "该用户名已被使用。")
    return username


def check_password_policy(password: str, *, username: str = "") -> None:
    """Raise unless the password is ≥ 8 characters, has 3 of 4 classes and is not common."""
    if len(password) < 8:
        raise RegistryError("password", "密码至少需要 8 个字符。")
    if len(password) > 128:
        raise RegistryError("password", "密码不能超过 128 个字符。")
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    if sum(classes) < 3:
        raise RegistryError("password", "密码需包含大写字母、小写字母、数字、符号中的至少三类。")
    if _contains_name(password, username):
        raise RegistryError("password", "密码不能包含用户名。")
    if zxcvbn(password, user_inputs=[username] if username else [])["score"] < 2:
        raise RegistryError("password", "该密码过于常见或容易被猜到,请换一个。")


def generate_password() -> str:
    """A random password that satisfies the policy (for demo accounts, printed once)."""
    alphabet = string.ascii_letters + string.digits + "!#%+-=?@"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        try:
            check_password_policy(candidate)
        except RegistryError:
            continue
        return candidate


def _role_and_department(
    role: str | None, department_code: str | None, unknown: str
) -> tuple[Role, Department | None]:
    """The role asked for and its department: a regulator is bound to exactly one department,
    no other role to any; `unknown` is the message for a role that does not exist."""
    try:
        role_enum = Role(role)
    except ValueError:
        raise RegistryError("role", unknown) from None
    if role_enum is not Role.REGULATOR:
        if department_code:
            raise RegistryError("department", "只有行业主管部门账户可以绑定部门。")
        return role_enum, None
    if not department_code:
        raise RegistryError("department", "行业主管部门账户必须绑定一个部门。")
    department = db.session.scalar(select(Department).where(Department.code == department_code))
    if department is None:
        raise RegistryError("department", f"未找到部门代码:{department_code}")
    return role_enum, department


def create_user(
    *,
    username: str,
    password: str,
    role: str,
    department_code: str | None = None,
    display_name: str | None = None,
    is_demo: bool = False,
    must_change_password: bool = False,
    actor: User | None = None,
    actor_name: str | None = None,
    action: str = "user.create",
    **contact: str | None,
) -> User:
    """Create an account after checking the username, role, department binding and password policy.

    Accounts an admin or the CLI creates pass `must_change_password` (their first sign-in must
    choose a password); self-registration passes its contact and organisation fields
    (`email`, `phone`, `org_name`, `org_uscc`) in `contact` and its own audit `action`."""
    username = check_username(username)
    role_enum, department = _role_and_department(role, department_code, f"未知角色:{role}")
    check_password_policy(password, username=username)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=_hash(password),
        role=role_enum.value,
        department=department,
        is_demo=is_demo,
        must_change_password=must_change_password,
        **contact,
    )
    add_unique(db.session, user, "username", "该用户名已被使用。")
    audit.record(
        action,
        actor=actor,
        actor_name=actor_name,
        of=user,
        after={
            "username": username,
            "role": role_enum.value,
            "department": department_code,
            **({"must_change_password": True} if must_change_password else {}),
            **{k: v for k, v in contact.items() if k != "phone"},
        },
    )
    return user


def authenticate(username: str, password: str, *, now: datetime | None = None) -> User:
    """Return the user for a correct password; count failures and lock after too many.

    The error never says whether the account exists, is locked or is disabled.
    """
    from flask import current_app  # config only; services stay free of request state

    now = now or utcnow()
    max_failures = int(current_app.config["LOGIN_MAX_FAILURES"])
    lockout = timedelta(minutes=int(current_app.config["LOGIN_LOCKOUT_MINUTES"]))
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password or "")
        audit.record(
            "auth.login", outcome="denied", actor_name=(username or "")[:64], detail="unknown user"
        )
        raise RegistryError(None, GENERIC_LOGIN_ERROR)
    locked = user.locked_until is not None and user.locked_until > now
    password_ok = check_password_hash(user.password_hash, password or "")
    if locked or not user.is_enabled or not password_ok:
        if not locked and not password_ok:
            _count_failure(user, now=now, max_failures=max_failures, lockout=lockout)
        reason = "locked" if locked else ("disabled" if not user.is_enabled else "bad password")
        audit.record("auth.login", actor=user, outcome="denied", of=user, detail=reason)
        raise RegistryError(None, GENERIC_LOGIN_ERROR)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record("auth.login", actor=user, of=user)
    return user


def _count_failure(user: User, *, now: datetime, max_failures: int, lockout: timedelta) -> None:
    """Count a failed password atomically in the database (parallel guesses cannot overwrite
    each other's count) and lock the account once the count reaches the limit."""
    failures = db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    ).scalar_one()
    if failures >= max_failures:
        db.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(locked_until=now + lockout, failed_logins=0)
        )
    db.session.refresh(user)


def end_all_sessions(user: User) -> None:
    """Rotate the session token so every existing session and remember cookie stops working."""
    user.session_token = new_session_token()


def logout(user: User) -> None:
    """Sign out everywhere: the cookie in hand is useless after this, even if replayed."""
    end_all_sessions(user)
    audit.record("auth.logout", actor=user, of=user)


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; ends every other session."""
    if not check_password_hash(user.password_hash, current or ""):
        audit.record(
            "user.password_change",
            actor=user,
            of=user,
            outcome="denied",
            detail="wrong current password",
        )
        raise RegistryError("current_password", "当前密码不正确。")
    if current == new:
        raise RegistryError("new_password", "新密码不能与当前密码相同。")
    try:
        check_password_policy(new, username=user.username)
    except RegistryError as error:
        raise RegistryError("new_password", error.message) from None
    set_password(user, new)
    audit.record("user.password_change", actor=user, of=user)


def set_password(user: User, new: str, *, temporary: bool = False) -> None:
    """Store a new password hash, lift any lockout and end all sessions (policy is checked by
    the caller). A `temporary` password (an admin's reset) must be changed at the next sign-in;
    any other one was chosen by the user and ends that duty."""
    user.password_hash = _hash(new)
    user.password_changed_at = utcnow()
    user.must_change_password = temporary
    user.failed_logins = 0
    user.locked_until = None
    end_all_sessions(user)


def awaiting_confirmation(user: User) -> bool:
    """A self-registered account whose e-mail address is not confirmed yet: it may sign in,
    but acts on nothing until the address is confirmed."""
    return user.email is not None and user.email_confirmed_at is None


def reset_password(user: User, *, actor: User) -> str:
    """An admin resets someone's password: a random temporary password (returned, to be shown
    once and never stored in clear) that must be changed at the next sign-in; every session of
    the account ends and a lockout is lifted."""
    if actor.id == user.id:
        raise RegistryError(None, "不能在此重置自己的密码,请在“我的账户”中修改密码。")
    temporary = generate_password()
    set_password(user, temporary, temporary=True)
    audit.record(
        "user.password_reset",
        actor=actor,
        of=user,
        after={"must_change_password": True},
        detail="temporary password set by an admin",
    )
    return temporary


def change_role(user: User, role: str, *, department_code: str | None = None, actor: User) -> bool:
    """Give an account another role (regulators bound to a department). Refused for one's own
    account and where the account already acts for an organisation in its present role (its
    enterprise, its provider entry, its self-registered organisation code). Ends the account's
    sessions; returns whether anything changed."""
    if actor.id == user.id:
        raise RegistryError("role", "不能修改自己的角色。")
    role_enum, department = _role_and_department(role, department_code, "请选择角色。")
    if not policy.may_assign_role(role_enum) and role_enum.value != user.role:
        raise RegistryError(
            "role",
            "从业人员本人账户只能由其所在机构或政务服务办公室邀请本人开通,不能由其他账户改成。",
        )
    before = {"role": user.role, "department": user.department.code if user.department else None}
    after = {"role": role_enum.value, "department": department.code if department else None}
    if before == after:
        return False
    if role_enum.value != user.role:
        _check_unbound(user)
    user.role = role_enum.value
    user.department = department
    end_all_sessions(user)
    audit.record("user.role_change", actor=actor, of=user, before=before, after=after)
    return True


def _check_unbound(user: User) -> None:
    """Refuse a role change that would leave an organisation's records with the wrong account."""
    if user.enterprise_id is not None:
        raise RegistryError(
            "role", "该账户已关联企业(项目业主),改变角色会使企业的项目无人管理,不能修改。"
        )
    if db.session.scalar(select(Provider.id).where(Provider.account_id == user.id)) is not None:
        raise RegistryError(
            "role", "该账户已登记中介机构入驻资料,改变角色会使该机构无人管理,不能修改。"
        )
    if db.session.scalar(select(Practitioner.id).where(Practitioner.account_id == user.id)):
        raise RegistryError("role", "该账户是从业人员本人账户,已关联其从业信息,不能修改角色。")
    if user.org_uscc is not None:
        raise RegistryError(
            "role",
            "该账户是机构自助注册的账户,只能以注册时的身份使用;如需其他身份,请另行注册或新建账户。",
        )


def set_enabled(
    user: User, enabled: bool, *, actor: User | None = None, actor_name: str | None = None
) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    if actor is not None and actor.id == user.id and not enabled:
        raise RegistryError(None, "不能停用自己的账户。")
    before = {"is_enabled": user.is_enabled}
    user.is_enabled = enabled
    if not enabled:
        end_all_sessions(user)
    audit.record(
        "user.enable" if enabled else "user.disable",
        actor=actor,
        actor_name=actor_name,
        of=user,
        before=before,
        after={"is_enabled": enabled},
    )


def find_user(username: str) -> User | None:
    """Look a user up by username."""
    return db.session.scalar(select(User).where(User.username == username))


def list_users() -> list[User]:
    """All accounts, by role then username."""
    return list(db.session.scalars(select(User).order_by(User.role, User.username)))


def list_active_staff() -> list[User]:
    """Enabled staff (政务办) accounts, by username: who may serve as 帮办管家 or 审批专家."""
    return list(
        db.session.scalars(
            select(User).where(policy.project_staff_accounts()).order_by(User.username)
        )
    )
