"""The owner's rating (业主评价) of confirmed work: its window and one edit, five sub-scores
and a sanitised comment, moderation by admins (hidden text), and the public lists and charts."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel.paging import Page
from registry.models import (
    RATING_PARTS,
    Award,
    Employment,
    Engagement,
    EngagementStatus,
    OwnerRating,
    Practitioner,
    Provider,
    SelectionRequest,
    User,
)
from registry.pure.workdays import (
    CalendarRangeError,
)
from registry.sanitize import sanitize_html
from registry.services import audit
from registry.services.delivery.common import (
    StaleEngagement,
    check_engagement_version,
    deadline_after,
    engagement_name,
    local_date,
    owned_engagement,
    rating_edit_days,
    rating_window_days,
    refuse_while_contested,
    stamp,
    tell_provider,
    within_working_days,
)
from registry.services.errors import Forbidden, NotFound, RegistryError, text_field
from registry.services.market import today

HIDDEN_NOTICE = "该评价内容已被管理员隐藏"
COMMENT_MAX = 2000
PART_LABELS = dict(RATING_PARTS)
_INTEGER = re.compile(r"^[+-]?[0-9]{1,6}$")


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


def _check_may_rate(rating: OwnerRating | None, window: RatingWindow) -> None:
    """A first rating within the window; an edit only once, in time, and never of hidden text."""
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


def _first_rating(
    user: User,
    engagement: Engagement,
    values: dict[str, int],
    comment_html: str | None,
    on: date,
) -> OwnerRating:
    """Store the engagement's first rating (audited)."""
    rating = OwnerRating(
        engagement_id=engagement.id,
        provider_id=engagement.award.provider_id,
        comment_html=comment_html,
        created_at=stamp(on),
        **values,
    )
    try:
        # Two first ratings racing: the unique engagement_id keeps one.
        with db.session.begin_nested():
            db.session.add(rating)
    except IntegrityError:
        raise StaleEngagement() from None
    audit.record("rating.create", actor=user, of=rating, after=audit.snapshot(rating))
    _tell_rated(engagement, rating, edited=False)
    return rating


def _tell_rated(engagement: Engagement, rating: OwnerRating, *, edited: bool) -> None:
    """The provider's account: a rating of its work arrived (or was changed)."""
    tell_provider(
        engagement,
        "rating",
        "评价已修改" if edited else "收到评价",
        f"{engagement_name(engagement)}的业主"
        f"{'修改了对贵机构的评价' if edited else '对贵机构的服务作出了评价'},"
        f"平均分 {rating.average:.1f}。",
    )


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
    engagement = owned_engagement(user, engagement_id)
    if engagement.status != EngagementStatus.CONFIRMED.value or engagement.confirmed_at is None:
        raise RegistryError(None, "服务成果确认后才能评价。")
    refuse_while_contested(engagement, "评价")
    on = on or today()
    window = rating_window(engagement, on)
    rating = engagement.rating
    # The form says which rating it was rendered from (0: none yet), so a rating made meanwhile
    # in another window is never silently edited by a form meant to create one.
    check_engagement_version(rating.version if rating is not None else 0, version)
    _check_may_rate(rating, window)
    values = validate_scores(scores)
    raw_comment = comment or ""
    if len(raw_comment) > COMMENT_MAX:
        raise RegistryError("comment", f"评价意见最长 {COMMENT_MAX} 字。")
    comment_html = sanitize_html(raw_comment) or None
    if rating is None:
        return _first_rating(user, engagement, values, comment_html, on)
    if comment_html == rating.comment_html and all(
        getattr(rating, part) == value for part, value in values.items()
    ):
        raise RegistryError(None, "评价内容没有变化,未作为修改保存。")
    with audit.change("rating.edit", actor=user, of=rating, stale=StaleEngagement):
        for part, value in values.items():
            setattr(rating, part, value)
        rating.comment_html = comment_html
        rating.edited_at = stamp(on)
        rating.edit_count += 1
    _tell_rated(engagement, rating, edited=True)
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
    check_engagement_version(rating.version, version)
    reason = text_field(reason, "reason", "隐藏原因", 500, required=True)
    with audit.change("rating.hide", actor=admin, of=rating, stale=StaleEngagement, detail=reason):
        rating.hidden = True
        rating.hidden_reason = reason
    return rating


def public_comment(rating: OwnerRating) -> str:
    """The comment as the public sees it: sanitised HTML, or HIDDEN_NOTICE once hidden (the page
    masks personal details in it: sanitize.public_html with people_named)."""
    if rating.hidden:
        return HIDDEN_NOTICE
    return rating.comment_html or ""


def people_named(provider: Provider) -> list[str]:
    """Who a comment about the provider may name, masked in public as everywhere else (a tester,
    stop 31: a comment published a 项目负责人's full name): everyone it ever employed, its
    contact person and legal representative."""
    staff = db.session.scalars(
        select(Practitioner.name)
        .join(Employment, Employment.practitioner_id == Practitioner.id)
        .where(Employment.provider_id == provider.id)
        .distinct()
    )
    return [*staff, provider.contact_name, provider.legal_representative]


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

    Every rating counts (hiding a comment hides its text, never its scores) but those of work
    whose award was withdrawn, which the grade leaves out too."""
    return [
        RatingPoint(
            local_date(r.created_at),
            r.average,
            *(getattr(r, part) for part, _label in RATING_PARTS),
        )
        for r in ratings_of(provider)
        if r.counts
    ]
