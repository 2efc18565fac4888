"""A department's credit records: drafted, published (the 公示期 and objection window start),
revised (a new revision supersedes the old number) and revoked; the department's lists."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date
from typing import Unpack

from sqlalchemy import select

from registry import policy
from registry.extensions import db
from registry.models import (
    CreditKind,
    CreditRecord,
    CreditStatus,
    Objection,
    Provider,
    User,
)
from registry.models.types import utcnow
from registry.pure.pii import mask_name
from registry.pure.workdays import add_working_days
from registry.sanitize import as_clause
from registry.services import notify
from registry.services.audit import change, record, snapshot
from registry.services.credit.common import (
    PERSON_PAGE,
    SHANGHAI,
    OutOfScope,
    RecordContent,
    check_person_kind,
    check_repair,
    check_term,
    checked_content,
    get_record_for,
    person_at_firm,
    provider_by_uscc,
    refresh_blacklisting,
    regulator_department,
    supervises,
    text_field,
    today,
    window_days,
)
from registry.services.errors import RegistryError, StaleEdit

# Where a firm reads about its staff (the roster; its profile lists their records too).
STAFF_PAGE = "/my/provider/practitioners"


def draft_record(
    user: User,
    *,
    provider_uscc: str | None,
    practitioner_id: int | None = None,
    **fields: Unpack[RecordContent],
) -> CreditRecord:
    """A new draft about a provider the regulator's department supervises, or against a person
    (practitioner_id) working there now: then the provider is the person's firm at the time."""
    department = regulator_department(user)
    person = None
    if practitioner_id is not None:
        person, provider = person_at_firm(practitioner_id, provider_uscc)
    else:
        provider = provider_by_uscc(provider_uscc)
    if not supervises(department.id, provider.id):
        raise OutOfScope(
            f"{provider.name}未提供{department.name}监管的中介服务事项,本部门不能对其记录信用信息",
            field="provider",
        )
    content = checked_content(**fields)
    if person is not None:
        check_person_kind(content["kind"])
    check_repair(content["kind"], provider, department)
    item = _new_record(user, department.id, provider, practitioner=person, **content)
    item.number = _number(item)
    db.session.flush()
    record("credit.draft", actor=user, of=item, after=snapshot(item))
    return item


def _new_record(user: User, department_id: int, provider: Provider, **fields) -> CreditRecord:
    """Insert a draft row about provider (its name and code as of now) under a temporary
    number; the caller numbers it from its id."""
    item = CreditRecord(
        number=f"tmp-{secrets.token_hex(8)}",
        department_id=department_id,
        provider=provider,
        provider_name=provider.name,
        provider_uscc=provider.uscc,
        created_by_id=user.id,
        status=CreditStatus.DRAFT.value,
        **fields,
    )
    db.session.add(item)
    db.session.flush()
    return item


def _number(item: CreditRecord) -> str:
    year = (item.created_at or utcnow()).astimezone(SHANGHAI).year
    return f"XY-{year}-{item.id:06d}"


class StaleDraft(StaleEdit):
    message_text = (
        "该草稿已在别处修改并保存(另一窗口或同事),为免覆盖,本次未保存;请刷新页面,核对后再修改。"
    )


def draft_seen(item: CreditRecord) -> str:
    """What an edit form carries of the draft it was rendered from: a digest of its content, so
    that a save from a stale form (another tab, a colleague) is refused, not an overwrite (a
    tester, stop 30). Drafts have no version column; their content is what matters."""
    content = [item.kind, item.title, item.facts, item.basis, str(item.term_until)]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()[:32]


def update_draft(
    user: User, number: str, *, seen: str | None = None, **fields: Unpack[RecordContent]
) -> CreditRecord:
    """Change a draft (published records are never edited: they are revised); `seen` (from
    `draft_seen`, when the caller has a form) must still be the draft's."""
    item = get_record_for(user, number, lock=True)
    if not item.is_draft:
        raise RegistryError(None, f"记录 {item.number} {item.status},不能再修改;如需更正请发布修订")
    if seen is not None and seen != draft_seen(item):
        raise StaleDraft()
    content = checked_content(**fields)
    if item.is_about_person:
        check_person_kind(content["kind"])
    check_repair(content["kind"], item.provider, item.department)
    with change("credit.update", actor=user, of=item):
        for key, value in content.items():
            setattr(item, key, value)
    return item


def discard_draft(user: User, number: str) -> CreditRecord:
    """Delete a draft made by mistake (a draft was never public, so it is no evidence; the audit
    entry keeps what it said). A published record is revised or revoked, never deleted."""
    item = get_record_for(user, number, lock=True)
    if not item.is_draft:
        raise RegistryError(
            None, f"记录 {item.number} {item.status},不能删除;如需更正请发布修订或撤销"
        )
    record("credit.discard", actor=user, of=item, before=snapshot(item), detail=item.title)
    db.session.delete(item)
    db.session.flush()
    return item


def _windows(published_on: date) -> dict:
    return {
        "disclosure_until": add_working_days(published_on, window_days("CREDIT_DISCLOSURE_DAYS")),
        "objection_until": add_working_days(published_on, window_days("CREDIT_OBJECTION_DAYS")),
    }


def publishable(user: User, number: str, *, lock: bool = False) -> CreditRecord:
    """The department's draft `number` if it may be published now (what the confirmation page
    shows), or the reason it may not: already published, provider out of scope, a blacklisting
    without a valid term, a repair without what it repairs. Reads only."""
    item = get_record_for(user, number, lock=lock)
    if not item.is_draft:
        raise RegistryError(None, f"记录 {item.number} {item.status},不能重复发布")
    provider = item.provider
    if not supervises(item.department_id, provider.id):
        raise OutOfScope(f"{provider.name}已不在本部门监管范围内", field="provider")
    if item.kind == CreditKind.BLACKLIST.value:
        check_term(item.term_until)
    check_repair(item.kind, provider, item.department)
    return item


def windows_from_today() -> dict[str, date]:
    """The 公示期 and objection window a record published today would get."""
    return _windows(today())


def publish_record(user: User, number: str) -> CreditRecord:
    """Publish a draft: it becomes public, the 公示期 and objection window start; a blacklisting
    takes the provider out of selection at once."""
    item = publishable(user, number, lock=True)
    provider = item.provider
    with change("credit.publish", actor=user, of=item):
        item.provider_name, item.provider_uscc = provider.name, provider.uscc
        for key, value in _windows(today()).items():
            setattr(item, key, value)
        item.published_at, item.published_by_id = utcnow(), user.id
        item.status = CreditStatus.PUBLISHED.value
    refresh_blacklisting(provider, actor=user)
    term = f",期限至 {item.term_until:%Y-%m-%d}" if item.term_until else ""
    _tell_provider(
        item,
        "信用记录公布",
        f"{item.department.name}公布了关于贵机构的信用记录 {item.number}"
        f"({item.kind}{term}):{as_clause(item.title)}。公示期至 {item.disclosure_until:%Y-%m-%d};"
        f"如有异议,请于 {item.objection_until:%Y-%m-%d}(含当日)前提出。",
    )
    return item


def _tell_provider(item: CreditRecord, kind: str, message: str) -> None:
    """The account of the provider the record is about (its credit page, where it objects); for
    a record against a person, the firm's account (about its staff member) and the person's own
    account if linked (their page, where they object)."""
    firm = db.session.get(User, item.provider.account_id) if item.provider.account_id else None
    subject = f"{kind}:{item.number}"
    if not item.is_about_person:
        notify.notify([firm], "credit", message, link="/my/credit", kind=kind, subject=subject)
        return
    person = item.practitioner
    # The employer sees its own staff's names; a firm the person has left sees the name masked.
    current = person.current_employment
    name = person.name if current and current.provider_id == item.provider_id else None
    staff = f"贵机构从业人员{name or mask_name(person.name)}"
    notify.notify(
        [firm],
        "credit",
        message.replace("贵机构", staff),
        link=STAFF_PAGE,
        kind=kind,
        subject=subject,
    )
    own = db.session.get(User, person.account_id) if person.account_id else None
    notify.notify(
        [own],
        "credit",
        message.replace("贵机构", "您"),
        link=PERSON_PAGE,
        kind=kind,
        subject=subject,
    )


def open_objection(item: CreditRecord) -> Objection | None:
    return db.session.scalar(
        select(Objection).where(Objection.record_id == item.id, Objection.outcome.is_(None))
    )


def _require_current(item: CreditRecord, verb: str) -> None:
    if not item.is_published:
        raise RegistryError(
            None, f"记录 {item.number} {item.status},只有已发布的现行记录可以{verb}"
        )


def checked_reason(reason: str | None, label: str) -> str:
    return text_field(reason, "reason", label, 2000)


def changeable_record(user: User, number: str, verb: str, *, lock: bool = False) -> CreditRecord:
    """A published, current record of the user's department that may be revised or revoked
    now: not while an objection awaits its answer (answer it instead)."""
    item = get_record_for(user, number, lock=lock)
    _require_current(item, verb)
    if open_objection(item) is not None:
        raise RegistryError(None, "该记录有待答复的异议,请在异议答复中处理(异议成立时可修订或撤销)")
    return item


def revision_preview(
    user: User, number: str, *, reason: str | None, **fields: Unpack[RecordContent]
) -> tuple[CreditRecord, dict]:
    """What revise_record would publish, checked as it checks and written nowhere: the record
    and the new content (the confirmation page shows it)."""
    item = changeable_record(user, number, "修订")
    checked_reason(reason, "修订原因")
    return item, checked_revision(item, **fields)


def checked_revision(item: CreditRecord, **fields: Unpack[RecordContent]) -> dict:
    """The content of a revision of item, checked: a record about a person keeps a person's
    kind, and a revision into 信用修复 must have a blacklisting to end."""
    content = checked_content(**fields)
    if item.is_about_person:
        check_person_kind(content["kind"])
    if content["kind"] == CreditKind.REPAIR.value and item.kind != CreditKind.REPAIR.value:
        check_repair(content["kind"], item.provider, item.department)
    return content


def revise_record(
    user: User,
    number: str,
    *,
    reason: str | None,
    **fields: Unpack[RecordContent],
) -> CreditRecord:
    """Correct a published record: a NEW published row that revises it; the old row is only
    marked superseded. Not while an objection awaits its answer (answer it instead)."""
    item = changeable_record(user, number, "修订", lock=True)
    revision = apply_revision(user, item, reason=checked_reason(reason, "修订原因"), **fields)
    # Told here, not in apply_revision: after an objection the answer itself tells the provider.
    _tell_provider(
        revision,
        "信用记录修订",
        f"{revision.department.name}修订了关于贵机构的信用记录 {item.number},"
        f"修订后为 {revision.number}({revision.kind}):{as_clause(revision.title)}。"
        f"修订原因:{revision.revision_reason}",
    )
    return revision


def apply_revision(
    user: User, item: CreditRecord, *, reason: str, **fields: Unpack[RecordContent]
) -> CreditRecord:
    """Publish a new revision of item with the checked content; item is marked superseded."""
    content = checked_revision(item, **fields)
    before = snapshot(item)
    provider = item.provider
    item.status = CreditStatus.SUPERSEDED.value
    item.closed_at, item.closed_by_id, item.closed_reason = utcnow(), user.id, reason
    revision = _new_record(
        user,
        item.department_id,
        provider,
        practitioner=item.practitioner,
        revises=item,
        revision_reason=reason,
        published_by_id=user.id,
        published_at=utcnow(),
        **content,
        **_windows(today()),
    )
    # The number comes from the row id; it is set while the row is still a draft, and the
    # revision is published in the same statement (a published row never changes content).
    revision.number = _number(revision)
    revision.status = CreditStatus.PUBLISHED.value
    db.session.flush()
    record(
        "credit.revise",
        actor=user,
        of=revision,
        before=before,
        after=snapshot(revision),
        detail=f"修订 {item.number}:{reason}",
    )
    refresh_blacklisting(provider, actor=user)
    return revision


def revoke_record(user: User, number: str, *, reason: str | None) -> CreditRecord:
    """Revoke a published record (it leaves the notice board, feed, API and search; a
    blacklisting it imposed ends). Not while an objection awaits its answer."""
    item = changeable_record(user, number, "撤销", lock=True)
    revoked = apply_revocation(user, item, checked_reason(reason, "撤销原因"))
    _tell_provider(
        revoked,
        "信用记录撤销",
        f"{revoked.department.name}撤销了关于贵机构的信用记录 {revoked.number}"
        f"({revoked.kind}):{revoked.title}。撤销原因:{revoked.closed_reason}",
    )
    return revoked


def apply_revocation(user: User, item: CreditRecord, reason: str) -> CreditRecord:
    with change("credit.revoke", actor=user, of=item, detail=reason):
        item.status = CreditStatus.REVOKED.value
        item.closed_at, item.closed_by_id, item.closed_reason = utcnow(), user.id, reason
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
