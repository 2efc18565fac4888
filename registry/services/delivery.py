"""Delivery of awarded work (合同, 服务成果, 服务计时) and the owner's rating (业主评价).

Who may act is decided here, per object: the owning enterprise records the contract, returns or
confirms the result and rates; the awarded provider's account uploads the result; admins may read
and moderate. Anyone else is told the engagement does not exist. Every change is audited with
before/after; the engagement and rating rows carry a version column, so an action taken on a page
that is no longer current is refused with a message instead of overwriting. Services flush, audit
and raise; they never commit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.kernel.paging import Page
from registry.kernel.versions import StaleEdit, check_version, flush_checked
from registry.models import (
    RATING_PARTS,
    Award,
    BehaviourEvent,
    BehaviourKind,
    Engagement,
    EngagementStatus,
    OwnerRating,
    Project,
    Provider,
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
from registry.sanitize import plain_text, sanitize_html
from registry.services import audit
from registry.services.errors import Forbidden, NotFound, RegistryError
from registry.services.market import SHANGHAI, today
from registry.services.uploads import save_upload

STALE_MESSAGE = (
    "本次操作未生效:您打开页面之后,该服务项目的状态或评价已发生变化(可能来自其他窗口或对方的操作)。"
    "为避免覆盖,请重新打开页面,核对最新状态后再操作。"
)
HIDDEN_NOTICE = "该评价内容已被管理员隐藏"
NOT_FOUND = "未找到该服务项目"
NOTE_MAX = 2000
COMMENT_MAX = 2000
REASON_MAX = 2000
PART_LABELS = dict(RATING_PARTS)
_INTEGER = re.compile(r"^[+-]?[0-9]{1,6}$")

# Where a status leaves the provider's result upload, for the messages below.
_SUBMIT_REFUSED = {
    EngagementStatus.AWAITING_CONTRACT.value: "业主尚未登记签约日期,服务计时开始后才能提交成果。",
    EngagementStatus.SUBMITTED.value: "成果已提交,正在等待业主确认;业主退回后可重新提交。",
    EngagementStatus.CONFIRMED.value: "成果已确认,不能再提交。",
}


class StaleEngagement(StaleEdit):
    """The engagement or rating changed since the form was rendered (optimistic locking)."""

    message_text = STALE_MESSAGE


# ---------------------------------------------------------------------- settings and dates


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


def _stamp(on: date | None) -> datetime:
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


def contract_deadline(engagement: Engagement) -> date | None:
    """The last day to sign without a 逾期签约 event: CONTRACT_DAYS working days after the award."""
    return deadline_after(local_date(engagement.award.awarded_at), contract_days())


# ---------------------------------------------------------------------- who may see and act


def _query():
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
    engagement = db.session.scalar(_query().where(Engagement.id == engagement_id))
    if engagement is None:
        raise NotFound(NOT_FOUND)
    return engagement


def get_engagement_for(user: Any, engagement_id: int) -> Engagement:
    """An engagement the user may see. Another's engagement raises Forbidden (the web layer
    answers 404 for both, so ids are never confirmed)."""
    engagement = _load(engagement_id)
    if not can_see_engagement(user, engagement):
        raise Forbidden(NOT_FOUND)
    return engagement


def _owned(user: Any, engagement_id: int) -> Engagement:
    engagement = _load(engagement_id)
    if not is_owner(user, engagement):
        raise Forbidden(NOT_FOUND)
    return engagement


def _provided(user: Any, engagement_id: int) -> Engagement:
    engagement = _load(engagement_id)
    if not is_provider(user, engagement):
        raise Forbidden(NOT_FOUND)
    return engagement


def engagements_for_owner(user: User) -> list[Engagement]:
    """The enterprise's engagements, newest award first."""
    return list(
        db.session.scalars(
            _query()
            .join(Engagement.award)
            .where(policy.owned_engagements(user))
            .order_by(Award.awarded_at.desc(), Engagement.id.desc())
        )
    )


def engagements_for_provider(user: User) -> list[Engagement]:
    """The awarded provider's engagements, newest award first (none before it has entered)."""
    return list(
        db.session.scalars(
            _query()
            .join(Engagement.award)
            .where(policy.provided_engagements(user))
            .order_by(Award.awarded_at.desc(), Engagement.id.desc())
        )
    )


def result_for(user: Any, engagement_id: int) -> Upload:
    """The result file, for the owner, the provider and admins only."""
    engagement = get_engagement_for(user, engagement_id)
    if engagement.result is None:
        raise NotFound("尚未提交服务成果")
    return engagement.result


# ---------------------------------------------------------------------- the service timer


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


# ---------------------------------------------------------------------- helpers


def _check_version(current: int, version: int | None) -> None:
    """The form carries the version it was rendered from; another one means a stale page."""
    check_version(current, version, StaleEngagement)


def _flush() -> None:
    """Flush; a row updated meanwhile by someone else (version column) becomes StaleEngagement."""
    flush_checked(db.session, StaleEngagement)


def _text(value: str | None, field: str, label: str, limit: int, *, required: bool) -> str:
    text = plain_text(value)
    if required and not text:
        raise RegistryError(field, f"请填写{label}。")
    if len(text) > limit:
        raise RegistryError(field, f"{label}最长 {limit} 字。")
    return text


def _snapshot(engagement: Engagement) -> dict:
    return audit.snapshot(engagement)


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
    audit.record(
        "behaviour_event.create",
        actor=actor,
        object_type="behaviour_event",
        object_id=event.id,
        after=audit.snapshot(event),
    )
    return event


# ---------------------------------------------------------------------- delivery


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
    engagement = _owned(user, engagement_id)
    _check_version(engagement.version, version)
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
    try:
        due = add_working_days(contract_date, engagement.committed_days)
        late = not within_working_days(award_date, contract_days(), contract_date)
    except CalendarRangeError as error:
        raise RegistryError("contract_date", error.message) from None
    before = _snapshot(engagement)
    engagement.contract_date = contract_date
    engagement.due_date = due
    engagement.status = EngagementStatus.IN_PROGRESS.value
    _flush()
    audit.record(
        "engagement.contract",
        actor=user,
        object_type="engagement",
        object_id=engagement.id,
        before=before,
        after=_snapshot(engagement),
    )
    if late:
        _record_event(
            BehaviourKind.LATE_CONTRACT,
            engagement,
            contract_date,
            {
                "award_date": award_date.isoformat(),
                "contract_date": contract_date.isoformat(),
                "working_days": working_days_between(award_date, contract_date),
                "limit": contract_days(),
            },
            user,
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
) -> Engagement:
    """The awarded provider uploads its result (again after a return); the owner confirms it
    or returns it."""
    engagement = _provided(user, engagement_id)
    _check_version(engagement.version, version)
    refused = _SUBMIT_REFUSED.get(engagement.status)
    if refused:
        raise RegistryError(None, refused)
    note = _text(note, "note", "成果说明", NOTE_MAX, required=False) or None
    upload = save_upload(file, "file", user)
    before = _snapshot(engagement)
    engagement.result = upload
    engagement.result_note = note
    engagement.submitted_at = now or utcnow()
    engagement.status = EngagementStatus.SUBMITTED.value
    _flush()
    audit.record(
        "engagement.submit_result",
        actor=user,
        object_type="engagement",
        object_id=engagement.id,
        before=before,
        after={**_snapshot(engagement), "file": upload.filename, "sha256": upload.sha256},
    )
    return engagement


def return_result(
    user: User, engagement_id: int, reason: str | None, *, version: int | None = None
) -> Engagement:
    """The owner returns the result with a reason the provider sees; it may submit again."""
    engagement = _owned(user, engagement_id)
    _check_version(engagement.version, version)
    if engagement.status != EngagementStatus.SUBMITTED.value:
        raise RegistryError(None, "只有待确认的成果可以退回。")
    reason = _text(reason, "reason", "退回原因", REASON_MAX, required=True)
    before = _snapshot(engagement)
    engagement.return_reason = reason
    engagement.status = EngagementStatus.RETURNED.value
    _flush()
    audit.record(
        "engagement.return_result",
        actor=user,
        object_type="engagement",
        object_id=engagement.id,
        before=before,
        after=_snapshot(engagement),
    )
    return engagement


def confirm_result(
    user: User, engagement_id: int, on: date | None = None, *, version: int | None = None
) -> Engagement:
    """The owner confirms the result. A result submitted after the due date records the working
    days of overrun and one 超期服务 behaviour event; the rating window opens."""
    engagement = _owned(user, engagement_id)
    _check_version(engagement.version, version)
    if engagement.status == EngagementStatus.CONFIRMED.value:
        raise RegistryError(None, "成果已确认。")
    if engagement.status != EngagementStatus.SUBMITTED.value:
        raise RegistryError(None, "只有待确认的成果可以确认。")
    submitted_on = local_date(engagement.submitted_at)
    overrun = 0
    if engagement.due_date is not None and submitted_on > engagement.due_date:
        try:
            overrun = working_days_between(engagement.due_date, submitted_on)
        except CalendarRangeError as error:
            raise RegistryError(None, error.message) from None
    before = _snapshot(engagement)
    engagement.confirmed_at = _stamp(on)
    engagement.overrun_days = overrun
    engagement.status = EngagementStatus.CONFIRMED.value
    # The versioned UPDATE goes first: of two confirmations racing, the second fails here and
    # never reaches the behaviour event.
    _flush()
    audit.record(
        "engagement.confirm_result",
        actor=user,
        object_type="engagement",
        object_id=engagement.id,
        before=before,
        after=_snapshot(engagement),
    )
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
    return engagement


# ---------------------------------------------------------------------- owner rating


@dataclass(frozen=True)
class RatingWindow:
    """When the owner may rate and edit, for the rating form."""

    opened_on: date | None  # the confirmation date (None before confirmation)
    closes_on: date | None  # last day to rate (None when not yet computable)
    is_open: bool
    edit_until: date | None  # last day of the one edit (rated, not yet edited, not hidden)
    can_edit: bool


def rating_window(engagement: Engagement, on: date | None = None) -> RatingWindow:
    """The rating window of an engagement as of `on` (default today)."""
    on = on or today()
    if engagement.confirmed_at is None:
        return RatingWindow(None, None, False, None, False)
    opened = local_date(engagement.confirmed_at)
    try:
        is_open = within_working_days(opened, rating_window_days(), on)
    except CalendarRangeError:
        is_open = False
    rating = engagement.rating
    edit_until, can_edit = None, False
    if rating is not None and rating.edit_count == 0 and not rating.hidden:
        first = local_date(rating.created_at)
        edit_until = deadline_after(first, rating_edit_days())
        try:
            can_edit = within_working_days(first, rating_edit_days(), on)
        except CalendarRangeError:
            can_edit = False
    return RatingWindow(
        opened, deadline_after(opened, rating_window_days()), is_open, edit_until, can_edit
    )


def validate_scores(scores: dict[str, Any]) -> dict[str, int]:
    """The five sub-scores as integers 0–100, or a RegistryError naming the first bad one."""
    values: dict[str, int] = {}
    for part, label in RATING_PARTS:
        raw = scores.get(part)
        if isinstance(raw, bool) or raw is None or (isinstance(raw, str) and not raw.strip()):
            raise RegistryError(part, f"请填写“{label}”得分(0–100 的整数)。")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and _INTEGER.match(unicodedata.normalize("NFKC", raw).strip()):
            value = int(unicodedata.normalize("NFKC", raw).strip())
        else:
            raise RegistryError(part, f"“{label}”得分须为整数(0–100)。")
        if not 0 <= value <= 100:
            raise RegistryError(part, f"“{label}”得分须在 0–100 之间。")
        values[part] = value
    return values


def _rating_snapshot(rating: OwnerRating) -> dict:
    return audit.snapshot(rating)


def rate(
    user: User,
    engagement_id: int,
    scores: dict[str, Any],
    comment: str | None,
    on: date | None = None,
    *,
    version: int | None = None,
) -> OwnerRating:
    """The owner rates the confirmed work: five 0–100 sub-scores and a sanitised comment.

    Open from confirmation until RATING_WINDOW_DAYS working days after it; the first rating may
    be edited once within RATING_EDIT_DAYS working days of the first rating (counted from it,
    not from the window, and never once an admin has hidden it). `version` is the version of
    the rating the form was rendered from, 0 when there was none yet."""
    engagement = _owned(user, engagement_id)
    if engagement.status != EngagementStatus.CONFIRMED.value or engagement.confirmed_at is None:
        raise RegistryError(None, "服务成果确认后才能评价。")
    on = on or today()
    window = rating_window(engagement, on)
    rating = engagement.rating
    # The form says which rating it was rendered from (0: none yet), so a rating made meanwhile
    # in another window is never silently edited by a form meant to create one.
    _check_version(rating.version if rating is not None else 0, version)
    if rating is None and not window.is_open:
        closes = f"(已于 {window.closes_on:%Y-%m-%d} 截止)" if window.closes_on else ""
        raise RegistryError(
            None, f"评价期已结束:成果确认后 {rating_window_days()} 个工作日内可以评价{closes}。"
        )
    if rating is not None:
        if rating.hidden:
            # The moderated text stays as it was judged (the audit trail refers to it).
            raise RegistryError(None, "该评价内容已被管理员隐藏,不能再修改。")
        if rating.edit_count >= 1:
            raise RegistryError(None, "评价已修改过一次,不能再修改。")
        if not window.can_edit:
            until = f"(已于 {window.edit_until:%Y-%m-%d} 截止)" if window.edit_until else ""
            raise RegistryError(
                None, f"修改期已结束:首次评价后 {rating_edit_days()} 个工作日内可修改一次{until}。"
            )
    values = validate_scores(scores)
    raw_comment = comment or ""
    if len(raw_comment) > COMMENT_MAX:
        raise RegistryError("comment", f"评价意见最长 {COMMENT_MAX} 字。")
    comment_html = sanitize_html(raw_comment) or None
    if rating is None:
        rating = OwnerRating(
            engagement_id=engagement.id,
            provider_id=engagement.award.provider_id,
            comment_html=comment_html,
            created_at=_stamp(on),
            **values,
        )
        try:
            # Two first ratings racing: the unique engagement_id keeps one.
            with db.session.begin_nested():
                db.session.add(rating)
        except IntegrityError:
            raise StaleEngagement() from None
        audit.record(
            "rating.create",
            actor=user,
            object_type="owner_rating",
            object_id=rating.id,
            after=_rating_snapshot(rating),
        )
        return rating
    before = _rating_snapshot(rating)
    if comment_html == rating.comment_html and all(
        getattr(rating, part) == value for part, value in values.items()
    ):
        raise RegistryError(None, "评价内容没有变化,未作为修改保存。")
    for part, value in values.items():
        setattr(rating, part, value)
    rating.comment_html = comment_html
    rating.edited_at = _stamp(on)
    rating.edit_count += 1
    _flush()
    audit.record(
        "rating.edit",
        actor=user,
        object_type="owner_rating",
        object_id=rating.id,
        before=before,
        after=_rating_snapshot(rating),
    )
    return rating


def get_rating(rating_id: int) -> OwnerRating:
    """A rating by id, or NotFound."""
    rating = db.session.get(OwnerRating, rating_id)
    if rating is None:
        raise NotFound("未找到该评价")
    return rating


def hide_rating(
    admin: User, rating_id: int, reason: str | None, *, version: int | None = None
) -> OwnerRating:
    """An admin hides an abusive comment: the row and its scores stay (they still count), the
    public sees HIDDEN_NOTICE instead of the text; audited with the reason."""
    if not policy.is_admin(admin):
        raise Forbidden("只有管理员可以隐藏评价")
    rating = get_rating(rating_id)
    if rating.hidden:
        raise RegistryError(None, "该评价内容已被隐藏。")
    _check_version(rating.version, version)
    reason = _text(reason, "reason", "隐藏原因", 500, required=True)
    before = _rating_snapshot(rating)
    rating.hidden = True
    rating.hidden_reason = reason
    _flush()
    audit.record(
        "rating.hide",
        actor=admin,
        object_type="owner_rating",
        object_id=rating.id,
        before=before,
        after=_rating_snapshot(rating),
        detail=reason,
    )
    return rating


def public_comment(rating: OwnerRating) -> str:
    """The comment as the public sees it: sanitised HTML, or HIDDEN_NOTICE once hidden."""
    if rating.hidden:
        return HIDDEN_NOTICE
    return rating.comment_html or ""


def list_ratings(*, page: int = 1, per_page: int = 20) -> Page:
    """Every rating, newest first (for moderation)."""
    total = db.session.scalar(select(func.count(OwnerRating.id))) or 0
    rows = db.session.scalars(
        select(OwnerRating)
        .options(
            selectinload(OwnerRating.provider),
            selectinload(OwnerRating.engagement)
            .selectinload(Engagement.award)
            .selectinload(Award.request)
            .selectinload(SelectionRequest.service_item),
        )
        .order_by(OwnerRating.created_at.desc(), OwnerRating.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(rows), total, page, per_page)


def ratings_of(provider: Provider) -> list[OwnerRating]:
    """The provider's ratings, oldest first, with the service item each was for."""
    return list(
        db.session.scalars(
            select(OwnerRating)
            .where(OwnerRating.provider_id == provider.id)
            .options(
                selectinload(OwnerRating.engagement)
                .selectinload(Engagement.award)
                .selectinload(Award.request)
                .selectinload(SelectionRequest.service_item)
            )
            .order_by(OwnerRating.created_at, OwnerRating.id)
        )
    )


class RatingPoint(NamedTuple):
    """One rating on the profile chart: its date, the mean of the parts, then the five parts."""

    date: date
    average: float
    quality: int
    timeliness: int
    attitude: int
    fee: int
    conduct: int


def provider_ratings(provider: Provider) -> list[RatingPoint]:
    """The provider's rating history for its public profile, sorted by date (then by rating).

    Every rating counts: hiding a comment hides its text, never its scores."""
    return [
        RatingPoint(
            local_date(r.created_at),
            r.average,
            *(getattr(r, part) for part, _label in RATING_PARTS),
        )
        for r in ratings_of(provider)
    ]
