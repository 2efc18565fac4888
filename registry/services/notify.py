"""Telling people: one inbox per user (the Notification rows addressed to them) and, where the user
chose it, the same message by e-mail through the outbox (services/mail.py sends it).

Everything here only adds rows to the session of the event it tells of, so a message exists if
and only if its event was committed. Services call `notify(...)` for people who act on an event;
account mails (address confirmation, password reset) go through `queue_mail` whatever the choices.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import MailMessage, MailStatus, Notification, NotificationPreference, User


@dataclass(frozen=True)
class Topic:
    """A kind of message a user can choose to receive by e-mail."""

    label: str  # as shown on the preferences page
    note: str  # who gets it and when


# The topics, in the order the preferences page lists them. Mail is on by default: these are the
# events people act on; each user may turn any of them down to 站内 only.
TOPICS: dict[str, Topic] = {
    "request": Topic("新的选取需求", "中介机构:有企业为本机构承接的服务事项发布选取需求"),
    "award": Topic(
        "选取结果", "中介机构:中选、未中选、公告撤销;企业:报名截止待确定结果、选取失败(流标)"
    ),
    "engagement": Topic("合同与服务期限", "签约、服务期限临近或超期"),
    "result": Topic("服务成果", "企业:中介机构提交了成果;中介机构:成果被确认或退回"),
    "rating": Topic("业主评价", "中介机构:收到企业的评价"),
    "credit": Topic(
        "信用记录",
        "中介机构:有关本机构或本机构从业人员的信用记录公布、修订或撤销;从业人员:有关本人的",
    ),
    "objection": Topic(
        "异议及答复",
        "主管部门与政务办:收到异议;中介机构、从业人员:异议得到答复;"
        "业主与中选机构:中选结果被提出异议",
    ),
    "evaluation": Topic("定期考评", "中介机构:考评期开启、考评结果公布"),
    "roadmap": Topic("审批路线图预警", "企业与帮办人员:步骤到期预警、超时通报"),
    "calendar": Topic("日期调整", "节假日安排变化使您的某个日期提前或推后"),
    # The key stays (stored choices keep meaning what they chose): the qualification reminders
    # (services/expiring.py) went out under a label that named only the staff's certificates.
    "practitioner": Topic(
        "资质与证书到期", "中介机构:本机构的资质、在职人员的证书即将到期或已到期"
    ),
    "review": Topic("入驻审核", "中介机构:入驻申请通过或退回;管理员:有新的入驻申请"),
}

# Mail that is not a choice: the link that confirms an address or resets a password.
ACCOUNT_TOPIC = "account"


def topic_label(topic: str | None) -> str:
    """A mail's topic as its people read it (the outbox showed the code, "account")."""
    if topic == ACCOUNT_TOPIC:
        return "账户(确认邮箱、重设密码、开通邀请)"
    found = TOPICS.get(topic or "")
    return found.label if found else (topic or "—")


def absolute(link: str) -> str:
    """The site's address in front of a local path (mails are read outside the site)."""
    if link.startswith(("http://", "https://")):
        return link
    return current_app.config["SITE_URL"].rstrip("/") + "/" + link.lstrip("/")


def _message_id() -> str:
    domain = current_app.config["SITE_URL"].split("//")[-1].split("/")[0].split(":")[0] or "local"
    return f"<{clock.now():%Y%m%d%H%M%S}.{secrets.token_hex(12)}@{domain}>"


def queue_mail(
    to_address: str, subject: str, body: str, *, topic: str, user: User | None = None
) -> MailMessage:
    """Write one mail to the outbox (in the caller's transaction; the worker sends it)."""
    site = current_app.config["SITE_NAME"]
    mail = MailMessage(
        message_id=_message_id(),
        user_id=user.id if user is not None else None,
        to_address=to_address,
        subject=f"【{site}】{subject}"[:300],
        body=f"{body}\n\n——\n{site}\n此邮件由系统自动发送,请勿直接回复。"
        f"如需调整邮件提醒,请登录后在“消息设置”中修改:{absolute('/my/notifications/settings')}",
        topic=topic,
        status=MailStatus.PENDING.value,
        next_attempt_at=clock.now(),
        created_at=clock.now(),  # queued now, whenever the row is flushed
    )
    db.session.add(mail)
    return mail


def wants_mail(user: User, topic: str) -> bool:
    """Whether the user receives this topic by e-mail: an enabled account with a confirmed
    address that has not turned the topic down."""
    if not user.is_enabled or not user.email_confirmed:
        return False
    chosen = db.session.get(NotificationPreference, (user.id, topic))
    return True if chosen is None else chosen.email


def people(condition) -> list[User]:
    """The accounts a policy filter on User selects (policy.enterprise_accounts(...),
    policy.provider_accounts(...), ...), in a stable order: whom to tell."""
    return list(db.session.scalars(select(User).where(condition).order_by(User.id)))


def _recipients(users: Iterable[User | None]) -> list[User]:
    seen: dict[int, User] = {}
    for user in users:
        if user is not None and user.is_enabled and user.id not in seen:
            seen[user.id] = user
    return list(seen.values())


def notify(
    users: Iterable[User | None],
    topic: str,
    message: str,
    *,
    link: str,
    kind: str,
    subject: str | None = None,
    in_site: bool = True,
    once_key: str | None = None,
) -> int:
    """Tell each (enabled, distinct) user: a message in their inbox and, if they chose it, a
    mail. `kind` is the inbox's short label (≤ 8 characters); `link` the page where to act.
    `in_site=False` mails only, for events every reader of a project already sees in the site
    (roadmap warnings). With `once_key` (a reminder a daily check raises), each person is told
    at most once per key, however often the check runs. Returns how many people were told."""
    if topic not in TOPICS:
        raise ValueError(f"unknown notification topic {topic!r}")
    people = _recipients(users)
    if once_key is not None:
        people = [user for user in people if _first_time(user, once_key)]
    for user in people:
        if in_site or once_key is not None:
            db.session.add(
                Notification(
                    user_id=user.id,
                    topic=topic,
                    kind=kind[:8],
                    due_on=clock.today(),
                    message=message,
                    link=link,
                    once_key=once_key,
                    # The moment it was raised, not the later flush that inserts it (the demo's
                    # notices carried the next event's time: a tester, stop 31).
                    created_at=clock.now(),
                )
            )
        if wants_mail(user, topic):
            queue_mail(
                user.email,
                subject or kind,
                f"{user.display_name or user.username}:\n\n{message}\n\n"
                f"请登录查看并办理:{absolute(link)}",
                topic=topic,
                user=user,
            )
    return len(people)


def _first_time(user: User, once_key: str) -> bool:
    """Whether the user was not yet told under this key (the unique key guards a race too)."""
    told = select(Notification.id).where(
        Notification.user_id == user.id, Notification.once_key == once_key
    )
    return db.session.scalar(told.limit(1)) is None


def preferences(user: User) -> list[tuple[str, Topic, bool]]:
    """Every topic with the user's choice (mail on unless turned down)."""
    chosen = {
        p.topic: p.email
        for p in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    return [(key, topic, chosen.get(key, True)) for key, topic in TOPICS.items()]


def set_preferences(user: User, mailed: set[str]) -> int:
    """Store the user's choice: the topics in `mailed` by e-mail, the rest in the site only.
    Returns how many choices changed."""
    changed = 0
    for key, _topic, current in preferences(user):
        wanted = key in mailed
        if wanted == current:
            continue
        row = db.session.get(NotificationPreference, (user.id, key))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, topic=key, email=wanted))
        else:
            row.email = wanted
        changed += 1
    return changed


def retry_delay(attempts: int) -> timedelta:
    """Back-off before the next attempt after `attempts` failed ones (doubling, at most a day)."""
    base = int(current_app.config["MAIL_RETRY_SECONDS"])
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 86_400))
