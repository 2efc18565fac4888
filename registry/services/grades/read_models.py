"""Read models for the credit pages and charts: a provider's score history per half-year, and
how a department's active providers spread over the grades."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from registry.extensions import db
from registry.models.catalogue import Department, ServiceItem
from registry.models.providers import Offer, Provider, ProviderStatus
from registry.services.errors import NotFound
from registry.services.grades.compute import (
    CENT,
    GRADE_LABELS,
    UNRATED_LABEL,
    local_date,
    owner_averages,
    published_totals,
    settings,
    today,
)


@dataclass
class TrendRow:
    """One half-year of a provider's score history."""

    label: str
    regulator: Decimal | None
    regulator_periods: list[tuple[str, Decimal]]
    owner: Decimal | None
    owner_count: int


def _half_year(day: date) -> tuple[int, int]:
    return day.year, 1 if day.month <= 6 else 2


def _half_label(key: tuple[int, int]) -> str:
    return f"{key[0]}年{'上' if key[1] == 1 else '下'}半年"


def trend(provider_id: int, on: date | None = None, half_years: int = 6) -> list[TrendRow]:
    """Regulator totals per evaluation period and owner-rating averages, per half-year, for the
    last `half_years` half-years up to `on` (only those with data)."""
    on = on or today()
    last = _half_year(on)
    first_index = last[0] * 2 + last[1] - 1 - (half_years - 1)
    first = (first_index // 2, first_index % 2 + 1)
    since = date(first[0], 1 if first[1] == 1 else 7, 1)
    regulator: dict[tuple[int, int], list[tuple[str, Decimal]]] = {}
    published = [t for t in published_totals(provider_id, since) if since <= t[0] <= on]
    # The evaluations module names each total by its department code: show the department.
    names = dict(
        db.session.execute(
            select(Department.code, func.coalesce(Department.short_name, Department.name)).where(
                Department.code.in_(sorted({label for _, _, label in published}))
            )
        ).all()
    )
    for day, total, label in published:
        regulator.setdefault(_half_year(day), []).append((names.get(label, label), total))
    owner: dict[tuple[int, int], list[Decimal]] = {}
    for created_at, average in owner_averages(provider_id, since, on):
        owner.setdefault(_half_year(local_date(created_at)), []).append(average)
    rows = []
    for key in sorted(set(regulator) | set(owner)):
        totals = regulator.get(key, [])
        averages = owner.get(key, [])
        rows.append(
            TrendRow(
                label=_half_label(key),
                regulator=(sum((t for _, t in totals), Decimal(0)) / len(totals)).quantize(CENT)
                if totals
                else None,
                regulator_periods=[(label, t.quantize(CENT)) for label, t in totals],
                owner=(sum(averages, Decimal(0)) / len(averages)).quantize(CENT)
                if averages
                else None,
                owner_count=len(averages),
            )
        )
    return rows


@dataclass
class Distribution:
    """How the active providers offering a department's items spread over the grades."""

    department: Department
    counts: list[tuple[str, int]]  # (grade label, count), best first, 未评级 last
    total: int


def department_distribution(code: str) -> Distribution:
    """The grade distribution of one (active) department; NotFound for an unknown code."""
    department = db.session.scalar(
        select(Department).where(Department.code == (code or "")[:32], Department.is_active)
    )
    if department is None:
        raise NotFound("未找到该部门")
    active_offers = (
        select(Offer.provider_id)
        .join(ServiceItem, ServiceItem.id == Offer.service_item_id)
        .where(ServiceItem.department_id == department.id, Offer.is_active)
    )
    rows = db.session.execute(
        select(Provider.grade, func.count())
        .where(Provider.id.in_(active_offers), Provider.status == ProviderStatus.ACTIVE.value)
        .group_by(Provider.grade)
    ).all()
    found = dict(rows)
    labels = [label for label, _ in settings().bands]
    labels += [g for g in GRADE_LABELS if g not in labels and found.get(g)]
    counts = [(label, found.get(label, 0)) for label in labels]
    counts.append((UNRATED_LABEL, found.get(None, 0)))
    return Distribution(department, counts, sum(found.values()))
