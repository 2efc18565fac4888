"""A practitioner's own account (issue 17): the employing provider (or 政务办) invites the person
by e-mail, the person sets a password through the one-time link, signs in, sees their own record
unmasked, objects to a record within the window and reads their evidence; one account per
person, kept when the person changes firms (both databases)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import (
    AuditEntry,
    MailMessage,
    Notification,
    Objection,
    Practitioner,
    Provider,
    User,
)
from registry.services import accounts, credit, practitioners
from registry.services.errors import RegistryError
from tests.conftest import post_form
from tests.factories import active_provider
from tests.test_practitioners import id_number

TODAY = date(2026, 9, 29)
ZHANG = "张三明"
PASSWORD = "Hj7#kLq2-Wm9"
LINK = re.compile(r"http://127\.0\.0\.1:5000(/password/reset/[A-Za-z0-9_-]+)")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CERT = "HP00012345"


@pytest.fixture
def clock(frozen_clock):
    """The clock on TODAY (a Tuesday)."""
    frozen_clock.freeze(TODAY)
    return frozen_clock


@dataclass
class World:
    sthj: object  # regulator of 市生态环境局 (supervises ZJ-03)
    first: object  # account of the person's firm
    second: object  # account of another firm
    first_uscc: str
    second_uscc: str
    person_id: int


def _user(made) -> User:
    return db.session.get(User, made.id)


def _world(app, make_user) -> World:
    sthj = make_user("regulator", department="STHJ")
    first, second = make_user("provider"), make_user("provider")
    with app.app_context():
        a = active_provider(["ZJ-03"], account=_user(first), name="天津清源环境科技有限公司")
        b = active_provider(["ZJ-03"], account=_user(second), name="天津碧水环境咨询有限公司")
        employment = practitioners.register_practitioner(
            a,
            {
                "name": ZHANG,
                "id_number": id_number(41),
                "title": "技术负责人",
                "started_on": TODAY - timedelta(days=60),
            },
            actor=_user(first),
        )
        practitioners.add_certificate(
            a,
            employment.practitioner_id,
            {
                "kind": "环境影响评价工程师",
                "number": CERT,
                "issuer": "生态环境部",
                "valid_from": TODAY - timedelta(days=365),
                "valid_to": TODAY + timedelta(days=365),
            },
            actor=_user(first),
        )
        db.session.commit()
        return World(sthj, first, second, a.uscc, b.uscc, employment.practitioner_id)


def _signed_in(app, login, user):
    client = app.test_client()
    assert login(user, on=client).status_code == 302
    return client


def _invite(client, person_id, email="Zhang.SanMing@Example.cn", username="zhangsanming"):
    return post_form(
        client,
        f"/my/provider/practitioners/{person_id}/account",
        {"email": email, "username": username},
    )


def _last_link(app, address="zhang.sanming@example.cn") -> str:
    with app.app_context():
        mail = db.session.scalars(
            select(MailMessage)
            .where(MailMessage.to_address == address)
            .order_by(MailMessage.id.desc())
        ).first()
        return LINK.search(mail.body).group(1)


def _publish(app, regulator, person_id) -> str:
    with app.app_context():
        item = credit.draft_record(
            _user(regulator),
            provider_uscc=None,
            practitioner_id=person_id,
            kind="警示通报",
            title="环评报告编制中弄虚作假",
            facts="2026 年 8 月,该人员主持编制的报告存在数据错误。",
            basis="《建设项目环境影响报告书(表)编制监督管理办法》第二十七条",
        )
        db.session.commit()
        credit.publish_record(_user(regulator), item.number)
        db.session.commit()
        return item.number


def _person_signs_in(app, link):
    """The person sets a password on the link and signs in: their client."""
    person = app.test_client()
    assert "设置密码" in person.get(link).get_data(as_text=True)
    done = post_form(person, link, {"password": PASSWORD, "confirm": PASSWORD})
    assert done.headers["Location"].endswith("/login")
    me = SimpleNamespace(username="zhangsanming", password=PASSWORD)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', person.get("/login").text)
    response = person.post(
        "/login",
        data={"csrf_token": token.group(1), "username": me.username, "password": me.password},
    )
    assert response.status_code == 302
    return person


def test_practitioner_accounts_invite_link_sign_in_object(app, make_user, login, clock):
    world = _world(app, make_user)
    firm = _signed_in(app, login, world.first)
    roster = firm.get("/my/provider/practitioners").get_data(as_text=True)
    assert "邀请本人开通账户" in roster
    assert "未开通" in roster
    assert _invite(firm, world.person_id).status_code == 302
    assert "已邀请,待本人设置密码" in firm.get("/my/provider/practitioners").text
    with app.app_context():
        person = db.session.get(Practitioner, world.person_id)
        account = db.session.get(User, person.account_id)
        assert (account.role, account.username) == ("practitioner", "zhangsanming")
        assert (account.email, account.display_name) == ("zhang.sanming@example.cn", ZHANG)
        assert not account.email_confirmed
        mail = db.session.scalars(select(MailMessage)).one()
        assert "从业人员本人账户" in mail.subject
        assert "天津清源环境科技有限公司" in mail.body
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"user.invite_practitioner", "practitioner.account_invite"} <= actions
    link = _last_link(app)

    person = _person_signs_in(app, link)
    # The link works once.
    assert post_form(person, link, {"password": PASSWORD, "confirm": PASSWORD}).status_code == 410
    page = person.get("/my/person").get_data(as_text=True)
    assert ZHANG in page
    assert id_number(41)[-4:] in page
    assert id_number(41) not in page
    assert CERT in page  # the full certificate number, for the person only
    assert "天津清源环境科技有限公司" in page
    assert "本人信息" in page  # the header menu

    number = _publish(app, world.sthj, world.person_id)
    with app.app_context():
        told = set(
            db.session.scalars(
                select(Notification.user_id).where(Notification.message.contains(number))
            )
        )
        assert told == {world.first.id, _user_id(world.person_id)}
        firm_note = db.session.scalar(
            select(Notification.message).where(Notification.user_id == world.first.id)
        )
        assert f"贵机构从业人员{ZHANG}" in firm_note
    assert number in person.get("/my/person").text  # open to objection, linked from the page
    credit_page = person.get("/my/person/credit").get_data(as_text=True)
    assert ZHANG in credit_page
    assert number in credit_page
    assert "异议期内的本人信用记录" in person.get("/my/pending").text
    sent = post_form(
        person,
        f"/my/person/credit/{number}/object",
        {"reason": "数据错误系委托方提供。", "evidence": [(io.BytesIO(PDF), "委托方来函.pdf")]},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    with app.app_context():
        objection = db.session.scalar(select(Objection))
        assert objection.submitted_by_id == _user_id(world.person_id)
        file_id = objection.files[0].id
        objection_id = objection.id
    url = f"/credit/objections/{objection_id}/files/{file_id}"
    assert "委托方来函.pdf" in person.get("/my/person/credit").text
    download = person.get(url)
    assert download.status_code == 200
    assert download.data == PDF
    download.close()
    # The person's pages are theirs: nothing of firms, regulators or 政务办.
    for other in ("/my/provider/practitioners", "/my/credit", "/regulator/credit", "/admin/"):
        assert person.get(other).status_code == 403, other
    # Nobody else reads the person's evidence (another firm), nor the person's page.
    stranger = _signed_in(app, login, world.second)
    refused = stranger.get(url)
    assert refused.status_code in (403, 404)
    refused.close()
    assert stranger.get("/my/person").status_code == 403


def _user_id(person_id: int) -> int:
    return db.session.get(Practitioner, person_id).account_id


def test_practitioner_accounts_one_account_resend_while_unconfirmed(app, make_user, login, clock):
    world = _world(app, make_user)
    firm = _signed_in(app, login, world.first)
    assert _invite(firm, world.person_id).status_code == 302
    first_link = _last_link(app)
    # Not yet used: the invitation may be resent, to a corrected address; the old link dies.
    assert _invite(firm, world.person_id, email="zsm@example.cn").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User).where(User.role == "practitioner")).email == (
            "zsm@example.cn"
        )
        assert db.session.query(User).filter(User.role == "practitioner").count() == 1
        assert db.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "practitioner.account_resend")
        )
    assert app.test_client().get(first_link).status_code == 410
    _person_signs_in(app, _last_link(app, "zsm@example.cn"))
    # Once the person has a password, a second invitation is refused and nothing is sent.
    with app.app_context():
        mails = db.session.query(MailMessage).count()
    again = _invite(firm, world.person_id, email="other@example.cn", username="zsm2")
    assert again.status_code == 200
    assert "已开通本人账户" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(MailMessage).count() == mails
        assert db.session.query(User).filter(User.role == "practitioner").count() == 1
        # Nor can an admin move the account to another role.
        admin = accounts.create_user(
            username="admin-x", password=accounts.generate_password(), role="admin"
        )
        own = db.session.scalar(select(User).where(User.role == "practitioner"))
        with pytest.raises(RegistryError, match="从业人员本人账户"):
            accounts.change_role(own, "enterprise", actor=admin)
        staff = db.session.scalar(select(User).where(User.id == world.second.id))
        with pytest.raises(RegistryError, match="邀请本人开通"):
            accounts.change_role(staff, "practitioner", actor=admin)
        db.session.rollback()


def test_practitioner_accounts_other_provider_cannot_invite(app, make_user, login, clock):
    world = _world(app, make_user)
    stranger = _signed_in(app, login, world.second)
    url = f"/my/provider/practitioners/{world.person_id}/account"
    assert stranger.get(url).status_code == 403
    assert _invite(stranger, world.person_id).status_code == 403
    assert _invite(stranger, 99999).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Practitioner.account_id)) is None
        assert db.session.query(MailMessage).count() == 0
        assert db.session.scalar(
            select(AuditEntry.id).where(
                AuditEntry.action == "practitioner.denied", AuditEntry.actor_id == world.second.id
            )
        )


def test_practitioner_accounts_office_invites_and_a_moved_person_keeps_access(
    app, make_user, login, clock
):
    world = _world(app, make_user)
    staff = _signed_in(app, login, make_user("staff"))
    unmasked = staff.get(f"/office/practitioners/{world.person_id}").get_data(as_text=True)
    assert "邀请本人开通账户" in unmasked
    sent = post_form(
        staff,
        f"/office/practitioners/{world.person_id}/account",
        {"email": "zhang.sanming@example.cn", "username": "zhangsanming"},
    )
    assert sent.status_code == 302
    with app.app_context():
        assert "政务服务办公室" in db.session.scalars(select(MailMessage)).one().body
    person = _person_signs_in(app, _last_link(app))
    # The person moves to the second firm on TODAY; the account stays theirs.
    with app.app_context():
        first = db.session.scalar(select(Provider).where(Provider.uscc == world.first_uscc))
        second = db.session.scalar(select(Provider).where(Provider.uscc == world.second_uscc))
        employment = db.session.get(Practitioner, world.person_id).current_employment
        practitioners.end_employment(
            first, employment.id, {"ended_on": TODAY}, actor=_user(world.first)
        )
        practitioners.register_practitioner(
            second,
            {"name": ZHANG, "id_number": id_number(41), "title": None, "started_on": TODAY},
            actor=_user(world.second),
        )
        db.session.commit()
    page = person.get("/my/person").get_data(as_text=True)
    assert "天津碧水环境咨询有限公司" in page
    assert ZHANG in page
    # The new firm sees the account as opened: nothing to invite; the old firm may not invite.
    new_firm = _signed_in(app, login, world.second)
    assert "已开通(用户名 zhangsanming)" in new_firm.get("/my/provider/practitioners").text
    assert "已开通本人账户" in _invite(new_firm, world.person_id).get_data(as_text=True)
    old_firm = _signed_in(app, login, world.first)
    assert _invite(old_firm, world.person_id).status_code == 403
    # A regulator may view the unmasked record but not invite.
    regulator = _signed_in(app, login, world.sthj)
    assert regulator.get(f"/office/practitioners/{world.person_id}/account").status_code == 403
