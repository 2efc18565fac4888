"""People in the marketplace (issue 17): the certificates a selection request requires of the
named team, the check of the team a quote names (check_team: the provider's current, valid
practitioners on the quote's day, none on a blacklist in force, the request's requirements),
the winning quote's people for the award notice, and who signed an engagement's result. A
person named by two providers is judged at the decision (staffing.team_gaps), never at
submission, where it would tell a bidder that another firm has quoted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.models import (
    Award,
    Practitioner,
    Provider,
    Quote,
    QuoteMember,
    RequestCertificate,
    SelectionRequest,
    ServiceItem,
    TeamRole,
)
from registry.models.types import MAX_ID
from registry.pure.pii import mask_name
from registry.services.errors import RegistryError
from registry.services.practitioners import certificate_types, staff, standing
from registry.services.providers.personnel import parse_counts

MAX_TEAM = 30


def _fitting(kind: str, service: ServiceItem, field: str) -> str:
    """The kind, refused unless the controlled list ties it to the request's service item."""
    allowed = certificate_types.for_services([service.code])
    if kind not in allowed:
        listed = "、".join(allowed) or "(该事项无对应的证书类型)"
        raise RegistryError(
            field, f"“{kind}”不适用于中介服务事项“{service.name}”。可选的证书类型:{listed}。"
        )
    return kind


def checked_requirements(
    service: ServiceItem, leader_certificate: str | None, team_certificates
) -> tuple[str | None, list[RequestCertificate]]:
    """A request's 项目负责人 certificate and team certificates with counts: from the controlled
    list and fitting the service item (certificate_types.for_services)."""
    leader = None
    typed = (leader_certificate or "").strip()
    if typed:
        leader = certificate_types.canonical(typed)
        if leader is None:
            raise RegistryError("leader_certificate", f"“{typed[:60]}”不在执业资格证书类型列表中。")
        _fitting(leader, service, "leader_certificate")
    rows = [
        RequestCertificate(kind=_fitting(kind, service, "team_certificates"), count=count)
        for kind, count in parse_counts(team_certificates, "team_certificates")
    ]
    return leader, rows


def requirement_text(request: SelectionRequest) -> str | None:
    """The request's people requirements in one line (the notice and the invitation), or None."""
    parts = []
    if request.leader_certificate:
        parts.append(f"项目负责人须持有效的{request.leader_certificate}证书")
    parts += [f"团队中至少 {r.count} 名{r.kind}" for r in request.team_certificates]
    return ";".join(parts) or None


@dataclass(frozen=True)
class NamedPerson:
    """One person a quote names, with the certificates valid on the quote's day."""

    practitioner: Practitioner
    role: str
    kinds: frozenset[str]


def _ids(leader_id, member_ids) -> tuple[int | None, list[int]]:
    """The leader's and the members' ids as integers, members once each and without the
    leader; anything else refused."""
    try:
        leader = int(leader_id) if leader_id not in (None, "") else None
        members = [int(m) for m in member_ids or () if m not in (None, "")]
    except (TypeError, ValueError):
        raise RegistryError("leader", "所选人员无效,请刷新页面后重新选择。") from None
    # A forged id beyond what an id column holds would overflow the driver (a 500).
    if any(not 0 < i <= MAX_ID for i in (*members, *([leader] if leader is not None else []))):
        raise RegistryError("leader", "所选人员无效,请刷新页面后重新选择。")
    members = [m for m in dict.fromkeys(members) if m != leader]
    if len(members) + 1 > MAX_TEAM:
        raise RegistryError("members", f"报价团队最多 {MAX_TEAM} 人。")
    return leader, members


def _refuse_invalid(person_id: int, provider: Provider, on: date, field: str):
    """Why a named person does not count for the provider on the day (always raises)."""
    person = db.session.get(Practitioner, person_id)
    employed = person is not None and any(
        e.provider_id == provider.id and e.is_current(on) for e in person.employments
    )
    if not employed:
        raise RegistryError(
            field, f"所选人员不是贵机构 {on:%Y-%m-%d} 的在职从业人员,不能列入报价团队。"
        )
    raise RegistryError(
        field,
        f"{mask_name(person.name)}在 {on:%Y-%m-%d} 没有有效的执业资格证书(已过期或尚未生效),"
        "不能列入报价团队。",
    )


def _check_requirements(request: SelectionRequest, team: list[NamedPerson]) -> None:
    """The request's certificate requirements, met by the named team on the quote's day."""
    leader = team[0]
    wanted = request.leader_certificate
    if wanted and wanted not in leader.kinds:
        raise RegistryError(
            "leader",
            f"本次选取要求项目负责人持有有效的{wanted}证书,"
            f"所选项目负责人{mask_name(leader.practitioner.name)}不具备。",
        )
    for requirement in request.team_certificates:
        holders = sum(requirement.kind in person.kinds for person in team)
        if holders < requirement.count:
            raise RegistryError(
                "members",
                f"本次选取要求团队中至少 {requirement.count} 名持有有效{requirement.kind}证书的人员,"
                f"所列人员中只有 {holders} 名。",
            )


def check_team(
    request: SelectionRequest, provider: Provider, leader_id, member_ids, on: date
) -> list[NamedPerson]:
    """The team a quote names, checked: the 项目负责人 and members are the provider's practitioners
    employed there on `on` with a certificate valid that day and not barred by a blacklisting
    in force (practitioners/standing.py), and the request's certificate requirements are met:
    only what the bidder knows itself (quotes are sealed; two providers naming one person is
    judged at the decision). A request that requires no certificates accepts a quote naming
    nobody. Returns the team, leader first; raises RegistryError with the reason."""
    leader, members = _ids(leader_id, member_ids)
    if leader is None:
        if members:
            raise RegistryError("leader", "请指定项目负责人。")
        if request.requires_people:
            raise RegistryError(
                "leader", f"本次选取对人员有要求({requirement_text(request)}),请指定项目负责人。"
            )
        return []
    valid = {p.id: p for p in staff.valid_practitioners(provider, on)}
    team = []
    for person_id, role in [(leader, TeamRole.LEADER), *((m, TeamRole.MEMBER) for m in members)]:
        field = "leader" if role == TeamRole.LEADER else "members"
        person = valid.get(person_id)
        if person is None:
            _refuse_invalid(person_id, provider, on, field)
        barred = standing.bar_reason(person, on)
        if barred is not None:
            raise RegistryError(field, f"{barred}。")
        kinds = frozenset(c.kind for c in person.certificates if c.is_valid(on))
        team.append(NamedPerson(person, role.value, kinds))
    _check_requirements(request, team)
    return team


def member_rows(team: list[NamedPerson], on: date) -> list[QuoteMember]:
    """The quote's sealed rows: one per named person and certificate valid on the day."""
    return [
        QuoteMember(
            practitioner_id=person.practitioner.id,
            role=person.role,
            certificate_kind=certificate.kind,
            certificate_number=certificate.number,
            certificate_valid_to=certificate.valid_to,
        )
        for person in team
        for certificate in person.practitioner.certificates
        if certificate.is_valid(on)
    ]


def winning_quote(award: Award) -> Quote | None:
    """The quote the award was made on: the winner's latest revision on the request."""
    return db.session.scalar(
        select(Quote)
        .where(Quote.request_id == award.request_id, Quote.provider_id == award.provider_id)
        .order_by(Quote.revision.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class PublicPerson:
    """A named person as public pages and the API show them: masked name, place in the team
    (项目负责人 or 成员; not an account's role), certificate types (numbers are not shown)."""

    name: str
    team_role: str
    certificates: tuple[str, ...]

    @property
    def leads(self) -> bool:
        """Whether this is the team's 项目负责人."""
        return self.team_role == TeamRole.LEADER.value


def public_team(quote: Quote | None) -> list[PublicPerson]:
    """A quote's named people, masked (张*明), leader first."""
    if quote is None:
        return []
    return [
        PublicPerson(
            mask_name(person.name), role, tuple(dict.fromkeys(m.certificate_kind for m in rows))
        )
        for person, role, rows in quote.team
    ]


def award_leaders(awards: list[Award]) -> dict[int, PublicPerson | None]:
    """award id → the winning quote's 项目负责人, masked, with certificate types (None: the quote
    named nobody); the winners' quotes and their people in two statements for the lot."""
    if not awards:
        return {}
    quotes = db.session.scalars(
        select(Quote)
        .where(
            Quote.request_id.in_({a.request_id for a in awards}),
            Quote.provider_id.in_({a.provider_id for a in awards}),
        )
        .options(selectinload(Quote.members).joinedload(QuoteMember.practitioner))
        .order_by(Quote.revision)
    )
    latest = {(q.request_id, q.provider_id): q for q in quotes}
    leaders = {}
    for award in awards:
        team = public_team(latest.get((award.request_id, award.provider_id)))
        leaders[award.id] = next((p for p in team if p.leads), None)
    return leaders


def award_leader(award: Award) -> PublicPerson | None:
    """The winning quote's 项目负责人, masked, with certificate types (None: none named)."""
    return award_leaders([award])[award.id]


def checked_signatory(award: Award, practitioner_id) -> Practitioner | None:
    """The 签字人 of an engagement's result: one of the winning quote's named people; required
    when the quote named anyone."""
    quote = winning_quote(award)
    named = {person.id: person for person, _role, _rows in (quote.team if quote else [])}
    if not named:
        return None
    try:
        chosen = int(practitioner_id) if practitioner_id not in (None, "") else None
    except (TypeError, ValueError):
        chosen = -1
    if chosen is None:
        raise RegistryError("signatory", "请选择成果签字人(报价中列明的人员之一)。")
    if chosen not in named:
        raise RegistryError("signatory", "签字人须为中选报价中列明的项目负责人或团队成员。")
    return named[chosen]


def signatory_choices(award: Award) -> list[tuple[int, str]]:
    """(id, label) of the people the winning quote named, for the provider's own form."""
    quote = winning_quote(award)
    if quote is None:
        return []
    return [
        (person.id, f"{person.name}({role},{'、'.join(m.certificate_kind for m in rows)})")
        for person, role, rows in quote.team
    ]
