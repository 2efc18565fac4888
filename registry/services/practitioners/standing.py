"""Credit that follows the person (从业人员): the published credit records against a person,
the person's score and standing from the configurable person table, whether a blacklisting bars
them from being named on a quote, and the records of a provider's current staff.

A record is linked to the practitioner, not to an employment: when the person moves on, their
records go with them (the firm at the time stays on the record as published)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.kernel import clock
from registry.models import CreditKind, CreditRecord, CreditStatus, Employment, Practitioner
from registry.models.providers import Provider
from registry.pure.pii import mask_name
from registry.services.grades.compute import local_day_start, window
from registry.services.practitioners.staff import employed_on

# The kinds a regulator may record against a person (a commendation or a repair is the firm's).
PERSON_KINDS = (
    CreditKind.INTERVIEW.value,
    CreditKind.WARNING.value,
    CreditKind.CRITICISM.value,
    CreditKind.BLACKLIST.value,
)
HUNDRED = Decimal(100)
BARRED_LABEL = "黑名单"


@dataclass(frozen=True)
class PersonSettings:
    """The validated person score table: points per record kind and the standing bands."""

    deductions: dict[str, Decimal]
    bands: list[tuple[str, Decimal]]


@dataclass
class PersonStanding:
    """A person's score (100 minus the deductions in the window, never below 0) and standing."""

    score: Decimal
    label: str
    deductions: list[tuple[CreditRecord, Decimal]] = field(default_factory=list)
    barred_until: date | None = None


def _points(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = Decimal(-1)
    if not number.is_finite() or number < 0:
        raise ValueError(f"从业人员信用配置有误:{what} 应为不小于 0 的数字,实际为 {value!r}")
    return number


def person_settings(config: Any = None) -> PersonSettings:
    """Read and check PRACTITIONER_CREDIT_DEDUCTIONS and PRACTITIONER_CREDIT_BANDS (of the
    current app unless config is given); a bad value raises ValueError naming the setting."""
    config = current_app.config if config is None else config
    raw = config.get("PRACTITIONER_CREDIT_DEDUCTIONS") or {}
    if not isinstance(raw, dict) or not set(raw) <= set(PERSON_KINDS):
        raise ValueError(
            "从业人员信用配置有误:PRACTITIONER_CREDIT_DEDUCTIONS 只能包含 "
            + "、".join(PERSON_KINDS)
        )
    deductions = {
        kind: _points(p, f"PRACTITIONER_CREDIT_DEDUCTIONS[{kind}]") for kind, p in raw.items()
    }
    bands = []
    for entry in config.get("PRACTITIONER_CREDIT_BANDS") or []:
        if not isinstance(entry, list | tuple) or len(entry) != 2 or not str(entry[0]).strip():
            raise ValueError(
                f"从业人员信用配置有误:PRACTITIONER_CREDIT_BANDS 的每一项应为(名称, 最低分),实际为 {entry!r}"
            )
        bands.append((str(entry[0]), _points(entry[1], f"PRACTITIONER_CREDIT_BANDS[{entry[0]}]")))
    thresholds = [t for _, t in bands]
    if not bands or thresholds != sorted(set(thresholds), reverse=True) or thresholds[-1] != 0:
        raise ValueError(
            "从业人员信用配置有误:PRACTITIONER_CREDIT_BANDS 的最低分须从高到低严格递减,最后一档为 0"
        )
    return PersonSettings(deductions, bands)


def today() -> date:
    """Today in the zone's time."""
    return clock.today()


def _records_query(practitioner_id: int, *, public: bool):
    statuses = (
        CreditRecord.status == CreditStatus.PUBLISHED.value
        if public
        else CreditRecord.status != CreditStatus.DRAFT.value
    )
    return (
        select(CreditRecord)
        .where(CreditRecord.practitioner_id == practitioner_id, statuses)
        .options(selectinload(CreditRecord.department), selectinload(CreditRecord.objections))
        .order_by(CreditRecord.published_at.desc(), CreditRecord.id.desc())
    )


def person_records(practitioner: Practitioner, public: bool = True) -> list[CreditRecord]:
    """Records against the person, newest first: published and current ones (public), or every
    record ever published, superseded and revoked ones included (the person's own page)."""
    return list(db.session.scalars(_records_query(practitioner.id, public=public)))


def blacklistings(practitioner: Practitioner, on: date) -> list[CreditRecord]:
    """Published blacklistings of the person in force on the day (within their term)."""
    return [
        r
        for r in person_records(practitioner)
        if r.kind == CreditKind.BLACKLIST.value and r.term_until is not None and r.term_until >= on
    ]


def bar_reason(practitioner: Practitioner, on: date) -> str | None:
    """Why the person may not be named on a quote on the day (a blacklisting in force), or None."""
    found = blacklistings(practitioner, on)
    if not found:
        return None
    item = max(found, key=lambda r: r.term_until)
    return (
        f"从业人员 {mask_name(practitioner.name)} 已被{item.department.name}列入黑名单"
        f"(信用记录 {item.number},期限至 {item.term_until:%Y-%m-%d}),不能在报价中列名"
    )


def is_barred(practitioner: Practitioner, on: date) -> bool:
    """Whether a blacklisting in force on the day bars the person (bar_reason says why)."""
    return bar_reason(practitioner, on) is not None


def person_standing(practitioner: Practitioner, on: date | None = None) -> PersonStanding:
    """The person's score over the credit window (CREDIT_WINDOW_MONTHS) from the person table,
    and the standing band; a person barred on the day stands as 黑名单 whatever the score."""
    on = on or today()
    config = person_settings()
    since, _ = window(on, int(current_app.config.get("CREDIT_WINDOW_MONTHS", 12)))
    start, end = local_day_start(since), local_day_start(on + timedelta(days=1))
    deductions = [
        (r, config.deductions.get(r.kind, Decimal(0)))
        for r in reversed(person_records(practitioner))
        if start <= r.published_at < end
    ]
    score = max(Decimal(0), HUNDRED - sum((p for _, p in deductions), Decimal(0)))
    label = next(name for name, threshold in config.bands if score >= threshold)
    terms = [r.term_until for r in blacklistings(practitioner, on)]
    barred_until = max(terms) if terms else None
    return PersonStanding(score, BARRED_LABEL if barred_until else label, deductions, barred_until)


@dataclass(frozen=True)
class StaffRecord:
    """A published record against one of a provider's current staff, the name masked."""

    name: str
    practitioner_id: int
    record: CreditRecord


def staff_records(provider: Provider, on: date | None = None) -> list[StaffRecord]:
    """Published records against the people working at the provider on the day (wherever they
    worked when the record was made), newest first; a person who left takes theirs along."""
    on = on or today()
    rows = db.session.execute(
        select(CreditRecord, Practitioner)
        .join(Practitioner, Practitioner.id == CreditRecord.practitioner_id)
        .join(Employment, Employment.practitioner_id == Practitioner.id)
        .where(
            Employment.provider_id == provider.id,
            employed_on(on),
            CreditRecord.status == CreditStatus.PUBLISHED.value,
        )
        .options(selectinload(CreditRecord.department))
        .order_by(CreditRecord.published_at.desc(), CreditRecord.id.desc())
    )
    return [StaffRecord(mask_name(person.name), person.id, item) for item, person in rows]
