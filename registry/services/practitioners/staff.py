"""Who works where: a provider's current staff, the practitioners who count on a day (employed
that day and holding a certificate valid that day) and the provider's strength per certificate
type. Other modules (the marketplace, the profile, the API) read people through here."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.kernel.paging import Page, paginate
from registry.models import Employment, Practitioner, PractitionerCertificate, Provider


def employed_on(on: date):
    """Filter on Employment: current on the day (ended_on is the first day no longer there)."""
    return and_(
        Employment.started_on <= on, or_(Employment.ended_on.is_(None), Employment.ended_on > on)
    )


def _current_query(provider: Provider, kind: str | None = None):
    """The provider's open employments by name; with `kind`, of people holding a certificate of
    that type that is not withdrawn (expired ones included: they are the ones to renew)."""
    query = (
        select(Employment)
        .join(Employment.practitioner)
        .where(Employment.provider_id == provider.id, Employment.ended_on.is_(None))
        .order_by(Practitioner.name, Practitioner.id)
    )
    if kind:
        query = query.where(
            exists().where(
                PractitionerCertificate.practitioner_id == Practitioner.id,
                PractitionerCertificate.kind == kind,
                PractitionerCertificate.withdrawn_on.is_(None),
            )
        )
    return query


def _roster_options():
    return (
        selectinload(Employment.practitioner)
        .selectinload(Practitioner.certificates)
        .selectinload(PractitionerCertificate.scan),
    )


def current_staff(provider: Provider) -> list[Employment]:
    """The provider's open employments, people and certificates loaded, by name."""
    return list(db.session.scalars(_current_query(provider).options(*_roster_options())))


def staff_page(
    provider: Provider, *, kind: str | None = None, page: int = 1, per_page: int = 20
) -> Page:
    """One page of the provider's current staff (the roster), optionally only holders of a
    certificate type, people and certificates loaded."""
    return paginate(db.session, _current_query(provider, kind), page, per_page, *_roster_options())


def past_staff(provider: Provider) -> list[Employment]:
    """The provider's ended employments, latest first."""
    return list(
        db.session.scalars(
            select(Employment)
            .where(Employment.provider_id == provider.id, Employment.ended_on.is_not(None))
            .options(selectinload(Employment.practitioner))
            .order_by(Employment.ended_on.desc(), Employment.id.desc())
        )
    )


def valid_certificate(on: date, kind: str | None = None):
    """Filter on PractitionerCertificate: in force on the day (of `kind` if given), not
    withdrawn by then (注销)."""
    condition = and_(
        PractitionerCertificate.valid_from <= on,
        PractitionerCertificate.valid_to >= on,
        or_(
            PractitionerCertificate.withdrawn_on.is_(None),
            PractitionerCertificate.withdrawn_on > on,
        ),
    )
    if kind is not None:
        condition = and_(condition, PractitionerCertificate.kind == kind)
    return condition


def valid_practitioners(
    provider: Provider, on: date, kind: str | None = None
) -> list[Practitioner]:
    """The provider's practitioners who count on the day: employed there that day and holding a
    certificate (of `kind` if given) valid that day; an expired certificate stops counting the
    day after its valid_to. By name."""
    holds = exists().where(
        PractitionerCertificate.practitioner_id == Practitioner.id, valid_certificate(on, kind)
    )
    return list(
        db.session.scalars(
            select(Practitioner)
            .join(Employment, Employment.practitioner_id == Practitioner.id)
            .where(Employment.provider_id == provider.id, employed_on(on), holds)
            .options(selectinload(Practitioner.certificates))
            .order_by(Practitioner.name, Practitioner.id)
        ).unique()
    )


def strength(provider: Provider, on: date) -> dict[str, int]:
    """How many of the provider's people hold a valid certificate of each type on the day."""
    rows = db.session.execute(
        select(PractitionerCertificate.kind, PractitionerCertificate.practitioner_id)
        .join(Employment, Employment.practitioner_id == PractitionerCertificate.practitioner_id)
        .where(Employment.provider_id == provider.id, employed_on(on), valid_certificate(on))
        .distinct()
    )
    return dict(Counter(kind for kind, _ in rows))
