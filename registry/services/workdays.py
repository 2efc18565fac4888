"""Working days on China's official calendar: weekends, public holidays and make-up working
days (调休), from the chinesecalendar library, plus years the zone adds itself from the State
Council's notice (one YAML file per year in CALENDAR_DIR) before the library ships them. A date
outside the known years is an error, never a guess: arrangements are announced year by year."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import yaml

from registry.models.catalogue import TimeUnit
from registry.services.errors import RegistryError


class CalendarRangeError(RegistryError):
    """A date beyond the years whose holiday arrangements are known."""


@dataclass(frozen=True)
class YearArrangement:
    """One year's published arrangement: days off on weekdays and make-up working days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str


# Years added from files, by year (read-only after start-up; replaced as a whole).
_supplements: dict[int, YearArrangement] = {}


@functools.cache
def _library_years() -> tuple[int, int]:
    """The years chinesecalendar answers for (its own rule: the years of its holiday table)."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def covered_years() -> tuple[int, int]:
    """First and last year the calendar knows (the library's range, extended by added years
    that follow it without a gap)."""
    first, last = _library_years()
    while last + 1 in _supplements:
        last += 1
    return first, last


def _days(values, year: int, label: str, name: str) -> set[date]:
    """Dates and [from, to] ranges of one list, all inside the year."""
    found: set[date] = set()
    for value in values or []:
        try:
            if isinstance(value, list):
                first, last = (date.fromisoformat(str(v)) for v in value)
                if last < first:
                    raise ValueError
                found.update(first + timedelta(days=n) for n in range((last - first).days + 1))
            else:
                found.add(date.fromisoformat(str(value)))
        except (TypeError, ValueError):
            raise RegistryError(None, f"日历文件 {name} 的{label}中有无效日期:{value!r}") from None
    outside = sorted(d for d in found if d.year != year)
    if outside:
        raise RegistryError(None, f"日历文件 {name} 的{label}含有 {year} 年以外的日期:{outside[0]}")
    return found


def read_arrangement(path: Path) -> YearArrangement:
    """Read and check one year's file (year, source, holidays, workdays)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RegistryError(None, f"无法读取日历文件 {path.name}:{error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("year"), int):
        raise RegistryError(None, f"日历文件 {path.name} 须含 year(年份)")
    year = data["year"]
    if not str(data.get("source") or "").strip():
        raise RegistryError(None, f"日历文件 {path.name} 须注明 source(国务院办公厅通知文号)")
    if year <= _library_years()[1]:
        raise RegistryError(
            None, f"日历文件 {path.name}:{year} 年已由 chinesecalendar 提供,不能另行覆盖"
        )
    holidays = _days(data.get("holidays"), year, "放假日期", path.name)
    workdays = _days(data.get("workdays"), year, "调休上班日期", path.name)
    if holidays & workdays:
        raise RegistryError(
            None, f"日历文件 {path.name} 中同一天既放假又上班:{min(holidays & workdays)}"
        )
    weekdays = sorted(d for d in workdays if d.weekday() < 5)
    if weekdays:
        raise RegistryError(None, f"日历文件 {path.name} 的调休上班日须为周末:{weekdays[0]}")
    return YearArrangement(year, frozenset(holidays), frozenset(workdays), str(data["source"]))


def load_supplements(folder: str | Path | None) -> list[int]:
    """Replace the added years with the files in folder (`<year>.yaml`); returns the years."""
    found: dict[int, YearArrangement] = {}
    for path in sorted(Path(folder).glob("*.yaml")) if folder and Path(folder).is_dir() else []:
        arrangement = read_arrangement(path)
        if arrangement.year in found:
            raise RegistryError(None, f"日历目录中 {arrangement.year} 年的安排重复")
        found[arrangement.year] = arrangement
    _supplements.clear()
    _supplements.update(found)
    return sorted(found)


def coverage_gap(today: date) -> str | None:
    """A warning when the calendar does not reach the end of next year (plans of a year or more
    would stop there), or None."""
    last = covered_years()[1]
    if last >= today.year + 1:
        return None
    return (
        f"工作日历仅覆盖至 {last} 年,{last + 1} 年的节假日安排尚未纳入:排期落入该年的步骤将显示"
        "“无法排期”。国务院办公厅公布安排后,请升级 chinesecalendar 或按 seeds/calendar/README.md 添加该年文件。"
    )


def supplements() -> list[YearArrangement]:
    """The years added from files, in order (shown with their sources)."""
    return [_supplements[y] for y in sorted(_supplements)]


def is_workday(day: date) -> bool:
    """Whether day is a working day (weekday not on holiday, or a make-up working day)."""
    if isinstance(day, datetime):
        day = day.date()
    first, last = _library_years()
    if first <= day.year <= last:
        # chinesecalendar's own rule, without its per-call range check (which scans its whole
        # table each time: about half of the staff dashboard's time, bench/roadmap_bench.py).
        return day in chinese_calendar.workdays or (
            day.weekday() < 5 and day not in chinese_calendar.holidays
        )
    added = _supplements.get(day.year)
    if added is not None:
        return day in added.workdays or (day.weekday() < 5 and day not in added.holidays)
    first, last = covered_years()
    raise CalendarRangeError(
        None,
        f"工作日历仅覆盖 {first}–{last} 年;{day.year} 年的节假日安排尚未纳入,"
        "无法按工作日计算。国务院办公厅公布该年安排后,平台运营方将更新工作日历。",
    )


def add_working_days(start: date, count: int) -> date:
    """The count-th working day after start (start itself not counted); count 0 gives start."""
    day, left = start, count
    while left > 0:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after start up to and including end (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def add_duration(start: date, count: int, unit: str) -> date:
    """start plus count calendar days (日) or working days (工作日)."""
    if unit == TimeUnit.WORKING_DAY.value:
        return add_working_days(start, count)
    return start + timedelta(days=count)
