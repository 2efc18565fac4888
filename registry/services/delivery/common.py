"""What delivery and rating share: the settings and working-day dates, who may see and act on
an engagement, the service timer, and optimistic locking (StaleEngagement)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.kernel.versions import StaleEdit, check_version, flush_checked
from registry.models import (
    Award,
    Engagement,
    EngagementStatus,
    Project,
    SelectionRequest,
    Upload,
    User,
)
from registry.models.types import utcnow
from registry.pure.workdays import (
    CalendarRangeError,
    add_working_days,
    is_workday,
    working_days_between,
)
from registry.services import notify
from registry.services.errors import Forbidden, NotFound, RegistryError
from registry.services.market import SHANGHAI, today

STALE_MESSAGE = (
    "本次操作未生效:您打开页面之后,该服务项目的状态或评价已发生变化(可能来自其他窗口或对方的操作)。"
    "为避免覆盖,请重新打开页面,核对最新状态后再操作。"
)
NOT_FOUND = "未找到该服务项目"


class StaleEngagement(StaleEdit):
    """The engagement or rating changed since the form was rendered (optimistic locking)."""

    message_text = STALE_MESSAGE


def contract_days() -> int:
    """Working days after the award within which the contract should be signed."""
    return int(current_app.config.get("CONTRACT_DAYS", 5))


def rating_window_days() -> int:
    """Working days after confirmation during which the owner may rate."""
    return int(current_app.config.get("RATING_WINDOW_DAYS", 15))


def rating_edit_days() -> int:
    """Working days after the first rating during which it may be edited once."""
    return int(current_app.config.get("RATING_EDIT_DAYS", 3))


def local_date(moment: datetime) -> date:
    """The zone's local date of a stored UTC timestamp."""
    return clock.local_date(moment)


def stamp(on: date | None) -> datetime:
    """The timestamp of an action taken on local date `on` (now, when on is today or None)."""
    now = utcnow()
    if on is None:
        return now
    local = now.astimezone(SHANGHAI)
    if local.date() == on:
        return now
    return datetime.combine(on, local.time(), SHANGHAI).astimezone(UTC)


def within_working_days(start: date, count: int, on: date) -> bool:
    """Whether `on` is no later than the count-th working day after start.

    Counted up to `on` only, so the answer never needs the calendar beyond `on` (a window that
    would close in a year the calendar does not know yet is still open today)."""
    if on <= start:
        return True
    elapsed = working_days_between(start, on)
    return elapsed < count or (elapsed == count and is_workday(on))


def deadline_after(start: date, count: int) -> date | None:
    """The count-th working day after start, or None when the calendar does not reach it yet."""
    try:
        return add_working_days(start, count)
    except CalendarRangeError:
        return None


def contract_start(engagement: Engagement) -> date | None:
    """The day the contract window runs from: the award's, or the day the last objection to the
    award was answered (不成立: the award stands). While an objection waits for its answer the
    window stops (None): an owner who waits for the answer is not late, nor is its provider
    marked 逾期签约 for it (a tester, stop 31: the window closed before the answer was due)."""
    award = engagement.award
    if award.open_objection is not None:
        return None
    answered = [local_date(o.answered_at) for o in award.objections if o.answered_at is not None]
    return max([local_date(award.awarded_at), *answered])


def contract_deadline(engagement: Engagement) -> date | None:
    """The last day to sign without a 逾期签约 event: CONTRACT_DAYS working days after the
    window's start (contract_start); None while an objection waits for its answer."""
    start = contract_start(engagement)
    return None if start is None else deadline_after(start, contract_days())


def engagements_query():
    return select(Engagement).options(
        selectinload(Engagement.award).selectinload(Award.provider),
        selectinload(Engagement.award)
        .selectinload(Award.request)
        .selectinload(SelectionRequest.project)
        .selectinload(Project.enterprise),
        selectinload(Engagement.award)
        .selectinload(Award.request)
        .selectinload(SelectionRequest.service_item),
        selectinload(Engagement.result),
        selectinload(Engagement.rating),
    )


# Who may act on an engagement is policy's rule; the views pass these names as their check.
is_owner = policy.owns_engagement
is_provider = policy.provides_engagement
can_see_engagement = policy.can_see_engagement


def _load(engagement_id: int) -> Engagement:
    engagement = db.session.scalar(engagements_query().where(Engagement.id == engagement_id))
    if engagement is None:
        raise NotFound(NOT_FOUND)
    return engagement


def _engagement_if(rule, user: Any, engagement_id: int, version: int | None = None) -> Engagement:
    """The engagement when policy's rule lets the user reach it; another's raises Forbidden (the
    web layer answers 404 for both, so ids are never confirmed). A form's `version` other than
    the row's is a stale page."""
    engagement = _load(engagement_id)
    if not rule(user, engagement):
        raise Forbidden(NOT_FOUND)
    check_engagement_version(engagement.version, version)
    return engagement


def get_engagement_for(user: Any, engagement_id: int) -> Engagement:
    """An engagement the user may see."""
    return _engagement_if(can_see_engagement, user, engagement_id)


def owned_engagement(user: Any, engagement_id: int, *, version: int | None = None) -> Engagement:
    """An engagement of the user's enterprise (the owner acts on it), at the form's version."""
    return _engagement_if(is_owner, user, engagement_id, version)


def provided_engagement(user: Any, engagement_id: int, *, version: int | None = None) -> Engagement:
    """An engagement awarded to the provider the user acts for, at the form's version."""
    return _engagement_if(is_provider, user, engagement_id, version)


def _engagements_where(clause) -> list[Engagement]:
    return list(
        db.session.scalars(
            engagements_query()
            .join(Engagement.award)
            .where(clause)
            .order_by(Award.awarded_at.desc(), Engagement.id.desc())
        )
    )


def engagements_for_owner(user: User) -> list[Engagement]:
    """The enterprise's engagements, newest award first."""
    return _engagements_where(policy.owned_engagements(user))


def engagements_for_provider(user: User) -> list[Engagement]:
    """The awarded provider's engagements, newest award first (none before it has entered)."""
    return _engagements_where(policy.provided_engagements(user))


def result_for(user: Any, engagement_id: int) -> Upload:
    """The result file, for the owner, the provider and admins only."""
    engagement = get_engagement_for(user, engagement_id)
    if engagement.result is None:
        raise NotFound("尚未提交服务成果")
    return engagement.result


@dataclass(frozen=True)
class Timer:
    """Where an engagement stands against its due date, for lists and detail pages."""

    overdue: bool  # still open and past the due date
    late_submission: bool  # the current result came in after the due date
    days_past_due: int | None  # working days past the due date (None when not computable)


def timer(engagement: Engagement, on: date | None = None) -> Timer:
    """The engagement's timer as of `on` (default today)."""
    on = on or today()
    due = engagement.due_date
    if due is None:
        return Timer(False, False, None)
    open_states = (EngagementStatus.IN_PROGRESS.value, EngagementStatus.RETURNED.value)
    if engagement.status in open_states:
        if on <= due:
            return Timer(False, False, None)
        try:
            return Timer(True, False, working_days_between(due, on))
        except CalendarRangeError:
            return Timer(True, False, None)
    if engagement.submitted_at is not None and local_date(engagement.submitted_at) > due:
        days = engagement.overrun_days
        if days is None:
            try:
                days = working_days_between(due, local_date(engagement.submitted_at))
            except CalendarRangeError:
                days = None
        return Timer(False, bool(days) or days is None, days)
    return Timer(False, False, None)


def check_engagement_version(current: int, version: int | None) -> None:
    """The form carries the version it was rendered from; another one means a stale page."""
    check_version(current, version, StaleEngagement)


def flush_engagement() -> None:
    """Flush; a row updated meanwhile by someone else (version column) becomes StaleEngagement."""
    flush_checked(db.session, StaleEngagement)


def engagement_name(engagement: Engagement) -> str:
    """How a message names the engagement: its project and selection."""
    request = engagement.award.request
    return f"项目“{request.project.name}”{request.service_item.name}({request.ref})"


def refuse_while_contested(engagement: Engagement, what: str) -> None:
    """A RegistryError while an objection to the engagement's award waits for its answer: an
    upheld one withdraws the award and the engagement with it, so the result is not confirmed or
    rated until the award stands (the contract may be recorded, at the owner's risk)."""
    objection = engagement.award.open_objection
    if objection is not None:
        raise RegistryError(
            None,
            f"该中选结果有异议正在处理(答复期限 {objection.answer_due:%Y-%m-%d}),答复前不能{what}。"
            "异议不成立后即可继续;异议成立的,中选结果撤销,本服务项目随之撤销。",
        )


def tell_provider(
    engagement: Engagement,
    topic: str,
    kind: str,
    message: str,
    *,
    link: str | None = None,
    once_key: str | None = None,
) -> None:
    """The awarded provider's account, about this engagement (its work page by default)."""
    account_id = engagement.award.provider.account_id
    notify.notify(
        [db.session.get(User, account_id) if account_id else None],
        topic,
        message,
        link=link or f"/my/work/{engagement.id}",
        kind=kind,
        subject=f"{kind}:{engagement.award.request.ref}",
        once_key=once_key,
    )


def tell_owner(
    engagement: Engagement, topic: str, kind: str, message: str, *, once_key: str | None = None
) -> None:
    """The owning enterprise's accounts, about this engagement (its page)."""
    enterprise_id = engagement.award.request.project.enterprise_id
    notify.notify(
        db.session.scalars(select(User).where(policy.enterprise_accounts(enterprise_id))),
        topic,
        message,
        link=f"/my/engagements/{engagement.id}",
        kind=kind,
        subject=f"{kind}:{engagement.award.request.ref}",
        once_key=once_key,
    )
