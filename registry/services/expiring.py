"""Reminders before a provider's qualification or a practitioner's certificate expires (part of
`registry check-deadlines`). An expired qualification records a 资质过期 deduction, and an expired
certificate stops counting towards the firm's staff the next day; the firm used to hear of
either only afterwards (a tester, stop 29). Now its accounts are told once, EXPIRY_NOTICE_DAYS
before the last valid day (once per document and validity: a renewal that nears its end again is
told again)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.models import Employment, Practitioner, PractitionerCertificate
from registry.models.providers import Provider, ProviderStatus, Qualification
from registry.services import notify
from registry.services.batches import Batches

LINKS = {"qualification": "/my/provider", "certificate": "/my/provider/practitioners"}


def expiry_reminder_batches(today: date, lead_days: int) -> Batches[dict[str, int]]:
    """Tell each active provider of its qualifications and its current staff's certificates
    whose last valid day is within lead_days from today; returns how many of each were told.
    Two batches (services/batches.py): the qualifications, then the certificates; only the
    documents near their end are read, a few a day."""
    until = today + timedelta(days=lead_days)
    told = {"qualification": 0, "certificate": 0}
    qualifications = db.session.scalars(
        select(Qualification)
        .join(Qualification.provider)
        .where(
            Qualification.valid_to.between(today, until),
            Provider.status == ProviderStatus.ACTIVE.value,
        )
        .order_by(Qualification.id)
    )
    for item in qualifications:
        told["qualification"] += _tell(
            item.provider_id,
            f"本机构的{item.kind}资质(证书编号 {item.certificate_no})将于 {item.valid_to} 到期。"
            "到期后将记录“资质过期”行为扣分,并不能再承接需要该资质的服务;请及时办理延续并更新资质信息。",
            "qualification",
            f"qualification-expiring:{item.id}:{item.valid_to}",
        )
    yield told["qualification"]
    certificates = db.session.scalars(
        select(PractitionerCertificate)
        .where(
            PractitionerCertificate.valid_to.between(today, until),
            PractitionerCertificate.withdrawn_on.is_(None),
        )
        .options(
            selectinload(PractitionerCertificate.practitioner)
            .selectinload(Practitioner.employments)
            .selectinload(Employment.provider)
        )
        .order_by(PractitionerCertificate.id)
    )
    for item in certificates:
        employment = item.practitioner.current_employment
        if employment is None or employment.provider.status != ProviderStatus.ACTIVE.value:
            continue
        told["certificate"] += _tell(
            employment.provider_id,
            f"本机构从业人员 {item.practitioner.name} 的{item.kind}证书将于 {item.valid_to} 到期,"
            "到期次日起不再计入本机构的有效执业人员;请及时更新证书。",
            "certificate",
            f"certificate-expiring:{item.id}:{item.valid_to}",
        )
    yield told["certificate"]
    return told


def _tell(provider_id: int, message: str, what: str, once_key: str) -> int:
    """The provider's accounts, once per key; 1 when anyone was told."""
    people = notify.people(policy.provider_accounts([provider_id]))
    count = notify.notify(
        people, "practitioner", message, link=LINKS[what], kind="即将到期", once_key=once_key
    )
    return 1 if count else 0
