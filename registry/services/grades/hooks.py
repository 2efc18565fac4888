"""Session hooks that keep Provider.grade and Provider.credit_score in step: a flush that adds or
changes a grade input (owner rating, behaviour event, award or its withdrawal, a published-period score, an
evaluation period, a credit record, a provider's blacklisting) marks the provider, and the commit
recomputes it in the same transaction. registry/hooks.py installs them before search's."""

from __future__ import annotations

from itertools import chain
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from registry.extensions import db
from registry.models.credit import CreditRecord
from registry.models.evaluation import EvaluationPeriod, ScoreEntry
from registry.models.market import Award, AwardWithdrawal, BehaviourEvent, OwnerRating
from registry.models.providers import Provider
from registry.services.derived import forget_on_rollback, recompute_before_commit
from registry.services.grades.compute import settings
from registry.services.grades.stored import recompute

PENDING = "grades_pending"
_INPUTS = (OwnerRating, BehaviourEvent, Award)
# Rows about one provider that count once published (a score revision, a credit record).
_PROVIDER_ROWS = (ScoreEntry, CreditRecord)


def _active() -> bool:
    return has_app_context() and bool(current_app.extensions.get("grades"))


def _pending(session: Session) -> dict[str, set[int]]:
    return session.info.setdefault(PENDING, {"providers": set(), "periods": set()})


def _changed(obj: Any, attribute: str) -> bool:
    state = inspect(obj)
    if attribute not in state.attrs:
        return True
    return state.attrs[attribute].history.has_changes()


def _after_flush(session: Session, _context) -> None:
    """Note the providers whose grade inputs this flush added or changed."""
    if not _active():
        return
    pending = None
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, _INPUTS):
            provider_ids = {obj.provider_id}
        elif isinstance(obj, AwardWithdrawal):
            # Ratings of the withdrawn engagement stop counting.
            provider_ids = {session.get(Award, obj.award_id).provider_id}
        elif isinstance(obj, Provider):
            # A new provider has no inputs yet (unless blacklisted from the start).
            if obj in session.new:
                changed = obj.blacklisted_until is not None
            else:
                changed = _changed(obj, "blacklisted_until")
            provider_ids = {obj.id} if changed else set()
        elif isinstance(obj, _PROVIDER_ROWS):
            # A score revision counts once its period is published; draft revisions do not.
            if isinstance(obj, ScoreEntry) and not obj.after_publication:
                continue
            provider_ids = {obj.provider_id}
        elif isinstance(obj, EvaluationPeriod):
            if obj.id is not None and _changed(obj, "status"):
                pending = pending or _pending(session)
                pending["periods"].add(obj.id)
            continue
        else:
            continue
        provider_ids.discard(None)
        if provider_ids:
            pending = pending or _pending(session)
            pending["providers"].update(provider_ids)


def _on_orm_execute(state) -> None:
    """Bulk UPDATE and DELETE statements never reach the flush hooks (e.g. a period published
    with an atomic UPDATE … WHERE status = …): note the rows they are about to touch."""
    if not (state.is_update or state.is_delete) or not _active():
        return
    if state.execution_options.get("grades_internal"):
        return
    mapper = state.bind_mapper
    if mapper is None:
        return
    model = mapper.class_
    where = state.statement.whereclause
    if model is EvaluationPeriod:
        column, target = model.id, "periods"
    elif model is Provider:
        column, target = model.id, "providers"
    elif issubclass(model, _INPUTS + _PROVIDER_ROWS):
        column, target = model.provider_id, "providers"
    else:
        return
    query = select(column) if where is None else select(column).where(where)
    found = set(state.session.scalars(query.distinct()))
    found.discard(None)
    if found:
        _pending(state.session)[target].update(found)


def _period_providers(period_ids: set[int]) -> set[int]:
    """Providers with score rows in these evaluation periods."""
    query = select(ScoreEntry.provider_id).where(ScoreEntry.period_id.in_(sorted(period_ids)))
    return set(db.session.scalars(query.distinct()))


def _recompute_marked(pending: dict[str, set[int]]) -> None:
    """Recompute the marked providers and those scored in the marked periods (before the search
    hooks, which then index the new grades in the same commit)."""
    ids = set(pending["providers"])
    if pending["periods"]:
        ids |= _period_providers(pending["periods"])
    if ids:
        recompute(ids)


# The session events grades listen on; registry/hooks.py installs them before search's, so the
# recomputed grades are indexed in the same commit.
HOOKS = (
    ("after_flush", _after_flush),
    ("do_orm_execute", _on_orm_execute),
    ("before_commit", recompute_before_commit(PENDING, _active, _recompute_marked)),
    ("after_soft_rollback", forget_on_rollback(PENDING)),
)


def init_app(app: Flask) -> None:
    """Check the CREDIT_* settings (a bad value stops the start with a clear message) and keep
    grades in step from now on (the hooks: registry/hooks.py)."""
    settings(app.config)
    app.extensions["grades"] = True
