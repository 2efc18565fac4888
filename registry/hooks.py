"""Derived data, kept in step with the rows it comes from: the one place that installs the
SQLAlchemy session hooks and says in which order they run.

1. Credit grades (`services/grades/hooks.py`): a flush that touches a grade input marks the provider;
   before the commit its grade and score are recomputed and flushed in the same transaction.
2. Roadmap plans (`services/roadmaps/hooks.py`): a flush that changes a project's steps or its
   land-contract date marks the project; before the commit its stored plan is recomputed.
3. Data generations (`services/freshness.py`): a commit that changes what public pages show
   raises the `public` generation as its last statement, so cached pages (web/page_cache.py) go
   stale everywhere at once.
4. Search (`search/engine.py`): the flushes write outbox rows — the recomputed grades' included,
   since grades' before_commit runs first — and the outbox is drained after the commit.

Listeners run in the order they were added, so this order is the order above. The working-day
calendar's entered layer is derived data too (re-read per app context, `services/calendars.py`).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from registry.search import engine as search_engine
from registry.services import calendars, freshness
from registry.services.grades import hooks as grade_hooks
from registry.services.roadmaps import hooks as roadmap_hooks


def init_app(app: Flask) -> None:
    """Attach the search engine, check the credit settings (a bad CREDIT_* value stops the
    start), follow the entered calendar, then install the session hooks."""
    search_engine.init_app(app)
    grade_hooks.init_app(app)
    roadmap_hooks.init_app(app)
    calendars.init_app(app)
    freshness.init_app(app)
    install_hooks()


def install_hooks() -> None:
    """Listen on every SQLAlchemy session (once per process): grades, plans, generations,
    search."""
    hooks = (*grade_hooks.HOOKS, *roadmap_hooks.HOOKS, *freshness.HOOKS, *search_engine.HOOKS)
    for name, hook in hooks:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
