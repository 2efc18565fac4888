"""Data generations: the commit that changes what the public pages show raises the `public`
generation in the same transaction, so a cached page (web/page_cache.py) built from older data is
never served again, on this worker or any other node.

Which rows count: those of the catalogue, the calendar, providers and their offers, the
marketplace, evaluations and credit, and — for the oversight dashboard's aggregates (/stats) —
projects with their roadmap steps and stored plans. Accounts, audit entries, messages,
notifications, the search outbox and rate-limit counters never reach a public page and do not
count. A flush marks the session; the commit raises the counter as its last statement (one short
row lock on PostgreSQL, taken just before the commit releases it). Bulk UPDATE/DELETE statements
mark it too. A change made outside the ORM (a restore, raw SQL) calls `bump()` itself.

Public pages also change with time alone: a request reads 报名中 until its deadline and 报名截止
after it. Those moments ("turns") are read with each new generation — the deadlines still ahead
of the open requests — and the state a page is cached under is the generation with the number of
turns passed, so the first visit after a deadline renders the page again without a database
read (the day, which turns every date shown, is part of the page key itself).
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from datetime import datetime
from itertools import chain

from flask import Flask, current_app, has_app_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.extensions import db
from registry.kernel import clock
from registry.models.freshness import DataGeneration
from registry.models.market import RequestStatus, SelectionRequest
from registry.services.derived import forget_on_rollback

PUBLIC = "public"
PENDING = "freshness_pending"
RAISED = "freshness_raised"
# Models whose rows the public pages show, by the module that defines them.
_PUBLIC_MODULES = frozenset(
    f"registry.models.{name}"
    for name in (
        "catalogue",
        "calendar",
        "providers",
        "market",
        "evaluation",
        "credit",
        "projects",
        "practitioners",  # person pages, the list and API, a profile's personnel strength
    )
)
# Single models of other modules that public pages aggregate (/stats).
_PUBLIC_MODELS = frozenset(
    {"registry.models.roadmap.RoadmapStep", "registry.models.roadmap.ProjectPlan"}
)
MAX_TURNS = 1000  # the nearest deadlines kept; beyond them the next generation reads more


def _turns(after: datetime) -> list[datetime]:
    """The moments after `after` at which a public page changes without a write: the deadlines
    of open selection requests (报名中 → 报名截止), soonest first."""
    deadline = SelectionRequest.deadline
    query = (
        select(deadline)
        .where(SelectionRequest.status == RequestStatus.OPEN.value, deadline > after)
        .group_by(deadline)
        .order_by(deadline)
        .limit(MAX_TURNS)
    )
    return [clock.local(moment) for moment in db.session.scalars(query)]


class Generations:
    """This process's memo of the generations: read from the database at most every
    `PAGE_CACHE_RECHECK_SECONDS` (0: on every request), and forgotten when this process commits."""

    def __init__(self, recheck_seconds: float) -> None:
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._value: tuple[int, object] | None = None
        self._read_at = 0.0
        self._turns: tuple[int, list[datetime]] | None = None  # (generation, moments)

    def current(self) -> tuple[str, object]:
        """(state, changed_at) of the public data: the state is the generation and the number
        of turns passed since it was read ("12.0", then "12.1" once the first deadline passes)."""
        now = time.monotonic()
        with self._lock:
            if self._value is not None and now - self._read_at < self.recheck_seconds:
                return self._state(self._value)
        row = db.session.execute(
            select(DataGeneration.generation, DataGeneration.changed_at).where(
                DataGeneration.name == PUBLIC
            )
        ).first()
        value = (row.generation, row.changed_at) if row is not None else (0, None)
        with self._lock:
            known = self._turns
        if known is None or known[0] != value[0]:
            known = (value[0], _turns(clock.now()))
        with self._lock:
            self._value, self._read_at, self._turns = value, now, known
            return self._state(value)

    def peek(self) -> tuple[str, object] | None:
        """The memo while it is fresh, without reading the database (None when it is not)."""
        with self._lock:
            if self._value is not None and time.monotonic() - self._read_at < self.recheck_seconds:
                return self._state(self._value)
        return None

    def _state(self, value: tuple[int, object]) -> tuple[str, object]:
        generation, changed_at = value
        moments = self._turns[1] if self._turns and self._turns[0] == generation else []
        return f"{generation}.{bisect_right(moments, clock.now())}", changed_at

    def forget(self) -> None:
        with self._lock:
            self._value = None
            self._turns = None


def _memo() -> Generations | None:
    if not has_app_context():
        return None
    return current_app.extensions.get("freshness")


def _is_public(model: type) -> bool:
    return (
        model.__module__ in _PUBLIC_MODULES
        or f"{model.__module__}.{model.__name__}" in _PUBLIC_MODELS
    )


def _after_flush(session: Session, _context) -> None:
    if session.info.get(PENDING) or _memo() is None:
        return
    if any(_is_public(type(obj)) for obj in chain(session.new, session.dirty, session.deleted)):
        session.info[PENDING] = True


def _on_orm_execute(state) -> None:
    if not (state.is_update or state.is_delete) or _memo() is None:
        return
    mapper = state.bind_mapper
    if mapper is not None and _is_public(mapper.class_):
        state.session.info[PENDING] = True


def _before_commit(session: Session) -> None:
    """Raise the generation as the transaction's last statement (after grades recomputed)."""
    if _memo() is None or session is not db.session() or session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    if session.info.pop(PENDING, False):
        _raise(session)
        session.info[RAISED] = True


def _raise(session: Session) -> None:
    changed = session.execute(
        update(DataGeneration)
        .where(DataGeneration.name == PUBLIC)
        .values(generation=DataGeneration.generation + 1, changed_at=clock.now())
    )
    if changed.rowcount == 0:  # a database created before the table had its row
        session.add(DataGeneration(name=PUBLIC, generation=1, changed_at=clock.now()))
        session.flush()


def _after_commit(session: Session) -> None:
    """This process raised the generation: forget the memo, so its next page reads the new one."""
    memo = _memo()
    if memo is not None and session.info.pop(RAISED, False):
        memo.forget()


def bump() -> None:
    """Mark this transaction as changing public data (for writes the hooks cannot see)."""
    db.session.info[PENDING] = True


HOOKS = (
    ("after_flush", _after_flush),
    ("do_orm_execute", _on_orm_execute),
    ("before_commit", _before_commit),
    ("after_commit", _after_commit),
    ("after_soft_rollback", forget_on_rollback(PENDING)),
    ("after_soft_rollback", forget_on_rollback(RAISED)),
)


def init_app(app: Flask) -> None:
    app.extensions["freshness"] = Generations(float(app.config["PAGE_CACHE_RECHECK_SECONDS"]))
