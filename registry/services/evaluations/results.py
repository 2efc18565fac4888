"""Published evaluation results: each provider's totals in published periods (an input of its
credit grade) and the revisions the public may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Department,
    EvaluationPeriod,
    PeriodStatus,
    ScoreEntry,
    ScoreState,
)


def latest_entries(by: Any, *conditions: Any, options: Sequence[Any] = ()) -> list[ScoreEntry]:
    """The latest revision per value of `by` (a provider, a period) among the score entries
    that meet the conditions."""
    latest = (
        select(by, func.max(ScoreEntry.revision).label("revision"))
        .where(*conditions)
        .group_by(by)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(ScoreEntry)
            .join(
                latest,
                (by == latest.c[by.key]) & (ScoreEntry.revision == latest.c.revision),
            )
            .where(*conditions)
            .options(*options)
        )
    )


def _latest_public(period_ids: Sequence[int], provider_id: int) -> dict[int, ScoreEntry]:
    """Period id → the provider's latest non-draft revision in each of those periods."""
    if not period_ids:
        return {}
    rows = latest_entries(
        ScoreEntry.period_id,
        ScoreEntry.provider_id == provider_id,
        ScoreEntry.period_id.in_(list(period_ids)),
        ScoreEntry.state != ScoreState.DRAFT.value,
    )
    return {row.period_id: row for row in rows}


def published_totals(provider_id: int, since: date) -> list[tuple[date, Decimal, str]]:
    """For each PUBLISHED period ending on or after `since` in which the provider was scored:
    (the day the period ended, the provider's current total, department code), oldest first.
    A period closed early (with its recorded reason) ended on the day it was closed: its result,
    published as 计入信用评价, counted only from its planned last day (a tester, stop 30).
    Corrections made after publication count at once."""
    periods = db.session.execute(
        select(
            EvaluationPeriod.id,
            EvaluationPeriod.ends_on,
            EvaluationPeriod.close_reason,
            EvaluationPeriod.closed_at,
            Department.code,
        )
        .join(Department, Department.id == EvaluationPeriod.department_id)
        .where(
            EvaluationPeriod.status == PeriodStatus.PUBLISHED.value,
            EvaluationPeriod.ends_on >= since,
        )
        .order_by(EvaluationPeriod.ends_on, EvaluationPeriod.id)
    ).all()
    current = _latest_public([p.id for p in periods], provider_id)
    ended = [
        (ended_on(row.ends_on, row.close_reason, row.closed_at), current[row.id].total, row.code)
        for row in periods
        if row.id in current
    ]
    return sorted(ended, key=lambda item: item[0])


def ended_on(ends_on: date, close_reason: str | None, closed_at: datetime | None) -> date:
    """The day a period ended: its last day, or the day it was closed early."""
    if close_reason and closed_at is not None:
        return min(ends_on, clock.local_date(closed_at))
    return ends_on


@dataclass
class PublicScore:
    """A provider's published result in one period: the revisions the public may see (the one
    published, then any corrections after publication); the last one counts."""

    period: EvaluationPeriod
    revisions: list[ScoreEntry]

    @property
    def current(self) -> ScoreEntry:
        """The revision in force."""
        return self.revisions[-1]


def public_scores(provider_id: int) -> list[PublicScore]:
    """A provider's results in every published period, newest period first."""
    periods = list(
        db.session.scalars(
            select(EvaluationPeriod)
            .where(EvaluationPeriod.status == PeriodStatus.PUBLISHED.value)
            .where(
                EvaluationPeriod.id.in_(
                    select(ScoreEntry.period_id).where(ScoreEntry.provider_id == provider_id)
                )
            )
            .options(selectinload(EvaluationPeriod.department))
            .order_by(EvaluationPeriod.ends_on.desc(), EvaluationPeriod.id.desc())
        )
    )
    entries = db.session.scalars(
        select(ScoreEntry)
        .where(
            ScoreEntry.provider_id == provider_id,
            ScoreEntry.period_id.in_([p.id for p in periods]),
            ScoreEntry.state != ScoreState.DRAFT.value,
        )
        .order_by(ScoreEntry.period_id, ScoreEntry.revision)
    ).all()
    result = []
    for period in periods:
        mine = [e for e in entries if e.period_id == period.id]
        before = [e for e in mine if not e.after_publication]
        shown = ([before[-1]] if before else []) + [e for e in mine if e.after_publication]
        if shown:
            result.append(PublicScore(period, shown))
    return result
