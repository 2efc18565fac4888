"""Data generations: the commit that changes what the public pages show raises the `public`
generation in the same transaction, so a cached page (web/page_cache.py) built from older data is
never served again, on this worker or any other node.

Which rows count: those of the catalogue, the calendar, providers and their offers, the
marketplace, evaluations and credit. Accounts, audit entries, messages, roadmaps, the search
outbox and rate-limit counters never reach a public page and do not count. A flush marks the
session; the commit raises the counter as its last statement (one short row lock on PostgreSQL,
taken just before the commit releases it). Bulk UPDATE/DELETE statements mark it too.
A change made outside the ORM (a restore, raw SQL) calls `bump()` itself.
"""

from __future__ import annotations

import threading
import time
from itertools import chain

from flask import Flask, current_app, has_app_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.extensions import db
from registry.kernel import clock
from registry.models.freshness import DataGeneration
from registry.services.derived import forget_on_rollback

PUBLIC = "public"
PENDING = "freshness_pending"
RAISED = "freshness_raised"
# Models whose rows the public pages show, by the module that defines them.
_PUBLIC_MODULES = frozenset(
    f"registry.models.{name}"
    for name in ("catalogue", "calendar", "providers", "market", "evaluation", "credit")
)


class Generations:
    """This process's memo of the generations: read from the database at most every
    `PAGE_CACHE_RECHECK_SECONDS` (0: on every request), and forgotten when this process commits."""

    def __init__(self, recheck_seconds: float) -> None:
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._value: tuple[int, object] | None = None
        self._read_at = 0.0

    def current(self) -> tuple[int, object]:
        """(generation, changed_at) of the public data."""
        now = time.monotonic()
        with self._lock:
            if self._value is not None and now - self._read_at < self.recheck_seconds:
                return self._value
        row = db.session.execute(
            select(DataGeneration.generation, DataGeneration.changed_at).where(
                DataGeneration.name == PUBLIC
            )
        ).first()
        value = (row.generation, row.changed_at) if row is not None else (0, None)
        with self._lock:
            self._value, self._read_at = value, now
        return value

    def peek(self) -> tuple[int, object] | None:
        """The memo while it is fresh, without reading the database (None when it is not)."""
        with self._lock:
            if self._value is not None and time.monotonic() - self._read_at < self.recheck_seconds:
                return self._value
        return None

    def forget(self) -> None:
        with self._lock:
            self._value = None


def _memo() -> Generations | None:
    if not has_app_context():
        return None
    return current_app.extensions.get("freshness")


def _is_public(model: type) -> bool:
    return model.__module__ in _PUBLIC_MODULES


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
