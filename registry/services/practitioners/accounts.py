"""A person's own account (从业人员本人账户): the employing provider or 政务办 invites the person
by e-mail, a PRACTITIONER account is opened and linked to the record (Practitioner.account_id),
and the person sets a password through a one-time link (registration's token machinery: only the
hash stored, one use, expiry). One account per person, kept when the person changes firms.

Services flush, audit and raise RegistryError; they never commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from registry import policy
from registry.extensions import db
from registry.models import Employment, Practitioner, Provider, User
from registry.models.accounts import Role
from registry.pure import pii
from registry.services import accounts, audit, errors, notify, registration
from registry.services.errors import Forbidden, NotFound, RegistryError


@dataclass(frozen=True)
class AccountState:
    """Where a person's own account stands: none, invited (no password set yet) or active."""

    account: User | None

    @property
    def invited(self) -> bool:
        """An account was opened but its link was never used (the invitation may be resent)."""
        return self.account is not None and registration.first_password(self.account)

    @property
    def active(self) -> bool:
        """The person chose a password: the account is theirs (no further invitation)."""
        return self.account is not None and not self.invited

    @property
    def label(self) -> str:
        """The state in Chinese, as the roster and the office view show it."""
        if self.account is None:
            return "未开通"
        if self.invited:
            return f"已邀请,待本人设置密码({self.account.email})"
        return f"已开通(用户名 {self.account.username})"


def account_state(person: Practitioner) -> AccountState:
    """The person's own account and where it stands."""
    account = db.session.get(User, person.account_id) if person.account_id else None
    return AccountState(account)


def invitable(actor: User, practitioner_id: int) -> Practitioner:
    """The person actor may invite (policy.may_invite_practitioner): NotFound if unknown,
    Forbidden otherwise (another provider's, or a former, employee)."""
    person = db.session.get(Practitioner, practitioner_id)
    if person is None:
        raise NotFound("未找到该从业人员")
    if not policy.may_invite_practitioner(actor, person):
        raise Forbidden("只有该人员当前所在机构或政务服务办公室可以邀请其开通本人账户")
    return person


def invite_account(practitioner_id: int, data: dict[str, Any], *, actor: User) -> User:
    """Invite the person to their own account: data holds `email` and `username`. A first
    invitation opens a PRACTITIONER account (no password anyone knows) linked to the person;
    while its link is unused a new invitation resends it (to the address given now); once the
    person has set a password a further invitation is refused. Mails the one-time link."""
    person = invitable(actor, practitioner_id)
    address = registration.normalise_email(data.get("email"))
    state = account_state(person)
    if state.active:
        raise RegistryError(
            None,
            f"{person.name}已开通本人账户(用户名 {state.account.username}),不能重复邀请。"
            "本人忘记密码的,可在登录页使用“忘记密码”找回。",
        )
    _check_address(address, state.account)
    if state.account is None:
        user = _open_account(person, address, data.get("username"), actor=actor)
        action = "practitioner.account_invite"
    else:
        user = state.account
        before = user.email
        user.email = address
        action = "practitioner.account_resend"
        if before != address:
            audit.record(
                "user.email_change",
                actor=actor,
                of=user,
                before={"email": before},
                after={"email": address},
                detail="invitation resent to another address",
            )
    firm = person.current_employment
    inviter = firm.provider if firm is not None and firm.provider.account_id == actor.id else None
    person.invited_by_provider_id = inviter.id if inviter is not None else None
    db.session.flush()
    audit.record(
        action,
        actor=actor,
        of=person,
        after={"account": user.username, "invited_by": inviter.uscc if inviter else None},
    )
    _mail_link(person, user, inviter)
    return user


def _check_address(address: str, own: User | None) -> None:
    """An address no other account uses (the invited account may keep its own)."""
    holder = db.session.scalar(select(User.id).where(User.email == address))
    if holder is not None and (own is None or holder != own.id):
        raise RegistryError("email", "该邮箱已被其他账户使用,请换一个邮箱。")


def _open_account(person: Practitioner, address: str, username: Any, *, actor: User) -> User:
    """A new PRACTITIONER account for the person, with a random password never shown, linked."""
    user = accounts.create_user(
        username=username or "",
        password=accounts.generate_password(),  # never shown: the link sets the real one
        role=Role.PRACTITIONER.value,
        display_name=person.name,
        is_demo=person.is_demo,
        actor=actor,
        action="user.invite_practitioner",
        email=address,
    )
    person.account_id = user.id
    db.session.flush()
    return user


def _mail_link(person: Practitioner, user: User, inviter: Provider | None) -> None:
    """Queue the invitation mail with a fresh one-time link (earlier links die). The address is
    only what the firm typed: the mail names the person masked (张*明), never in full."""
    link, hours = registration.setup_link(user)
    by = inviter.name if inviter is not None else "政务服务办公室"
    masked = pii.mask_name(person.name)
    notify.queue_mail(
        user.email,
        f"{masked},请开通您的从业人员本人账户",
        f"{masked},您好:\n\n"
        f"{by}为您开设了从业人员本人账户“{user.username}”。请在 {hours} 小时内打开下面的链接"
        f"设置密码(链接只能使用一次),之后即可登录查看本人的从业信息、证书和信用记录,"
        f"并可对信用记录提出异议:\n\n{link}\n\n"
        "本账户属于您本人,更换执业机构后仍可继续使用。"
        "链接过期后,可请所在机构重新发送邀请,或在登录页点击“忘记密码”用本邮箱获取新链接。"
        "如果这与您无关,请忽略此邮件。",
        topic=notify.ACCOUNT_TOPIC,
        user=user,
    )


def unlink_account(person: Practitioner, reason: str, *, actor: User) -> User | None:
    """Take the account off the person's record and disable it (its sessions end), audited as
    practitioner.account_unlink; the person may then be invited afresh."""
    user = db.session.get(User, person.account_id) if person.account_id else None
    if user is None:
        return None
    person.account_id = None
    person.invited_by_provider_id = None
    db.session.flush()
    if user.is_enabled:
        accounts.set_enabled(user, False, actor=actor)
    audit.record(
        "practitioner.account_unlink",
        actor=actor,
        of=person,
        before={"account": user.username},
        after={"account": None},
        detail=reason,
    )
    return user


def unlink_if_invited_by(employment: Employment, reason: str, *, actor: User) -> None:
    """An employment voided or given way takes with it the account its provider invited: a firm
    that registered someone else's ID never keeps that person's own account."""
    person = employment.practitioner
    if person.account_id is not None and person.invited_by_provider_id == employment.provider_id:
        unlink_account(person, reason, actor=actor)


def office_unlink(practitioner_id: int, data: dict[str, Any], *, actor: User) -> User:
    """政务办 unlinks a wrongly linked account (解除本人账户关联) with a reason, audited."""
    if not policy.can(actor, "practitioners.accounts"):
        raise Forbidden("只有政务服务办公室可以解除本人账户关联")
    person = db.session.get(Practitioner, practitioner_id)
    if person is None:
        raise NotFound("未找到该从业人员")
    reason = errors.text_field(data.get("reason"), "reason", "解除原因", 200)
    user = unlink_account(person, f"政务服务办公室解除关联:{reason}", actor=actor)
    if user is None:
        raise RegistryError(None, "该人员没有关联的本人账户。")
    return user
