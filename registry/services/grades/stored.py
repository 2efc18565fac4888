"""Stored credit: Provider.grade, credit_score and the credit detail, recomputed when an input
changes (services/grades/hooks.py) and by the daily job (the window moves on).

A provider's credit detail — the composite as of a day with its parts, weights and deductions,
and the half-year trend — stored on the provider (`Provider.credit_detail`) whenever its grade is
recomputed (an input changed, or the daily job moved the window on), so the profile reads one
column instead of recomputing on every view. A detail from another day is never shown: the
profile then computes it afresh (the daily job had not run yet)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from registry.extensions import db
from registry.models.providers import Provider
from registry.services import audit
from registry.services.batches import Batches, exhaust, id_batches
from registry.services.grades.compute import (
    CENT,
    RECOMPUTE_BATCH,
    SYSTEM_ACTOR,
    Deduction,
    GradeResult,
    compute,
    today,
)
from registry.services.grades.read_models import TrendRow, trend


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _result(data: dict) -> GradeResult:
    result = GradeResult(
        provider_id=data["provider_id"],
        on=date.fromisoformat(data["on"]),
        since=date.fromisoformat(data["since"]),
    )
    for name in ("owner", "regulator", "behaviour", "score"):
        setattr(result, name, _decimal(data[name]))
    for name in ("owner_count", "regulator_count", "rated", "blacklisted", "grade"):
        setattr(result, name, data[name])
    result.weights = {k: Decimal(v) for k, v in data["weights"].items()}
    result.deductions = [
        Deduction(
            date.fromisoformat(d["on"]), d["kind"], Decimal(d["points"]), d["source"], d["note"]
        )
        for d in data["deductions"]
    ]
    return result


def _trend_row(data: dict) -> TrendRow:
    return TrendRow(
        label=data["label"],
        regulator=_decimal(data["regulator"]),
        regulator_periods=[(label, Decimal(total)) for label, total in data["regulator_periods"]],
        owner=_decimal(data["owner"]),
        owner_count=data["owner_count"],
    )


def credit_of(provider: Provider) -> tuple[GradeResult, list[TrendRow]]:
    """The provider's credit detail as of today: the stored one when it is today's."""
    stored = provider.credit_detail
    if stored and stored["result"]["on"] == today().isoformat():
        return _result(stored["result"]), [_trend_row(r) for r in stored["trend"]]
    result = compute(provider.id)
    return result, trend(provider.id, result.on)


@dataclass(frozen=True)
class Change:
    """A provider whose stored grade or score changed."""

    provider_id: int
    uscc: str
    before: tuple[str | None, Decimal | None]
    after: tuple[str | None, Decimal | None]


def recompute(provider_ids: Iterable[int], on: date | None = None) -> list[Change]:
    """Recompute and store Provider.grade and Provider.credit_score; audit and re-index only the
    providers whose values changed. Returns those changes.

    The provider rows are locked first (PostgreSQL; SQLite writers are serialised anyway), so
    two transactions adding ratings for one provider at once each see the other's committed row
    and the last to commit stores a grade that counts both. The columns are written with one
    UPDATE statement that leaves the provider's version column alone: a recomputed grade must
    never turn a provider's open edit form, or a concurrent edit, into a stale-page conflict.
    """
    from registry.search.engine import enqueue

    ids = sorted({int(i) for i in provider_ids if i is not None})
    if not ids:
        return []
    changes: list[Change] = []
    rows = db.session.execute(
        select(Provider.id, Provider.uscc, Provider.grade, Provider.credit_score)
        .where(Provider.id.in_(ids))
        .order_by(Provider.id)
        .with_for_update(key_share=True)
    ).all()
    for provider_id, uscc, grade, score in rows:
        result = compute(provider_id, on)
        stored = {"result": _plain(result), "trend": _plain(trend(provider_id, result.on))}
        before = (grade, None if score is None else Decimal(score).quantize(CENT))
        after = (result.grade, result.score)
        values = {"credit_detail": stored}
        if before != after:
            values.update(grade=result.grade, credit_score=result.score)
        db.session.execute(
            update(Provider)
            .where(Provider.id == provider_id)
            .values(**values)
            .execution_options(synchronize_session="fetch", grades_internal=True)
        )
        if before == after:
            continue
        audit.record(
            "provider.grade",
            actor_name=SYSTEM_ACTOR,
            object_type="provider",
            object_id=provider_id,
            before={
                "grade": before[0],
                "credit_score": None if before[1] is None else str(before[1]),
            },
            after={"grade": after[0], "credit_score": None if after[1] is None else str(after[1])},
            detail=result.summary(),
        )
        enqueue(db.session, "provider", uscc)
        changes.append(Change(provider_id, uscc, before, after))
    return changes


def recompute_all(on: date | None = None) -> tuple[int, list[Change]]:
    """Recompute every provider (the window moves on with the calendar): (how many, changes),
    in the current transaction."""
    return exhaust(recompute_batches(on))


def recompute_batches(
    on: date | None = None, size: int = RECOMPUTE_BATCH
) -> Batches[tuple[int, list[Change]]]:
    """recompute_all in batches of `size` providers (services/batches.py): the caller commits
    after each. A batch stores what the provider's inputs say as of `on`, so running one twice,
    or a run stopped between batches and then run again, stores the same grades."""
    count, changes = 0, []
    for ids in id_batches(select(Provider.id), Provider.id, size):
        changes += recompute(ids, on)
        count += len(ids)
        yield len(ids)
    return count, changes
