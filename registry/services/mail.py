"""Sending the mail outbox so that nothing is lost and nothing is sent twice by accident.

Mails are written to `mail_outbox` in the transaction of the event they tell of
(services/notify.py). The worker (services/jobs.py, the caller that commits) sends them with the
steps below; each step here is one conditional UPDATE and never commits, the worker commits after
each one, so the row always says how far a mail got:

1. **claim** (`claim_due`): rows that are 待发送 and due, or 发送中 at stage "claimed" whose
   lease ran out, become 发送中 / "claimed" with a fresh lease. The UPDATE repeats the due
   condition in its WHERE, so of two workers racing for a row only one changes it (SQLite: the
   write lock of BEGIN IMMEDIATE; PostgreSQL: `FOR UPDATE SKIP LOCKED` plus the re-checked
   WHERE). The lease is also the claim's fence: later steps only act while it is unchanged.
2. **connect** (`Backend.prepare`): open the SMTP session. A refusal here hands nothing over.
3. **handing** (`begin_handing`): stage "handing", committed *before* the message goes to the
   server.
4. **sent** (`record_sent`): the server answered 250: 已发送 and `sent_at`, committed at once.
   A definite refusal (a 4xx/5xx reply, a refused connection) is `record_failure`: attempts + 1,
   `last_error`, back to 待发送 after `retry_delay`, or 发送失败 after MAIL_MAX_ATTEMPTS.

A worker that dies leaves its rows 发送中 until the lease runs out; then `settle_orphans` and
`claim_due` look at the stage. "claimed": nothing was handed over, the mail is sent again.
"handing": the worker died while the server was receiving it, so the mail may or may not have
arrived: 待核实, never sent again automatically, shown at /admin/mail where an admin may send it
again deliberately (`resend`). A connection that breaks without an answer while handing over
(timeout, disconnect) is 待核实 in the same way. The .eml backend writes the same file under the
same name again, so for it handing over is idempotent and a "handing" orphan is simply re-written.

Backends come from MAIL_URL: `smtp://user:pass@host:587?starttls=1`, `smtps://…` (implicit TLS),
or empty: each mail as an RFC 5322 file `MAIL_DIR/<outbox id>.eml`, written under a temporary
name and renamed into place.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from registry.extensions import db
from registry.kernel import clock
from registry.kernel.paging import Page, paginate
from registry.models import MailMessage, MailStatus
from registry.services import audit
from registry.services.errors import NotFound, RegistryError
from registry.services.notify import retry_delay
from registry.services.registration import CONFIRM_PATH, RESET_PATH

CLAIMED, HANDING = "claimed", "handing"
RESENDABLE = (MailStatus.FAILED.value, MailStatus.IN_DOUBT.value)
# How many rows one claim takes: few enough that their leases outlast a slow server.
BATCH = 10


# ------------------------------------------------------------------ the message


# A one-time link's secret (confirming an address, setting a password, a person's invitation).
_ONE_TIME_LINK = re.compile(
    "(" + "|".join(re.escape(path) for path in (CONFIRM_PATH, RESET_PATH)) + r")[^\s]+"
)


def body_for_admins(mail: MailMessage) -> str:
    """The body as the outbox shows it: a one-time link's secret hidden, so that reading the
    outbox never lets an admin confirm an address or set a password in the person's place."""
    return _ONE_TIME_LINK.sub(r"\1……(一次性链接,仅收件人可用,此处隐藏)", mail.body)


def build_message(mail: MailMessage) -> EmailMessage:
    """The RFC 5322 message of an outbox row: UTF-8, its fixed Message-ID, dated when written."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(clock.local(mail.created_at))
    message["Message-ID"] = mail.message_id
    message.set_content(mail.body, charset="utf-8", cte="base64")
    return message


def eml_name(mail_id: int) -> str:
    """The file name of a mail written by the .eml backend."""
    return f"{mail_id:08d}.eml"


def mail_dir() -> Path:
    """Where the .eml backend writes (MAIL_DIR, else instance/mail)."""
    configured = current_app.config.get("MAIL_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "mail"


# ------------------------------------------------------------------ backends


class Refused(Exception):
    """The server said no (or could not be reached): nothing was handed over, try again later."""


class Backend:
    """Where mails go. `idempotent`: handing the same mail over twice leaves one copy."""

    idempotent = False

    def prepare(self) -> None:
        """Get ready to hand a mail over (connect); raises Refused."""

    def deliver(self, mail_id: int, message: EmailMessage) -> None:
        """Hand one message over; Refused on a definite refusal, anything else is in doubt."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of any connection."""


class FileBackend(Backend):
    """Each mail as MAIL_DIR/<id>.eml, renamed into place: a re-write replaces, never adds."""

    idempotent = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def deliver(self, mail_id: int, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".sending-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(message.as_bytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.folder / eml_name(mail_id))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class SmtpSettings:
    """What an smtp:// or smtps:// MAIL_URL says."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool


def parse_smtp_url(url: str) -> SmtpSettings:
    """smtp://user:pass@host:port?starttls=1 or smtps://… (user and password percent-decoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("MAIL_URL must be smtp://host:port, smtps://host:port or empty")
    implicit = parts.scheme == "smtps"
    flag = (parse_qs(parts.query).get("starttls") or ["0"])[0].lower()
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        implicit_tls=implicit,
        starttls=flag in ("1", "true", "yes", "on"),
    )


class SmtpBackend(Backend):
    """smtplib over one connection per worker pass, checked with NOOP before each mail."""

    def __init__(self, settings: SmtpSettings, timeout: float) -> None:
        self.settings, self.timeout = settings, timeout
        self.connection: smtplib.SMTP | None = None

    def prepare(self) -> None:
        if self.connection is not None:
            try:
                if self.connection.noop()[0] == 250:
                    return
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        s = self.settings
        try:
            if s.implicit_tls:
                connection = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            connection.ehlo()
            if s.starttls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if s.username:
                connection.login(s.username, s.password or "")
        except (smtplib.SMTPException, OSError) as error:
            raise Refused(describe(error)) from error
        self.connection = connection

    def deliver(self, mail_id: int, message: EmailMessage) -> None:
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
            # A reply code: the server definitely did not take the message.
            self._drop()
            raise Refused(describe(error)) from error
        except BaseException:
            self._drop()
            raise

    def _drop(self) -> None:
        """Close a connection in an unknown state without talking to the server."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except (smtplib.SMTPException, OSError):
            self.connection.close()
        self.connection = None


def describe(error: BaseException) -> str:
    """One line about a failure, for last_error (never the password: smtplib does not echo it)."""
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{error.smtp_code} {text}"[:500]
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{to}: {code} {msg!r}" for to, (code, msg) in error.recipients.items())
    return f"{type(error).__name__}: {error}"[:500]


def backend_from_config() -> Backend:
    """The backend MAIL_URL names (empty: .eml files under MAIL_DIR)."""
    url = (current_app.config.get("MAIL_URL") or "").strip()
    if not url:
        return FileBackend(mail_dir())
    return SmtpBackend(parse_smtp_url(url), float(current_app.config["MAIL_TIMEOUT_SECONDS"]))


# ------------------------------------------------------------------ the protocol's steps


def _lease() -> datetime:
    return clock.now() + timedelta(seconds=int(current_app.config["MAIL_LEASE_SECONDS"]))


def settle_orphans(idempotent: bool) -> int:
    """Rows whose worker died while handing them over (lease run out at stage "handing") become
    待核实; with an idempotent backend they are left for `claim_due` to hand over again."""
    if idempotent:
        return 0
    result = db.session.execute(
        update(MailMessage)
        .where(
            MailMessage.status == MailStatus.SENDING.value,
            MailMessage.stage == HANDING,
            MailMessage.lease_until < clock.now(),
        )
        .values(
            status=MailStatus.IN_DOUBT.value,
            lease_until=None,
            last_error="投递过程中断(处理进程异常退出),无法确定邮件服务器是否已收到",
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _due(now: datetime, idempotent: bool):
    orphaned_stages = (CLAIMED, HANDING) if idempotent else (CLAIMED,)
    return or_(
        and_(MailMessage.status == MailStatus.PENDING.value, MailMessage.next_attempt_at <= now),
        and_(
            MailMessage.status == MailStatus.SENDING.value,
            MailMessage.stage.in_(orphaned_stages),
            MailMessage.lease_until < now,
        ),
    )


def claim_due(idempotent: bool, limit: int = BATCH) -> list[tuple[int, datetime]]:
    """Claim up to `limit` due mails (oldest first) for this worker: [(id, lease)]. The caller
    commits before sending any of them."""
    now, lease = clock.now(), _lease()
    candidates = (
        select(MailMessage.id)
        .where(_due(now, idempotent))
        .order_by(MailMessage.next_attempt_at, MailMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    result = db.session.execute(
        update(MailMessage)
        .where(MailMessage.id.in_(candidates.scalar_subquery()), _due(now, idempotent))
        .values(status=MailStatus.SENDING.value, stage=CLAIMED, lease_until=lease)
        .returning(MailMessage.id)
        .execution_options(synchronize_session=False)
    )
    return [(mail_id, lease) for mail_id in sorted(result.scalars())]


def _ours(mail_id: int, lease: datetime):
    return and_(
        MailMessage.id == mail_id,
        MailMessage.status == MailStatus.SENDING.value,
        MailMessage.lease_until == lease,
    )


def begin_handing(mail_id: int, lease: datetime) -> datetime | None:
    """Stage "handing" with a fresh lease, if the claim is still ours and alive: the new lease,
    or None (the claim ran out; leave the row to whoever holds it now)."""
    fresh = _lease()
    result = db.session.execute(
        update(MailMessage)
        .where(_ours(mail_id, lease), MailMessage.lease_until >= clock.now())
        .values(stage=HANDING, lease_until=fresh)
        .execution_options(synchronize_session=False)
    )
    return fresh if result.rowcount == 1 else None


def release(mail_id: int, lease: datetime) -> None:
    """Give back a claimed mail not yet handed over (the worker is stopping): 待发送 again."""
    db.session.execute(
        update(MailMessage)
        .where(_ours(mail_id, lease), MailMessage.stage == CLAIMED)
        .values(status=MailStatus.PENDING.value, stage=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


def record_sent(mail_id: int) -> None:
    """The server accepted the mail: 已发送 (also over a 待核实 another worker set meanwhile)."""
    db.session.execute(
        update(MailMessage)
        .where(
            MailMessage.id == mail_id,
            MailMessage.status.in_([MailStatus.SENDING.value, MailStatus.IN_DOUBT.value]),
        )
        .values(status=MailStatus.SENT.value, stage=None, lease_until=None, sent_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def record_failure(mail_id: int, lease: datetime, attempts: int, error: str) -> str:
    """A definite failure of attempt number attempts + 1: back to 待发送 after the back-off, or
    发送失败 after the last attempt. Returns the new status."""
    attempts += 1
    failed = attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"])
    status = MailStatus.FAILED if failed else MailStatus.PENDING
    db.session.execute(
        update(MailMessage)
        .where(_ours(mail_id, lease))
        .values(
            status=status.value,
            stage=None,
            lease_until=None,
            attempts=attempts,
            last_error=error[:500],
            next_attempt_at=clock.now() + retry_delay(attempts),
        )
        .execution_options(synchronize_session=False)
    )
    return status.value


def record_in_doubt(mail_id: int, lease: datetime, error: str) -> None:
    """Handing over broke off without an answer: the mail may have arrived. 待核实."""
    db.session.execute(
        update(MailMessage)
        .where(_ours(mail_id, lease))
        .values(
            status=MailStatus.IN_DOUBT.value,
            stage=None,
            lease_until=None,
            last_error=f"投递中断,无法确定邮件服务器是否已收到:{error}"[:500],
        )
        .execution_options(synchronize_session=False)
    )


# ------------------------------------------------------------------ the admin's outbox


def list_outbox(status: str | None = None, *, page: int = 1, per_page: int = 50) -> Page:
    """The outbox newest first, optionally of one status."""
    query = select(MailMessage).order_by(MailMessage.id.desc())
    if status:
        query = query.where(MailMessage.status == status)
    return paginate(db.session, query, page, per_page)


def status_counts() -> dict[str, int]:
    """How many mails stand at each status (every status listed, zero included)."""
    counts = Counter(
        dict(
            db.session.execute(
                select(MailMessage.status, func.count()).group_by(MailMessage.status)
            ).all()
        )
    )
    return {status.value: counts.get(status.value, 0) for status in MailStatus}


def get_mail(mail_id: int) -> MailMessage:
    """One outbox mail, or NotFound."""
    mail = db.session.get(MailMessage, mail_id)
    if mail is None:
        raise NotFound("未找到该邮件")
    return mail


def written_file(mail: MailMessage) -> Path | None:
    """The .eml file the file backend wrote for this mail, if there is one."""
    path = mail_dir() / eml_name(mail.id)
    return path if path.is_file() else None


def resend(mail_id: int, actor) -> MailMessage:
    """An admin sends a 发送失败 or 待核实 mail again, deliberately (audited mail.resend)."""
    mail = get_mail(mail_id)
    if mail.status not in RESENDABLE:
        raise RegistryError(
            None, f"只有“发送失败”或“待核实”的邮件可以重新发送,此邮件为“{mail.status}”。"
        )
    before = {"status": mail.status, "attempts": mail.attempts, "last_error": mail.last_error}
    mail.status, mail.stage, mail.lease_until = MailStatus.PENDING.value, None, None
    mail.attempts, mail.last_error, mail.next_attempt_at = 0, None, clock.now()
    audit.record(
        "mail.resend",
        actor=actor,
        object_type="mail",
        object_id=mail.id,
        before=before,
        after={"status": mail.status, "attempts": 0, "last_error": None},
        detail=f"{mail.to_address}:{mail.subject}",
    )
    db.session.flush()
    return mail
