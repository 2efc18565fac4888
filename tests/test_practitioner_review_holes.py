"""Review 2 of issue 17's practitioners: an applicant cannot hand itself a real person's own
account (only entered firms invite; an account the displaced applicant invited is unlinked and
disabled; 政务办 unlinks a wrongly linked one), 政务办's void sticks for the firm whose
registration it voided, and a person's own withdrawn certificate may be registered again by the
next firm (the withdrawn one kept as history). Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    Practitioner,
    PractitionerCertificate,
    Provider,
    ProviderStatus,
    User,
)
from registry.services import practitioners
from registry.services.errors import RegistryError
from registry.services.practitioners import accounts, conflicts
from tests import test_practitioner_pages as pages
from tests.conftest import post_form
from tests.factories import active_provider
from tests.test_practitioner_pages import _certificate, id_number

EIA = "环境影响评价工程师"
staffed = pages.staffed
REAL = "周建国"


def _user(made) -> User:
    return db.session.get(User, made.id)


def _firm(uscc: str) -> Provider:
    return db.session.scalar(select(Provider).where(Provider.uscc == uscc))


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _register(firm, acct, serial=77, name=REAL):
    data = {"name": name, "id_number": id_number(serial), "started_on": clock.today()}
    return practitioners.register_practitioner(firm, data, actor=acct)


def _invite(person_id, acct, email="zhou@example.cn", username="zhoujianguo"):
    return accounts.invite_account(person_id, {"email": email, "username": username}, actor=acct)


def test_practitioner_review_applicant_cannot_invite(app, make_user, login):
    """A provider still applying (草稿) may not invite the person it registered."""
    made = make_user("provider")
    with app.app_context():
        squat = active_provider(("ZJ-03",), account=_user(made))
        squat.status = ProviderStatus.DRAFT.value
        person_id = _register(squat, _user(made)).practitioner_id
        db.session.commit()
        person = db.session.get(Practitioner, person_id)
        assert not policy.may_invite_practitioner(_user(made), person)
        with pytest.raises(RegistryError):
            _invite(person_id, _user(made))
    client = app.test_client()
    login(made, on=client)
    url = f"/my/provider/practitioners/{person_id}/account"
    assert client.get(url).status_code == 403
    answer = post_form(client, url, {"email": "zhou@example.cn", "username": "zhoujianguo"})
    assert answer.status_code == 403
    with app.app_context():
        assert db.session.get(Practitioner, person_id).account_id is None


def test_practitioner_review_displaced_inviter_loses_the_account(app, make_user):
    """An account invited by a firm (say, before it was sent back to 草稿) goes with its
    registration when an entered firm registers the real person: unlinked, disabled, audited;
    the entered firm may then invite the real person."""
    squatter, real = make_user("provider"), make_user("provider")
    with app.app_context():
        squat = active_provider(("ZJ-03",), account=_user(squatter))
        person_id = _register(squat, _user(squatter), name="冒名").practitioner_id
        taken = _invite(person_id, _user(squatter), email="squat@example.cn", username="squat01")
        squat.status = ProviderStatus.DRAFT.value  # the applicant's word only
        firm = active_provider(("ZJ-03",), account=_user(real))
        db.session.commit()
        _register(firm, _user(real))
        db.session.commit()
        person = db.session.get(Practitioner, person_id)
        assert person.name == REAL
        assert person.account_id is None
        assert db.session.get(User, taken.id).is_enabled is False
        (entry,) = _actions("practitioner.account_unlink")
        assert entry.object_id == str(person_id)
        assert "让位" in entry.detail
        fresh = _invite(person_id, _user(real))
        db.session.commit()
        assert db.session.get(Practitioner, person_id).account_id == fresh.id != taken.id


def test_practitioner_review_account_of_the_earlier_entered_firm_is_kept(app, make_user):
    """Only the displaced firm's invitation goes: an account an entered firm invited stays when
    a later applicant's registration of the person gives way."""
    first, draft, third = (make_user("provider") for _ in range(3))
    with app.app_context():
        a = active_provider(("ZJ-03",), account=_user(first))
        employment = _register(a, _user(first))
        user = _invite(employment.practitioner_id, _user(first))
        practitioners.end_employment(a, employment.id, {}, actor=_user(first))
        b = active_provider(("ZJ-03",), account=_user(draft))
        b.status = ProviderStatus.DRAFT.value
        _register(b, _user(draft))
        c = active_provider(("ZJ-03",), account=_user(third))
        db.session.commit()
        _register(c, _user(third))
        db.session.commit()
        assert db.session.get(Practitioner, employment.practitioner_id).account_id == user.id
        assert db.session.get(User, user.id).is_enabled
        assert _actions("practitioner.account_unlink") == []


def test_practitioner_review_office_void_and_unlink(app, make_user, login, staffed):
    """政务办 voids an employment: the account its firm invited is unlinked; the firm cannot
    register the person again; 政务办 unlinks a wrongly linked account on the unmasked view."""
    staff = make_user("staff")
    person_id = staffed["ids"]["欧阳小芳"]
    other_id = staffed["ids"]["谭静"]
    with app.app_context():
        owner = db.session.get(User, staffed["users"][0].id)
        first = _firm(staffed["firms"][0])
        user = _invite(person_id, owner, email="oy@example.cn", username="ouyangxf")
        employment = db.session.get(Practitioner, person_id).current_employment
        conflicts.void_employment(
            person_id, employment.id, {"reason": "身份证件系冒用"}, actor=_user(staff)
        )
        db.session.commit()
        assert db.session.get(Practitioner, person_id).account_id is None
        assert db.session.get(User, user.id).is_enabled is False
        again = {"name": "欧阳小芳", "id_number": id_number(22), "started_on": clock.today()}
        with pytest.raises(RegistryError) as refused:
            practitioners.register_practitioner(first, again, actor=owner)
        assert "政务服务办公室" in refused.value.message
        assert "身份证件系冒用" in refused.value.message
        assert _actions("practitioner.void_refused")[0].outcome == "refused"
        db.session.rollback()
        # The other firm may register her.
        second = _firm(staffed["firms"][1])
        practitioners.register_practitioner(
            second, again, actor=db.session.get(User, staffed["users"][1].id)
        )
        held = _invite(
            other_id,
            db.session.get(User, staffed["users"][1].id),
            email="tj@example.cn",
            username="tanjing",
        ).id
        db.session.commit()
    client = app.test_client()
    login(staff, on=client)
    page = client.get(f"/office/practitioners/{other_id}").get_data(as_text=True)
    assert "解除本人账户关联" in page
    url = f"/office/practitioners/{other_id}/account/unlink"
    assert post_form(client, url, {"reason": ""}).status_code == 302
    with app.app_context():
        assert db.session.get(Practitioner, other_id).account_id == held
    assert post_form(client, url, {"reason": "邮箱非本人所有"}).status_code == 302
    with app.app_context():
        assert db.session.get(Practitioner, other_id).account_id is None
        assert db.session.get(User, held).is_enabled is False
        entry = _actions("practitioner.account_unlink")[-1]
        assert entry.actor_id == staff.id
        assert "邮箱非本人所有" in entry.detail


def test_practitioner_review_voided_certificate_stays_voided(app, make_user, staffed):
    """A certificate 政务办 voided cannot be added again by the firm it was voided for (to the
    same person or another); another firm's real holder may register the number."""
    staff = make_user("staff")
    person_id = staffed["ids"]["龚向明"]
    with app.app_context():
        owner = db.session.get(User, staffed["users"][0].id)
        first = _firm(staffed["firms"][0])
        certificate = db.session.scalar(
            select(PractitionerCertificate).where(
                PractitionerCertificate.practitioner_id == person_id,
                PractitionerCertificate.kind == EIA,
            )
        )
        conflicts.void_certificate(
            person_id, certificate.id, {"reason": "证书系伪造"}, actor=_user(staff)
        )
        db.session.commit()
        for who in (person_id, staffed["ids"]["欧阳小芳"]):
            with pytest.raises(RegistryError) as refused:
                practitioners.add_certificate(
                    first, who, _certificate(EIA, "HP 2021 0001", 300), actor=owner
                )
            assert "证书系伪造" in refused.value.message
            db.session.rollback()
        second = _firm(staffed["firms"][1])
        added = practitioners.add_certificate(
            second,
            staffed["ids"]["谭静"],
            _certificate(EIA, "HP-2021-0001", 300),
            actor=db.session.get(User, staffed["users"][1].id),
        )
        db.session.commit()
        assert added.number_key == "HP20210001"


def test_practitioner_review_withdrawn_certificate_added_by_the_next_firm(app, staffed):
    """A withdraws (注销) a person's certificate, the person moves to B: B adds the same number
    (a new row; the withdrawn one kept with its number as entered) and may renew it."""
    person_id = staffed["ids"]["龚向明"]
    with app.app_context():
        owner = db.session.get(User, staffed["users"][0].id)
        other = db.session.get(User, staffed["users"][1].id)
        first, second = _firm(staffed["firms"][0]), _firm(staffed["firms"][1])
        old = db.session.scalar(
            select(PractitionerCertificate).where(
                PractitionerCertificate.practitioner_id == person_id,
                PractitionerCertificate.kind == EIA,
            )
        )
        practitioners.withdraw_certificate(first, old.id, {"reason": "证书遗失"}, actor=owner)
        employment = db.session.get(Practitioner, person_id).current_employment
        practitioners.end_employment(first, employment.id, {}, actor=owner)
        data = {"name": "龚向明", "id_number": id_number(21), "started_on": clock.today()}
        practitioners.register_practitioner(second, data, actor=other)
        db.session.commit()
        new = practitioners.add_certificate(
            second, person_id, _certificate(EIA, "HP-2021-0001", 300), actor=other
        )
        db.session.commit()
        db.session.refresh(old)
        assert new.id != old.id
        assert new.number_key == "HP20210001"
        assert old.number == "HP-2021-0001"
        assert old.withdrawn_on is not None
        assert old.number_key.startswith("HP20210001~old")
        assert _actions("practitioner.certificate_readd")[0].object_id == str(old.id)
        renewal = {
            "valid_from": clock.today(),
            "valid_to": clock.today() + timedelta(days=900),
        }
        practitioners.renew_certificate(second, new.id, renewal, actor=other)
        db.session.commit()
        with pytest.raises(RegistryError, match="已登记过"):
            practitioners.add_certificate(
                second, person_id, _certificate(EIA, "HP-2021-0001", 300), actor=other
            )
