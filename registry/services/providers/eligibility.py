"""Qualification deadlines and eligibility: the daily check that suspends offers whose
qualification expired, and the providers and offers that may be drawn for a service item."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    BehaviourEvent,
    BehaviourKind,
    Offer,
    Provider,
    ProviderStatus,
    Qualification,
    ServiceItem,
)
from registry.models.types import utcnow
from registry.services import audit
from registry.services.batches import BATCH_SIZE, Batches, batch_rows, exhaust, id_batches
from registry.services.providers.common import SYSTEM_ACTOR


@dataclass
class QualificationCheck:
    """What one run of check_qualifications did."""

    expired: int = 0  # qualifications past valid_to (flagged now or before)
    flagged: int = 0  # newly flagged in this run
    events: int = 0  # behaviour events recorded in this run
    providers: list[str] = field(default_factory=list)  # USCCs newly affected

    def summary(self) -> str:
        """One line of Chinese for the cron log."""
        return (
            f"已过期资质 {self.expired} 项,本次新标记 {self.flagged} 项,"
            f"记录行为事件 {self.events} 条"
        )


def qualification_source(qualification: Qualification) -> str:
    """The behaviour event source of one expiry; includes valid_to so a renewal that expires
    again is a new event, while a re-run of the check is not."""
    return f"qualification:{qualification.id}:{qualification.valid_to.isoformat()}"


def check_qualifications(today: date) -> QualificationCheck:
    """Flag qualifications past their valid_to and record one 资质过期 behaviour event each for
    active providers (idempotent: re-runs add nothing), in the current transaction."""
    return exhaust(qualification_batches(today))


def qualification_batches(today: date, size: int = BATCH_SIZE) -> Batches[QualificationCheck]:
    """check_qualifications in batches of `size` qualifications (services/batches.py): the
    caller commits after each. Each batch is idempotent, so a run stopped between batches is
    completed by the next."""
    result = QualificationCheck()
    expired_ids = select(Qualification.id).where(Qualification.valid_to < today)
    for ids in id_batches(expired_ids, Qualification.id, size):
        _check_expired(ids, result)
        yield len(ids)
    return result


def _check_expired(ids: list[int], result: QualificationCheck) -> None:
    """Flag these expired qualifications and record their behaviour events (one batch)."""
    expired = batch_rows(Qualification, ids, selectinload(Qualification.provider))
    result.expired += len(expired)
    for qualification in expired:
        provider = qualification.provider
        if qualification.expired_flagged_at is None:
            qualification.expired_flagged_at = utcnow()
            result.flagged += 1
            audit.record(
                "qualification.expired",
                actor_name=SYSTEM_ACTOR,
                of=qualification,
                detail=f"{provider.uscc} {qualification.kind} 有效期至 {qualification.valid_to}",
            )
        if provider.status != ProviderStatus.ACTIVE.value:
            continue  # an applicant's old certificate is not a market behaviour
        source = qualification_source(qualification)
        exists = db.session.scalar(
            select(BehaviourEvent.id).where(
                BehaviourEvent.kind == BehaviourKind.QUALIFICATION_EXPIRED.value,
                BehaviourEvent.source == source,
            )
        )
        if exists is not None:
            continue
        event = BehaviourEvent(
            provider_id=provider.id,
            kind=BehaviourKind.QUALIFICATION_EXPIRED.value,
            source=source,
            occurred_on=qualification.valid_to + timedelta(days=1),
            details={
                "qualification": qualification.kind,
                "certificate_no": qualification.certificate_no,
                "valid_to": qualification.valid_to.isoformat(),
            },
        )
        try:
            # A concurrent run may have recorded the same event: the unique (kind, source)
            # refuses the second one, and only this savepoint is undone.
            with db.session.begin_nested():
                db.session.add(event)
        except IntegrityError:
            continue
        audit.record(
            "behaviour_event.create", actor_name=SYSTEM_ACTOR, of=event, after=audit.snapshot(event)
        )
        result.events += 1
        if provider.uscc not in result.providers:
            result.providers.append(provider.uscc)
    db.session.flush()


def has_valid_qualification(provider: Provider, on: date) -> bool:
    """Whether any of the provider's qualifications is in force on the day."""
    return any(q.is_valid(on) for q in provider.qualifications)


def qualification_valid_until(provider: Provider, on: date) -> date | None:
    """The latest valid_to among qualifications in force on the day (None: none in force)."""
    return max((q.valid_to for q in provider.qualifications if q.is_valid(on)), default=None)


def eligible_offer(provider: Provider, service_item: ServiceItem, on: date) -> Offer | None:
    """The provider's offer for the item if it may take part in selection on the day: provider
    ACTIVE, offer active, a qualification in force, not blacklisted. Per-request rules
    (exclusions, qualification requirements) are the selection code's own."""
    if not provider.is_active or provider.is_blacklisted(on):
        return None
    if not has_valid_qualification(provider, on):
        return None
    return next(
        (o for o in provider.offers if o.service_item_id == service_item.id and o.is_active),
        None,
    )


def _offers_of_active_providers(service_item: ServiceItem) -> list[Offer]:
    return list(
        db.session.scalars(
            select(Offer)
            .join(Offer.provider)
            .where(
                Offer.service_item_id == service_item.id,
                Offer.is_active.is_(True),
                Provider.status == ProviderStatus.ACTIVE.value,
            )
            .options(
                selectinload(Offer.provider).selectinload(Provider.qualifications),
                selectinload(Offer.provider).selectinload(Provider.offers),
            )
            .order_by(Provider.uscc)
        )
    )


def eligible_offers(service_item: ServiceItem, on: date) -> list[Offer]:
    """Every offer for the item that may take part in selection on the day, by provider USCC."""
    return [
        o
        for o in _offers_of_active_providers(service_item)
        if eligible_offer(o.provider, service_item, on)
    ]


def eligible_providers(service_item: ServiceItem, on: date) -> list[Provider]:
    """Providers that may take part in selection for the item on the day, by USCC."""
    return [o.provider for o in eligible_offers(service_item, on)]


def listed_offers(service_item: ServiceItem, limit: int = 20) -> tuple[list[Offer], int]:
    """The best `limit` active offers of active providers for the item (highest credit score
    first, a firm blacklisted today last whatever its score) and how many there are: the
    catalogue page shows these, marks those not currently eligible, and links to the directory
    filtered by the item for the rest."""
    where = (
        Offer.service_item_id == service_item.id,
        Offer.is_active.is_(True),
        Provider.status == ProviderStatus.ACTIVE.value,
    )
    total = db.session.scalar(select(func.count(Offer.id)).join(Offer.provider).where(*where))
    offers = db.session.scalars(
        select(Offer)
        .join(Offer.provider)
        .where(*where)
        .options(contains_eager(Offer.provider).selectinload(Provider.qualifications))
        .order_by(
            case((Provider.blacklisted_until >= clock.today(), 1), else_=0),
            Provider.credit_score.desc().nulls_last(),
            Provider.uscc,
        )
        .limit(limit)
    )
    return list(offers), total or 0
