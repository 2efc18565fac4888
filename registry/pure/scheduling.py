"""Roadmap scheduling as pure functions: a critical path over approval steps whose durations are
in calendar days (日) or working days (工作日) on China's official calendar.

Conventions (the policy counts 办理时限 from the day after acceptance):
- a step is *ready* on the day its last predecessor finished (the land-contract date for a step
  without predecessors);
- it *finishes* `duration` calendar days after that day (日), or on the `duration`-th working day
  after it (工作日); it *starts* the next day (日) or the next working day (工作日);
- a step removed by an option (covered by the zone's regional assessment) takes no time but keeps
  the chain: its successors are ready when its own predecessors finished;
- an actual finish date, once known, replaces the planned one (re-planning from actual dates);
  an actual start re-bases the planned finish on it.
Working days come from the layered calendar (pure/workdays.py): a step whose dates were counted
over a year without an official holiday arrangement — or that waits on such a step — is marked
`provisional`, and the schedule lists those years. Only dates outside 1901–2099 raise
workdays.CalendarRangeError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from registry.pure.workdays import (
    CalendarRangeError,
    TimeUnit,
    add_working_days,
    is_workday,
    on_or_after_workday,
    provisional_years,
)


@dataclass(frozen=True)
class Step:
    """One approval step of a roadmap template."""

    key: str
    name: str
    duration: int
    unit: str = TimeUnit.WORKING_DAY.value
    depends_on: tuple[str, ...] = ()
    # A shorter duration when the enterprise prepares the needed material itself (可自行编制).
    self_prepare_duration: int | None = None


@dataclass(frozen=True)
class PlannedStep:
    """A step's place in the schedule."""

    key: str
    ready: date
    start: date
    finish: date
    duration: int
    unit: str
    skipped: bool = False
    critical: bool = False
    slack_days: int = 0  # calendar days it may slip without delaying any successor
    # Counted over a provisional year (no official holiday arrangement yet), or after such a step.
    provisional: bool = False


@dataclass
class Schedule:
    """The whole plan: every step, the finish, and the result against the target."""

    start: date
    steps: dict[str, PlannedStep]
    finish: date
    target_days: int | None = None
    critical_path: list[str] = field(default_factory=list)
    # Steps that could not be dated because the calendar ends first (partial plans only), and why.
    unscheduled: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def complete(self) -> bool:
        """Every step has dates."""
        return not self.unscheduled

    @property
    def provisional_years(self) -> list[int]:
        """The years without an official arrangement that the plan's provisional dates touch."""
        years: set[int] = set()
        for step in self.steps.values():
            if step.provisional:
                years.update(provisional_years(step.ready, step.finish))
        return sorted(years)

    @property
    def total_days(self) -> int:
        """Calendar days from the land contract to the last finish."""
        return (self.finish - self.start).days

    @property
    def margin_days(self) -> int | None:
        """Target minus total: positive is slack, negative an overrun."""
        return None if self.target_days is None else self.target_days - self.total_days


class CycleError(ValueError):
    """The steps' dependencies form a loop."""


def _order(steps: Mapping[str, Step]) -> list[str]:
    """Keys in dependency order; unknown predecessors and cycles are errors."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(key: str, trail: tuple[str, ...]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            loop = trail[trail.index(key) :] if key in trail else trail
            raise CycleError(f"审批步骤之间存在循环依赖:{' → '.join((*loop, key))}")
        state[key] = 1
        for before in steps[key].depends_on:
            if before not in steps:
                raise ValueError(f"步骤 {key} 依赖的步骤 {before} 不存在")
            visit(before, (*trail, key))
        state[key] = 2
        order.append(key)

    for key in sorted(steps):
        visit(key, ())
    return order


def _finish(ready: date, duration: int, unit: str) -> date:
    if unit == TimeUnit.WORKING_DAY.value:
        return add_working_days(ready, duration)
    if duration == 0:
        return ready
    # Calendar days (日): a period whose last day is a rest day ends on the next working day
    # (it planned a construction permit on a Sunday in the 元旦 holiday: a tester, stop 29).
    return on_or_after_workday(ready + timedelta(days=duration))


def _start(ready: date, duration: int, unit: str) -> date:
    if duration == 0:
        return ready
    if unit == TimeUnit.WORKING_DAY.value:
        return add_working_days(ready, 1)
    return ready + timedelta(days=1)


def _finish_from_start(start: date, duration: int, unit: str) -> date:
    """The finish of a step that actually started on `start` (that day counts when it works)."""
    if unit == TimeUnit.WORKING_DAY.value:
        first_counts = is_workday(start)
        return add_working_days(start, duration - 1 if first_counts else duration)
    if duration <= 0:
        return start
    return on_or_after_workday(start + timedelta(days=duration - 1))


def plan(
    steps: Iterable[Step],
    start: date,
    *,
    target_days: int | None = None,
    skip: Iterable[str] = (),
    self_prepared: Iterable[str] = (),
    actual: Mapping[str, tuple[date | None, date | None]] | None = None,
    partial: bool = False,
    as_of: date | None = None,
) -> Schedule:
    """Schedule the steps from the land-contract date `start`.

    With `as_of` (today) the plan becomes a forecast: work not finished by then cannot have
    finished earlier — a started step ends no earlier than `as_of`, and a step not yet started is
    ready no earlier than `as_of` — so late steps push everything after them.

    With `partial`, a step whose dates fall past the calendar's known years (and every step after
    it) is listed in `Schedule.unscheduled` with the calendar's message instead of raising; the
    finish and the critical path are then those of the dated steps only.
    """
    by_key = {s.key: s for s in steps}
    skipped, prepared, actual = set(skip), set(self_prepared), dict(actual or {})
    planned: dict[str, PlannedStep] = {}
    unscheduled: list[str] = []
    error: str | None = None
    for key in _order(by_key):
        step = by_key[key]
        if any(b in unscheduled for b in step.depends_on):
            unscheduled.append(key)
            continue
        try:
            planned[key] = _plan_step(step, start, planned, skipped, prepared, actual, as_of)
        except CalendarRangeError as failure:
            if not partial:
                raise
            unscheduled.append(key)
            error = failure.message
    by_key_dated = {k: v for k, v in by_key.items() if k in planned}
    finish = max((p.finish for p in planned.values()), default=start)
    successors: dict[str, list[str]] = {k: [] for k in by_key_dated}
    for step in by_key_dated.values():
        for before in step.depends_on:
            successors[before].append(step.key)
    path = _critical_path(planned, by_key_dated, finish) if not unscheduled else []
    for key, item in planned.items():
        limit = min((planned[s].ready for s in successors[key]), default=finish)
        planned[key] = PlannedStep(
            **{**item.__dict__, "critical": key in path, "slack_days": (limit - item.finish).days}
        )
    return Schedule(start, planned, finish, target_days, path, unscheduled, error)


def _plan_step(
    step: Step,
    start: date,
    planned: Mapping[str, PlannedStep],
    skipped: set[str],
    prepared: set[str],
    actual: Mapping[str, tuple[date | None, date | None]],
    as_of: date | None = None,
) -> PlannedStep:
    """One step's dates once its predecessors are planned (see `plan` for `as_of`)."""
    key = step.key
    ready = max((planned[b].finish for b in step.depends_on), default=start)
    duration = 0 if key in skipped else step.duration
    if key in prepared and step.self_prepare_duration is not None and key not in skipped:
        duration = min(duration, step.self_prepare_duration)
    actual_start, actual_finish = actual.get(key, (None, None))
    inherited = any(planned[b].provisional for b in step.depends_on)
    if actual_start is not None and actual_finish is not None:
        # Both dates known: nothing to compute, so no calendar needed (a finished step in the
        # calendar's last weeks must not become "unschedulable").
        return PlannedStep(
            key, ready, actual_start, actual_finish, duration, step.unit, key in skipped
        )
    if as_of is not None and duration and actual_start is None and actual_finish is None:
        ready = max(ready, as_of)
    if actual_finish is not None:
        begin, end = min(_start(ready, duration, step.unit), actual_finish), actual_finish
    elif actual_start is not None:
        begin = actual_start
        end = _finish_from_start(actual_start, duration, step.unit)
        if as_of is not None:
            end = max(end, as_of)
    else:
        begin, end = _start(ready, duration, step.unit), _finish(ready, duration, step.unit)
    # What the calendar decides: every working day counted, or for calendar days (日) only where
    # the period ends (its last day, moved on past rest days; such a step was never marked 暂定
    # although a provisional holiday moved its end: a tester, stop 31).
    if step.unit == TimeUnit.WORKING_DAY.value:
        decided_from = min(ready, begin)
    else:
        decided_from = min(begin + timedelta(days=max(duration - 1, 0)), end)
    provisional = actual_finish is None and (
        inherited or (duration > 0 and bool(provisional_years(decided_from, end)))
    )
    return PlannedStep(
        key, ready, begin, end, duration, step.unit, key in skipped, provisional=provisional
    )


def _critical_path(
    planned: Mapping[str, PlannedStep], steps: Mapping[str, Step], finish: date
) -> list[str]:
    """The chain of steps that decides the finish, first to last."""
    if not planned:
        return []
    key = min(k for k, p in planned.items() if p.finish == finish)
    path = [key]
    while steps[key].depends_on:
        ready = planned[key].ready
        binding = sorted(b for b in steps[key].depends_on if planned[b].finish == ready)
        if not binding:
            break
        key = binding[0]
        path.append(key)
    return list(reversed(path))
