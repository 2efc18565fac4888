"""Which documents change when a row changes that they show but do not own (search/documents.py
registers them): a renamed department's items and notices, a service's approvals, providers and
award notices, a provider's people, an offer's provider, a person's employment or certificate.
Kept apart from how each document is made, so that each room holds one thing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from registry.models.catalogue import ApprovalItem, Department, ServiceItem
from registry.models.credit import CreditRecord, CreditStatus
from registry.models.market import Award, SelectionRequest
from registry.models.practitioners import Employment, PractitionerCertificate
from registry.models.providers import Offer, Provider, ProviderStatus


def department_dependents(item: Department) -> list[tuple[str, str]]:
    """A renamed department changes the text of the items it supervises."""
    from sqlalchemy.orm import object_session

    session = object_session(item)
    if session is None or item.id is None:
        return []
    with session.no_autoflush:
        services = session.scalars(
            select(ServiceItem.code).where(ServiceItem.department_id == item.id)
        ).all()
        approvals = session.scalars(
            select(ApprovalItem.code).where(ApprovalItem.department_id == item.id)
        ).all()
        # Its credit notices carry its short name (stale after a rename: a tester, stop 29).
        notices = session.scalars(
            select(CreditRecord.number).where(
                CreditRecord.department_id == item.id,
                CreditRecord.status == CreditStatus.PUBLISHED.value,
                CreditRecord.practitioner_id.is_(None),
            )
        ).all()
    return (
        [("service", c) for c in services]
        + [("approval", c) for c in approvals]
        + [("notice", n) for n in notices]
    )


def approval_dependents(item: ApprovalItem) -> list[tuple[str, str]]:
    return [("service", s.code) for s in item.service_items]


def service_dependents(item: ServiceItem) -> list[tuple[str, str]]:
    """Approval items list the service's name; providers offering it list name and stages; its
    award notices carry its name (stale after a rename: a tester, stop 29)."""
    from sqlalchemy.orm import object_session

    found = [("approval", a.code) for a in item.approval_items]
    session = object_session(item)
    if session is not None and item.id is not None:
        with session.no_autoflush:
            found += [("provider", u) for u in session.scalars(offering_providers(item.id))]
            awarded = (
                select(SelectionRequest.ref)
                .join(Award, Award.request_id == SelectionRequest.id)
                .where(SelectionRequest.service_item_id == item.id)
                .distinct()
            )
            found += [("award", ref) for ref in session.scalars(awarded)]
    return found


def offering_providers(service_item_id: int):
    return (
        select(Provider.uscc)
        .join(Offer, Offer.provider_id == Provider.id)
        .where(Offer.service_item_id == service_item_id)
        .where(Provider.status == ProviderStatus.ACTIVE.value)
    )


# A provider document's rank is its credit grade: AA 5 … D 1, 未评级 0 (other kinds rank 0).
# Both backends multiply a document's relevance score by rank_boost(rank), so an AA provider
# outranks an otherwise equal C provider while a clearly better text match still wins.


def offer_related(offer: Offer) -> list[tuple[str, str]]:
    """An offer is no document, but its provider's document lists the offered services."""
    provider = offer.provider
    if provider is None and offer.provider_id is not None:
        from sqlalchemy.orm import object_session

        session = object_session(offer)
        if session is not None:
            with session.no_autoflush:
                provider = session.get(Provider, offer.provider_id)
    return [("provider", provider.uscc)] if provider is not None and provider.uscc else []


def practitioner_related(row: Employment | PractitionerCertificate) -> list[tuple[str, str]]:
    """An employment or a certificate is no document, but its person's document shows it."""
    person = row.practitioner
    person_id = person.id if person is not None else row.practitioner_id
    return [("practitioner", str(person_id))] if person_id else []


def provider_dependents(item: Provider) -> list[tuple[str, str]]:
    """The people who work or worked at a provider show its name, and are public only while it
    is in the directory."""
    from sqlalchemy.orm import object_session

    session = object_session(item)
    if session is None or item.id is None:
        return []
    with session.no_autoflush:
        people = session.scalars(
            select(Employment.practitioner_id).where(Employment.provider_id == item.id).distinct()
        ).all()
    return [("practitioner", str(p)) for p in people]


# Rows that are not documents themselves but whose changes alter other documents.
RELATED: dict[type, Callable[[Any], list[tuple[str, str]]]] = {
    Offer: offer_related,
    Employment: practitioner_related,
    PractitionerCertificate: practitioner_related,
}
