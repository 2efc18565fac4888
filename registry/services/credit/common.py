"""What every credit use case shares: the department's scope (which providers a regulator
supervises, which records it may reach), the content rules of a record and a provider's
blacklisting kept in step with its records."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import NotRequired, TypedDict

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    CreditKind,
    CreditRecord,
    CreditStatus,
    Department,
    Employment,
    Practitioner,
    Provider,
    ProviderStatus,
    User,
)
from registry.models.types import MAX_ID
from registry.services.audit import record
from registry.services.errors import Forbidden, NotFound, RegistryError, text_field
from registry.services.practitioners.staff import employed_on
from registry.services.practitioners.standing import PERSON_KINDS

SHANGHAI = clock.ZONE
NUMBER_RE = re.compile(r"^XY-\d{4}-\d{6,}$")
MAX_TERM_YEARS = 10


class OutOfScope(Forbidden):
    """A regulator reached for a record or provider outside its department; the view writes
    the refused attempt to the audit log."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class Superseded(RegistryError):
    """A public number that a newer revision replaced; `current` is the number to show."""

    def __init__(self, current: str):
        super().__init__(None, "该信用记录已被修订")
        self.current = current


class Revoked(NotFound):
    """A public number its department revoked: no longer shown, but the revocation and its
    reason are (the confirmation promised 撤销及其原因公开留痕; the number answered a bare 404, a
    tester found at stop 30). A NotFound for every other reader."""

    def __init__(self, item: CreditRecord):
        day = clock.local_date(item.closed_at) if item.closed_at else None
        super().__init__(
            f"信用公示 {item.number}({item.department.name}发布)已于 {day} 撤销,不再公示。"
            f"撤销原因:{item.closed_reason or '—'}"
        )
        self.number, self.day, self.reason = item.number, day, item.closed_reason


def today() -> date:
    """Today in the zone's time (windows and terms are local dates)."""
    return clock.today()


def window_days(name: str) -> int:
    return int(current_app.config[name])


def regulator_department(user: User) -> Department:
    """The one department a regulator acts for (policy.regulator_department), or Forbidden."""
    if not policy.is_regulator(user):
        raise Forbidden("只有行业主管部门的账号可以管理信用记录")
    department = policy.regulator_department(user)
    if department is None:
        raise Forbidden("您的账号未关联监管部门,请联系管理员")
    return department


def _supervised_query(department_id: int) -> Select:
    """Providers the department supervises (policy.supervised_providers) that have applied: a
    draft application is nobody's record subject yet."""
    return select(Provider).where(
        policy.supervised_providers(department_id), Provider.status != ProviderStatus.DRAFT.value
    )


def supervises(department_id: int, provider_id: int) -> bool:
    """Whether the department supervises the provider (the provider offers one of its items)."""
    query = _supervised_query(department_id).where(Provider.id == provider_id)
    return db.session.scalar(query.with_only_columns(Provider.id).limit(1)) is not None


def supervised_providers(user: User) -> list[Provider]:
    """The providers a regulator may issue records about."""
    department = regulator_department(user)
    return list(db.session.scalars(_supervised_query(department.id).order_by(Provider.name)))


def supervised_staff(user: User) -> list[Employment]:
    """The people working today at providers the regulator's department supervises (whom it may
    record a failing against), by firm and name."""
    department = regulator_department(user)
    firms = _supervised_query(department.id).with_only_columns(Provider.id)
    return list(
        db.session.scalars(
            select(Employment)
            .join(Employment.practitioner)
            .join(Employment.provider)
            .where(Employment.provider_id.in_(firms), employed_on(today()))
            .options(selectinload(Employment.practitioner), selectinload(Employment.provider))
            .order_by(Provider.name, Practitioner.name, Practitioner.id)
        )
    )


def provider_by_uscc(uscc: str | None) -> Provider:
    code = (uscc or "").strip().upper()[:18]
    provider = db.session.scalar(select(Provider).where(Provider.uscc == code)) if code else None
    if provider is None:
        raise RegistryError("provider", "请选择中介机构(未找到该统一社会信用代码的机构)")
    return provider


# The person's own credit page (services/credit/objections.py, web/credit.py), where they object.
PERSON_PAGE = "/my/person/credit"


def person_at_firm(practitioner_id: int, uscc: str | None) -> tuple[Practitioner, Provider]:
    """The person a record is drafted against and the firm they work at today (the record notes
    it); a person working nowhere, or elsewhere than the provider chosen, is refused."""
    # A forged id beyond what an id column holds would overflow the driver (a 500).
    person = (
        db.session.get(Practitioner, practitioner_id) if 0 < practitioner_id <= MAX_ID else None
    )
    if person is None:
        raise RegistryError("practitioner", "未找到该从业人员")
    employment = db.session.scalar(
        select(Employment).where(Employment.practitioner_id == person.id, employed_on(today()))
    )
    if employment is None:
        raise RegistryError("practitioner", "该从业人员目前不在任何中介机构执业,不能记录")
    provider = employment.provider
    code = (uscc or "").strip().upper()
    if code and code != provider.uscc:
        raise RegistryError("practitioner", "该从业人员目前不在所选中介机构执业")
    return person, provider


def check_person_kind(kind: str) -> None:
    """A record against a person is one of PERSON_KINDS (commendations and repairs are firms')."""
    if kind not in PERSON_KINDS:
        raise RegistryError("kind", "针对从业人员的记录类型只能是:" + "、".join(PERSON_KINDS))


def load_record(number: str, *, lock: bool = False) -> CreditRecord | None:
    query = (
        select(CreditRecord)
        .where(CreditRecord.number == (number or "")[:32])
        .execution_options(populate_existing=True)
    )
    if lock:
        # PostgreSQL: a row lock, so two regulators acting at once are serialised (SQLite's
        # immediate transactions already are).
        query = query.with_for_update()
    return db.session.scalar(query)


def get_record_for(user: User, number: str, *, lock: bool = False) -> CreditRecord:
    """A record of the regulator's own department (drafts included); another department's
    record is refused (OutOfScope), a missing one is NotFound."""
    regulator_department(user)
    found = load_record(number, lock=lock)
    if found is None:
        raise NotFound("未找到该信用记录")
    if not policy.in_department(user, found.department_id):
        raise OutOfScope(f"信用记录 {found.number} 不属于本部门")
    return found


class RecordContent(TypedDict):
    """What a regulator writes into a record, as the form sends it (checked_content checks it)."""

    kind: str | None
    title: str | None
    facts: str | None
    basis: str | None
    term_until: NotRequired[date | None]


def checked_content(
    kind: str | None,
    title: str | None,
    facts: str | None,
    basis: str | None,
    term_until: date | None = None,
) -> dict:
    """Validated content of a record (the same rules for drafts, edits and revisions)."""
    if kind not in {k.value for k in CreditKind}:
        raise RegistryError("kind", "请选择记录类型")
    content = {
        "kind": kind,
        "title": text_field(title, "title", "标题", 200),
        "facts": text_field(facts, "facts", "事实", 5000),
        "basis": text_field(basis, "basis", "依据", 2000),
        "term_until": None,
    }
    if kind == CreditKind.BLACKLIST.value:
        if term_until is None:
            raise RegistryError("term_until", "列入黑名单须填写期限截止日期")
        check_term(term_until)
        content["term_until"] = term_until
    return content


def last_term_day(start: date) -> date:
    """The last day of a MAX_TERM_YEARS term that starts on `start` (counted inclusive: a term
    from 2026-12-08 ends at the latest on 2036-12-07; it allowed 12-08, ten years and a day, a
    tester found at stop 30). From 29 February the anniversary is 1 March."""
    try:
        anniversary = start.replace(year=start.year + MAX_TERM_YEARS)
    except ValueError:
        anniversary = date(start.year + MAX_TERM_YEARS, 3, 1)
    return anniversary - timedelta(days=1)


def check_term(term_until: date) -> None:
    start = today()
    if term_until <= start:
        raise RegistryError("term_until", "黑名单期限截止日期须晚于今天")
    if term_until > last_term_day(start):
        raise RegistryError(
            "term_until",
            f"黑名单期限不能超过 {MAX_TERM_YEARS} 年(自今天起算,最晚至 {last_term_day(start)})",
        )


def _chain_start(item: CreditRecord) -> tuple[datetime, int]:
    """When the first revision of a record was published (a revision keeps its standing), with
    its id to order records published in the same instant (the order they were created in)."""
    while item.revises is not None and item.revises.published_at is not None:
        item = item.revises
    return item.published_at, item.id


def _ending_repair(item: CreditRecord, repairs: list[CreditRecord]) -> CreditRecord | None:
    """The first 信用修复 of the blacklisting's department published after it, which ended it."""
    started = _chain_start(item)
    later = [
        r for r in repairs if r.department_id == item.department_id and _chain_start(r) > started
    ]
    return min(later, key=_chain_start, default=None)


def _blacklistings(provider_id: int, on: date) -> list[CreditRecord]:
    """Published blacklistings in force on `on`: within their term and not ended by a later
    信用修复 of the same department."""
    records = published_records(provider_id)
    repairs = [r for r in records if r.kind == CreditKind.REPAIR.value]
    return [
        item
        for item in records
        if item.kind == CreditKind.BLACKLIST.value
        and item.term_until is not None
        and item.term_until >= on
        and _ending_repair(item, repairs) is None
    ]


def _ends_early(item: CreditRecord) -> bool:
    """Whether a record is one a 信用修复 may end early: a published blacklisting of a firm."""
    return (
        item.kind == CreditKind.BLACKLIST.value
        and not item.is_about_person
        and item.status == CreditStatus.PUBLISHED.value
    )


def ended_early_by(item: CreditRecord) -> CreditRecord | None:
    """The published 信用修复 that ended this firm's blacklisting before its term, or None: the
    public notice and the API say so beside the term, which stays as published."""
    if not _ends_early(item):
        return None
    repairs = [r for r in published_records(item.provider_id) if r.kind == CreditKind.REPAIR.value]
    return _ended_by(item, repairs)


def ended_early_of(items: list[CreditRecord]) -> dict[int, CreditRecord]:
    """`ended_early_by` of a page of records, by record id, with one query for all their firms'
    repairs (the API's notice list read them once per blacklisting)."""
    blacklistings = [item for item in items if _ends_early(item)]
    if not blacklistings:
        return {}
    # In published_records' order, so that a tie picks the same repair as ended_early_by.
    firms = {b.provider_id for b in blacklistings}
    repairs = db.session.scalars(
        _published(firms).where(CreditRecord.kind == CreditKind.REPAIR.value)
    ).all()
    ended = {
        item.id: _ended_by(item, [r for r in repairs if r.provider_id == item.provider_id])
        for item in blacklistings
    }
    return {key: repair for key, repair in ended.items() if repair is not None}


def _ended_by(item: CreditRecord, repairs: list[CreditRecord]) -> CreditRecord | None:
    repair = _ending_repair(item, repairs)
    if repair is None or item.term_until is None:
        return None
    # A repair after the term had run out ended a later blacklisting, not this one.
    return repair if clock.local_date(repair.published_at) <= item.term_until else None


def check_repair(kind: str, provider: Provider, department: Department) -> None:
    if kind != CreditKind.REPAIR.value:
        return
    if not any(b.department_id == department.id for b in _blacklistings(provider.id, today())):
        raise RegistryError("kind", "该机构目前不在本部门的黑名单中,无需信用修复")


def refresh_blacklisting(provider: Provider, *, actor: User | None = None) -> date | None:
    """Recompute Provider.blacklisted_until from the published records (a blacklisting in
    force, not revoked, superseded or ended by 信用修复); audited when it changes."""
    db.session.flush()
    terms = [b.term_until for b in _blacklistings(provider.id, today())]
    until = max(terms) if terms else None
    if provider.blacklisted_until != until:
        before = provider.blacklisted_until
        provider.blacklisted_until = until
        record(
            "provider.blacklist",
            actor=actor,
            of=provider,
            before={"blacklisted_until": before and before.isoformat()},
            after={"blacklisted_until": until and until.isoformat()},
        )
    return until


def published_records(provider_id: int) -> list[CreditRecord]:
    """The provider's published, current records against the firm itself, newest first (profile
    and grade); records against its people follow the person (practitioners/standing.py)."""
    return list(
        db.session.scalars(_published({provider_id}).options(selectinload(CreditRecord.department)))
    )


def _published(provider_ids: set[int]) -> Select:
    """The firms' published, current records against the firm itself, newest first."""
    return (
        select(CreditRecord)
        .where(
            CreditRecord.provider_id.in_(provider_ids),
            CreditRecord.practitioner_id.is_(None),
            CreditRecord.status == CreditStatus.PUBLISHED.value,
        )
        .order_by(CreditRecord.published_at.desc(), CreditRecord.id.desc())
    )
