"""Derived data recomputed at commit: a flush marks what changed under a key of `session.info`;
before the commit the marked rows are recomputed and flushed in the committing transaction; a
rollback drops the marks. Credit grades and stored roadmap plans work this way (their hooks
modules build on these two hooks; registry/hooks.py installs them in order); the public data
generation (services/freshness.py) drops its mark on rollback the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from registry.extensions import db


def recompute_before_commit(
    key: str, active: Callable[[], bool], recompute: Callable[[Any], None]
) -> Callable[[Session], None]:
    """A before_commit hook: on the application's session (not inside a savepoint) and while
    `active()`, flush, hand what the flushes marked under `key` to `recompute` and flush what it
    changed, in the same transaction."""

    def before_commit(session: Session) -> None:
        if not active() or session is not db.session() or session.in_nested_transaction():
            return
        if not (session.new or session.dirty or session.deleted or session.info.get(key)):
            return
        session.flush()
        marked = session.info.pop(key, None)
        if not marked:
            return
        recompute(marked)
        session.flush()
        session.info.pop(key, None)

    return before_commit


def forget_on_rollback(key: str) -> Callable[[Session, Any], None]:
    """An after_soft_rollback hook: a rolled-back transaction (not a savepoint) drops the marks."""

    def after_soft_rollback(session: Session, previous: Any) -> None:
        if not previous.nested:
            session.info.pop(key, None)

    return after_soft_rollback
