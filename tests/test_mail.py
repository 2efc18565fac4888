"""Sending the outbox: a real SMTP server (aiosmtpd) receives UTF-8 mails with their fixed headers;
refusals back off and end 发送失败; an admin sends a mail again; the .eml backend writes files
that /admin/mail shows; two claims never take the same row; orphans are re-sent or held 待核实."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import AuditEntry, MailMessage, MailStatus
from registry.services import jobs, mail, notify
from tests.conftest import post_form


def free_port() -> int:
    """A TCP port nobody listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Inbox:
    """What the test SMTP server received, and how it answers DATA."""

    received: list = field(default_factory=list)
    raw: list = field(default_factory=list)
    logins: list = field(default_factory=list)
    answer: str = "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.answer.startswith("250"):
            self.raw.append(envelope.content)
            self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return self.answer

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


def start_smtp(inbox, **options) -> Controller:
    """An aiosmtpd server on a free local port (the caller stops it)."""
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


@pytest.fixture
def smtp():
    """A running SMTP server that accepts AUTH without TLS (local test only)."""
    inbox = Inbox()
    controller = start_smtp(
        inbox, authenticator=inbox.authenticate, auth_require_tls=False, auth_exclude_mechanism=[]
    )
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(smtp, tmp_path):
    return {
        "MAIL_URL": f"smtp://mail%40zone:p%3As%20w@127.0.0.1:{smtp.port}",
        "MAIL_DIR": str(tmp_path / "mail"),
        "MAIL_MAX_ATTEMPTS": 3,
        "MAIL_RETRY_SECONDS": 60,
    }


def queue(app, count=1, body="您好:\n\n您的入驻申请已通过审核。") -> list[int]:
    with app.app_context():
        rows = [
            notify.queue_mail(
                f"user{n}@example.com", f"入驻审核通过 {n}", body, topic=notify.ACCOUNT_TOPIC
            )
            for n in range(count)
        ]
        db.session.commit()
        return [row.id for row in rows]


def send(app):
    with app.app_context():
        counts = jobs.send_due_mail()
        db.session.remove()
        return counts


def row(app, mail_id) -> MailMessage:
    with app.app_context():
        found = db.session.get(MailMessage, mail_id)
        db.session.expunge(found)
        return found


def test_mail_parse_smtp_url():
    plain = mail.parse_smtp_url("smtp://a%40b:p%3Aw@mail.example.com:587?starttls=1")
    assert (plain.host, plain.port, plain.username, plain.password) == (
        "mail.example.com",
        587,
        "a@b",
        "p:w",
    )
    assert plain.starttls
    assert not plain.implicit_tls
    tls = mail.parse_smtp_url("smtps://mail.example.com")
    assert (tls.port, tls.implicit_tls, tls.username) == (465, True, None)
    with pytest.raises(ValueError, match="MAIL_URL"):
        mail.parse_smtp_url("http://mail.example.com")


def test_mail_smtp_delivers_utf8_mail_with_fixed_headers(app, smtp):
    first, second = queue(app, 2)
    assert send(app) == {MailStatus.SENT.value: 2}
    assert smtp.logins == [("mail@zone", "p:s w")]  # percent-decoded from MAIL_URL
    stored = row(app, first)
    assert stored.status == MailStatus.SENT.value
    assert stored.sent_at == clock.now()
    got = {m["Message-ID"]: m for m in smtp.received}
    assert set(got) == {stored.message_id, row(app, second).message_id}
    message = got[stored.message_id]
    assert message["Subject"] == f"【{app.config['SITE_NAME']}】入驻审核通过 0" == stored.subject
    assert b"\r\nSubject: =?utf-8?" in smtp.raw[0]  # RFC 2047 on the wire, 7-bit headers
    assert message["To"] == "user0@example.com"
    assert message["From"].addresses[0].display_name == "中介服务超市"
    assert message["Date"].datetime == clock.now()
    assert message.get_content_charset() == "utf-8"
    # Text travels in canonical form (CRLF line ends inside the base64).
    assert message.get_content().replace("\r\n", "\n") == stored.body + "\n"
    # Nothing is sent twice: a second pass finds nothing due.
    assert send(app) == {}
    assert len(smtp.received) == 2


def test_mail_refusals_back_off_then_fail_and_admin_sends_again(app, smtp, make_user, login):
    (mail_id,) = queue(app)
    smtp.answer = "451 4.3.0 稍后再试"
    assert send(app) == {MailStatus.PENDING.value: 1}
    first = row(app, mail_id)
    assert (first.attempts, first.stage) == (1, None)
    assert first.last_error.startswith("451")
    assert first.next_attempt_at == clock.now() + timedelta(seconds=60)
    assert send(app) == {}  # not due before the back-off ends
    clock.advance(timedelta(seconds=60))
    assert send(app) == {MailStatus.PENDING.value: 1}
    assert row(app, mail_id).next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=120))
    assert send(app) == {MailStatus.FAILED.value: 1}
    assert row(app, mail_id).attempts == 3
    clock.advance(timedelta(days=1))
    assert send(app) == {}
    assert smtp.received == []

    smtp.answer = "250 OK"
    client = app.test_client()
    login(make_user("admin"), on=client)
    listing = client.get("/admin/mail?status=发送失败").get_data(as_text=True)
    assert "发送失败(1)" in listing
    assert "入驻审核通过 0" in listing
    page = client.get(f"/admin/mail/{mail_id}").get_data(as_text=True)
    assert "重新发送" in page
    assert "451 4.3.0" in page
    response = post_form(client, f"/admin/mail/{mail_id}/resend")
    assert response.status_code == 302
    again = row(app, mail_id)
    assert (again.status, again.attempts) == (MailStatus.PENDING.value, 0)
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "mail.resend")
        ).one()
        assert (entry.object_id, entry.before["status"]) == (str(mail_id), "发送失败")
    assert send(app) == {MailStatus.SENT.value: 1}
    assert len(smtp.received) == 1
    # A sent mail cannot be "sent again" by the button.
    post_form(client, f"/admin/mail/{mail_id}/resend")
    assert row(app, mail_id).status == MailStatus.SENT.value


def test_mail_unreachable_server_is_a_retry(app, smtp):
    (mail_id,) = queue(app)
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    assert send(app) == {MailStatus.PENDING.value: 1}
    assert "ConnectionRefusedError" in row(app, mail_id).last_error


def test_mail_eml_backend_writes_files_the_admin_reads(app, tmp_path, make_user, login):
    app.config["MAIL_URL"] = ""
    (mail_id,) = queue(app, body="请查看<script>alert(1)</script>附件")
    assert send(app) == {MailStatus.SENT.value: 1}
    written = tmp_path / "mail" / f"{mail_id:08d}.eml"
    message = message_from_bytes(written.read_bytes(), policy=policy.default)
    stored = row(app, mail_id)
    assert message["Message-ID"] == stored.message_id
    assert message["Subject"] == stored.subject
    assert "<script>" in message.get_content()
    # Writing it again (a worker that died while writing) replaces the file, adds none.
    with app.app_context():
        mail.FileBackend(tmp_path / "mail").deliver(mail_id, mail.build_message(stored))
    assert [p.name for p in (tmp_path / "mail").iterdir()] == [written.name]

    client = app.test_client()
    login(make_user("admin"), on=client)
    listing = client.get("/admin/mail").get_data(as_text=True)
    assert "已发送(1)" in listing
    assert "MAIL_URL 为空" in listing
    page = client.get(f"/admin/mail/{mail_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert written.name in page
    assert stored.message_id.strip("<>") in page
    assert "重新发送" not in page


def test_mail_orphans_claimed_are_sent_again_handing_are_held_in_doubt(app, smtp):
    claimed_only, handed = queue(app, 2)
    with app.app_context():
        leases = dict(mail.claim_due(idempotent=False))
        assert mail.begin_handing(handed, leases[handed]) is not None
        db.session.commit()  # ... and the worker dies here
    assert send(app) == {}  # their leases still run
    clock.advance(timedelta(seconds=app.config["MAIL_LEASE_SECONDS"] + 1))
    assert send(app) == {MailStatus.SENT.value: 1}
    assert [m["Message-ID"] for m in smtp.received] == [row(app, claimed_only).message_id]
    doubt = row(app, handed)
    assert doubt.status == MailStatus.IN_DOUBT.value
    assert "无法确定" in doubt.last_error
    clock.advance(timedelta(days=1))
    assert send(app) == {}
    assert len(smtp.received) == 1


@pytest.mark.concurrency
def test_mail_two_workers_never_claim_the_same_row(app):
    ids = set(queue(app, 24))
    taken: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def worker(name):
        with app.app_context():
            start.wait()
            while claimed := mail.claim_due(idempotent=False, limit=3):
                db.session.commit()
                taken[name].extend(mail_id for mail_id, _lease in claimed)
            db.session.rollback()
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(taken["a"]).isdisjoint(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == sorted(ids)


def test_mail_outbox_hides_one_time_links_from_admins(app, tmp_path, make_user, login):
    """An admin reading the outbox cannot use a person's confirmation or password link (the .eml
    written for the person keeps it); the page says 失败次数 and the topic in Chinese."""
    app.config["MAIL_URL"] = ""
    secret = "Zx9-secret_token.abc"
    body = f"请打开链接设置密码:\n\nhttp://127.0.0.1:5000/password/reset/{secret}\n\n谢谢。"
    (mail_id,) = queue(app, body=body)
    assert send(app) == {MailStatus.SENT.value: 1}
    written = (tmp_path / "mail" / f"{mail_id:08d}.eml").read_bytes()
    assert secret in message_from_bytes(written, policy=policy.default).get_content()
    client = app.test_client()
    login(make_user("admin"), on=client)
    page = client.get(f"/admin/mail/{mail_id}").get_data(as_text=True)
    assert secret not in page
    assert "/password/reset/……(一次性链接,仅收件人可用,此处隐藏)" in page
    assert "<dt>失败次数</dt><dd>0</dd>" in page
    assert "账户(确认邮箱、重设密码、开通邀请)" in page
