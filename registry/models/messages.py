"""Hearing back: one-time account links (confirm an address, reset a password), the mail outbox
the worker sends from, each user's mail choice per notification topic, and the daily-job runs
that keep a job to one node a day."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.types import Created, Day, IntPK, Moment, Note, UserRef


class TokenPurpose(StrEnum):
    """What a one-time link is for."""

    CONFIRM = "confirm"  # confirm the e-mail address given at registration
    RESET = "reset"  # choose a new password


class AccountToken(db.Model):
    """A one-time link: only the SHA-256 of its secret is stored; used once, then dead."""

    __tablename__ = "account_tokens"

    id: Mapped[IntPK]
    user_id: Mapped[UserRef] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[Moment]
    used_at: Mapped[Moment | None]
    created_at: Mapped[Created]

    user = relationship("User")


class MailStatus(StrEnum):
    """Where an outbox mail stands."""

    PENDING = "待发送"  # waiting (first try, or a retry after back-off)
    SENDING = "发送中"  # claimed by a worker; a lease that ran out means the worker died
    SENT = "已发送"
    FAILED = "发送失败"  # gave up after the last attempt (an admin may send it again)
    IN_DOUBT = "待核实"  # the worker died after handing the mail over: sent or not is unknown


class MailMessage(db.Model):
    """One mail in the outbox, written in the same transaction as the event it tells of."""

    __tablename__ = "mail_outbox"

    id: Mapped[IntPK]
    # The Message-ID header, fixed when the row is written: a re-send carries the same one.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[UserRef | None] = mapped_column(index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[Note]
    topic: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), default=MailStatus.PENDING.value, index=True)
    # Stage of the attempt in hand: "claimed" (nothing handed over yet) or "handing" (the message
    # is being given to the server); a dead worker's "claimed" mail is safe to send again.
    stage: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Moment] = mapped_column(index=True)
    lease_until: Mapped[Moment | None]
    last_error: Mapped[Note | None]
    created_at: Mapped[Created]
    sent_at: Mapped[Moment | None]

    user = relationship("User")


class NotificationPreference(db.Model):
    """A user's choice for one topic: in the site only, or in the site and by e-mail."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)


class JobRun(db.Model):
    """That a daily job ran (or is running) for a day: the unique key lets one node of many
    claim it."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "day"),)

    id: Mapped[IntPK]
    job: Mapped[str] = mapped_column(String(32))
    day: Mapped[Day]
    node: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[Created]
    finished_at: Mapped[Moment | None]
    outcome: Mapped[Note | None]
