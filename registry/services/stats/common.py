"""What the dashboard's parts share: the `Table` every figure is, the `Settings` (config STATS_*),
how numbers are printed, the departments' names and the bids on decided requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from registry.extensions import db
from registry.models.catalogue import ApprovalItem, Department, ServiceItem
from registry.models.market import Award, AwardWithdrawal, Quote, RequestStatus, SelectionRequest

DECIDED = (RequestStatus.AWARDED.value, RequestStatus.FAILED.value)
NO_DEPARTMENT = "(未指定部门)"

# An award that still stands (no withdrawal after an upheld objection): only these count; a
# withdrawn award's request counts by its new result.
STANDING = ~exists().where(AwardWithdrawal.award_id == Award.id)


class Refs(tuple):
    """A cell naming selection requests by their 公告编号: links on the page, refs in the CSV."""

    def __str__(self) -> str:
        return " ".join(self)


@dataclass
class Table:
    """One figure: a titled table of display-ready cells (numbers already rounded)."""

    name: str  # the CSV's file name (without .csv) and the table's id on the page
    title: str
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)
    note: str = ""
    staff: bool = False
    shown: int | None = None  # the page shows this many rows (the CSV every row)

    @property
    def page_rows(self) -> list[tuple]:
        """The rows the page shows."""
        return self.rows if self.shown is None else self.rows[: self.shown]


@dataclass(frozen=True)
class Settings:
    """Thresholds of the figures and signals (config STATS_*), shown on the page."""

    permit_step: str = "SP-15"
    page_rows: int = 50
    min_bids: int = 3  # a provider's win rate is listed from this many bids
    pair_min_common: int = 3
    pair_min_share: float = 0.6
    rotation_min_requests: int = 3
    rotation_min_share: float = 0.8
    price_gap: float = 0.005
    loser_min_common: int = 3
    loser_min_share: float = 1.0
    signal_limit: int = 200

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        """The settings from the application's config (STATS_PERMIT_STEP, STATS_PAGE_ROWS,
        STATS_MIN_BIDS and the STATS_SIGNALS mapping)."""
        signals = dict(config.get("STATS_SIGNALS") or {})
        known = {name for name in cls.__dataclass_fields__ if name not in ("permit_step",)}
        values = {k: v for k, v in signals.items() if k in known}
        return cls(
            permit_step=config.get("STATS_PERMIT_STEP", "SP-15"),
            page_rows=int(config.get("STATS_PAGE_ROWS", 50)),
            min_bids=int(config.get("STATS_MIN_BIDS", 3)),
            **values,
        )


# --------------------------------------------------------------------------- formatting


def pct(part: float, whole: float) -> str:
    """A share as the page prints it ("66.7%"); "—" when there is no whole."""
    if not whole:
        return "—"
    return f"{100 * part / whole:.1f}%"


def one(value: float | None) -> float | str:
    """A mean rounded to one decimal ("—" for none)."""
    if value is None:
        return "—"
    return round(float(value) + 0.0, 1)


def quarter(day: date) -> str:
    """The quarter a day falls in, e.g. 2026年Q3."""
    return f"{day.year}年Q{(day.month - 1) // 3 + 1}"


def departments() -> dict[int, str]:
    rows = db.session.execute(select(Department.id, Department.name, Department.short_name))
    return {r.id: r.short_name or r.name for r in rows}


def step_department():
    """The department of a roadmap step: its approval item's, else its service item's."""
    approval, service = aliased(ApprovalItem), aliased(ServiceItem)
    column = func.coalesce(approval.department_id, service.department_id)
    return column, approval, service


def bids():
    """(request_id, provider_id) of every bid on a decided request (once per provider)."""
    return (
        select(Quote.request_id, Quote.provider_id)
        .join(SelectionRequest, SelectionRequest.id == Quote.request_id)
        .where(SelectionRequest.status.in_(DECIDED))
        .distinct()
        .subquery("bids")
    )


def services() -> dict[int, tuple[str, str]]:
    return {
        r.id: (r.code, r.name)
        for r in db.session.execute(select(ServiceItem.id, ServiceItem.code, ServiceItem.name))
    }


def bid_counts() -> dict[int, int]:
    bid = bids()
    return dict(
        db.session.execute(
            select(bid.c.provider_id, func.count()).group_by(bid.c.provider_id)
        ).all()
    )
