"""Working days on China's official calendar: weekends, public holidays and make-up working
days (调休), from the chinesecalendar library. A date outside the years the library covers is an
error, never a guess: holiday arrangements are announced year by year."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from registry.models.catalogue import TimeUnit
from registry.services.errors import RegistryError


class CalendarRangeError(RegistryError):
    """A date beyond the years whose holiday arrangements are known."""


def covered_years() -> tuple[int, int]:
    """First and last year the calendar knows."""
    days = [*chinese_calendar.holidays, *chinese_calendar.workdays]
    return min(days).year, max(days).year


def is_workday(day: date) -> bool:
    """Whether day is a working day (weekday not on holiday, or a make-up working day)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        first, last = covered_years()
        raise CalendarRangeError(
            None,
            f"工作日历仅覆盖 {first}–{last} 年;{day.year} 年的节假日安排尚未纳入,"
            "无法按工作日计算,请在国务院办公厅公布安排并更新日历后重试。",
        ) from None


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
