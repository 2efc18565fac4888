"""The one clock: the only module that reads the system time. Everything else asks it for `now()`
(aware UTC), `today()` (the date in Beijing) or `timestamp()`, and shows times in `ZONE`.

Tests and time-travelling commands move it with `freeze()`; a frozen clock stands still unless
asked to tick, and it is process-wide (a live test server's threads see the same time).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")

# When frozen: the instant the clock was set to, and (ticking) the real instant it was set at.
_frozen_at: datetime | None = None
_set_at: datetime | None = None


def _real_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    if _frozen_at is None:
        return _real_now()
    if _set_at is None:
        return _frozen_at
    return _frozen_at + (_real_now() - _set_at)


def today() -> date:
    """Today's date in the zone (Beijing time), the day every working-day rule counts from."""
    return now().astimezone(ZONE).date()


def timestamp() -> float:
    """Seconds since the epoch (session timers)."""
    if _frozen_at is None:
        return time.time()
    return now().timestamp()


def local(value: datetime) -> datetime:
    """A stored (UTC) timestamp in Beijing time; a naive value is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZONE)


def local_date(value: datetime | date) -> date:
    """The Beijing calendar date of a timestamp (a date is returned as it is)."""
    return local(value).date() if isinstance(value, datetime) else value


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """The UTC instant of a Beijing wall-clock time on a day."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def freeze(instant: datetime | date, *, tick: bool = False) -> None:
    """Set the clock to an instant (a date means 10:00 Beijing time on it). With `tick` it runs
    on from there at the real pace; without, it stands still."""
    global _frozen_at, _set_at
    if not isinstance(instant, datetime):
        instant = at(instant, 10)
    elif instant.tzinfo is None:
        instant = instant.replace(tzinfo=ZONE)
    _frozen_at = instant.astimezone(UTC)
    _set_at = _real_now() if tick else None


def advance(delta: timedelta) -> None:
    """Move a frozen clock on (tests of timeouts and windows)."""
    global _frozen_at
    if _frozen_at is None:
        raise RuntimeError("the clock is not frozen")
    _frozen_at += delta


def unfreeze() -> None:
    """Back to the system time."""
    global _frozen_at, _set_at
    _frozen_at = _set_at = None


def is_frozen() -> bool:
    """Whether the clock has been set."""
    return _frozen_at is not None


@contextmanager
def frozen(instant: datetime | date, *, tick: bool = False) -> Iterator[None]:
    """The clock set to an instant for the duration of a block, then restored."""
    saved = (_frozen_at, _set_at)
    freeze(instant, tick=tick)
    try:
        yield
    finally:
        _restore(saved)


def _restore(saved: tuple[datetime | None, datetime | None]) -> None:
    global _frozen_at, _set_at
    _frozen_at, _set_at = saved
