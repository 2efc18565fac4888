"""The draw pool is what was on record at the deadline instant (issue 17): each quote's team is
judged on the deadline day by the certificate versions and employments entered by the deadline,
so a change entered after it but dated on or before the deadline day (a backdated renewal, a
withdrawal or an end of employment on the deadline day, a certificate registered with an earlier
valid_from) cannot change who is drawn from. Both databases; migration 0025 both ways."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    CertificateVersion,
    Employment,
    Practitioner,
    PractitionerCertificate,
    Provider,
    User,
)
from registry.models.practitioners import VERSIONED_FIELDS
from registry.services import market, practitioners
from registry.services.market import staffing
from registry.services.practitioners import voids
from tests.test_market_practitioners import EIA, _firms, _person, _quote


def _pool(app, make_user, lapsed: bool = False) -> dict:
    """Three ZJ-03 firms whose leaders (the first one's 环评 certificate ending the day before
    the deadline day when `lapsed`) quoted on a request wanting a 环评 项目负责人, its deadline
    at 15:00 three days on; the clock then stands one minute after the deadline."""
    firms = _firms(app, make_user, 3)
    with app.app_context():
        day = clock.today() + timedelta(days=3)
        leaders = []
        for number, pid in enumerate(firms["providers"]):
            valid_to = day - timedelta(days=1) if lapsed and number == 0 else None
            provider = db.session.get(Provider, pid)
            leaders.append(_person(provider, f"陈{number}明", EIA, valid_to=valid_to))
        ref = market.open_request(
            db.session.get(User, firms["owner"].id),
            firms["project"],
            service_code="ZJ-03",
            method="随机抽取",
            deadline=clock.at(day, 15),
            leader_certificate=EIA,
        ).ref
        db.session.commit()
    for account, leader in zip(firms["accounts"], leaders, strict=True):
        _quote(app, account, ref, leader)
    with app.app_context():
        deadline = market.get_request(ref).deadline
        uscc = [db.session.get(Provider, pid).uscc for pid in firms["providers"]]
    clock.freeze(deadline + timedelta(minutes=1))
    return {**firms, "ref": ref, "day": day, "leaders": leaders, "uscc": uscc}


def _judged(app, pool) -> tuple[list[str], dict[str, str]]:
    """The draw's candidates and the unstaffed (uscc → why), as the owner's decision sees them."""
    with app.app_context():
        plan = market.plan_decision(db.session.get(User, pool["owner"].id), pool["ref"])
        return plan.participants, {uscc: why for _name, uscc, why in plan.unstaffed}


def _first(pool) -> tuple[Provider, User, PractitionerCertificate]:
    """The first firm, its account and its leader's 环评 certificate."""
    provider = db.session.get(Provider, pool["providers"][0])
    account = db.session.get(User, pool["accounts"][0].id)
    certificate = db.session.scalar(
        select(PractitionerCertificate).where(
            PractitionerCertificate.practitioner_id == pool["leaders"][0]
        )
    )
    return provider, account, certificate


def _staffed_now(pool) -> bool:
    """Whether the first firm's people as the rows stand now meet the request on its deadline
    day (the pre-quote check): shows the change did reach the rows."""
    request = market.get_request(pool["ref"])
    provider = db.session.get(Provider, pool["providers"][0])
    return provider.id not in staffing.staffing_gaps(request, [provider], pool["day"])


def test_draw_pool_backdated_renewal_after_the_deadline_does_not_restaff(app, make_user):
    pool = _pool(app, make_user, lapsed=True)
    before = _judged(app, pool)
    assert before[0] == sorted(pool["uscc"][1:])
    assert before[1][pool["uscc"][0]].startswith(f"项目负责人陈*明已不再持有有效的{EIA}证书")
    with app.app_context():
        provider, account, certificate = _first(pool)
        practitioners.renew_certificate(
            provider,
            certificate.id,
            {
                "valid_from": pool["day"] - timedelta(days=30),
                "valid_to": pool["day"] + timedelta(days=900),
            },
            actor=account,
        )
        db.session.commit()
        assert _staffed_now(pool)  # the row now covers the deadline day
        recorded = db.session.scalars(
            select(CertificateVersion).where(CertificateVersion.certificate_id == certificate.id)
        ).all()
        assert [v.valid_to for v in recorded] == [
            pool["day"] - timedelta(days=1),
            pool["day"] + timedelta(days=900),
        ]
        assert recorded[-1].recorded_by_id == account.id
    assert _judged(app, pool) == before
    with app.app_context():
        award = market.decide(db.session.get(User, pool["owner"].id), pool["ref"]).award
        db.session.commit()
        assert award.draw_inputs["candidates"] == sorted(pool["uscc"][1:])
        assert set(award.draw_inputs["unstaffed"]) == {pool["uscc"][0]}
        assert market.verify_award(award)["candidates_match"]


def test_draw_pool_withdrawal_on_the_deadline_day_after_the_deadline_keeps_the_quote(
    app, make_user
):
    pool = _pool(app, make_user)
    with app.app_context():
        provider, account, certificate = _first(pool)
        practitioners.withdraw_certificate(
            provider, certificate.id, {"reason": "证书已被注册机关注销"}, actor=account
        )
        db.session.commit()
        assert certificate.withdrawn_on == pool["day"]
        assert not _staffed_now(pool)
    candidates, unstaffed = _judged(app, pool)
    assert candidates == sorted(pool["uscc"])
    assert unstaffed == {}


def test_draw_pool_employment_end_entered_after_the_deadline_keeps_the_quote(app, make_user):
    """政务办 voids the leader's employment later on the deadline day: it ends that day, entered
    after the deadline instant, so the quote stays a candidate (the provider's own departure is
    refused that day, test_market_draw_pool.py)."""
    pool = _pool(app, make_user)
    staff = make_user("staff")
    with app.app_context():
        person = db.session.get(Practitioner, pool["leaders"][0])
        employment = person.current_employment
        voids.void_employment(
            person.id,
            employment.id,
            {"reason": "登记信息有误"},
            actor=db.session.get(User, staff.id),
        )
        db.session.commit()
        ended = db.session.get(Employment, employment.id)
        assert ended.ended_on == pool["day"]
        assert ended.ended_recorded_at == clock.now()
        assert not _staffed_now(pool)
    candidates, unstaffed = _judged(app, pool)
    assert candidates == sorted(pool["uscc"])
    assert unstaffed == {}


def test_draw_pool_certificate_registered_after_the_deadline_does_not_staff(app, make_user):
    pool = _pool(app, make_user, lapsed=True)
    with app.app_context():
        provider, account, _lapsed = _first(pool)
        practitioners.add_certificate(
            provider,
            pool["leaders"][0],
            {
                "kind": EIA,
                "number": "HP-2031-7788",
                "issuer": "生态环境部",
                "valid_from": pool["day"] - timedelta(days=60),
                "valid_to": pool["day"] + timedelta(days=900),
            },
            actor=account,
        )
        db.session.commit()
        assert _staffed_now(pool)
    candidates, unstaffed = _judged(app, pool)
    assert candidates == sorted(pool["uscc"][1:])
    assert unstaffed[pool["uscc"][0]].startswith(f"项目负责人陈*明已不再持有有效的{EIA}证书")


def test_draw_pool_as_recorded_reads_entry_times():
    """An employment or an end entered after the instant counts for nothing; an end entered
    before this was recorded (no time) counts; a certificate reads its last version by then."""
    at = datetime(2026, 12, 10, 7, tzinfo=UTC)
    day = date(2026, 12, 10)
    before, after = at - timedelta(hours=1), at + timedelta(hours=1)

    def job(created, ended_on=None, recorded=None) -> Employment:
        return Employment(
            started_on=date(2026, 1, 1),
            ended_on=ended_on,
            ended_recorded_at=recorded,
            created_at=created,
        )

    assert job(before).was_current(day, at)
    assert not job(after).was_current(day, at)  # registered later, whatever started_on says
    assert job(before, day, after).was_current(day, at)  # ended later, on the day
    assert not job(before, day, before).was_current(day, at)
    assert not job(before, day, None).was_current(day, at)  # an end from before 0025
    assert job(before, day + timedelta(days=1), before).was_current(day, at)

    certificate = PractitionerCertificate(valid_from=date(2020, 1, 1), valid_to=day)
    certificate.versions = [
        CertificateVersion(
            recorded_at=before, valid_from=date(2020, 1, 1), valid_to=day - timedelta(1)
        ),
        CertificateVersion(recorded_at=after, valid_from=date(2020, 1, 1), valid_to=day),
    ]
    assert certificate.as_recorded(at).valid_to == day - timedelta(days=1)
    assert not certificate.as_recorded(at).is_valid(day)
    assert certificate.as_recorded(before - timedelta(hours=1)) is None
    assert certificate.as_recorded(after).is_valid(day)


def _open_job(person_id: int, provider_id: int, day: date) -> None:
    """An open employment written as the 0024 schema takes it (no ORM: the model is newer)."""
    db.session.execute(
        text(
            "INSERT INTO employments (practitioner_id, provider_id, started_on, created_at) "
            "VALUES (:person, :provider, :day, CURRENT_TIMESTAMP)"
        ),
        {"person": person_id, "provider": provider_id, "day": day},
    )


def test_draw_pool_migration_0025_backfills_and_goes_down(app, make_user):
    """Down to 0024 the versions and the entry time of ends are gone and the open-employment
    index still partial; up again each certificate has one version, recorded at its created_at,
    and existing ends carry no entry time (taken as on record)."""
    from flask_migrate import downgrade, stamp, upgrade

    pool = _pool(app, make_user)
    staff = make_user("staff")
    with app.app_context():
        provider, account, certificate = _first(pool)
        practitioners.withdraw_certificate(
            provider, certificate.id, {"reason": "注销"}, actor=account
        )
        person = db.session.get(Practitioner, pool["leaders"][1])
        voids.void_employment(
            person.id,
            person.current_employment.id,
            {"reason": "登记信息有误"},
            actor=db.session.get(User, staff.id),
        )
        db.session.commit()
        certificate_id, created_at = certificate.id, certificate.created_at
        db.session.remove()
        stamp()
        downgrade(revision="0024")
        inspector = db.inspect(db.engine)
        assert "certificate_versions" not in inspector.get_table_names()
        assert "ended_recorded_at" not in {c["name"] for c in inspector.get_columns("employments")}
        # The open-employment index is still partial: a past job and an open one are fine, two
        # open ones are not.
        _open_job(pool["leaders"][1], pool["providers"][2], pool["day"])
        with pytest.raises(IntegrityError), db.session.begin_nested():
            _open_job(pool["leaders"][1], pool["providers"][0], pool["day"])
        db.session.rollback()
        db.session.remove()
        upgrade()
        rows = db.session.scalars(
            select(CertificateVersion).where(CertificateVersion.certificate_id == certificate_id)
        ).all()
        assert [(v.recorded_at, v.withdrawn_on, v.recorded_by_id) for v in rows] == [
            (created_at, pool["day"], None)
        ]
        total = db.session.scalar(select(func.count(PractitionerCertificate.id)))
        assert db.session.scalar(select(func.count(CertificateVersion.id))) == total
        ended = db.session.get(Practitioner, pool["leaders"][1]).employments[0]
        assert (ended.ended_on, ended.ended_recorded_at) == (pool["day"], None)
        # Append-only in the database too.
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM certificate_versions"))
        db.session.rollback()
    # Changes entered before 0025 are taken as on record by their dates, as before it: the
    # withdrawal (in the one version, since created_at) and the void's end (no entry time).
    candidates, unstaffed = _judged(app, pool)
    assert candidates == [pool["uscc"][2]]
    assert set(unstaffed) == {pool["uscc"][0], pool["uscc"][1]}


def _as_row(row) -> tuple:
    return tuple(getattr(row, name) for name in VERSIONED_FIELDS)


def test_draw_pool_every_certificate_change_writes_a_version(app, make_user):
    """Adding, correcting, withdrawing, adding the same number again (the withdrawn row's key
    moved aside) and 政务办's void each leave the last version equal to the row."""
    staff = make_user("staff")
    pool = _pool(app, make_user)
    with app.app_context():
        provider, account, _lapsed = _first(pool)
        leader = pool["leaders"][0]
        fields = {
            "kind": EIA,
            "number": "HP-2031-0001",
            "issuer": "生态环境部",
            "valid_from": date(2030, 1, 1),
            "valid_to": date(2035, 1, 1),
        }
        first = practitioners.add_certificate(provider, leader, fields, actor=account)
        practitioners.correct_certificate(
            provider,
            first.id,
            {**fields, "valid_from": date(2030, 2, 1), "note": "有效期起录入有误"},
            actor=account,
        )
        practitioners.withdraw_certificate(provider, first.id, {"reason": "注销"}, actor=account)
        again = practitioners.add_certificate(provider, leader, fields, actor=account)
        voids.void_certificate(
            leader, again.id, {"reason": "证书系伪造"}, actor=db.session.get(User, staff.id)
        )
        db.session.commit()
        assert [v.valid_from for v in first.versions] == [
            date(2030, 1, 1),
            date(2030, 2, 1),
            date(2030, 2, 1),
            date(2030, 2, 1),
        ]
        assert first.versions[-1].number_key.endswith(f"~old{first.id}")
        assert [v.withdrawn_on for v in again.versions] == [None, clock.today()]
        assert again.versions[-1].recorded_by_id == staff.id
        for certificate in db.session.get(Practitioner, leader).certificates:
            assert _as_row(certificate.versions[-1]) == _as_row(certificate)


@pytest.mark.demo
def test_draw_pool_every_demo_certificate_is_on_record(app):
    """Whichever way the demo seeds a certificate, its last version is the row as it stands."""
    with app.app_context():
        certificates = db.session.scalars(select(PractitionerCertificate)).all()
        assert certificates
        for certificate in certificates:
            assert certificate.versions, certificate.id
            assert _as_row(certificate.versions[-1]) == _as_row(certificate)
