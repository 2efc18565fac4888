"""Delivery of awarded work: the owner records the contract, the provider uploads the result
(服务成果), the owner returns or confirms it; each step is audited and logged as a behaviour event
where it counts for the grade."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.models import (
    BehaviourEvent,
    BehaviourKind,
    Engagement,
    EngagementStatus,
    User,
)
from registry.models.types import utcnow
from registry.pure.workdays import (
    CalendarRangeError,
    add_working_days,
    working_days_between,
)
from registry.sanitize import as_clause
from registry.services import audit
from registry.services.delivery.common import (
    StaleEngagement,
    contract_days,
    contract_start,
    engagement_name,
    local_date,
    owned_engagement,
    provided_engagement,
    refuse_while_contested,
    stamp,
    tell_owner,
    tell_provider,
    within_working_days,
)
from registry.services.errors import RegistryError, text_field
from registry.services.market import people, today
from registry.services.uploads import save_upload

NOTE_MAX = 2000
REASON_MAX = 2000
# Where a status leaves the provider's result upload, for the messages below.
_SUBMIT_REFUSED = {
    EngagementStatus.AWAITING_CONTRACT.value: "业主尚未登记签约日期,服务计时开始后才能提交成果。",
    EngagementStatus.SUBMITTED.value: "成果已提交,正在等待业主确认;业主退回后可重新提交。",
    EngagementStatus.CONFIRMED.value: "成果已确认,不能再提交。",
    EngagementStatus.WITHDRAWN.value: "中选结果已因异议成立撤销,不能再提交成果。",
}


def _change(action: str, user: User, engagement: Engagement) -> AbstractContextManager:
    """Audit the step's change to the engagement; a row changed meanwhile is StaleEngagement."""
    return audit.change(action, actor=user, of=engagement, stale=StaleEngagement)


def _record_event(
    kind: BehaviourKind, engagement: Engagement, occurred_on: date, details: dict, actor: User
) -> BehaviourEvent | None:
    """Record a behaviour event about the awarded provider once per (kind, engagement)."""
    source = f"engagement:{engagement.id}"
    exists = db.session.scalar(
        select(BehaviourEvent.id).where(
            BehaviourEvent.kind == kind.value, BehaviourEvent.source == source
        )
    )
    if exists is not None:
        return None
    event = BehaviourEvent(
        provider_id=engagement.award.provider_id,
        kind=kind.value,
        source=source,
        occurred_on=occurred_on,
        details=details,
    )
    try:
        # A concurrent request may have recorded it: the unique (kind, source) refuses the
        # second row and only this savepoint is undone.
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        return None
    audit.record("behaviour_event.create", actor=actor, of=event, after=audit.snapshot(event))
    return event


def record_contract(
    user: User,
    engagement_id: int,
    contract_date: date | None,
    *,
    version: int | None = None,
    on: date | None = None,
) -> Engagement:
    """The owner records the contract date: the service timer starts and the due date is the
    committed number of working days later. A contract signed more than CONTRACT_DAYS working
    days after the award records one 逾期签约 behaviour event."""
    engagement = owned_engagement(user, engagement_id, version=version)
    if engagement.status == EngagementStatus.WITHDRAWN.value:
        raise RegistryError(None, "中选结果已因异议成立撤销,不能登记签约。")
    if engagement.status != EngagementStatus.AWAITING_CONTRACT.value:
        raise RegistryError(None, "该项目已登记签约日期,服务计时已开始。")
    if not isinstance(contract_date, date):
        raise RegistryError("contract_date", "请填写签约日期(YYYY-MM-DD)。")
    on = on or today()
    award_date = local_date(engagement.award.awarded_at)
    if contract_date < award_date:
        raise RegistryError("contract_date", f"签约日期不能早于中选日期 {award_date:%Y-%m-%d}。")
    if contract_date > on:
        raise RegistryError("contract_date", "签约日期不能晚于今天。")
    start = contract_start(engagement)
    try:
        due = add_working_days(contract_date, engagement.committed_days)
        late = start is not None and not within_working_days(start, contract_days(), contract_date)
    except CalendarRangeError as error:
        raise RegistryError("contract_date", error.message) from None
    with _change("engagement.contract", user, engagement):
        engagement.contract_date = contract_date
        engagement.due_date = due
        engagement.status = EngagementStatus.IN_PROGRESS.value
    if late:
        _record_event(
            BehaviourKind.LATE_CONTRACT,
            engagement,
            contract_date,
            {
                "award_date": award_date.isoformat(),
                "window_from": start.isoformat(),
                "contract_date": contract_date.isoformat(),
                "working_days": working_days_between(start, contract_date),
                "limit": contract_days(),
            },
            user,
        )
    tell_provider(
        engagement,
        "engagement",
        "已签约",
        f"{engagement_name(engagement)}:业主已登记签约日期 {contract_date:%Y-%m-%d},服务计时开始,"
        f"请于 {due:%Y-%m-%d}({engagement.committed_days} 个工作日)前提交服务成果。",
    )
    return engagement


def submit_result(
    user: User,
    engagement_id: int,
    file: FileStorage | None,
    note: str | None,
    *,
    version: int | None = None,
    now: datetime | None = None,
    signatory_id=None,
) -> Engagement:
    """The awarded provider uploads its result (again after a return), naming who signed it
    (签字人: one of the people the winning quote named, when it named any); the owner confirms
    it or returns it."""
    engagement = provided_engagement(user, engagement_id, version=version)
    refused = _SUBMIT_REFUSED.get(engagement.status)
    if refused:
        raise RegistryError(None, refused)
    note = text_field(note, "note", "成果说明", NOTE_MAX, required=False) or None
    signatory = people.checked_signatory(engagement.award, signatory_id)
    upload = save_upload(file, "file", user)
    with _change("engagement.submit_result", user, engagement) as change:
        engagement.result = upload
        engagement.result_note = note
        engagement.signatory = signatory
        engagement.submitted_at = now or utcnow()
        engagement.status = EngagementStatus.SUBMITTED.value
        change.extra.update(file=upload.filename, sha256=upload.sha256)
    tell_owner(
        engagement,
        "result",
        "成果待确认",
        f"{engagement_name(engagement)}:{engagement.award.provider.name}提交了服务成果"
        f"“{upload.filename}”,请查看后确认或退回。",
    )
    return engagement


def return_result(
    user: User, engagement_id: int, reason: str | None, *, version: int | None = None
) -> Engagement:
    """The owner returns the result with a reason the provider sees; it may submit again."""
    engagement = owned_engagement(user, engagement_id, version=version)
    if engagement.status != EngagementStatus.SUBMITTED.value:
        raise RegistryError(None, "只有待确认的成果可以退回。")
    reason = text_field(reason, "reason", "退回原因", REASON_MAX, required=True)
    with _change("engagement.return_result", user, engagement):
        engagement.return_reason = reason
        engagement.status = EngagementStatus.RETURNED.value
    tell_provider(
        engagement,
        "result",
        "成果被退回",
        f"{engagement_name(engagement)}:业主退回了贵机构提交的服务成果,退回原因:"
        f"{as_clause(reason)}。请修改后重新提交。",
    )
    return engagement


def confirm_result(
    user: User, engagement_id: int, on: date | None = None, *, version: int | None = None
) -> Engagement:
    """The owner confirms the result. A result submitted after the due date records the working
    days of overrun and one 超期服务 behaviour event; the rating window opens."""
    engagement = owned_engagement(user, engagement_id, version=version)
    if engagement.status == EngagementStatus.CONFIRMED.value:
        raise RegistryError(None, "成果已确认。")
    refuse_while_contested(engagement, "确认服务成果")
    if engagement.status != EngagementStatus.SUBMITTED.value:
        raise RegistryError(None, "只有待确认的成果可以确认。")
    submitted_on = local_date(engagement.submitted_at)
    overrun = 0
    if engagement.due_date is not None and submitted_on > engagement.due_date:
        try:
            overrun = working_days_between(engagement.due_date, submitted_on)
        except CalendarRangeError as error:
            raise RegistryError(None, error.message) from None
    # The versioned UPDATE (the change's flush) goes first: of two confirmations racing, the
    # second fails there and never reaches the behaviour event.
    with _change("engagement.confirm_result", user, engagement):
        engagement.confirmed_at = stamp(on)
        engagement.overrun_days = overrun
        engagement.status = EngagementStatus.CONFIRMED.value
    if overrun > 0:
        _record_event(
            BehaviourKind.OVERRUN,
            engagement,
            submitted_on,
            {
                "due_date": engagement.due_date.isoformat(),
                "submitted_on": submitted_on.isoformat(),
                "overrun_days": overrun,
                "committed_days": engagement.committed_days,
            },
            user,
        )
    late = f"(超期 {overrun} 个工作日)" if overrun else ""
    tell_provider(
        engagement,
        "result",
        "成果已确认",
        f"{engagement_name(engagement)}:业主已确认贵机构提交的服务成果{late},业主评价随之开放。",
    )
    return engagement
