"""Working days on China's calendar, for every year, in layers (the first that knows a year wins):

1. official, entered: the State Council's arrangement for a year as the zone entered it
   (/admin/calendar, or `registry seed` from seeds/calendar/<year>.yaml) — table calendar_years;
2. official, packaged: the chinesecalendar package, for the years it ships;
3. provisional: weekends plus the statutory holidays of 《全国年节及纪念日放假办法》 (2024 revision),
   with lunar dates from lunardate and the 清明 solar term from chinesecalendar's solar terms.
   A statutory day that falls on a weekend (or on another holiday) is made up on the next working
   day (补假) — our convention for the 办法's rule; weekend make-up working days (调休上班) exist
   only in an official arrangement and are never guessed.

A date computed over a provisional year says so (`is_provisional`, `provisional_years`): the page
shows 暂按法定节假日推算 and the API a `provisional` flag. Years outside FIRST_YEAR–LAST_YEAR (the
lunar library's range) are the only ones refused.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

import chinese_calendar
import lunardate

from registry.kernel import clock
from registry.kernel.errors import RegistryError

FIRST_YEAR, LAST_YEAR = 1901, 2099
PROVISIONAL_NOTE = "暂按法定节假日推算,待国务院公布当年放假安排后自动调整"


class TimeUnit(StrEnum):
    """Calendar days or working days (a time limit's unit, as stored in the catalogue)."""

    DAY = "日"
    WORKING_DAY = "工作日"


class CalendarRangeError(RegistryError):
    """A date outside the years any layer of the calendar can answer for (before 1901 or after
    2099: no lunar dates there)."""


class Layer(StrEnum):
    """Which layer answered for a year."""

    ENTERED = "entered"
    PACKAGE = "package"
    PROVISIONAL = "provisional"


@dataclass(frozen=True)
class YearArrangement:
    """One year: the days off (weekdays and weekends) and the weekend days worked instead."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    layer: str
    source: str = ""
    # Statutory days and made-up days by name (provisional years; for the admin page).
    names: dict[date, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def provisional(self) -> bool:
        """No official arrangement: statutory holidays only."""
        return self.layer == Layer.PROVISIONAL

    def is_workday(self, day: date) -> bool:
        """A make-up working day, or a weekday that is not a day off."""
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)


@dataclass(frozen=True)
class _State:
    """The entered layer as last read (with the token it was read under) and the years resolved
    on it. Replaced as a whole, so a thread still answering from the old state can only fill the
    old state's cache, never the new one."""

    entered: dict[int, YearArrangement]
    token: object = None
    resolved: dict[int, YearArrangement] = field(default_factory=dict)


_state = _State({})
_stale = threading.local()
# Re-reads the entered layer; installed by services/calendars.py. It answers False when it cannot
# read now (outside an app context), and is asked again at the next question.
_loader: Callable[[], bool] | None = None


# --------------------------------------------------------------------------- the layers


@functools.cache
def package_years() -> tuple[int, int]:
    """The years chinesecalendar ships arrangements for (its own rule: the years of its table)."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


@functools.cache
def package_arrangement(year: int) -> YearArrangement | None:
    """The packaged official arrangement of a year, or None outside the package's years."""
    first, last = package_years()
    if not first <= year <= last:
        return None
    return YearArrangement(
        year,
        frozenset(d for d in chinese_calendar.holidays if d.year == year),
        frozenset(d for d in chinese_calendar.workdays if d.year == year),
        Layer.PACKAGE,
        f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".strip(),
    )


def _lunar(year: int, month: int, day: int) -> date:
    return lunardate.LunarDate(year, month, day).to_solar_date()


def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory days off of 《全国年节及纪念日放假办法》 (2024 revision) in a year, by date."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarRangeError(
            None, f"工作日历覆盖 {FIRST_YEAR}–{LAST_YEAR} 年,{year} 年不在其内。"
        )
    spring = _lunar(year, 1, 1)
    qingming = next(
        d
        for d, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10))
        if name == "清明"
    )
    days: list[tuple[date, str]] = [
        (date(year, 1, 1), "元旦"),
        (spring - timedelta(days=1), "春节(除夕)"),
        *((spring + timedelta(days=n), f"春节(正月初{'一二三'[n]})") for n in range(3)),
        (qingming, "清明节"),
        (date(year, 5, 1), "劳动节"),
        (date(year, 5, 2), "劳动节"),
        (_lunar(year, 5, 5), "端午节"),
        (_lunar(year, 8, 15), "中秋节"),
        *((date(year, 10, 1 + n), "国庆节") for n in range(3)),
    ]
    named: dict[date, str] = {}
    for day, name in days:
        named[day] = f"{named[day]}、{name}" if day in named else name
    return named


@functools.cache
def provisional_arrangement(year: int) -> YearArrangement:
    """Weekends plus the statutory days, each statutory day on a weekend — or on the same date as
    another holiday — made up on the next weekday that is not already off (补假, our convention)."""
    named = statutory_holidays(year)
    slots = [(day, part) for day, name in named.items() for part in name.split("、")]
    off = set(named)
    names = dict(named)
    seen: set[date] = set()
    for day, name in sorted(slots):
        clash = day in seen
        seen.add(day)
        if day.weekday() < 5 and not clash:
            continue
        makeup = day + timedelta(days=1)
        while makeup.weekday() >= 5 or makeup in off:
            makeup += timedelta(days=1)
        off.add(makeup)
        names[makeup] = f"{name}补假"
    return YearArrangement(
        year,
        frozenset(off),
        frozenset(),
        Layer.PROVISIONAL,
        "《全国年节及纪念日放假办法》(2024 年修订)法定节假日,暂定",
        names,
    )


def arrangement(year: int) -> YearArrangement:
    """The arrangement in force for a year: entered, else packaged, else provisional."""
    _refresh_if_stale()
    state = _state
    found = state.resolved.get(year)
    if found is None:
        found = (
            state.entered.get(year) or package_arrangement(year) or provisional_arrangement(year)
        )
        state.resolved[year] = found
    return found


# --------------------------------------------------------------------------- the entered layer


def set_loader(loader: Callable[[], bool] | None) -> None:
    """Install the function that re-reads the entered layer when it is stale (see `_loader`)."""
    global _loader
    _loader = loader


def mark_stale(*_args, **_kwargs) -> None:
    """Re-read the entered layer before the next answer (each app context: another worker may
    have entered a year since). Connected to Flask's appcontext_pushed by services/calendars.py."""
    _stale.value = True


def _refresh_if_stale() -> None:
    if getattr(_stale, "value", False) and _loader is not None:
        _stale.value = False
        if not _loader():
            _stale.value = True


def entered(
    year: int, holidays: Iterable[str], workdays: Iterable[str], source: str
) -> YearArrangement:
    """An entered year's arrangement from its stored ISO dates."""
    return YearArrangement(
        year,
        frozenset(date.fromisoformat(d) for d in holidays),
        frozenset(date.fromisoformat(d) for d in workdays),
        Layer.ENTERED,
        source,
    )


def use(entered: dict[int, YearArrangement], token: object = None) -> None:
    """Replace the entered layer (after a reload, or a service's change before its commit)."""
    global _state
    _state = _State(dict(entered), token)


def entered_token() -> object:
    """The token the entered layer was read under (None: set by a service, not read)."""
    return _state.token


def entered_years() -> list[int]:
    """The years with an entered arrangement, in order."""
    _refresh_if_stale()
    return sorted(_state.entered)


# --------------------------------------------------------------------------- questions


def _as_date(day: date) -> date:
    """A timestamp's Beijing date (a date as it is)."""
    return clock.local_date(day) if isinstance(day, datetime) else day


def is_workday(day: date) -> bool:
    """Whether day is a working day."""
    day = _as_date(day)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise CalendarRangeError(
            None, f"工作日历覆盖 {FIRST_YEAR}–{LAST_YEAR} 年,{day.isoformat()} 不在其内。"
        )
    return arrangement(day.year).is_workday(day)


def is_provisional(day: date) -> bool:
    """Whether day's year has no official arrangement (its working days are provisional)."""
    return arrangement(_as_date(day).year).provisional


def provisional_years(*days: date | None) -> list[int]:
    """The provisional years from the earliest to the latest of the given dates."""
    known = [_as_date(d) for d in days if d is not None]
    if not known:
        return []
    first, last = min(known).year, max(known).year
    return [y for y in range(first, last + 1) if arrangement(y).provisional]


def spans_provisional(*days: date | None) -> bool:
    """Whether a date counted between the given dates crosses a provisional year."""
    return bool(provisional_years(*days))


def add_working_days(start: date, count: int) -> date:
    """The count-th working day after start (start itself not counted); count 0 gives start."""
    day, left = start, count
    while left > 0:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def on_or_after_workday(day: date) -> date:
    """day, or the first working day after it when it is a rest day: a period counted in
    calendar days (日) whose last day is a rest day ends on the next working day (《民法典》
    第二百零三条)."""
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def on_or_before_workday(day: date) -> date:
    """day, or the last working day before it when it is a rest day (the demo data's events: a
    department does not publish on a Sunday)."""
    while not is_workday(day):
        day -= timedelta(days=1)
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


def year_summary(years: Iterable[int]) -> list[YearArrangement]:
    """The arrangement of each year, for the admin page."""
    return [arrangement(y) for y in years]
