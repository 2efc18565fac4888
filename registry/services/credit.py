"""Credit records (信用记录) and objections (异议): regulators of one department draft, publish,
revise and revoke records about the providers they supervise; providers object within the
window; regulators answer. Every step is audited. Services flush and raise; they never commit.

Windows are counted in working days on China's official calendar from the publication date:
the 公示期 (CREDIT_DISCLOSURE_DAYS), the objection window (CREDIT_OBJECTION_DAYS) and, from the
day an objection arrives, the answer window (CREDIT_ANSWER_DAYS).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.kernel.paging import Page
from registry.models import (
    CreditKind,
    CreditRecord,
    CreditStatus,
    Department,
    Objection,
    ObjectionOutcome,
    Provider,
    ProviderStatus,
    User,
)
from registry.models.types import utcnow
from registry.pure.workdays import add_working_days
from registry.sanitize import plain_text
from registry.services.audit import record, snapshot
from registry.services.errors import Forbidden, NotFound, RegistryError

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


def today() -> date:
    """Today in the zone's time (windows and terms are local dates)."""
    return clock.today()


def _days(name: str) -> int:
    return int(current_app.config[name])


# ---------------------------------------------------------------------- scope


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


def _provider_by_uscc(uscc: str | None) -> Provider:
    code = (uscc or "").strip().upper()[:18]
    provider = db.session.scalar(select(Provider).where(Provider.uscc == code)) if code else None
    if provider is None:
        raise RegistryError("provider", "请选择中介机构(未找到该统一社会信用代码的机构)")
    return provider


def _load(number: str, *, lock: bool = False) -> CreditRecord | None:
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
    found = _load(number, lock=lock)
    if found is None:
        raise NotFound("未找到该信用记录")
    if not policy.in_department(user, found.department_id):
        raise OutOfScope(f"信用记录 {found.number} 不属于本部门")
    return found


# ---------------------------------------------------------------------- content checks


def _text(value: str | None, field: str, label: str, limit: int) -> str:
    text = plain_text(value)
    if not text:
        raise RegistryError(field, f"请填写{label}")
    if len(text) > limit:
        raise RegistryError(field, f"{label}不能超过 {limit} 字(现为 {len(text)} 字)")
    return text


def _content(kind: str | None, title, facts, basis, term_until: date | None) -> dict:
    """Validated content of a record (the same rules for drafts, edits and revisions)."""
    if kind not in {k.value for k in CreditKind}:
        raise RegistryError("kind", "请选择记录类型")
    content = {
        "kind": kind,
        "title": _text(title, "title", "标题", 200),
        "facts": _text(facts, "facts", "事实", 5000),
        "basis": _text(basis, "basis", "依据", 2000),
        "term_until": None,
    }
    if kind == CreditKind.BLACKLIST.value:
        if term_until is None:
            raise RegistryError("term_until", "列入黑名单须填写期限截止日期")
        _check_term(term_until)
        content["term_until"] = term_until
    return content


def _check_term(term_until: date) -> None:
    start = today()
    if term_until <= start:
        raise RegistryError("term_until", "黑名单期限截止日期须晚于今天")
    if term_until > date(start.year + MAX_TERM_YEARS, start.month, min(start.day, 28)):
        raise RegistryError("term_until", f"黑名单期限不能超过 {MAX_TERM_YEARS} 年")


def _chain_start(item: CreditRecord) -> tuple[datetime, int]:
    """When the first revision of a record was published (a revision keeps its standing), with
    its id to order records published in the same instant (the order they were created in)."""
    while item.revises is not None and item.revises.published_at is not None:
        item = item.revises
    return item.published_at, item.id


def _blacklistings(provider_id: int, on: date) -> list[CreditRecord]:
    """Published blacklistings in force on `on`: within their term and not ended by a later
    信用修复 of the same department."""
    records = published_records(provider_id)
    repairs = [r for r in records if r.kind == CreditKind.REPAIR.value]
    found = []
    for item in records:
        if item.kind != CreditKind.BLACKLIST.value or item.term_until is None:
            continue
        started = _chain_start(item)
        ended = any(
            r.department_id == item.department_id and _chain_start(r) > started for r in repairs
        )
        if not ended and item.term_until >= on:
            found.append(item)
    return found


def _check_repair(kind: str, provider: Provider, department: Department) -> None:
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
            object_type="provider",
            object_id=provider.uscc,
            before={"blacklisted_until": before and before.isoformat()},
            after={"blacklisted_until": until and until.isoformat()},
        )
    return until


# ---------------------------------------------------------------------- regulators


def draft_record(
    user: User,
    *,
    provider_uscc: str | None,
    kind: str | None,
    title: str | None,
    facts: str | None,
    basis: str | None,
    term_until: date | None = None,
) -> CreditRecord:
    """A new draft about a provider the regulator's department supervises."""
    department = regulator_department(user)
    provider = _provider_by_uscc(provider_uscc)
    if not supervises(department.id, provider.id):
        raise OutOfScope(
            f"{provider.name}未提供{department.name}监管的中介服务事项,本部门不能对其记录信用信息",
            field="provider",
        )
    content = _content(kind, title, facts, basis, term_until)
    _check_repair(content["kind"], provider, department)
    item = CreditRecord(
        number=f"tmp-{secrets.token_hex(8)}",
        department_id=department.id,
        provider=provider,
        provider_name=provider.name,
        provider_uscc=provider.uscc,
        created_by_id=user.id,
        status=CreditStatus.DRAFT.value,
        **content,
    )
    db.session.add(item)
    db.session.flush()
    item.number = _number(item)
    db.session.flush()
    record(
        "credit.draft",
        actor=user,
        object_type="credit_record",
        object_id=item.number,
        after=snapshot(item),
    )
    return item


def _number(item: CreditRecord) -> str:
    year = (item.created_at or utcnow()).astimezone(SHANGHAI).year
    return f"XY-{year}-{item.id:06d}"


def update_draft(
    user: User,
    number: str,
    *,
    kind: str | None,
    title: str | None,
    facts: str | None,
    basis: str | None,
    term_until: date | None = None,
) -> CreditRecord:
    """Change a draft (published records are never edited: they are revised)."""
    item = get_record_for(user, number, lock=True)
    if not item.is_draft:
        raise RegistryError(None, f"记录 {item.number} {item.status},不能再修改;如需更正请发布修订")
    content = _content(kind, title, facts, basis, term_until)
    _check_repair(content["kind"], item.provider, item.department)
    before = snapshot(item)
    for key, value in content.items():
        setattr(item, key, value)
    db.session.flush()
    record(
        "credit.update",
        actor=user,
        object_type="credit_record",
        object_id=item.number,
        before=before,
        after=snapshot(item),
    )
    return item


def _windows(published_on: date) -> dict:
    return {
        "disclosure_until": add_working_days(published_on, _days("CREDIT_DISCLOSURE_DAYS")),
        "objection_until": add_working_days(published_on, _days("CREDIT_OBJECTION_DAYS")),
    }


def publish_record(user: User, number: str) -> CreditRecord:
    """Publish a draft: it becomes public, the 公示期 and objection window start; a blacklisting
    takes the provider out of selection at once."""
    item = get_record_for(user, number, lock=True)
    if not item.is_draft:
        raise RegistryError(None, f"记录 {item.number} {item.status},不能重复发布")
    provider = item.provider
    if not supervises(item.department_id, provider.id):
        raise OutOfScope(f"{provider.name}已不在本部门监管范围内", field="provider")
    if item.kind == CreditKind.BLACKLIST.value:
        _check_term(item.term_until)
    _check_repair(item.kind, provider, item.department)
    before = snapshot(item)
    item.provider_name, item.provider_uscc = provider.name, provider.uscc
    for key, value in _windows(today()).items():
        setattr(item, key, value)
    item.published_at, item.published_by_id = utcnow(), user.id
    item.status = CreditStatus.PUBLISHED.value
    db.session.flush()
    record(
        "credit.publish",
        actor=user,
        object_type="credit_record",
        object_id=item.number,
        before=before,
        after=snapshot(item),
    )
    refresh_blacklisting(provider, actor=user)
    return item


def _open_objection(item: CreditRecord) -> Objection | None:
    return db.session.scalar(
        select(Objection).where(Objection.record_id == item.id, Objection.outcome.is_(None))
    )


def _require_current(item: CreditRecord, verb: str) -> None:
    if not item.is_published:
        raise RegistryError(
            None, f"记录 {item.number} {item.status},只有已发布的现行记录可以{verb}"
        )


def _reason(reason: str | None, label: str) -> str:
    return _text(reason, "reason", label, 2000)


def revise_record(
    user: User,
    number: str,
    *,
    kind: str | None,
    title: str | None,
    facts: str | None,
    basis: str | None,
    term_until: date | None = None,
    reason: str | None,
) -> CreditRecord:
    """Correct a published record: a NEW published row that revises it; the old row is only
    marked superseded. Not while an objection awaits its answer (answer it instead)."""
    item = get_record_for(user, number, lock=True)
    _require_current(item, "修订")
    if _open_objection(item) is not None:
        raise RegistryError(None, "该记录有待答复的异议,请在异议答复中处理(异议成立时可修订或撤销)")
    return _revise(
        user,
        item,
        kind=kind,
        title=title,
        facts=facts,
        basis=basis,
        term_until=term_until,
        reason=_reason(reason, "修订原因"),
    )


def _revise(user: User, item: CreditRecord, *, reason: str, **fields) -> CreditRecord:
    content = _content(
        fields["kind"], fields["title"], fields["facts"], fields["basis"], fields["term_until"]
    )
    if content["kind"] == CreditKind.REPAIR.value and item.kind != CreditKind.REPAIR.value:
        _check_repair(content["kind"], item.provider, item.department)
    before = snapshot(item)
    provider = item.provider
    revision = CreditRecord(
        number=f"tmp-{secrets.token_hex(8)}",
        department_id=item.department_id,
        provider=provider,
        provider_name=provider.name,
        provider_uscc=provider.uscc,
        revises=item,
        revision_reason=reason,
        created_by_id=user.id,
        published_by_id=user.id,
        published_at=utcnow(),
        status=CreditStatus.DRAFT.value,
        **content,
        **_windows(today()),
    )
    db.session.add(revision)
    item.status = CreditStatus.SUPERSEDED.value
    item.closed_at, item.closed_by_id, item.closed_reason = utcnow(), user.id, reason
    db.session.flush()
    # The number comes from the row id; it is set while the row is still a draft, and the
    # revision is published in the same statement (a published row never changes content).
    revision.number = _number(revision)
    revision.status = CreditStatus.PUBLISHED.value
    db.session.flush()
    record(
        "credit.revise",
        actor=user,
        object_type="credit_record",
        object_id=revision.number,
        before=before,
        after=snapshot(revision),
        detail=f"修订 {item.number}:{reason}",
    )
    refresh_blacklisting(provider, actor=user)
    return revision


def revoke_record(user: User, number: str, *, reason: str | None) -> CreditRecord:
    """Revoke a published record (it leaves the notice board, feed, API and search; a
    blacklisting it imposed ends). Not while an objection awaits its answer."""
    item = get_record_for(user, number, lock=True)
    _require_current(item, "撤销")
    if _open_objection(item) is not None:
        raise RegistryError(None, "该记录有待答复的异议,请在异议答复中处理(异议成立时可修订或撤销)")
    return _revoke(user, item, _reason(reason, "撤销原因"))


def _revoke(user: User, item: CreditRecord, reason: str) -> CreditRecord:
    before = snapshot(item)
    item.status = CreditStatus.REVOKED.value
    item.closed_at, item.closed_by_id, item.closed_reason = utcnow(), user.id, reason
    db.session.flush()
    record(
        "credit.revoke",
        actor=user,
        object_type="credit_record",
        object_id=item.number,
        before=before,
        after=snapshot(item),
        detail=reason,
    )
    refresh_blacklisting(item.provider, actor=user)
    return item


def records_for_department(user: User, *, status: str | None = None) -> list[CreditRecord]:
    """Every record of the regulator's department (drafts included), newest first."""
    regulator_department(user)
    query = select(CreditRecord).where(policy.department_records(user, CreditRecord.department_id))
    if status in {s.value for s in CreditStatus}:
        query = query.where(CreditRecord.status == status)
    return list(db.session.scalars(query.order_by(CreditRecord.id.desc())))


def revisions_of(item: CreditRecord) -> list[CreditRecord]:
    """The whole revision chain a record belongs to, oldest first."""
    first = item
    while first.revises is not None:
        first = first.revises
    chain, current = [first], first
    while True:
        following = db.session.scalar(
            select(CreditRecord).where(CreditRecord.revises_id == current.id)
        )
        if following is None:
            return chain
        chain.append(following)
        current = following


# ---------------------------------------------------------------------- objections


def get_record_about(user: User, number: str, *, lock: bool = False) -> CreditRecord:
    """A record about the provider the account acts for (published at some point). Drafts and
    unknown numbers are NotFound; another provider's record is Forbidden."""
    if not policy.is_provider_account(user):
        raise Forbidden("只有中介机构账号可以查看本机构的信用记录")
    provider = provider_of(user)
    item = _load(number, lock=lock)
    if item is None or item.is_draft:
        raise NotFound("未找到该信用记录")
    if provider is None or item.provider_id != provider.id:
        raise Forbidden(f"信用记录 {item.number} 不是关于本机构的记录")
    return item


def object_to_record(user: User, number: str, *, reason: str | None) -> Objection:
    """A provider objects to a published record about itself, within the objection window."""
    item = get_record_about(user, number, lock=True)
    if not item.is_published:
        raise RegistryError(None, f"该记录{item.status},无需再提出异议")
    if today() > item.objection_until:
        raise RegistryError(
            "reason", f"异议期已于 {item.objection_until:%Y-%m-%d} 截止,不能再提出异议"
        )
    if _open_objection(item) is not None:
        raise RegistryError(None, "该记录已有待答复的异议,请等待主管部门答复")
    text = _reason(reason, "异议理由")
    objection = Objection(
        record=item,
        provider_id=item.provider_id,
        open_record_id=item.id,
        reason=text,
        submitted_by_id=user.id,
        submitted_at=utcnow(),
        answer_due=add_working_days(today(), _days("CREDIT_ANSWER_DAYS")),
    )
    db.session.add(objection)
    try:
        db.session.flush()
    except IntegrityError:
        # Two submissions at once: the unique open_record_id lets one through.
        raise RegistryError(None, "该记录已有待答复的异议,请等待主管部门答复") from None
    record(
        "credit.object",
        actor=user,
        object_type="credit_objection",
        object_id=objection.id,
        after=snapshot(objection),
        detail=f"对 {item.number} 提出异议",
    )
    return objection


def get_objection_for(user: User, objection_id: int, *, lock: bool = False) -> Objection:
    """An objection to one of the regulator's department's records."""
    regulator_department(user)
    query = (
        select(Objection)
        .where(Objection.id == objection_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update()
    objection = db.session.scalar(query)
    if objection is None:
        raise NotFound("未找到该异议")
    if not policy.in_department(user, objection.record.department_id):
        raise OutOfScope(f"异议 {objection.id} 所涉记录不属于本部门")
    return objection


RESOLUTIONS = {"revise": "修订原记录", "revoke": "撤销原记录"}


def answer_objection(
    user: User,
    objection_id: int,
    *,
    outcome: str | None,
    answer: str | None,
    resolution: str | None = None,
    revision: dict | None = None,
) -> Objection:
    """Answer an objection: 维持 (rejected, with reasons) or 成立 (upheld: the record is revised
    as a new revision, or revoked)."""
    objection = get_objection_for(user, objection_id, lock=True)
    if not objection.is_open:
        raise RegistryError(None, "该异议已答复,不能重复答复")
    if outcome not in {o.value for o in ObjectionOutcome}:
        raise RegistryError("outcome", "请选择答复结论(异议成立或不成立)")
    label = "不予采纳的理由" if outcome == ObjectionOutcome.REJECTED.value else "答复意见"
    text = _text(answer, "answer", label, 5000)
    item = _load(objection.record.number, lock=True)
    before = snapshot(objection)
    revision_id = None
    if outcome == ObjectionOutcome.UPHELD.value:
        if not item.is_published:
            raise RegistryError(None, f"原记录{item.status},请选择异议不成立并说明情况")
        reason = f"异议成立:{text}"[:2000]
        if resolution == "revise":
            fields = revision or {}
            revision_id = _revise(
                user,
                item,
                reason=reason,
                kind=fields.get("kind"),
                title=fields.get("title"),
                facts=fields.get("facts"),
                basis=fields.get("basis"),
                term_until=fields.get("term_until"),
            ).id
        elif resolution == "revoke":
            _revoke(user, item, reason)
        else:
            raise RegistryError("resolution", "异议成立时,请选择修订或撤销原记录")
    # The answer is written in one UPDATE: once an outcome is stored, the row is final.
    objection.outcome, objection.answer, objection.revision_id = outcome, text, revision_id
    objection.answered_by_id, objection.answered_at = user.id, utcnow()
    objection.open_record_id = None
    db.session.flush()
    record(
        "credit.answer",
        actor=user,
        object_type="credit_objection",
        object_id=objection.id,
        before=before,
        after=snapshot(objection),
        detail=f"{item.number}:{objection.outcome_label}",
    )
    return objection


def objections_for_department(user: User, *, open_only: bool = False) -> list[Objection]:
    """Objections to the department's records: open ones first by due date, then answered."""
    regulator_department(user)
    query = (
        select(Objection)
        .join(CreditRecord, CreditRecord.id == Objection.record_id)
        .where(policy.department_records(user, CreditRecord.department_id))
        .options(selectinload(Objection.record), selectinload(Objection.provider))
    )
    if open_only:
        query = query.where(Objection.outcome.is_(None))
    rows = db.session.scalars(query.order_by(Objection.answer_due, Objection.id)).all()
    return sorted(
        rows,
        key=lambda o: (
            not o.is_open,
            o.answer_due if o.is_open else date.min,
            -(o.answered_at or o.submitted_at).timestamp(),
        ),
    )


def is_overdue(objection: Objection, on: date | None = None) -> bool:
    """An open objection whose answer is past due."""
    return objection.is_open and (on or today()) > objection.answer_due


def overdue_objections(user: User, on: date | None = None) -> list[Objection]:
    """Open objections past their answer date (the regulator's dashboard lists them)."""
    on = on or today()
    return [o for o in objections_for_department(user, open_only=True) if is_overdue(o, on)]


def provider_of(user: User) -> Provider | None:
    """The provider a provider account acts for, or None."""
    return db.session.scalar(select(Provider).where(Provider.account_id == user.id))


def records_about(user: User) -> list[CreditRecord]:
    """Every record about the provider that was ever published (current, superseded, revoked),
    newest first; drafts stay with the regulator."""
    provider = provider_of(user)
    if provider is None:
        return []
    return list(
        db.session.scalars(
            select(CreditRecord)
            .where(
                CreditRecord.provider_id == provider.id,
                CreditRecord.status != CreditStatus.DRAFT.value,
            )
            .options(selectinload(CreditRecord.objections), selectinload(CreditRecord.department))
            .order_by(CreditRecord.published_at.desc(), CreditRecord.id.desc())
        )
    )


def can_object(item: CreditRecord, on: date | None = None) -> bool:
    """Whether an objection to the record would be accepted now."""
    return (
        item.is_published
        and item.objection_until is not None
        and (on or today()) <= item.objection_until
        and not any(o.is_open for o in item.objections)
    )


# ---------------------------------------------------------------------- public


def published_records(provider_id: int) -> list[CreditRecord]:
    """The provider's published, current records, newest first (profile and grade)."""
    return list(
        db.session.scalars(
            select(CreditRecord)
            .where(
                CreditRecord.provider_id == provider_id,
                CreditRecord.status == CreditStatus.PUBLISHED.value,
            )
            .options(selectinload(CreditRecord.department))
            .order_by(CreditRecord.published_at.desc(), CreditRecord.id.desc())
        )
    )


@dataclass(frozen=True)
class NoticeFilters:
    """Filters of the public notice board (pages, exports, feed and API alike)."""

    department: str | None = None
    kind: str | None = None
    year: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    provider: str | None = None  # part of the name, or the USCC


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def notice_query(filters: NoticeFilters) -> Select:
    """Published, current records matching the filters, newest first."""
    query = select(CreditRecord).where(CreditRecord.status == CreditStatus.PUBLISHED.value)
    if filters.department:
        query = query.join(Department, Department.id == CreditRecord.department_id).where(
            Department.code == filters.department
        )
    if filters.kind:
        query = query.where(CreditRecord.kind == filters.kind)
    start, end = filters.date_from, filters.date_to
    if filters.year:
        start = max(start or date.min, date(filters.year, 1, 1))
        end = min(end or date.max, date(filters.year, 12, 31))
    if start:
        query = query.where(CreditRecord.published_at >= _day_start(start))
    if end and end < date.max:
        query = query.where(CreditRecord.published_at < _day_start(end) + timedelta(days=1))
    if filters.provider:
        text = filters.provider.strip()
        query = query.where(
            or_(
                func.lower(CreditRecord.provider_name).like(_like(text), escape="\\"),
                CreditRecord.provider_uscc == text.upper(),
            )
        )
    return query.options(selectinload(CreditRecord.department)).order_by(
        CreditRecord.published_at.desc(), CreditRecord.id.desc()
    )


def list_notices(filters: NoticeFilters, *, page: int = 1, per_page: int = 20) -> Page:
    """One page of the public notice board."""
    query = notice_query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(rows), total, page, per_page)


def notices_for_export(filters: NoticeFilters, limit: int | None = None) -> list[CreditRecord]:
    """Matching notices for a CSV / XLSX export or the feed, capped at `limit` rows."""
    limit = limit or _days("CREDIT_EXPORT_MAX_ROWS")
    return list(db.session.scalars(notice_query(filters).limit(limit)))


def get_public_notice(number: str) -> CreditRecord:
    """A published, current record by number. A superseded one raises Superseded with the
    number of its current revision; drafts, revoked records and unknown numbers are NotFound."""
    if not NUMBER_RE.match(number or ""):
        raise NotFound("未找到该信用公示")
    item = _load(number)
    if item is None:
        raise NotFound("未找到该信用公示")
    if item.status == CreditStatus.SUPERSEDED.value:
        current = revisions_of(item)[-1]
        if current.is_published:
            raise Superseded(current.number)
    if not item.is_published:
        raise NotFound("未找到该信用公示")
    return item


def in_disclosure(item: CreditRecord, on: date | None = None) -> bool:
    """Whether the record is still in its 公示期."""
    return item.disclosure_until is not None and (on or today()) <= item.disclosure_until


def departments_with_notices() -> list[Department]:
    """Departments that have published at least one current record (the board's filter)."""
    return list(
        db.session.scalars(
            select(Department)
            .where(
                exists(
                    select(CreditRecord.id).where(
                        CreditRecord.department_id == Department.id,
                        CreditRecord.status == CreditStatus.PUBLISHED.value,
                    )
                )
            )
            .order_by(Department.code)
        )
    )
