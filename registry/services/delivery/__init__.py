"""Delivery of awarded work (合同, 服务成果, 服务计时) and the owner's rating (业主评价), one module
per subject: `common` (settings, working-day dates, who may see and act, the service timer),
`engagements` (contract, result, return, confirmation) and `ratings` (the owner's rating, its
windows and moderation).

Who may act is decided here, per object: the owning enterprise records the contract, returns or
confirms the result and rates; the awarded provider's account uploads the result; admins may read
and moderate. Anyone else is told the engagement does not exist. Every change is audited with
before/after; the engagement and rating rows carry a version column, so an action taken on a page
that is no longer current is refused with a message instead of overwriting. Services flush, audit
and raise; they never commit. The public names are re-exported here."""

from __future__ import annotations

from registry.services.delivery.common import (
    NOT_FOUND,
    STALE_MESSAGE,
    StaleEngagement,
    Timer,
    can_see_engagement,
    contract_days,
    contract_deadline,
    deadline_after,
    engagements_for_owner,
    engagements_for_provider,
    get_engagement_for,
    is_owner,
    is_provider,
    local_date,
    rating_edit_days,
    rating_window_days,
    result_for,
    timer,
    within_working_days,
)
from registry.services.delivery.engagements import (
    NOTE_MAX,
    REASON_MAX,
    confirm_result,
    record_contract,
    return_result,
    submit_result,
)
from registry.services.delivery.ratings import (
    COMMENT_MAX,
    HIDDEN_NOTICE,
    PART_LABELS,
    RatingPoint,
    RatingWindow,
    get_rating,
    hide_rating,
    list_ratings,
    people_named,
    provider_ratings,
    public_comment,
    rate,
    rating_window,
    ratings_of,
    validate_scores,
)
from registry.services.delivery.reminders import check_engagement_deadlines, reminder_batches
from registry.services.market import today  # the engagement pages read the date from here

__all__ = [
    "check_engagement_deadlines",
    "reminder_batches",
    "today",
    "COMMENT_MAX",
    "HIDDEN_NOTICE",
    "NOTE_MAX",
    "NOT_FOUND",
    "PART_LABELS",
    "REASON_MAX",
    "RatingPoint",
    "RatingWindow",
    "STALE_MESSAGE",
    "StaleEngagement",
    "Timer",
    "can_see_engagement",
    "confirm_result",
    "contract_days",
    "contract_deadline",
    "deadline_after",
    "engagements_for_owner",
    "engagements_for_provider",
    "get_engagement_for",
    "get_rating",
    "hide_rating",
    "is_owner",
    "is_provider",
    "list_ratings",
    "local_date",
    "provider_ratings",
    "people_named",
    "public_comment",
    "rate",
    "rating_edit_days",
    "rating_window",
    "rating_window_days",
    "ratings_of",
    "record_contract",
    "result_for",
    "return_result",
    "submit_result",
    "timer",
    "validate_scores",
    "within_working_days",
]
