"""What the browser tests cost in Debian's full `chromium` against its headless shell
(`chromium-headless-shell`, the binary tests/e2e/conftest.py prefers).

Not part of the test suite. Run it from the repository root, with both packages installed
(`apt-get install chromium chromium-headless-shell`):

    .venv/bin/python bench/browser_bench.py           # SQLite only
    REGISTRY_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/browser_bench.py       # both databases, as .ci/run

It runs every browser test (tests/e2e, `pytest -n 2`: two xdist workers, as `make test` has on
this 2-core machine) once with each binary, one after the other, through REGISTRY_TEST_BROWSER,
and prints for each the wall time and the CPU time of pytest and everything it started (the
browsers included), and the ratios.
Both runs must pass: the same pages, the same axe checks, the same widths.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARIES = ("chromium", "chromium-headless-shell")


def run(binary: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of the browser tests in binary, and pytest's summary line."""
    env = dict(os.environ, REGISTRY_TEST_BROWSER=shutil.which(binary))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider"]
    done = subprocess.run([*command, "tests/e2e"], cwd=ROOT, env=env, capture_output=True)
    wall = time.perf_counter() - started
    summary = done.stdout.decode().strip().splitlines()[-1]
    if done.returncode != 0 or "skipped" in summary:
        sys.exit(f"{binary}: {done.stdout.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, summary


def main() -> None:
    missing = [binary for binary in BINARIES if shutil.which(binary) is None]
    if missing:
        sys.exit(f"not installed: {', '.join(missing)} (apt-get install {' '.join(missing)})")
    figures = {binary: run(binary) for binary in BINARIES}
    databases = (
        "SQLite and PostgreSQL" if os.environ.get("REGISTRY_TEST_DATABASE_URL") else "SQLite"
    )
    print(f"tests/e2e on {databases}, two workers")
    print(f"{'':24} {'wall s':>8} {'CPU s':>8}  pytest")
    for binary, (wall, cpu, summary) in figures.items():
        print(f"{binary:24} {wall:8.1f} {cpu:8.1f}  {summary}")
    (w0, c0, _), (w1, c1, _) = figures.values()
    print(f"{'ratio':24} {w1 / w0:8.2f} {c1 / c0:8.2f}")


if __name__ == "__main__":
    main()
