"""The oversight dashboard's figures (/stats): how long projects take from land contract to
construction permit against their category's target, time per stage and per department against
the step's limit, warnings and overdue steps by department, the marketplace's health, and — for
staff only — integrity signals to review (待核查线索, never findings).

Every figure is a `Table` (title, columns, rows of display-ready cells), so the page's table, its
chart and its CSV download are the same numbers. The work is done by grouped SQL statements whose
number does not grow with the data; Python only folds their (already grouped) rows. Nothing is
written. Which tables a user may see is `policy.sees_stats_detail`.

Definitions (shown on the page too):

* A project's **days to permit**: calendar days from its land-contract date to the finish of its
  construction-permit step (`STATS_PERMIT_STEP`, SP-15 in every template), as the plan's total
  days count; **达标** when within the category's target (ProjectCategory.target_days).
* A finished step's **time used**: counted in the step's own unit from its start to its finish,
  both days included (working days on the layered calendar for 工作日); **按时** when within its
  limit (its duration, or the shorter self-prepared one).
* A request is **decided** when 已选定 or 流标; only decided requests count bids (quotes are
  sealed until the deadline), a provider's bid being its latest revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app

from registry.extensions import db
from registry.services.freshness import PENDING
from registry.services.stats.common import Refs, Settings, Table, bids, departments, services
from registry.services.stats.market import (
    concentration_table,
    method_table,
    price_table,
    win_table,
)
from registry.services.stats.signals import signal_tables
from registry.services.stats.timeliness import alert_tables, permit_tables, stage_tables

__all__ = ["Refs", "Settings", "Stats", "Table", "bids", "dashboard"]


@dataclass
class Stats:
    """Everything /stats shows: the public tables, the staff's (empty for the public) and the
    headline figures."""

    today: date
    settings: Settings
    tables: dict[str, Table]
    direct_share: str
    staff: bool

    def table(self, name: str) -> Table:
        return self.tables[name]


def dashboard(today: date, *, lead: int, settings: Settings, staff: bool) -> Stats:
    """The dashboard's figures as of `today`; the staff-only tables only when `staff`."""
    names = departments()
    items = services()
    permit, quarters = permit_tables(settings)
    stages, by_department = stage_tables(names)
    alerts, overdue = alert_tables(names, today, lead, settings)
    methods, direct_share = method_table()
    tables = [
        permit,
        quarters,
        stages,
        by_department,
        alerts,
        methods,
        price_table(items),
        concentration_table(items),
        win_table(settings),
    ]
    if staff:
        tables += [overdue, *_signals(settings)]
    return Stats(
        today=today,
        settings=settings,
        tables={t.name: t for t in tables},
        direct_share=direct_share,
        staff=staff,
    )


def _signals(settings: Settings) -> list[Table]:
    """The signal tables, kept in this process per public data generation (services/freshness.py:
    every commit that adds a quote, decides a request or renames a provider raises it) and
    settings: they read only decided requests, whatever the day, and the self-joins of bids are
    the dearest part of the dashboard. Not kept while this session holds uncommitted changes."""
    generations = current_app.extensions.get("freshness")
    session = db.session()
    pending = session.info.get(PENDING) or session.new or session.dirty or session.deleted
    if generations is None or pending:
        return signal_tables(settings)
    key = (generations.current()[0], settings)
    kept = current_app.extensions.get("stats_signals")
    if kept is not None and kept[0] == key:
        return kept[1]
    tables = signal_tables(settings)
    current_app.extensions["stats_signals"] = (key, tables)
    return tables
