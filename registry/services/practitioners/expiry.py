"""The daily check of practitioners' certificates (part of `registry check-deadlines`): a
certificate past its valid_to is flagged once (expired_flagged_at), audited, and the provider
the holder works at is told. It already stopped counting the day after valid_to
(staff.valid_practitioners); the flag records when the registry noticed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from registry import policy
from registry.models import Employment, Practitioner, PractitionerCertificate
from registry.models.types import utcnow
from registry.pure import pii
from registry.services import audit, notify
from registry.services.batches import BATCH_SIZE, Batches, batch_rows, id_batches
from registry.services.practitioners.common import SYSTEM_ACTOR

LINK = "/my/provider/practitioners"


@dataclass
class CertificateCheck:
    """What one run of the certificate check did."""

    flagged: int = 0  # newly flagged in this run
    told: int = 0  # provider accounts told
    providers: list[int] = field(default_factory=list)  # provider ids told

    def summary(self) -> str:
        """One line of Chinese for the cron log."""
        return f"新标记过期从业人员证书 {self.flagged} 项,通知机构 {len(self.providers)} 家"


def certificate_batches(today: date, size: int = BATCH_SIZE) -> Batches[CertificateCheck]:
    """Flag certificates whose valid_to is before today, batch by batch (the caller commits
    after each); idempotent: a flagged certificate is not looked at again."""
    result = CertificateCheck()
    expired = select(PractitionerCertificate.id).where(
        PractitionerCertificate.valid_to < today,
        PractitionerCertificate.expired_flagged_at.is_(None),
        PractitionerCertificate.withdrawn_on.is_(None),  # withdrawn ones stopped counting already
    )
    for ids in id_batches(expired, PractitionerCertificate.id, size):
        rows = batch_rows(
            PractitionerCertificate,
            ids,
            selectinload(PractitionerCertificate.practitioner)
            .selectinload(Practitioner.employments)
            .selectinload(Employment.provider),
        )
        for certificate in rows:
            _flag(certificate, result)
        yield len(ids)
    return result


def _flag(certificate: PractitionerCertificate, result: CertificateCheck) -> None:
    """Flag one expired certificate, audit it and tell the holder's current provider."""
    if certificate.expired_flagged_at is not None:
        return  # flagged by a concurrent run since the batch's ids were read
    certificate.expired_flagged_at = utcnow()
    result.flagged += 1
    person = certificate.practitioner
    name = pii.mask_name(person.name)
    audit.record(
        "practitioner.certificate_expired",
        actor_name=SYSTEM_ACTOR,
        of=certificate,
        detail=f"{name} {certificate.kind} 有效期至 {certificate.valid_to}",
    )
    employment = person.current_employment
    if employment is None:
        return
    result.told += notify.notify(
        notify.people(policy.provider_accounts([employment.provider_id])),
        "practitioner",
        f"本机构从业人员 {person.name} 的{certificate.kind}证书已于 {certificate.valid_to} 到期,"
        "自次日起不再计入本机构的有效执业人员;请更新证书或办理相关变更。",
        link=LINK,
        kind="人员证书过期",
        once_key=f"practitioner-certificate:{certificate.id}:{certificate.valid_to}",
    )
    if employment.provider_id not in result.providers:
        result.providers.append(employment.provider_id)
