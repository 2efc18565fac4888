"""What the garbage collector costs the tests: Python's default thresholds against the suite's
(tests/conftest.py, pytest_configure: the import-time heap frozen, the youngest generation
collected every 100,000 allocations instead of every 700).

Not part of the test suite. Run it from the repository root:

    .venv/bin/python bench/gc_bench.py

It runs the same sample of SQLite tests in one pytest process (no xdist) twice, first with
REGISTRY_TEST_GC=default (Python's defaults), then with the suite's settings, one after the
other, and prints for each the wall time, the CPU time and the time spent in collections
(measured with gc.callbacks), and the ratios.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = [
    "tests/test_evaluations.py",
    "tests/test_grades.py",
    "tests/test_credit.py",
    "tests/test_admin.py",
    "tests/test_search.py",
    "tests/test_roadmap_pages.py",
    "tests/test_catalogue_pages.py",
    "tests/test_practitioner_review.py",
]
# A pytest plugin that adds up the time of every collection and writes it to GC_BENCH_OUT.
TIMER = """
import gc, os, time
_spent = [0.0, None]
def _timer(phase, info):
    if phase == "start":
        _spent[1] = time.perf_counter()
    else:
        _spent[0] += time.perf_counter() - _spent[1]
gc.callbacks.append(_timer)
def pytest_unconfigure(config):
    with open(os.environ["GC_BENCH_OUT"], "w") as out:
        out.write(str(_spent[0]))
"""


def run(mode: str, folder: Path) -> tuple[float, float, float]:
    """Wall, CPU and collector seconds of the sample with mode's GC settings."""
    out = folder / f"gc-{mode}.txt"
    env = dict(
        os.environ,
        REGISTRY_TEST_GC=mode,
        REGISTRY_TEST_DATABASE_URL="",
        GC_BENCH_OUT=str(out),
        PYTHONPATH=str(folder),
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, "-p", "gc_bench_timer", *SAMPLE], cwd=ROOT, env=env, capture_output=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stdout.decode()[-2000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, float(out.read_text())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "gc_bench_timer.py").write_text(TIMER)
        figures = {mode: run(mode, folder) for mode in ("default", "tuned")}
    print(f"{len(SAMPLE)} test files on SQLite, one process")
    print(f"{'':10} {'wall s':>8} {'CPU s':>8} {'in GC s':>8}")
    for mode, (wall, cpu, spent) in figures.items():
        print(f"{mode:10} {wall:8.1f} {cpu:8.1f} {spent:8.1f}")
    (w0, c0, g0), (w1, c1, g1) = figures["default"], figures["tuned"]
    print(f"{'ratio':10} {w1 / w0:8.2f} {c1 / c0:8.2f} {g1 / g0:8.2f}")


if __name__ == "__main__":
    main()
