"""Review of issue 17's practitioners: an applicant's registrations give way to an entered firm's
(squatting), a conflict between two entered firms is recorded against both and waits on the
pending work of 政务办 and the regulators, who void a registration from the audited unmasked
view; regulators see unmasked only people of firms they supervise; former staff are masked on the
roster and scans go only to the firm that uploaded them."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    BehaviourEvent,
    Employment,
    PractitionerCertificate,
    Provider,
    ProviderStatus,
    User,
)
from registry.services import practitioners
from registry.services.errors import RegistryError
from tests import test_practitioner_pages as pages
from tests.conftest import post_form
from tests.factories import active_provider
from tests.test_practitioner_pages import _certificate, id_number

EIA = "环境影响评价工程师"
staffed = pages.staffed  # the two entered firms and their people
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _firm(uscc: str) -> Provider:
    return db.session.scalar(select(Provider).where(Provider.uscc == uscc))


def _draft(make_user, codes=("ZJ-03",)) -> tuple[object, int]:
    """A provider still applying (草稿) with an account."""
    made = make_user("provider")
    squat = active_provider(codes, account=db.session.get(User, made.id))
    squat.status = ProviderStatus.DRAFT.value
    db.session.commit()
    return made, squat.id


def _events(provider_id: int) -> list[BehaviourEvent]:
    return list(
        db.session.scalars(select(BehaviourEvent).where(BehaviourEvent.provider_id == provider_id))
    )


def test_practitioner_squatting_applicant_gives_way(app, make_user, staffed):
    """A draft firm registers a made-up person with a real certificate number, and a real
    person's ID under a wrong name: the entered firm's registrations succeed, no event is held
    against it, and the draft's rows are voided (audited)."""
    with app.app_context():
        made, squat_id = _draft(make_user)
        acct, squat = db.session.get(User, made.id), db.session.get(Provider, squat_id)
        fake = practitioners.register_practitioner(
            squat,
            {"name": "假人", "id_number": id_number(400), "started_on": clock.today()},
            actor=acct,
        )
        practitioners.add_certificate(
            squat, fake.practitioner_id, _certificate(EIA, "HP-2030-7777", 300), actor=acct
        )
        taken = practitioners.register_practitioner(
            squat,
            {"name": "冒名", "id_number": id_number(401), "started_on": clock.today()},
            actor=acct,
        )
        db.session.commit()
        victim = _firm(staffed["firms"][0])
        owner = db.session.get(User, staffed["users"][0].id)
        real = practitioners.add_certificate(
            victim, staffed["ids"]["龚向明"], _certificate(EIA, "HP-2030-7777", 300), actor=owner
        )
        joined = practitioners.register_practitioner(
            victim,
            {"name": "真名字", "id_number": id_number(401), "started_on": clock.today()},
            actor=owner,
        )
        db.session.commit()
        assert real.practitioner_id == staffed["ids"]["龚向明"]
        assert joined.practitioner_id == taken.practitioner_id
        assert joined.practitioner.name == "真名字"
        assert _events(victim.id) == []
        squatted = db.session.scalar(
            select(PractitionerCertificate).where(
                PractitionerCertificate.practitioner_id == fake.practitioner_id
            )
        )
        assert squatted.withdrawn_on == clock.today()
        assert db.session.get(Employment, taken.id).ended_on == taken.started_on
        voids = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "practitioner.registration_void")
        ).all()
        assert len(voids) == 3


def test_practitioner_squatting_conflict_both_sides_pending_and_void(
    app, make_user, login, staffed
):
    """Two entered firms over one certificate: an event against each naming the other, the
    conflict on staff's and the supervising regulator's pending work, and staff void it."""
    with app.app_context():
        second = _firm(staffed["firms"][1])
        acct = db.session.get(User, staffed["users"][1].id)
        with pytest.raises(RegistryError):
            practitioners.add_certificate(
                second, staffed["ids"]["谭静"], _certificate(EIA, "HP-2021-0001", 100), actor=acct
            )
        db.session.commit()  # the view's keep=True
        first = _firm(staffed["firms"][0])
        (mine,), (theirs,) = _events(second.id), _events(first.id)
        assert first.name in mine.details["facts"]
        assert second.name in theirs.details["facts"]
        holder_id = staffed["ids"]["龚向明"]
        certificate_id = db.session.scalar(
            select(PractitionerCertificate.id).where(
                PractitionerCertificate.practitioner_id == holder_id,
                PractitionerCertificate.kind == EIA,
            )
        )
    staff, sthj, sw = make_user("staff"), make_user("regulator"), make_user("regulator", "SW")
    for user, shown in ((staff, True), (sthj, True), (sw, False)):
        client = app.test_client()
        login(user, on=client)
        page = client.get("/office/practitioner-conflicts").get_data(as_text=True)
        assert (f"/office/practitioners/{holder_id}" in page) is shown, user.role
    client = app.test_client()
    login(staff, on=client)
    assert "挂证嫌疑冲突" in client.get("/my/pending").get_data(as_text=True)
    url = f"/office/practitioners/{holder_id}/certificates/{certificate_id}/void"
    response = post_form(client, url, {"reason": "经核实为冒用"})
    assert response.status_code == 302
    with app.app_context():
        certificate = db.session.get(PractitionerCertificate, certificate_id)
        assert certificate.withdrawn_on == clock.today()
        assert "经核实为冒用" in certificate.withdrawn_reason
        # The number is free for the real holder now.
        second = _firm(staffed["firms"][1])
        acct = db.session.get(User, staffed["users"][1].id)
        practitioners.add_certificate(
            second, staffed["ids"]["谭静"], _certificate(EIA, "HP-2021-0001", 100), actor=acct
        )
        db.session.commit()
        assert db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "practitioner.registration_void")
        ).all()
    provider_client = app.test_client()
    login(staffed["users"][0], on=provider_client)
    assert post_form(provider_client, url, {"reason": "x"}).status_code in (302, 403)
    with app.app_context():
        eid = db.session.scalar(
            select(Employment.id).where(Employment.practitioner_id == holder_id)
        )
    void = f"/office/practitioners/{holder_id}/employments/{eid}/void"
    assert post_form(client, void, {"reason": "登记不实"}).status_code == 302
    with app.app_context():
        assert db.session.get(Employment, eid).ended_on == clock.today()


def test_practitioner_unmasked_regulator_only_for_supervised_firms(app, make_user, login, staffed):
    person_id = staffed["ids"]["龚向明"]
    for user, status in ((make_user("regulator"), 200), (make_user("regulator", "SW"), 403)):
        client = app.test_client()
        login(user, on=client)
        assert client.get(f"/office/practitioners/{person_id}").status_code == status
    with app.app_context():
        made, draft_id = _draft(make_user, ("ZJ-11",))
        draft = db.session.get(Provider, draft_id)
        hired = practitioners.register_practitioner(
            draft,
            {"name": "新人员", "id_number": id_number(402), "started_on": clock.today()},
            actor=db.session.get(User, made.id),
        )
        db.session.commit()
        newcomer = hired.practitioner_id
    client = app.test_client()
    login(make_user("regulator"), on=client)
    assert client.get(f"/office/practitioners/{newcomer}").status_code == 403


def test_practitioner_former_staff_masked_and_scans_stay_with_the_uploader(
    app, make_user, login, staffed
):
    person_id = staffed["ids"]["谭静"]
    with app.app_context():
        second = _firm(staffed["firms"][1])
        acct = db.session.get(User, staffed["users"][1].id)
        certificate = practitioners.add_certificate(
            second,
            person_id,
            _certificate("注册造价工程师", "ZJ-5555-1234", 100),
            actor=acct,
            scan=FileStorage(io.BytesIO(PDF), "scan.pdf", content_type="application/pdf"),
        )
        db.session.commit()
        certificate_id = certificate.id
        employment = db.session.scalar(
            select(Employment).where(Employment.practitioner_id == person_id)
        )
        practitioners.end_employment(second, employment.id, {"ended_on": clock.today()}, actor=acct)
        db.session.commit()
        first = _firm(staffed["firms"][0])
        practitioners.register_practitioner(
            first,
            {"name": "谭静", "id_number": id_number(23), "started_on": clock.today()},
            actor=db.session.get(User, staffed["users"][0].id),
        )
        db.session.commit()
    old = app.test_client()
    login(staffed["users"][1], on=old)
    roster = old.get("/my/provider/practitioners").get_data(as_text=True)
    assert "谭*" in roster
    assert "谭静" not in roster
    new = app.test_client()
    login(staffed["users"][0], on=new)
    scan = f"/my/provider/practitioners/certificates/{certificate_id}/scan"
    assert new.get(scan).status_code == 404
    assert scan not in new.get("/my/provider/practitioners").get_data(as_text=True)
