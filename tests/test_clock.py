"""One clock: nothing but registry/kernel/clock.py reads the system time, tests included, and
the frozen clock behaves as the tests rely on."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from registry.config import PROJECT_ROOT
from registry.kernel import clock
from tests.conftest import SHARE, in_share

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

# Calls that read the machine's clock. time.monotonic / perf_counter measure durations only.
READS_TIME = re.compile(
    r"\b(?:datetime\.now|datetime\.utcnow|date\.today|time\.time|datetime\.today)\("
)


def _sources() -> list[Path]:
    files = [*(PROJECT_ROOT / "registry").rglob("*.py"), *(PROJECT_ROOT / "tests").rglob("*.py")]
    return [f for f in files if f.name != "clock.py" and f != Path(__file__)]


def test_clock_is_the_only_reader_of_the_system_time():
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if READS_TIME.search(line)
    ]
    assert offenders == []


def test_clock_is_frozen_for_every_test_and_moves_only_when_told(frozen_clock):
    first = clock.now()
    assert clock.now() == first  # standing still
    assert clock.now().tzinfo is not None
    clock.advance(timedelta(minutes=5))
    assert clock.now() - first == timedelta(minutes=5)
    clock.freeze(date(2031, 2, 10))
    assert clock.today() == date(2031, 2, 10)
    assert clock.local(clock.now()).hour == 10  # a date means 10:00 Beijing time


def test_clock_today_is_the_beijing_date(frozen_clock):
    # 17:30 UTC on 31 Dec is already 1 Jan in Beijing.
    clock.freeze(datetime(2027, 12, 31, 17, 30, tzinfo=UTC))
    assert clock.today() == date(2028, 1, 1)
    assert clock.local_date(clock.now()) == date(2028, 1, 1)
    assert clock.at(date(2028, 1, 1), 9) == datetime(2028, 1, 1, 1, 0, tzinfo=UTC)
    with clock.frozen(date(2030, 5, 1)):
        assert clock.today() == date(2030, 5, 1)
    assert clock.today() == date(2028, 1, 1)


def test_clock_moved_runs_run_every_test_and_the_date_tests_under_every_day(request):
    """`make test-dates` runs REGISTRY_TEST_SHARE=1/2 at one moved day and 2/2 at the other:
    between them every collected test runs under a moved clock, the tests marked `dates` under
    both days, any other test under exactly one, and (checked when the whole suite is collected)
    each day gets a fair part of the rest."""
    undated = {1: 0, 2: 0}
    for item in request.session.items:
        days = [k for k in (1, 2) if in_share(item, k, 2)]
        if item.get_closest_marker("dates"):
            assert days == [1, 2], item.nodeid
        else:
            assert len(days) == 1, item.nodeid
            undated[days[0]] += 1
    if not SHARE and sum(undated.values()) >= 100:  # the whole suite, not a share or a file
        assert min(undated.values()) > 0.4 * sum(undated.values()), undated
