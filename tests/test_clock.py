"""One clock: nothing but registry/kernel/clock.py reads the system time, tests included, and
the frozen clock behaves as the tests rely on."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from registry.config import PROJECT_ROOT
from registry.kernel import clock
from tests.conftest import COLLECTED, in_run, on_sqlite

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
    """`make test` runs the standard day on both databases, then the first moved day (SQLite),
    then the later moved days: between them every test runs on each database and under two days,
    the tests about dates under every day, and no SQLite run is made twice on the same day. Checked
    on what this session collected, before its own run chose its part."""
    collected = request.config.stash[COLLECTED]
    ids = {item.nodeid for item in collected}
    with_postgresql = any("[postgresql" in i for i in ids)
    for item in collected:
        # as make test splits them with both databases (CI's case), whatever this run has
        runs = [
            run for run in ("standard", "moved", "dates") if in_run(item, run, both_databases=True)
        ]
        follows_clock = not (item.get_closest_marker("e2e") or item.get_closest_marker("realclock"))
        if not follows_clock:
            assert runs == ["standard"], item.nodeid
        elif item.get_closest_marker("dates"):
            assert runs in (["standard", "moved", "dates"], ["moved", "dates"]), item.nodeid
        else:
            assert runs in (["standard", "moved"], ["moved"]), item.nodeid
        if "standard" not in runs:  # a SQLite run left to the moved day: its other database stays
            assert on_sqlite(item), item.nodeid
            if with_postgresql:
                assert item.nodeid.replace("sqlite", "postgresql") in ids, item.nodeid
    # a test made on each database is recognised by its parameter, as its name says
    named = {item.nodeid for item in collected if "[sqlite" in item.nodeid}
    assert named == {item.nodeid for item in collected if on_sqlite(item)}


def test_clock_standard_run_without_postgresql_keeps_sqlite(request):
    """Without PostgreSQL the standard day's run is made on SQLite (it is the only database)."""
    sqlite_runs = [item for item in request.config.stash[COLLECTED] if on_sqlite(item)]
    follows = [item for item in sqlite_runs if not item.get_closest_marker("realclock")]
    follows = [item for item in follows if not item.get_closest_marker("e2e")]
    if not follows:
        pytest.skip("collected alone: no test made on each database")
    assert all(in_run(item, "standard", both_databases=False) for item in follows)
    assert not any(in_run(item, "standard", both_databases=True) for item in follows)
