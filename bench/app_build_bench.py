"""What building a test's app costs: Werkzeug and Jinja as they come, against the suite's
process-wide sharing (tests/conftest.py: URL rule builders compiled once per process, templates
compiled once per process through a Jinja bytecode cache).

Not part of the test suite. Run it from the repository root:

    .venv/bin/python bench/app_build_bench.py --rounds 20

Each round, on a copy of the golden catalogue database, builds an app and serves the three pages
a typical test opens (the home page, a service item, the provider directory), first with
Werkzeug's own rule compilation and no template cache (what every test paid before), then with
the sharing the suite uses; both sides in the same process, one after the other, so the ratio is
the saving per test. Medians in milliseconds go to stdout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.routing import Rule  # noqa: E402

STOCK_BUILDER = Rule._compile_builder  # before tests.conftest shares it

from registry.extensions import db  # noqa: E402
from registry.kernel import clock  # noqa: E402
from tests.conftest import TEST_TODAY, Golden, make_app  # noqa: E402

SHARED_BUILDER = Rule._compile_builder
PAGES = ("/", "/services/ZJ-03", "/providers")


def build_and_serve(url: str, folder: Path, shared: bool) -> float:
    """Milliseconds to build an app and serve PAGES once, stock or shared."""
    Rule._compile_builder = SHARED_BUILDER if shared else STOCK_BUILDER
    started = time.perf_counter()
    app = make_app(url, folder)
    if not shared:
        app.jinja_env.bytecode_cache = None
    client = app.test_client()
    for page in PAGES:
        assert client.get(page).status_code == 200, page
    elapsed = (time.perf_counter() - started) * 1000
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return elapsed


def main() -> None:
    """Time both ways for --rounds rounds on copies of one golden database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    clock.freeze(clock.at(TEST_TODAY, 10))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "golden").mkdir()
        golden = Golden(root / "golden")
        times: dict[bool, list[float]] = {False: [], True: []}
        for n in range(rounds + 1):
            for shared in (False, True):
                folder = root / f"{n}-{shared}"
                folder.mkdir()
                elapsed = build_and_serve(golden.sqlite_copy(folder), folder, shared)
                if n:  # round 0 warms both sides (imports, the golden build, the shared caches)
                    times[shared].append(elapsed)
    stock, shared = (statistics.median(times[k]) for k in (False, True))
    print(f"app + {len(PAGES)} pages, median of {rounds} rounds (SQLite):")
    print(f"  Werkzeug and Jinja as they come: {stock:7.1f} ms")
    print(f"  shared builders and templates:   {shared:7.1f} ms  ({stock / shared:.2f}x)")


if __name__ == "__main__":
    main()
