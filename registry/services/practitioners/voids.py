"""Voided registrations (作废), kept as records (registration_voids): 政务办 voids an employment or
a certificate registration from the audited unmasked view, and an applicant's registration gives
way to an entered provider's. A voided certificate is withdrawn and no longer holds its number
(`voided`, left out of the number's unique index). 政务办's void keeps blocking the firm whose
registration it was until 政务办 lifts it (撤销作废, with a reason, at most once); the firm may
then register the person or the number again, as a new row checked like any other (the voided
row never comes back, so no number is ever held twice).

Services flush, audit and raise RegistryError; they never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Employment,
    Practitioner,
    PractitionerCertificate,
    Provider,
    RegistrationVoid,
    User,
    VoidCause,
    VoidSubject,
)
from registry.pure import pii
from registry.services import audit, errors
from registry.services.errors import Forbidden, NotFound, RegistryError
from registry.services.practitioners import accounts as person_accounts
from registry.services.practitioners import history
from registry.services.practitioners.common import (
    close_employment,
    named_certificate,
    named_person,
)

CONTACT_OFFICE = "如有异议,请与政务服务办公室联系。"
CAUSE_LABELS = {VoidCause.OFFICE: "政务服务办公室作废", VoidCause.DISPLACED: "让位于已入驻机构"}


def _record(
    subject: str,
    row: Employment | PractitionerCertificate,
    provider_id: int | None,
    cause: str,
    reason: str,
    actor: User,
) -> RegistrationVoid:
    """One void record, written once (its lift the only later change)."""
    void = RegistrationVoid(
        subject=subject,
        employment_id=row.id if subject == VoidSubject.EMPLOYMENT else None,
        certificate_id=row.id if subject == VoidSubject.CERTIFICATE else None,
        practitioner_id=row.practitioner_id,
        provider_id=provider_id,
        cause=cause,
        reason=reason[:200],
        voided_at=clock.now(),
        voided_by_id=actor.id,
    )
    db.session.add(void)
    db.session.flush()
    return void


def _holder_firm(person: Practitioner) -> int | None:
    """The firm a certificate registration belongs to: the holder's employer now, else the last."""
    current = person.current_employment
    if current is not None:
        return current.provider_id
    return person.employments[-1].provider_id if person.employments else None


def _void_certificate(
    certificate: PractitionerCertificate,
    cause: str,
    reason: str,
    actor: User,
    detail: str | None = None,
) -> None:
    """Mark the certificate withdrawn today and voided (its number free for the real holder),
    recorded and audited (the entry's `detail`: the reason 政务办 gave, when it was 政务办)."""
    before = {
        "kind": certificate.kind,
        "number": pii.mask_number(certificate.number),
        "withdrawn_on": certificate.withdrawn_on and certificate.withdrawn_on.isoformat(),
    }
    certificate.withdrawn_on = certificate.withdrawn_on or clock.today()
    certificate.withdrawn_reason = reason[:200]
    certificate.voided = True  # the number as entered and its key stay; the index skips it
    history.record_certificate(certificate, actor)
    firm = _holder_firm(certificate.practitioner)
    _record(VoidSubject.CERTIFICATE, certificate, firm, cause, reason, actor)
    audit.record(
        "practitioner.registration_void",
        actor=actor,
        of=certificate,
        before=before,
        after={"practitioner": certificate.practitioner_id, "reason": reason},
        detail=detail,
    )


def displace_certificate(certificate: PractitionerCertificate, by: Provider, actor: User) -> None:
    """An applicant's registration of a certificate number gives way to an entered provider's."""
    reason = f"同一证书已由已入驻机构 {by.name} 登记,尚未入驻机构的登记作废"
    _void_certificate(certificate, VoidCause.DISPLACED, reason, actor)


def displace_employment(employment: Employment, by: Provider, actor: User):
    """An applicant's open employment of a person gives way to an entered provider's: it ends
    on the day it began (it never counted); returns that day."""
    reason = f"该人员已由已入驻机构 {by.name} 登记,尚未入驻机构的登记作废"
    close_employment(
        employment,
        employment.started_on,
        actor=actor,
        action="practitioner.registration_void",
        after={
            "practitioner": employment.practitioner_id,
            "provider": employment.provider.uscc,
            "reason": reason,
        },
    )
    _record(
        VoidSubject.EMPLOYMENT,
        employment,
        employment.provider_id,
        VoidCause.DISPLACED,
        reason,
        actor,
    )
    person_accounts.unlink_if_invited_by(
        employment, f"邀请开通账户的未入驻机构的登记已让位于 {by.name}", actor=actor
    )
    return employment.ended_on


def _office_only(actor: User) -> None:
    if not policy.is_office(actor):
        raise Forbidden("只有政务服务办公室可以作废登记或撤销作废")


def _office_target(practitioner_id: int, model: type, row_id: int, actor: User) -> Any:
    """A row of the person's (employment or certificate), for 政务办 only."""
    _office_only(actor)
    row = db.session.get(model, row_id)
    if row is None or row.practitioner_id != practitioner_id:
        raise NotFound("未找到该登记")
    return row


def void_employment(
    practitioner_id: int, employment_id: int, data: dict, *, actor: User
) -> Employment:
    """政务办 ends a registered employment with a reason (a made-up or disputed registration):
    it ends today (or on its first day, if it began today or later), recorded and audited."""
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
    _record(
        VoidSubject.EMPLOYMENT, employment, employment.provider_id, VoidCause.OFFICE, reason, actor
    )
    person_accounts.unlink_if_invited_by(
        employment, f"邀请开通账户的机构的任职登记已被政务服务办公室作废:{reason}", actor=actor
    )
    return employment


def void_certificate(
    practitioner_id: int, certificate_id: int, data: dict, *, actor: User
) -> PractitionerCertificate:
    """政务办 marks a registered certificate withdrawn with a reason (注销, as the provider's own
    withdrawal does) and frees its number for the real holder, recorded and audited."""
    certificate = _office_target(practitioner_id, PractitionerCertificate, certificate_id, actor)
    reason = errors.text_field(data.get("reason"), "reason", "作废原因", 200)
    if certificate.voided:
        raise RegistryError(None, "该证书登记已作废。")
    _void_certificate(certificate, VoidCause.OFFICE, reason, actor, detail=reason)
    return certificate


def lift_void(practitioner_id: int, void_id: int, data: dict, *, actor: User) -> RegistrationVoid:
    """政务办 lifts its own void (撤销作废) with a reason, once, audited: the firm may register
    the person or the certificate number again (a new registration, checked as any other)."""
    _office_only(actor)
    void = db.session.get(RegistrationVoid, void_id)
    if void is None or void.practitioner_id != practitioner_id:
        raise NotFound("未找到该作废记录")
    reason = errors.text_field(data.get("reason"), "reason", "撤销原因", 200)
    if void.cause != VoidCause.OFFICE:
        raise RegistryError(None, "让位于已入驻机构的登记不能撤销作废。")
    if void.lifted_at is not None:
        raise RegistryError(None, "该作废已撤销。")
    void.lifted_at = clock.now()
    void.lifted_by_id = actor.id
    void.lift_reason = reason
    db.session.flush()
    audit.record(
        "practitioner.void_lift",
        actor=actor,
        of=void,
        before={"subject": void.subject, "reason": void.reason},
        after={
            "practitioner": practitioner_id,
            "provider": void.provider.uscc if void.provider else None,
            "lifted": True,
        },
        detail=reason,
    )
    return void


def voids_of(person: Practitioner) -> list[RegistrationVoid]:
    """Every void of the person's registrations, newest first (the unmasked view)."""
    query = select(RegistrationVoid).where(RegistrationVoid.practitioner_id == person.id)
    return list(db.session.scalars(query.order_by(RegistrationVoid.id.desc())))


def _in_force(subject: str, provider: Provider):
    """Office voids of the provider's registrations of `subject`, not lifted, newest first."""
    return (
        select(RegistrationVoid)
        .where(
            RegistrationVoid.subject == subject,
            RegistrationVoid.provider_id == provider.id,
            RegistrationVoid.cause == VoidCause.OFFICE,
            RegistrationVoid.lifted_at.is_(None),
        )
        .order_by(RegistrationVoid.id.desc())
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
    """A certificate number 政务办 voided keeps blocking the provider whose registration it was
    (for any person on its roster) until 政务办 lifts the void."""
    void = db.session.scalar(
        _in_force(VoidSubject.CERTIFICATE, provider)
        .join(
            PractitionerCertificate, PractitionerCertificate.id == RegistrationVoid.certificate_id
        )
        .where(
            PractitionerCertificate.kind == fields["kind"],
            PractitionerCertificate.number_key == fields["number_key"],
        )
        .limit(1)
    )
    if void is not None:
        certificate = void.certificate
        _refuse_voided(provider, actor, "number", named_certificate(certificate), void.reason)


def refuse_voided_employment(person: Practitioner, provider: Provider, actor: User) -> None:
    """A person whose employment at this provider 政务办 voided cannot be registered by it
    again until 政务办 lifts the void (the provider is told to contact 政务办)."""
    void = db.session.scalar(
        _in_force(VoidSubject.EMPLOYMENT, provider)
        .where(RegistrationVoid.practitioner_id == person.id)
        .limit(1)
    )
    if void is not None:
        _refuse_voided(provider, actor, "id_number", named_person(person), void.reason)
