"""Objections (异议): a provider objects to a published record about it within the window;
the regulator answers (upheld, partly or rejected) within the answer window; overdue answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Required, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from registry import policy
from registry.extensions import db
from registry.models import (
    CreditRecord,
    CreditStatus,
    Objection,
    ObjectionFile,
    ObjectionOutcome,
    Practitioner,
    Provider,
    Upload,
    User,
)
from registry.models.types import utcnow
from registry.pure.pii import mask_name
from registry.services import objections
from registry.services.audit import change, record, snapshot
from registry.services.credit.common import (
    PERSON_PAGE,
    OutOfScope,
    RecordContent,
    load_record,
    regulator_department,
    today,
    window_days,
)
from registry.services.credit.records import (
    apply_revision,
    apply_revocation,
    checked_reason,
    checked_revision,
    open_objection,
)
from registry.services.errors import Forbidden, NotFound, RegistryError
from registry.services.notify import notify
from registry.services.objections import is_overdue
from registry.services.uploads import save_upload

EVIDENCE_MAX_FILES = 5
# What the answer form calls its conclusion, and the text a rejection must give.
ANSWER_LABELS = ("答复结论", "不予采纳的理由")


def get_record_about(user: User, number: str, *, lock: bool = False) -> CreditRecord:
    """A record about the provider the account acts for, or against the person whose own
    account it is (published at some point). Drafts and unknown numbers are NotFound; anyone
    else's record is Forbidden (a firm does not object for its people)."""
    person = person_of(user)
    if not policy.is_provider_account(user) and person is None:
        raise Forbidden("只有中介机构或从业人员本人的账号可以查看信用记录")
    item = load_record(number, lock=lock)
    if item is None or item.is_draft:
        raise NotFound("未找到该信用记录")
    if item.is_about_person:
        if person is None or item.practitioner_id != person.id:
            raise Forbidden(f"信用记录 {item.number} 不是关于您本人的记录")
        return item
    provider = provider_of(user)
    if provider is None or item.provider_id != provider.id:
        raise Forbidden(f"信用记录 {item.number} 不是关于本机构的记录")
    return item


def person_of(user: User) -> Practitioner | None:
    """The practitioner whose own account user is (policy.own_practitioner), or None."""
    return db.session.scalar(select(Practitioner).where(policy.own_practitioner(user)))


def _objector(item: CreditRecord) -> str:
    """Who objects, as the regulators' notice names them: the firm, or the person (masked)."""
    if item.is_about_person:
        return f"从业人员 {mask_name(item.practitioner.name)}({item.provider_name})"
    return item.provider_name


def object_to_record(
    user: User, number: str, *, reason: str | None, evidence: list[FileStorage] | None = None
) -> Objection:
    """A provider objects to a published record about itself, within the objection window,
    optionally with evidence files (checked like every upload); the department's regulators are
    told."""
    item = get_record_about(user, number, lock=True)
    if not item.is_published:
        raise RegistryError(None, f"该记录{item.status},无需再提出异议")
    if today() > item.objection_until:
        raise RegistryError(
            "reason", f"异议期已于 {item.objection_until:%Y-%m-%d} 截止,不能再提出异议"
        )
    if open_objection(item) is not None:
        raise RegistryError(None, "该记录已有待答复的异议,请等待主管部门答复")
    text = checked_reason(reason, "异议理由")
    objection = Objection(
        record=item,
        provider_id=item.provider_id,
        open_record_id=item.id,
        reason=text,
        submitted_by_id=user.id,
        submitted_at=utcnow(),
        answer_due=objections.answer_due(window_days("CREDIT_ANSWER_DAYS")),
    )
    db.session.add(objection)
    try:
        db.session.flush()
    except IntegrityError:
        # Two submissions at once: the unique open_record_id lets one through.
        raise RegistryError(None, "该记录已有待答复的异议,请等待主管部门答复") from None
    files = _attach_evidence(objection, evidence or [], user)
    record(
        "credit.object",
        actor=user,
        of=objection,
        after={**snapshot(objection), "files": [f"{u.filename} {u.sha256}" for u in files]},
        detail=f"对 {item.number} 提出异议",
    )
    regulators = db.session.scalars(
        select(User).where(policy.department_accounts(item.department_id))
    )
    attached = f",附证据材料 {len(files)} 份" if files else ""
    notify(
        regulators,
        "objection",
        f"{_objector(item)} 对信用记录 {item.number}“{item.title}”提出异议{attached},"
        f"请于 {objection.answer_due:%Y-%m-%d}(含当日)前答复。",
        link=f"/regulator/credit/objections/{objection.id}",
        kind="收到异议",
        subject=f"收到异议:{item.number}",
    )
    return objection


def _attach_evidence(objection: Objection, files: list[FileStorage], user: User) -> list[Upload]:
    """Store the chosen evidence files (empty file inputs are skipped) and link them."""
    chosen = [f for f in files if f is not None and f.filename]
    if len(chosen) > EVIDENCE_MAX_FILES:
        raise RegistryError("evidence", f"证据材料最多 {EVIDENCE_MAX_FILES} 个文件。")
    uploads = []
    for file in chosen:
        upload = save_upload(file, "evidence", user)
        if all(u.id != upload.id for u in uploads):
            uploads.append(upload)
            db.session.add(ObjectionFile(objection_id=objection.id, upload_id=upload.id))
    db.session.flush()
    return uploads


def evidence_file(user: User, objection_id: int, upload_id: int) -> Upload:
    """An evidence file of an objection, for the objecting provider and the department's
    regulators; anyone else (or a file not attached to it) is NotFound."""
    objection = db.session.get(Objection, objection_id)
    if objection is None or not policy.can_see_objection(user, objection):
        raise NotFound("未找到该文件")
    upload = next((u for u in objection.files if u.id == upload_id), None)
    if upload is None:
        raise NotFound("未找到该文件")
    return upload


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


@dataclass(frozen=True)
class Answering:
    """What answering an objection comes to, checked and not yet written (the confirmation page
    shows it): the answer's text, and for an upheld one what happens to the record, revoked
    (`content` None) or revised to `content`."""

    objection: Objection
    record: CreditRecord
    outcome: str
    text: str
    resolution: str | None = None
    content: dict | None = None


class Answer(TypedDict, total=False):
    """An answer as its form gives it: 维持 or 成立 (outcome) and its text (answer); for 成立 the
    resolution (revise or revoke) and the revision's content."""

    outcome: Required[str | None]
    answer: Required[str | None]
    resolution: str | None
    revision: dict | None


def answer_preview(
    user: User, objection_id: int, *, lock: bool = False, **given: Unpack[Answer]
) -> Answering:
    """Check an answer as answer_objection will, writing nothing."""
    objection = get_objection_for(user, objection_id, lock=lock)
    outcome, resolution = given["outcome"], given.get("resolution")
    text = objections.checked_answer(
        objection, outcome, given["answer"], ObjectionOutcome, ANSWER_LABELS
    )
    item = load_record(objection.record.number, lock=lock)
    if outcome != ObjectionOutcome.UPHELD.value:
        return Answering(objection, item, outcome, text)
    # An upheld objection revises or revokes the record.
    if not item.is_published:
        raise RegistryError(None, f"原记录{item.status},请选择异议不成立并说明情况")
    if resolution == "revoke":
        return Answering(objection, item, outcome, text, resolution)
    if resolution != "revise":
        raise RegistryError("resolution", "异议成立时,请选择修订或撤销原记录")
    fields = given.get("revision") or {}
    content = checked_revision(
        item, **{key: fields.get(key) for key in RecordContent.__annotations__}
    )
    return Answering(objection, item, outcome, text, resolution, content)


def answer_objection(user: User, objection_id: int, **given: Unpack[Answer]) -> Objection:
    """Answer an objection: 维持 (rejected, with reasons) or 成立 (upheld: the record is revised
    as a new revision, or revoked)."""
    answering = answer_preview(user, objection_id, lock=True, **given)
    objection, item = answering.objection, answering.record
    with change("credit.answer", actor=user, of=objection) as answered:
        revision_id = None
        reason = f"异议成立:{answering.text}"[:2000]
        if answering.content is not None:
            revision_id = apply_revision(user, item, reason=reason, **answering.content).id
        elif answering.resolution == "revoke":
            apply_revocation(user, item, reason)
        # The answer is written in one UPDATE: once an outcome is stored, the row is final.
        objection.revision_id, objection.open_record_id = revision_id, None
        objections.mark_answered(objection, user, answering.outcome, answering.text)
        answered.detail = f"{item.number}:{objection.outcome_label}"
    notify(
        [_answered_account(item, objection)],
        "objection",
        f"{item.department.name}已答复您对信用记录 {item.number}“{item.title}”提出的异议:"
        f"{objection.outcome_label}。",
        link=PERSON_PAGE if item.is_about_person else "/my/credit",
        kind="异议答复",
        subject=f"异议答复:{item.number}",
    )
    return objection


def _answered_account(item: CreditRecord, objection: Objection) -> User | None:
    """Who hears the answer: the person's own account, or the provider's."""
    if item.is_about_person:
        account_id = item.practitioner.account_id
    else:
        provider = db.session.get(Provider, objection.provider_id)
        account_id = provider.account_id if provider else None
    return db.session.get(User, account_id) if account_id else None


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
    return objections.queue_order(
        db.session.scalars(query.order_by(Objection.answer_due, Objection.id))
    )


def overdue_objections(user: User, on: date | None = None) -> list[Objection]:
    """Open objections past their answer date (the regulator's dashboard lists them)."""
    on = on or today()
    return [o for o in objections_for_department(user, open_only=True) if is_overdue(o, on)]


def provider_of(user: User) -> Provider | None:
    """The provider a provider account acts for, or None."""
    return db.session.scalar(select(Provider).where(Provider.account_id == user.id))


def records_about(user: User) -> list[CreditRecord]:
    """Every record about the provider that was ever published (current, superseded, revoked),
    newest first; drafts stay with the regulator, and records against its people are theirs."""
    provider = provider_of(user)
    if provider is None:
        return []
    return list(
        db.session.scalars(
            select(CreditRecord)
            .where(
                CreditRecord.provider_id == provider.id,
                CreditRecord.practitioner_id.is_(None),
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
