"""Who a registration may be held against (挂证 and squatting): only providers that passed entry
review (已入驻, or suspended after it) hold a person or a certificate number against others. A
person or certificate number registered only by a provider still applying gives way to an
entered provider registering the real person: the applicant's employment is ended and its
certificate voided (kept, marked, the number freed), audited. A conflict between two entered
providers is recorded as a 挂证嫌疑 event against both, each naming the other, and waits on the
pending work of 政务办 and the supervising regulators, who may void a registration from the
audited unmasked view."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    BehaviourEvent,
    BehaviourKind,
    Employment,
    Practitioner,
    PractitionerCertificate,
    Provider,
    ProviderStatus,
    User,
)
from registry.pure import pii
from registry.services import audit, errors
from registry.services.errors import Forbidden, NotFound, RegistryError
from registry.services.practitioners import accounts as person_accounts
from registry.services.practitioners.common import close_employment

ENTERED = (ProviderStatus.ACTIVE.value, ProviderStatus.SUSPENDED.value)
# How long a conflict between two entered providers stays on the pending-work pages.
CONFLICT_DAYS = 30
# The holder's side of a conflict: one event per conflict carries this marker in its source.
HOLDER_MARK = ":holder:"
# The withdrawn reason of a certificate 政务办 voided (it keeps blocking that provider).
OFFICE_VOID = "政务服务办公室作废:"
CONTACT_OFFICE = "如有异议,请与政务服务办公室联系。"


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


def _void_certificate(certificate: PractitionerCertificate, reason: str) -> dict[str, Any]:
    """Mark the certificate withdrawn today and free its number for the real holder; returns
    the state before for the audit entry."""
    before = {
        "kind": certificate.kind,
        "number": pii.mask_number(certificate.number),
        "withdrawn_on": certificate.withdrawn_on and certificate.withdrawn_on.isoformat(),
    }
    certificate.withdrawn_on = certificate.withdrawn_on or clock.today()
    certificate.withdrawn_reason = reason[:200]
    # The number as entered stays; only the uniqueness key is moved aside.
    certificate.number_key = f"{certificate.number_key[:80]}~void{certificate.id}"
    db.session.flush()
    return before


def displace_certificate(certificate: PractitionerCertificate, by: Provider, actor: User) -> None:
    """An applicant's registration of a certificate number gives way to an entered provider's."""
    reason = f"同一证书已由已入驻机构 {by.name} 登记,尚未入驻机构的登记作废"
    before = _void_certificate(certificate, reason)
    audit.record(
        "practitioner.registration_void",
        actor=actor,
        of=certificate,
        before=before,
        after={"practitioner": certificate.practitioner_id, "reason": reason},
    )


def displace_employment(employment: Employment, by: Provider, actor: User) -> date:
    """An applicant's open employment of a person gives way to an entered provider's: it ends
    on the day it began (it never counted); returns that day."""
    close_employment(
        employment,
        employment.started_on,
        actor=actor,
        action="practitioner.registration_void",
        after={
            "practitioner": employment.practitioner_id,
            "provider": employment.provider.uscc,
            "reason": f"该人员已由已入驻机构 {by.name} 登记,尚未入驻机构的登记作废",
        },
    )
    person_accounts.unlink_if_invited_by(
        employment, f"邀请开通账户的未入驻机构的登记已让位于 {by.name}", actor=actor
    )
    return employment.ended_on


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


def _office_target(practitioner_id: int, model: type, row_id: int, actor: User) -> Any:
    """A row of the person's (employment or certificate), for 政务办 only."""
    if not policy.is_office(actor):
        raise Forbidden("只有政务服务办公室可以作废登记")
    row = db.session.get(model, row_id)
    if row is None or row.practitioner_id != practitioner_id:
        raise NotFound("未找到该登记")
    return row


def void_employment(
    practitioner_id: int, employment_id: int, data: dict, *, actor: User
) -> Employment:
    """政务办 ends a registered employment with a reason (a made-up or disputed registration):
    it ends today (or on its first day, if it began today or later), audited."""
    employment = _office_target(practitioner_id, Employment, employment_id, actor)
    reason = errors.text_field(data.get("reason"), "reason", "作废原因", 200)
    if employment.ended_on is not None:
        raise RegistryError(None, "该任职记录已结束。")
    ended_on = max(clock.today(), employment.started_on)
    close_employment(
        employment,
        ended_on,
        actor=actor,
        action="practitioner.registration_void",
        after={
            "practitioner": practitioner_id,
            "provider": employment.provider.uscc,
            "ended_on": ended_on.isoformat(),
            "reason": reason,
        },
        detail=reason,
    )
    person_accounts.unlink_if_invited_by(
        employment, f"邀请开通账户的机构的任职登记已被政务服务办公室作废:{reason}", actor=actor
    )
    return employment


def void_certificate(
    practitioner_id: int, certificate_id: int, data: dict, *, actor: User
) -> PractitionerCertificate:
    """政务办 marks a registered certificate withdrawn with a reason (注销, as the provider's own
    withdrawal does) and frees its number for the real holder, audited."""
    certificate = _office_target(practitioner_id, PractitionerCertificate, certificate_id, actor)
    reason = errors.text_field(data.get("reason"), "reason", "作废原因", 200)
    if certificate.withdrawn_on is not None and "~void" in certificate.number_key:
        raise RegistryError(None, "该证书登记已作废。")
    before = _void_certificate(certificate, f"{OFFICE_VOID}{reason}")
    audit.record(
        "practitioner.registration_void",
        actor=actor,
        of=certificate,
        before=before,
        after={"practitioner": practitioner_id, "reason": reason},
        detail=reason,
    )
    return certificate


def _employed_on(person: Practitioner, provider: Provider, day: date) -> bool:
    """Whether the provider employed the person on that day (the day an employment ends too)."""
    return any(
        e.provider_id == provider.id
        and e.started_on <= day
        and (e.ended_on is None or e.ended_on >= day)
        for e in person.employments
    )


def _refuse_voided(provider: Provider, actor: User, field: str, what: str, reason: str) -> None:
    """Refuse a registration 政务办 voided for this provider, audited."""
    audit.record(
        "practitioner.void_refused",
        actor=actor,
        of=provider,
        outcome="refused",
        detail=f"再次登记{what}被拒绝:政务服务办公室已作废本机构的同一登记({reason})",
    )
    raise RegistryError(
        field,
        f"政务服务办公室已作废本机构对{what}的登记(原因:{reason}),本机构不能再次登记。"
        + CONTACT_OFFICE,
    )


def refuse_voided_certificate(provider: Provider, fields: dict, actor: User) -> None:
    """A certificate number 政务办 voided keeps blocking the provider that employed its holder
    when it was voided (for any person on its roster): the void sticks."""
    key = fields["number_key"][:80]
    voided = db.session.scalars(
        select(PractitionerCertificate).where(
            PractitionerCertificate.kind == fields["kind"],
            PractitionerCertificate.number_key.like(f"{key}~void%"),
            PractitionerCertificate.withdrawn_reason.like(f"{OFFICE_VOID}%"),
        )
    )
    for certificate in voided:
        if certificate.number_key.split("~void")[0] != key:
            continue
        if _employed_on(certificate.practitioner, provider, certificate.withdrawn_on):
            what = f"证书 {certificate.kind} {pii.mask_number(certificate.number)}"
            reason = certificate.withdrawn_reason.removeprefix(OFFICE_VOID)
            _refuse_voided(provider, actor, "number", what, reason)


def refuse_voided_employment(person: Practitioner, provider: Provider, actor: User) -> None:
    """A person whose employment at this provider 政务办 voided cannot be registered by it
    again (the void sticks; the provider is told to contact 政务办)."""
    ids = [str(e.id) for e in person.employments if e.provider_id == provider.id and e.ended_on]
    if not ids:
        return
    reason = db.session.scalar(
        select(AuditEntry.detail)
        .where(
            AuditEntry.action == "practitioner.registration_void",
            AuditEntry.object_type == "employment",
            AuditEntry.object_id.in_(ids),
            AuditEntry.detail.is_not(None),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    if reason is not None:
        what = f"从业人员 {pii.mask_name(person.name)}(身份证号末四位 {person.id_tail})"
        _refuse_voided(provider, actor, "id_number", what, reason)


def retire_withdrawn(certificate: PractitionerCertificate, actor: User) -> None:
    """The person's own withdrawn (注销) certificate stays as history while the same number is
    registered again (another firm, or a reissue): its key is moved aside, the number as
    entered stays, audited."""
    before = {"number_key": certificate.number_key}
    certificate.number_key = f"{certificate.number_key[:80]}~old{certificate.id}"
    db.session.flush()
    audit.record(
        "practitioner.certificate_readd",
        actor=actor,
        of=certificate,
        before={**before, "withdrawn_on": certificate.withdrawn_on.isoformat()},
        after={"number_key": certificate.number_key, "practitioner": certificate.practitioner_id},
    )
