"""Who a registration may be held against (挂证 and squatting): only providers that passed entry
review (已入驻, or suspended after it) hold a person or a certificate number against others. A
person or certificate number registered only by a provider still applying gives way to an
entered provider registering the real person: the applicant's employment is ended and its
certificate voided (kept, marked, the number freed), audited. A conflict between two entered
providers is recorded as a 挂证嫌疑 event against both, each naming the other, and waits on the
pending work of 政务办 and the supervising regulators, who may void a registration from the
audited unmasked view (voids.py keeps each void as a record; 政务办 may lift its own)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    BehaviourEvent,
    BehaviourKind,
    Practitioner,
    PractitionerCertificate,
    Provider,
    ProviderStatus,
    User,
)
from registry.services import audit
from registry.services.practitioners import history

# The voids themselves (kept as records) live in voids.py; named here for the callers.
from registry.services.practitioners.voids import (
    displace_certificate as displace_certificate,
)
from registry.services.practitioners.voids import (
    displace_employment as displace_employment,
)
from registry.services.practitioners.voids import (
    refuse_voided_certificate as refuse_voided_certificate,
)
from registry.services.practitioners.voids import (
    refuse_voided_employment as refuse_voided_employment,
)
from registry.services.practitioners.voids import void_certificate as void_certificate
from registry.services.practitioners.voids import void_employment as void_employment

ENTERED = (ProviderStatus.ACTIVE.value, ProviderStatus.SUSPENDED.value)
# How long a conflict between two entered providers stays on the pending-work pages.
CONFLICT_DAYS = 30
# The holder's side of a conflict: one event per conflict carries this marker in its source.
HOLDER_MARK = ":holder:"


def entered(provider: Provider) -> bool:
    """Whether the provider passed entry review (its registrations hold against others)."""
    return provider.status in ENTERED


def vouched(person: Practitioner) -> bool:
    """Whether an entered provider has ever employed the person (their record is not only an
    applicant's word)."""
    return any(entered(e.provider) for e in person.employments)


def record_event(provider: Provider, actor: User, *, source: str, details: dict) -> None:
    """A 挂证嫌疑 behaviour event against the provider, once per source, audited."""
    kind = BehaviourKind.HUNG_CERTIFICATE.value
    exists = db.session.scalar(
        select(BehaviourEvent.id).where(
            BehaviourEvent.kind == kind, BehaviourEvent.source == source
        )
    )
    if exists is not None:
        return
    event = BehaviourEvent(
        provider_id=provider.id,
        kind=kind,
        source=source,
        occurred_on=clock.today(),
        details=details,
    )
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        return  # the same attempt recorded at the same moment by another request
    audit.record("behaviour_event.create", actor=actor, of=event, after=audit.snapshot(event))


def record_conflict(
    trying: Provider, holder: Provider, actor: User, *, what: str, person_id: int, source: str
) -> None:
    """The holder's side of a conflict between two entered providers (the trying side is
    recorded by the refusal): the event names both firms and the person."""
    facts = (
        f"{trying.name}({trying.uscc})登记{what}被拒绝:其已登记为"
        f"{holder.name}({holder.uscc})的在职人员或证书。请核实哪一方的登记属实。"
    )
    details = {"facts": facts, "practitioner": person_id, "with": trying.uscc}
    record_event(holder, actor, source=f"{source}{HOLDER_MARK}{holder.id}", details=details)


def conflict_facts(trying: Provider, holder: Provider, what: str) -> str:
    """The trying side's facts when both are entered providers."""
    return (
        f"{trying.name}({trying.uscc})登记{what}被拒绝:其已登记为"
        f"{holder.name}({holder.uscc})的在职人员或证书(两家均为已入驻机构)。"
    )


def _conflicts_query(on: date, department_id: int | None):
    """Holder-side 挂证嫌疑 events of the last CONFLICT_DAYS days (of a department's supervised
    providers, if given)."""
    query = select(BehaviourEvent).where(
        BehaviourEvent.kind == BehaviourKind.HUNG_CERTIFICATE.value,
        BehaviourEvent.source.like(f"%{HOLDER_MARK}%"),
        BehaviourEvent.occurred_on > on - timedelta(days=CONFLICT_DAYS),
    )
    if department_id is not None:
        query = query.where(
            BehaviourEvent.provider_id.in_(policy.supervised_provider_ids(department_id))
        )
    return query


def recent_conflicts(on: date, department_id: int | None = None) -> list[BehaviourEvent]:
    """Conflicts between two entered providers still to look at, newest first."""
    query = _conflicts_query(on, department_id)
    return list(db.session.scalars(query.order_by(BehaviourEvent.id.desc())))


def retire_withdrawn(certificate: PractitionerCertificate, actor: User) -> None:
    """The person's own withdrawn (注销) certificate stays as history while the same number is
    registered again (another firm, or a reissue): its key is moved aside, the number as
    entered stays, audited."""
    before = {"number_key": certificate.number_key}
    certificate.number_key = f"{certificate.number_key[:80]}~old{certificate.id}"
    history.record_certificate(certificate, actor)
    audit.record(
        "practitioner.certificate_readd",
        actor=actor,
        of=certificate,
        before={**before, "withdrawn_on": certificate.withdrawn_on.isoformat()},
        after={"number_key": certificate.number_key, "practitioner": certificate.practitioner_id},
    )
