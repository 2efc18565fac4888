"""Voids kept as records (registration_voids) and lifted by 政务办 (撤销作废); the inviter of a
person's own account as a column; the invitation mail naming the person masked; migration 0024
converting the string-encoded voids. Both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    Employment,
    MailMessage,
    Practitioner,
    PractitionerCertificate,
    Provider,
    RegistrationVoid,
    User,
    VoidCause,
)
from registry.models.audit import ACTION_LABELS
from registry.services import practitioners
from registry.services.errors import Forbidden, RegistryError
from registry.services.practitioners import accounts, voids
from tests.conftest import post_form
from tests.test_practitioner_pages import _certificate, id_number
from tests.test_practitioner_pages import staffed as staffed  # noqa: PLC0414 (fixture)

EIA = "环境影响评价工程师"


def _user(made) -> User:
    return db.session.get(User, made.id)


def _firm(uscc: str) -> Provider:
    return db.session.scalar(select(Provider).where(Provider.uscc == uscc))


def _eia_of(person_id: int) -> PractitionerCertificate:
    return db.session.scalar(
        select(PractitionerCertificate).where(
            PractitionerCertificate.practitioner_id == person_id,
            PractitionerCertificate.kind == EIA,
            PractitionerCertificate.voided.is_(False),
        )
    )


def test_practitioner_voids_employment_void_recorded_and_lifted(app, make_user, login, staffed):
    """政务办's void of an employment is a record that blocks the firm; 政务办 lifts it on the
    unmasked view with a reason (audited, labelled), once; the firm registers the person again."""
    staff = make_user("staff")
    person_id = staffed["ids"]["欧阳小芳"]
    again = {"name": "欧阳小芳", "id_number": id_number(22), "started_on": clock.today()}
    with app.app_context():
        owner = _user(staffed["users"][0])
        first = _firm(staffed["firms"][0])
        employment = db.session.get(Practitioner, person_id).current_employment
        voids.void_employment(
            person_id, employment.id, {"reason": "身份证件系冒用"}, actor=_user(staff)
        )
        db.session.commit()
        (void,) = db.session.scalars(select(RegistrationVoid)).all()
        assert (void.subject, void.cause, void.employment_id) == (
            "employment",
            VoidCause.OFFICE,
            employment.id,
        )
        assert (void.provider_id, void.reason, void.voided_by_id) == (
            first.id,
            "身份证件系冒用",
            staff.id,
        )
        assert void.in_force
        with pytest.raises(RegistryError, match="身份证件系冒用"):
            practitioners.register_practitioner(first, again, actor=owner)
        db.session.rollback()
        with pytest.raises(Forbidden):
            voids.lift_void(person_id, void.id, {"reason": "x"}, actor=owner)
        void_id = void.id
    client = app.test_client()
    login(staff, on=client)
    page = client.get(f"/office/practitioners/{person_id}").get_data(as_text=True)
    assert "撤销作废" in page
    assert "身份证件系冒用" in page
    url = f"/office/practitioners/{person_id}/voids/{void_id}/lift"
    assert post_form(client, url, {"reason": ""}).status_code == 302
    with app.app_context():
        assert db.session.get(RegistrationVoid, void_id).lifted_at is None
    assert post_form(client, url, {"reason": "经核实系本人"}).status_code == 302
    with app.app_context():
        void = db.session.get(RegistrationVoid, void_id)
        assert (void.lift_reason, void.lifted_by_id) == ("经核实系本人", staff.id)
        assert not void.in_force
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "practitioner.void_lift")
        ).all()
        assert (entry.detail, entry.actor_id) == ("经核实系本人", staff.id)
        assert "撤销作废" in ACTION_LABELS["practitioner.void_lift"]
        with pytest.raises(RegistryError, match="已撤销"):
            voids.lift_void(person_id, void_id, {"reason": "再撤销"}, actor=_user(staff))
        db.session.rollback()
        owner = _user(staffed["users"][0])
        rejoined = practitioners.register_practitioner(
            _firm(staffed["firms"][0]), again, actor=owner
        )
        db.session.commit()
        assert rejoined.practitioner_id == person_id
    assert "已撤销" in client.get(f"/office/practitioners/{person_id}").get_data(as_text=True)


def test_practitioner_voids_certificate_lift_keeps_the_number_unique(app, make_user, staffed):
    """A voided certificate keeps its number key (no suffix) and holds no number; after the lift
    the firm adds the number again as a new row, unless another firm's person holds it now; the
    database refuses two rows holding one number."""
    staff = make_user("staff")
    holder = staffed["ids"]["龚向明"]
    with app.app_context():
        owner, other = _user(staffed["users"][0]), _user(staffed["users"][1])
        first, second = _firm(staffed["firms"][0]), _firm(staffed["firms"][1])
        certificate = _eia_of(holder)
        voided = voids.void_certificate(
            holder, certificate.id, {"reason": "证书系伪造"}, actor=_user(staff)
        )
        db.session.commit()
        assert (voided.voided, voided.number_key) == (True, "HP20210001")
        assert voided.withdrawn_on == clock.today()
        assert voided.withdrawn_reason == "证书系伪造"
        with pytest.raises(RegistryError, match="已作废"):
            voids.void_certificate(holder, certificate.id, {"reason": "again"}, actor=_user(staff))
        db.session.rollback()
        (void,) = db.session.scalars(select(RegistrationVoid)).all()
        assert (void.certificate_id, void.provider_id) == (certificate.id, first.id)
        number = _certificate(EIA, "HP-2021-0001", 300)
        with pytest.raises(RegistryError, match="证书系伪造"):
            practitioners.add_certificate(first, holder, number, actor=owner)
        db.session.rollback()
        voids.lift_void(holder, void.id, {"reason": "证书真实"}, actor=_user(staff))
        db.session.commit()
        # Lifted: the firm may add the number again, as a new row; the voided row stays.
        again = practitioners.add_certificate(first, holder, number, actor=owner)
        db.session.commit()
        assert again.id != certificate.id
        assert not again.voided
        assert db.session.get(PractitionerCertificate, certificate.id).voided
        # The number is held once: another firm's person is refused (挂证), and the database
        # refuses a second row holding it.
        with pytest.raises(RegistryError):
            practitioners.add_certificate(second, staffed["ids"]["谭静"], number, actor=other)
        db.session.rollback()
        clash = PractitionerCertificate(
            practitioner_id=staffed["ids"]["谭静"],
            **{**number, "number_key": "HP20210001"},
        )
        db.session.add(clash)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_practitioner_voids_records_are_written_once(app, make_user, staffed):
    """A void's facts never change, its lift is written once, and rows are never deleted (ORM
    and raw SQL); a void that gave way to an entered firm cannot be lifted."""
    staff = make_user("staff")
    person_id = staffed["ids"]["谭静"]
    with app.app_context():
        employment = db.session.get(Practitioner, person_id).current_employment
        voids.void_employment(person_id, employment.id, {"reason": "不实"}, actor=_user(staff))
        db.session.commit()
        void = db.session.scalars(select(RegistrationVoid)).one()
        void.reason = "改写"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(Exception, match="final"):
            db.session.execute(text("UPDATE registration_voids SET reason = 'x'"))
        db.session.rollback()
        with pytest.raises(Exception, match="final"):
            db.session.execute(text("DELETE FROM registration_voids"))
        db.session.rollback()
        displaced = RegistrationVoid(
            subject="employment",
            employment_id=employment.id,
            practitioner_id=person_id,
            provider_id=employment.provider_id,
            cause=VoidCause.DISPLACED,
            reason="让位",
            voided_at=clock.now(),
        )
        db.session.add(displaced)
        db.session.commit()
        with pytest.raises(RegistryError, match="不能撤销"):
            voids.lift_void(person_id, displaced.id, {"reason": "x"}, actor=_user(staff))


def test_practitioner_voids_inviter_column_and_masked_mail(app, make_user, staffed):
    """The inviting firm is stored on the link (and cleared with it); 政务办's invitation stores
    none; the mail to the typed address names the person masked, never in full."""
    staff = make_user("staff")
    person_id = staffed["ids"]["龚向明"]
    other_id = staffed["ids"]["谭静"]
    with app.app_context():
        owner = _user(staffed["users"][0])
        first = _firm(staffed["firms"][0])
        accounts.invite_account(
            person_id, {"email": "gong@example.cn", "username": "gongxm"}, actor=owner
        )
        accounts.invite_account(
            other_id, {"email": "tan@example.cn", "username": "tanjing"}, actor=_user(staff)
        )
        db.session.commit()
        assert db.session.get(Practitioner, person_id).invited_by_provider_id == first.id
        assert db.session.get(Practitioner, other_id).invited_by_provider_id is None
        mail = db.session.scalars(
            select(MailMessage).where(MailMessage.to_address == "gong@example.cn")
        ).one()
        assert "龚*明" in mail.subject
        assert "龚*明" in mail.body
        assert "龚向明" not in mail.subject
        assert "龚向明" not in mail.body
        assert first.name in mail.body
        office_mail = db.session.scalars(
            select(MailMessage).where(MailMessage.to_address == "tan@example.cn")
        ).one()
        assert "谭*" in office_mail.body
        assert "谭静" not in office_mail.body
        assert "政务服务办公室" in office_mail.body
        # The office's void of the inviting firm's employment takes the account; the column goes.
        employment = db.session.get(Practitioner, person_id).current_employment
        voids.void_employment(person_id, employment.id, {"reason": "冒用"}, actor=_user(staff))
        db.session.commit()
        person = db.session.get(Practitioner, person_id)
        assert (person.account_id, person.invited_by_provider_id) == (None, None)
        # An account 政务办 invited is not taken by a void of the firm's employment.
        employment = db.session.get(Practitioner, other_id).current_employment
        voids.void_employment(other_id, employment.id, {"reason": "冒用"}, actor=_user(staff))
        db.session.commit()
        assert db.session.get(Practitioner, other_id).account_id is not None
        assert db.session.get(Employment, employment.id).ended_on == clock.today()


def test_practitioner_voids_migration_0024_converts_the_string_encoded_voids(
    app, make_user, staffed
):
    """Down to 0023 the voids are written back into strings (the "~void<id>" key suffix, the
    政务办 reason prefix, the audit entry of an employment's void); up again they become records
    with the same facts, the inviter read back from the audit log."""
    from flask_migrate import downgrade, stamp, upgrade

    staff = make_user("staff")
    holder, other = staffed["ids"]["龚向明"], staffed["ids"]["谭静"]
    with app.app_context():
        owner = _user(staffed["users"][0])
        first = _firm(staffed["firms"][0])
        certificate = _eia_of(holder)
        voids.void_certificate(holder, certificate.id, {"reason": "证书系伪造"}, actor=_user(staff))
        employment = db.session.get(Practitioner, other).current_employment
        voids.void_employment(other, employment.id, {"reason": "冒用"}, actor=_user(staff))
        accounts.invite_account(
            holder, {"email": "gong@example.cn", "username": "gongxm"}, actor=owner
        )
        db.session.commit()
        certificate_id, employment_id = certificate.id, employment.id
        first_id, employer_id = first.id, employment.provider_id
        db.session.remove()
        stamp()
        downgrade(revision="0023")
        row = db.session.execute(
            text(
                "SELECT number_key, withdrawn_reason FROM practitioner_certificates WHERE id = :id"
            ),
            {"id": certificate_id},
        ).one()
        assert row.number_key == f"HP20210001~void{certificate_id}"
        assert row.withdrawn_reason == "政务服务办公室作废:证书系伪造"
        db.session.remove()
        upgrade()
        certificate = db.session.get(PractitionerCertificate, certificate_id)
        assert (certificate.number_key, certificate.voided) == ("HP20210001", True)
        assert certificate.withdrawn_reason == "证书系伪造"
        records = db.session.scalars(select(RegistrationVoid).order_by(RegistrationVoid.id)).all()
        assert sorted((v.subject, v.cause, v.reason, v.provider_id) for v in records) == sorted(
            [
                ("certificate", VoidCause.OFFICE, "证书系伪造", first_id),
                ("employment", VoidCause.OFFICE, "冒用", employer_id),
            ]
        )
        assert {v.voided_by_id for v in records} == {staff.id}
        assert [v.employment_id for v in records if v.subject == "employment"] == [employment_id]
        assert db.session.get(Practitioner, holder).invited_by_provider_id == first_id
        # The void still blocks the firm after the round trip.
        number = _certificate(EIA, "HP-2021-0001", 300)
        with pytest.raises(RegistryError, match="证书系伪造"):
            practitioners.add_certificate(
                _firm(staffed["firms"][0]), holder, number, actor=_user(staffed["users"][0])
            )
        db.session.rollback()
