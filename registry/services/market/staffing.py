"""Whether a provider's people can meet a selection request's certificate requirement (the
项目负责人's certificate, team certificate counts), as the selection engine's `staffed` flag:
before quoting, from the provider's current valid practitioners (who is invited, whose
opportunity list offers the request); at the decision, from the team each quote named, judged as
of the request's deadline day by what was on record at the deadline instant (a 项目负责人 who
had left, lost the certificate or been blacklisted by then cannot win, nor two quotes naming the
same person). The deadline fixes the draw pool: the seed is public, so what changes after it (a
bidder ending its own leader's employment to pick another winner, an owner waiting for a
certificate to lapse, a renewal, withdrawal or registration entered later with an earlier date)
must not change who is drawn from. A request without a requirement is staffed by everyone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.models import (
    Employment,
    Practitioner,
    PractitionerCertificate,
    Provider,
    Quote,
    SelectionRequest,
    TeamRole,
)
from registry.pure.pii import mask_name
from registry.services.practitioners import standing
from registry.services.practitioners.staff import employed_on, valid_certificate


def _wanted_kinds(request: SelectionRequest) -> set[str]:
    kinds = {r.kind for r in request.team_certificates}
    if request.leader_certificate:
        kinds.add(request.leader_certificate)
    return kinds


def _shortfall(request: SelectionRequest, leaders: int, holders: dict[str, int]) -> str | None:
    """What the people available fall short of, in Chinese, or None when they meet it:
    `leaders` may lead (hold the leader certificate), `holders` counts holders per type."""
    gaps = []
    if request.leader_certificate and leaders == 0:
        gaps.append(f"没有持有效{request.leader_certificate}证书、可担任项目负责人的人员")
    for requirement in request.team_certificates:
        count = holders.get(requirement.kind, 0)
        if count < requirement.count:
            gaps.append(
                f"持有效{requirement.kind}证书的人员 {count} 名,少于要求的 {requirement.count} 名"
            )
    return ";".join(gaps) or None


def _kinds_on(person: Practitioner, on: date, wanted: set[str]) -> set[str]:
    return {c.kind for c in person.certificates if c.kind in wanted and c.is_valid(on)}


def staffing_gaps(
    request: SelectionRequest, providers: Iterable[Provider], on: date
) -> dict[int, str]:
    """provider id → why its practitioners employed on the day, holding a valid certificate of a
    required type and not blacklisted, cannot meet the request's requirement; providers that
    can are left out. Empty for a request without a requirement."""
    wanted = _wanted_kinds(request)
    ids = [p.id for p in providers]
    if not wanted or not ids:
        return {}
    holds = exists().where(
        PractitionerCertificate.practitioner_id == Practitioner.id,
        valid_certificate(on),
        PractitionerCertificate.kind.in_(wanted),
    )
    rows = db.session.execute(
        select(Employment.provider_id, Practitioner)
        .join(Employment, Employment.practitioner_id == Practitioner.id)
        .where(Employment.provider_id.in_(ids), employed_on(on), holds)
        .options(selectinload(Practitioner.certificates))
    ).all()
    leaders: dict[int, int] = defaultdict(int)
    holders: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for provider_id, person in rows:
        if standing.is_barred(person, on):
            continue
        kinds = _kinds_on(person, on, wanted)
        leaders[provider_id] += request.leader_certificate in kinds
        for kind in kinds:
            holders[provider_id][kind] += 1
    gaps = {}
    for provider_id in ids:
        reason = _shortfall(request, leaders[provider_id], holders[provider_id])
        if reason is not None:
            gaps[provider_id] = f"在职从业人员不满足人员要求({reason})"
    return gaps


def _employed_then(person: Practitioner, quote: Quote, on: date, at: datetime) -> bool:
    """Whether the record at the instant `at` had the person at the quote's provider on `on`."""
    return any(
        e.provider_id == quote.provider_id and e.was_current(on, at) for e in person.employments
    )


def _kinds_then(person: Practitioner, on: date, at: datetime) -> set[str]:
    """The types of the person's certificates in force on `on` as on record at the instant `at`
    (a renewal, correction, withdrawal or certificate entered later is not seen)."""
    versions = (c.as_recorded(at) for c in person.certificates)
    return {v.kind for v in versions if v is not None and v.is_valid(on)}


def _leader_reason(
    request: SelectionRequest, quote: Quote, person: Practitioner, on: date, at: datetime
) -> str | None:
    """Why the quote's 项目负责人 may not lead it on the day, by the record at `at`, or None."""
    name = mask_name(person.name)
    if not _employed_then(person, quote, on, at):
        return f"项目负责人{name}已不在该机构任职"
    wanted = request.leader_certificate
    valid = _kinds_then(person, on, at)
    if (wanted and wanted not in valid) or not valid:
        what = f"有效的{wanted}证书" if wanted else "有效的执业资格证书"
        return f"项目负责人{name}已不再持有{what}"
    barred = standing.bar_reason(person, on)
    return f"项目负责人{name}已被列入黑名单({barred})" if barred else None


def _named_twice(quotes: list[Quote]) -> dict[int, str]:
    """provider id → why its quote cannot win because a person it names is also named by
    another provider's latest quote (both quotes; judged once, at the decision, so that no
    bidder learns before the deadline that another has quoted)."""
    named: dict[int, set[int]] = defaultdict(set)
    people: dict[int, Practitioner] = {}
    for quote in quotes:
        for person, _role, _rows in quote.team:
            named[person.id].add(quote.provider_id)
            people[person.id] = person
    shared: dict[int, list[str]] = defaultdict(list)
    for person_id, providers in sorted(named.items()):
        if len(providers) > 1:
            for provider_id in providers:
                shared[provider_id].append(mask_name(people[person_id].name))
    return {
        provider_id: f"报价团队中的{'、'.join(names)}同时被另一家机构的报价列明,"
        "同一人员不能为两家机构报名,两家的报价均不能中选"
        for provider_id, names in shared.items()
    }


def _load_history(quotes: list[Quote]) -> None:
    """Load the named people's employments and certificate versions in a few queries."""
    ids = {person.id for quote in quotes for person, _role, _rows in quote.team}
    if ids:
        db.session.scalars(
            select(Practitioner)
            .where(Practitioner.id.in_(ids))
            .options(
                selectinload(Practitioner.employments),
                selectinload(Practitioner.certificates).selectinload(
                    PractitionerCertificate.versions
                ),
            )
        ).all()


def _team_shortfall(request: SelectionRequest, quote: Quote, on: date, at: datetime) -> str | None:
    """Why the quote's team still there on `on` (by the record at `at`) with valid certificates
    and not blacklisted falls short of the team counts, or None."""
    wanted = _wanted_kinds(request)
    holders: dict[str, int] = defaultdict(int)
    for person, _role, _rows in quote.team:
        if _employed_then(person, quote, on, at) and not standing.is_barred(person, on):
            for kind in _kinds_then(person, on, at) & wanted:
                holders[kind] += 1
    shortfall = _shortfall(request, 1, holders)
    return shortfall and f"报价团队不再满足人员要求:{shortfall}"


def team_gaps(request: SelectionRequest, quotes: Iterable[Quote], on: date) -> dict[int, str]:
    """provider id → why the team its quote named did not meet the request on `on`, the
    request's deadline day in Beijing, by what was on record at the deadline instant (so that
    nothing entered after the deadline, whatever its dates, changes the draw's candidates): a
    person it names is named by another provider's quote too (both out), the 项目负责人 had
    left the firm, lost the valid certificate or been blacklisted, or the members still there
    with valid certificates fell short of the team counts. Quotes naming nobody (a request
    without a requirement) are left out."""
    quotes = list(quotes)
    at = request.deadline
    _load_history(quotes)
    twice = _named_twice(quotes)
    gaps = {}
    for quote in quotes:
        team = quote.team
        if not team:
            continue
        if quote.provider_id in twice:
            gaps[quote.provider_id] = f"{twice[quote.provider_id]}(按报名截止日 {on:%Y-%m-%d} 核对)"
            continue
        leader = next((p for p, role, _ in team if role == TeamRole.LEADER.value), team[0][0])
        reason = _leader_reason(request, quote, leader, on, at)
        if reason is None and request.team_certificates:
            reason = _team_shortfall(request, quote, on, at)
        if reason is not None:
            gaps[quote.provider_id] = f"{reason}(按报名截止日 {on:%Y-%m-%d} 核对)"
    return gaps
