"""Composite credit score and grade (DESIGN §4), behaviour deductions, and the regulators' own
behaviour entries (投诉属实, 其他违规).

Score over a rolling window (CREDIT_WINDOW_MONTHS, default 12) ending on the day computed for:

- owner part: mean of the owner ratings' averages (hidden comments still count: hiding moderates
  the text, never the scores);
- regulator part: mean of the published evaluation totals (`evaluations/results.published_totals`);
- behaviour part: 100 minus the deductions of the negative-behaviour table (CREDIT_DEDUCTIONS)
  for behaviour events and published credit records in the window, never below 0.

Weights come from CREDIT_WEIGHTS; a part without data drops out and the remaining weights are
re-normalised. Fewer owner ratings than CREDIT_MIN_SAMPLE["owner"] AND fewer regulator scores than
CREDIT_MIN_SAMPLE["regulator"] ⇒ 未评级 (grade and score None). The grade is the first band of
CREDIT_BANDS whose threshold the score (rounded to 0.01) reaches. A provider blacklisted on the
day gets the lowest band (D) whatever its score.

Provider.grade and Provider.credit_score are kept in step by session hooks (`hooks.py`): a flush that adds or
changes an input (owner rating, behaviour event, award, a published-period score, an evaluation
period, a credit record, a provider's blacklisting) marks the provider, and the commit recomputes
it in the same transaction. `registry recompute-grades` (and `registry check-deadlines`) recompute
everyone, for the window moving on with the calendar.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models.credit import CreditRecord, CreditStatus
from registry.models.market import (
    RATING_PARTS,
    BehaviourEvent,
    BehaviourKind,
    OwnerRating,
)
from registry.models.providers import Provider
from registry.services.evaluations import results as evaluation_results

PARTS = ("owner", "regulator", "behaviour")
PART_LABELS = {"owner": "业主评价", "regulator": "主管部门考评", "behaviour": "市场行为"}
GRADE_LABELS = ("AA", "A", "B", "C", "D")  # the grades every other module knows
UNRATED_LABEL = "未评级"
SYSTEM_ACTOR = "system:grades"
# Providers per batch of recompute_batches (a provider costs a handful of queries).
RECOMPUTE_BATCH = 10
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CreditSettings:
    """The validated CREDIT_* configuration."""

    weights: dict[str, Decimal]
    bands: list[tuple[str, Decimal]]
    window_months: int
    min_sample: dict[str, int]
    deductions: dict[str, Decimal]
    overrun_min_days: int

    @property
    def lowest(self) -> str:
        """The lowest band (given to blacklisted providers)."""
        return self.bands[-1][0]


def _number(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"信用评价配置有误:{what} 应为数字,实际为 {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"信用评价配置有误:{what} 应为不小于 0 的数字,实际为 {value!r}")
    return number


def settings(config: Any = None) -> CreditSettings:
    """Read and check the CREDIT_* settings (of the current app unless config is given); a bad
    value raises ValueError naming the setting."""
    config = current_app.config if config is None else config
    raw_weights = config.get("CREDIT_WEIGHTS") or {}
    if not isinstance(raw_weights, dict) or set(raw_weights) != set(PARTS):
        raise ValueError("信用评价配置有误:CREDIT_WEIGHTS 须恰好包含 owner、regulator、behaviour")
    weights = {p: _number(raw_weights[p], f"CREDIT_WEIGHTS[{p}]") for p in PARTS}
    if not any(weights.values()):
        raise ValueError("信用评价配置有误:CREDIT_WEIGHTS 的权重不能全为 0")
    bands: list[tuple[str, Decimal]] = []
    for entry in config.get("CREDIT_BANDS") or []:
        if not isinstance(entry, list | tuple) or len(entry) != 2:
            raise ValueError(
                f"信用评价配置有误:CREDIT_BANDS 的每一项应为(等级, 最低分),实际为 {entry!r}"
            )
        label, threshold = entry
        if label not in GRADE_LABELS:
            raise ValueError(f"信用评价配置有误:未知的信用等级 {label!r}(可用:AA、A、B、C、D)")
        bands.append((label, _number(threshold, f"CREDIT_BANDS[{label}]")))
    if not bands:
        raise ValueError("信用评价配置有误:CREDIT_BANDS 不能为空")
    thresholds = [t for _, t in bands]
    if thresholds != sorted(thresholds, reverse=True) or len(set(thresholds)) != len(thresholds):
        raise ValueError("信用评价配置有误:CREDIT_BANDS 的最低分须从高到低严格递减")
    if thresholds[-1] != 0:
        raise ValueError("信用评价配置有误:CREDIT_BANDS 最后一档的最低分须为 0")
    if len({label for label, _ in bands}) != len(bands):
        raise ValueError("信用评价配置有误:CREDIT_BANDS 中的等级不能重复")
    months = config.get("CREDIT_WINDOW_MONTHS", 12)
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 120:
        raise ValueError("信用评价配置有误:CREDIT_WINDOW_MONTHS 应为 1–120 的整数")
    raw_sample = config.get("CREDIT_MIN_SAMPLE") or {}
    if not isinstance(raw_sample, dict) or set(raw_sample) != {"owner", "regulator"}:
        raise ValueError("信用评价配置有误:CREDIT_MIN_SAMPLE 须恰好包含 owner、regulator")
    min_sample = {}
    for part, value in raw_sample.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"信用评价配置有误:CREDIT_MIN_SAMPLE[{part}] 应为不小于 0 的整数")
        min_sample[part] = value
    raw_deductions = config.get("CREDIT_DEDUCTIONS") or {}
    if not isinstance(raw_deductions, dict):
        raise ValueError("信用评价配置有误:CREDIT_DEDUCTIONS 应为“行为类型 → 扣分”的对照表")
    deductions = {
        str(kind): _number(points, f"CREDIT_DEDUCTIONS[{kind}]")
        for kind, points in raw_deductions.items()
    }
    overrun = config.get("CREDIT_OVERRUN_MIN_DAYS", 10)
    if not isinstance(overrun, int) or isinstance(overrun, bool) or overrun < 0:
        raise ValueError("信用评价配置有误:CREDIT_OVERRUN_MIN_DAYS 应为不小于 0 的整数")
    return CreditSettings(weights, bands, months, min_sample, deductions, overrun)


def band_for(score: Decimal, bands: list[tuple[str, Decimal]]) -> str:
    """The grade of a (rounded) score: the first band whose threshold it reaches."""
    for label, threshold in bands:
        if score >= threshold:
            return label
    return bands[-1][0]


def today() -> date:
    """Today in the configured time zone."""
    return clock.today()


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (the last day of a shorter month)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def window(on: date, months: int) -> tuple[date, date]:
    """First and last day (both included) of the rolling window ending on `on`: 12 months to
    2026-06-30 is 2025-07-01 … 2026-06-30."""
    return months_before(on, months) + timedelta(days=1), on


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.ZONE).astimezone(UTC)


def local_date(moment: datetime) -> date:
    return moment.astimezone(clock.ZONE).date()


@dataclass(frozen=True)
class Deduction:
    """One entry of the behaviour part: what happened, when, and the points it cost."""

    on: date
    kind: str
    points: Decimal
    source: str
    note: str = ""


@dataclass
class GradeResult:
    """A provider's composite score as of one day, with every part that went into it."""

    provider_id: int
    on: date
    since: date
    owner: Decimal | None = None
    owner_count: int = 0
    regulator: Decimal | None = None
    regulator_count: int = 0
    behaviour: Decimal = HUNDRED
    deductions: list[Deduction] = field(default_factory=list)
    weights: dict[str, Decimal] = field(default_factory=dict)  # re-normalised, parts used only
    rated: bool = False
    blacklisted: bool = False
    score: Decimal | None = None
    grade: str | None = None

    @property
    def grade_label(self) -> str:
        """The grade as shown (未评级 for None)."""
        return self.grade or UNRATED_LABEL

    def summary(self) -> str:
        """One line of Chinese for the audit log."""
        owner = "无" if self.owner is None else f"{self.owner.quantize(CENT)}"
        regulator = "无" if self.regulator is None else f"{self.regulator.quantize(CENT)}"
        text = (
            f"{self.since.isoformat()}至{self.on.isoformat()}:业主评价 {owner}({self.owner_count} 次),"
            f"主管部门考评 {regulator}({self.regulator_count} 期),市场行为 "
            f"{self.behaviour.quantize(CENT)}(扣分 {len(self.deductions)} 项)"
        )
        if not self.rated:
            text += ";样本不足,未评级"
        if self.blacklisted:
            text += ";黑名单期内,等级为最低档"
        return text


def owner_averages(provider_id: int, since: date, on: date) -> list[tuple[datetime, Decimal]]:
    """The provider's owner ratings given from local day `since` through `on`: when each was
    given and the mean of its five parts. A rating of work whose award an upheld objection
    withdrew does not count (it stays stored, as given)."""
    parts = [getattr(OwnerRating, part) for part, _label in RATING_PARTS]
    rows = db.session.execute(
        select(OwnerRating.created_at, *parts).where(
            OwnerRating.provider_id == provider_id,
            OwnerRating.created_at >= local_day_start(since),
            OwnerRating.created_at < local_day_start(on + timedelta(days=1)),
            OwnerRating.counted(),
        )
    ).all()
    return [(created_at, Decimal(sum(scores)) / len(parts)) for created_at, *scores in rows]


def _owner_part(provider_id: int, since: date, on: date) -> tuple[Decimal | None, int]:
    averages = [average for _when, average in owner_averages(provider_id, since, on)]
    if not averages:
        return None, 0
    return sum(averages, Decimal(0)) / len(averages), len(averages)


def published_totals(provider_id: int, since: date) -> list[tuple[date, Decimal, str]]:
    """Published regulator totals since a day, from the evaluations module: (period end, total,
    department code)."""
    return [
        (day, Decimal(str(total)), str(label))
        for day, total, label in evaluation_results.published_totals(provider_id, since)
    ]


def _regulator_part(provider_id: int, since: date, on: date) -> tuple[Decimal | None, int]:
    totals = [t for day, t, _ in published_totals(provider_id, since) if since <= day <= on]
    if not totals:
        return None, 0
    return sum(totals, Decimal(0)) / len(totals), len(totals)


def deductions_for(
    provider_id: int, since: date, on: date, config: CreditSettings
) -> list[Deduction]:
    """The negative-behaviour entries of the window, oldest first (kinds missing from the table
    cost nothing; 超期服务 only beyond CREDIT_OVERRUN_MIN_DAYS working days)."""
    found: list[Deduction] = []
    events = db.session.scalars(
        select(BehaviourEvent)
        .where(
            BehaviourEvent.provider_id == provider_id,
            BehaviourEvent.occurred_on >= since,
            BehaviourEvent.occurred_on <= on,
        )
        .order_by(BehaviourEvent.occurred_on, BehaviourEvent.id)
    )
    for item in events:
        points = config.deductions.get(item.kind, Decimal(0))
        details = item.details or {}
        note = str(details.get("facts") or "")
        if item.kind == BehaviourKind.OVERRUN.value:
            days = details.get("overrun_days")
            if isinstance(days, int) and not isinstance(days, bool):
                note = f"超期 {days} 个工作日"
                if days <= config.overrun_min_days:
                    note += f"(未超过 {config.overrun_min_days} 个工作日,不扣分)"
                    points = Decimal(0)
        found.append(Deduction(item.occurred_on, item.kind, points, item.source, note[:200]))
    records = db.session.scalars(
        select(CreditRecord)
        .where(
            CreditRecord.provider_id == provider_id,
            # Records against a person count on the person's score, not the firm's.
            CreditRecord.practitioner_id.is_(None),
            CreditRecord.status == CreditStatus.PUBLISHED.value,
            CreditRecord.published_at >= local_day_start(since),
            CreditRecord.published_at < local_day_start(on + timedelta(days=1)),
        )
        .order_by(CreditRecord.published_at, CreditRecord.id)
    )
    for record in records:
        points = config.deductions.get(record.kind, Decimal(0))
        found.append(
            Deduction(
                local_date(record.published_at),
                record.kind,
                points,
                f"credit:{record.number}",
                record.title[:200],
            )
        )
    found.sort(key=lambda d: (d.on, d.kind, d.source))
    return found


def compute(provider_id: int, on: date | None = None) -> GradeResult:
    """The composite score and grade of one provider as of `on` (default today)."""
    config = settings()
    on = on or today()
    since, on = window(on, config.window_months)
    result = GradeResult(provider_id=provider_id, on=on, since=since)
    result.owner, result.owner_count = _owner_part(provider_id, since, on)
    result.regulator, result.regulator_count = _regulator_part(provider_id, since, on)
    result.deductions = deductions_for(provider_id, since, on, config)
    result.behaviour = max(
        Decimal(0), HUNDRED - sum((d.points for d in result.deductions), Decimal(0))
    )
    parts = {"owner": result.owner, "regulator": result.regulator, "behaviour": result.behaviour}
    used = {p: config.weights[p] for p in PARTS if parts[p] is not None and config.weights[p] > 0}
    total_weight = sum(used.values(), Decimal(0))
    result.rated = (
        result.owner_count >= config.min_sample["owner"]
        or result.regulator_count >= config.min_sample["regulator"]
    ) and total_weight > 0
    if result.rated:
        result.weights = {p: w / total_weight for p, w in used.items()}
        raw = sum((parts[p] * w for p, w in used.items()), Decimal(0)) / total_weight
        result.score = raw.quantize(CENT, rounding=ROUND_HALF_UP)
        result.grade = band_for(result.score, config.bands)
    blacklisted_until = db.session.scalar(
        select(Provider.blacklisted_until).where(Provider.id == provider_id)
    )
    result.blacklisted = blacklisted_until is not None and blacklisted_until >= on
    if result.blacklisted:
        result.grade = config.lowest
    return result
