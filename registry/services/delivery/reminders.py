"""The daily reminder of delivery deadlines: a contract not yet signed as its last day nears or
passes, and a service whose due date nears or passes before the result is in. Each person is
told once per engagement, kind and deadline (notify's once_key), however often the check runs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from registry.extensions import db
from registry.models import Engagement, EngagementStatus
from registry.pure.workdays import CalendarRangeError, working_days_between
from registry.services.batches import BATCH_SIZE, Batches, exhaust, id_batches
from registry.services.delivery.common import (
    contract_deadline,
    engagement_name,
    engagements_query,
    tell_owner,
    tell_provider,
)

# Engagements whose service timer runs: the result is not in, or it came back.
RUNNING = (EngagementStatus.IN_PROGRESS.value, EngagementStatus.RETURNED.value)


def _state(today: date, deadline: date | None, lead: int) -> str | None:
    """ "due" within `lead` working days of the deadline, "late" after it, else None."""
    if deadline is None:
        return None
    if today > deadline:
        return "late"
    try:
        return "due" if working_days_between(today, deadline) <= lead else None
    except CalendarRangeError:
        return None


def check_engagement_deadlines(today: date, lead: int) -> dict[str, int]:
    """Remind the provider and the owner of contract and service deadlines near or past, in the
    current transaction (`reminder_batches` is the same check in batches)."""
    return exhaust(reminder_batches(today, lead))


def reminder_batches(today: date, lead: int, size: int = BATCH_SIZE) -> Batches[dict[str, int]]:
    """check_engagement_deadlines in batches of `size` engagements (services/batches.py): the
    caller commits after each; a reminder is sent once per key, so batches are idempotent."""
    counts = {"contract": 0, "service": 0}
    statuses = (EngagementStatus.AWAITING_CONTRACT.value, *RUNNING)
    open_ids = select(Engagement.id).where(Engagement.status.in_(statuses))
    for ids in id_batches(open_ids, Engagement.id, size):
        engagements = db.session.scalars(
            engagements_query().where(Engagement.id.in_(ids)).order_by(Engagement.id)
        ).all()
        for engagement in engagements:
            _remind(engagement, today, lead, counts)
        yield len(ids)
    return counts


def _remind(engagement: Engagement, today: date, lead: int, counts: dict[str, int]) -> None:
    """Tell both parties of this engagement's deadline if it nears or passed."""
    name = engagement_name(engagement)
    if engagement.status == EngagementStatus.AWAITING_CONTRACT.value:
        deadline, what, part = contract_deadline(engagement), "签约", "contract"
    else:
        deadline, what, part = engagement.due_date, "服务期限", "service"
    state = _state(today, deadline, lead)
    if state is None:
        return
    if state == "late":
        kind = f"{what}逾期"
        text = f"{name}的{what}已于 {deadline:%Y-%m-%d} 届满,请尽快办理并说明情况。"
    else:
        kind = f"{what}临近"
        text = f"{name}的{what}将于 {deadline:%Y-%m-%d} 届满,请抓紧办理。"
    key = f"engagement:{engagement.id}:{part}:{state}:{deadline.isoformat()}"
    tell_provider(engagement, "engagement", kind, text, once_key=key)
    tell_owner(engagement, "engagement", kind, text, once_key=key)
    counts[part] += 1
