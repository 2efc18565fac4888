"""What the public sees of practitioners (从业人员): masked people for the person page, the list
and the API, a provider's personnel strength by certificate type, and the audited unmasked view
for 政务办, regulators and the person's own provider.

Public readers get views built here, never the rows themselves: a name is masked (张*明) and a
certificate number partly hidden before any page or API sees it (个人信息保护法)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.kernel.paging import Page, paginate
from registry.models import Employment, Practitioner, PractitionerCertificate, Provider
from registry.models.providers import ProviderStatus
from registry.pure.pii import mask_name, mask_number
from registry.services import audit
from registry.services.errors import Forbidden, NotFound
from registry.services.practitioners import certificate_types
from registry.services.practitioners.staff import employed_on, strength, valid_certificate


@dataclass(frozen=True)
class PersonFilters:
    """The public list's filters: the provider (USCC) a person works at today, and a certificate
    type held (in force today)."""

    provider: str | None = None
    certificate: str | None = None


@dataclass(frozen=True)
class CertificateView:
    """A certificate as the public sees it: the number partly hidden."""

    kind: str
    number: str
    issuer: str
    valid_from: date
    valid_to: date
    valid: bool
    withdrawn: bool = False  # 注销 by the provider (kept, no longer counted)


@dataclass(frozen=True)
class PersonView:
    """A person as the public sees them: the name masked, the firm only when it is public."""

    id: int
    name: str
    firm: Provider | None
    title: str | None
    since: date | None
    certificates: list[CertificateView]

    @property
    def valid_kinds(self) -> list[str]:
        """The certificate types the person holds in force today, once each."""
        return list(dict.fromkeys(c.kind for c in self.certificates if c.valid))


def today() -> date:
    """Today in Beijing time (the day validity and employment are judged on)."""
    return clock.today()


def _kind_order(kind: str) -> tuple[int, str]:
    order = {name: n for n, name in enumerate(certificate_types.names())}
    return order.get(kind, len(order)), kind


def person_view(person: Practitioner, on: date) -> PersonView:
    """The masked view of one person on a day: current public firm, certificates by type."""
    current = next((e for e in person.employments if e.is_current(on)), None)
    public_firm = current is not None and current.provider.status == ProviderStatus.ACTIVE.value
    certificates = sorted(person.certificates, key=lambda c: (_kind_order(c.kind), c.valid_to))
    return PersonView(
        id=person.id,
        name=mask_name(person.name),
        firm=current.provider if public_firm else None,
        title=current.title if public_firm else None,
        since=current.started_on if public_firm else None,
        certificates=[
            CertificateView(
                c.kind,
                mask_number(c.number),
                c.issuer,
                c.valid_from,
                c.valid_to,
                c.is_valid(on),
                c.withdrawn_on is not None and c.withdrawn_on <= on,
            )
            for c in certificates
        ],
    )


_LOADED = (
    selectinload(Practitioner.employments).selectinload(Employment.provider),
    selectinload(Practitioner.certificates),
)


def list_public(filters: PersonFilters, page: int = 1, per_page: int = 20) -> Page:
    """One page of public people (masked views), newest registered last, filtered by the
    provider they work at today and a certificate type they hold in force today."""
    on = today()
    query = select(Practitioner).where(policy.public_practitioners())
    if filters.provider:
        query = query.where(
            Practitioner.employments.any(
                employed_on(on)
                # Only a public (active) provider: the policy's rule for a person's firm shown.
                & Employment.provider.has(
                    (Provider.uscc == filters.provider)
                    & (Provider.status == ProviderStatus.ACTIVE.value)
                )
            )
        )
    if filters.certificate:
        query = query.where(
            Practitioner.certificates.any(valid_certificate(on, filters.certificate))
        )
    result = paginate(db.session, query.order_by(Practitioner.id), page, per_page, *_LOADED)
    views = [person_view(p, on) for p in result.items]
    return Page(views, result.total, result.page, result.per_page)


def get_public(practitioner_id: int) -> PersonView:
    """One public person's masked view; anyone not public is NotFound."""
    person = db.session.scalar(
        select(Practitioner)
        .where(Practitioner.id == practitioner_id, policy.public_practitioners())
        .options(*_LOADED)
    )
    if person is None:
        raise NotFound("未找到该从业人员")
    return person_view(person, today())


def certificate_kinds() -> list[str]:
    """The list filter's choices: the controlled list of certificate types, in its order."""
    return list(certificate_types.names())


def personnel_summary(provider: Provider, on: date | None = None) -> dict[str, int]:
    """How many current staff hold a valid certificate of each type, in the list's order."""
    counts = strength(provider, on or today())
    return {kind: counts[kind] for kind in sorted(counts, key=_kind_order)}


@dataclass(frozen=True)
class StrengthRow:
    """One certificate type on a provider's profile: how many hold it, and who (masked)."""

    kind: str
    count: int
    people: list[PersonView]


def personnel_strength(provider: Provider, on: date | None = None) -> list[StrengthRow]:
    """A provider's personnel strength for its profile: per certificate type (list order) the
    current staff holding one in force, masked, by registration."""
    on = on or today()
    people = db.session.scalars(
        select(Practitioner)
        .join(Employment, Employment.practitioner_id == Practitioner.id)
        .where(Employment.provider_id == provider.id, employed_on(on))
        .options(*_LOADED)
        .order_by(Practitioner.id)
    ).unique()
    views = [person_view(p, on) for p in people]
    return [
        StrengthRow(kind, count, [v for v in views if kind in v.valid_kinds])
        for kind, count in personnel_summary(provider, on).items()
    ]


def unmasked(practitioner_id: int, *, actor) -> Practitioner:
    """A person's full record for those policy.may_view_unmasked allows, the view written to
    the audit log (who saw whose record); NotFound or Forbidden for anyone else."""
    person = db.session.scalar(
        select(Practitioner)
        .where(Practitioner.id == practitioner_id)
        .options(
            selectinload(Practitioner.employments).selectinload(Employment.provider),
            selectinload(Practitioner.certificates).selectinload(PractitionerCertificate.scan),
        )
    )
    if person is None:
        raise NotFound("未找到该从业人员")
    if not policy.may_view_unmasked(actor, person):
        raise Forbidden("无权查看该从业人员的完整信息")
    audit.record(
        "practitioner.view_unmasked",
        actor=actor,
        of=person,
        detail=f"查看从业人员 {mask_name(person.name)}(编号 {person.id})的完整信息",
    )
    db.session.flush()
    return person
