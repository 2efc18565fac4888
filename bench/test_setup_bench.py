"""What a test's fresh database costs: seeding it anew against copying the golden one.

Not part of the test suite. Run it from the repository root:

    .venv/bin/python bench/test_setup_bench.py                 # SQLite, 5 rounds
    REGISTRY_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/test_setup_bench.py --rounds 5  # SQLite and PostgreSQL

Each round times, for each database, what a test's setup did before issue 12 (an app, the schema,
the catalogue and roadmap templates seeded and drained into the search index) against what it
does now (`Golden` in tests/conftest.py: the golden file and index folder copied, or
`CREATE DATABASE … TEMPLATE`, then the app built). Both sides build the app the same way, so the
ratio is the saving per test. The PostgreSQL copy is timed synchronously here; in the suite a
background thread makes it while the previous test runs. Medians in milliseconds go to stdout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from registry.extensions import db  # noqa: E402
from registry.kernel import clock  # noqa: E402
from registry.services import roadmaps, seeding  # noqa: E402
from tests.conftest import (  # noqa: E402
    PG_URL,
    TEST_TODAY,
    Golden,
    _pg_admin,
    _pg_database_url,
    _pg_schema_url,
    make_app,
)


def _ready(app) -> int:
    """Open the app's database as a test's first request would; returns the service-item count."""
    with app.app_context():
        count = db.session.scalar(sa.text("SELECT count(*) FROM service_items"))
        db.session.remove()
        db.engine.dispose()
    return count


def seed_fresh(url: str, folder: Path) -> int:
    """The old per-test setup: schema, catalogue, templates, search drain."""
    app = make_app(url, folder)
    with app.app_context():
        db.create_all()
        seeding.seed_catalogue(Path(app.config["SEEDS_DIR"]))
        roadmaps.seed_templates(Path(app.config["SEEDS_DIR"]))
        db.session.commit()
        db.session.remove()
    return _ready(app)


def timed(action) -> tuple[float, int]:
    start = time.perf_counter()
    result = action()
    return (time.perf_counter() - start) * 1000, result


def sqlite_round(golden: Golden, root: Path) -> tuple[float, float]:
    fresh = root / uuid.uuid4().hex
    fresh.mkdir()
    before, seeded = timed(lambda: seed_fresh(f"sqlite:///{fresh / 'registry.db'}", fresh))
    copy = root / uuid.uuid4().hex
    copy.mkdir()
    after, copied = timed(lambda: _ready(make_app(golden.sqlite_copy(copy), copy)))
    assert seeded == copied > 0, (seeded, copied)
    return before, after


def postgresql_round(golden: Golden, root: Path) -> tuple[float, float]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE SCHEMA "{schema}"')
    folder = root / uuid.uuid4().hex
    folder.mkdir()
    try:
        before, seeded = timed(lambda: seed_fresh(_pg_schema_url(schema), folder))
    finally:
        _pg_admin(f'DROP SCHEMA "{schema}" CASCADE')
    name = f"t_{uuid.uuid4().hex[:12]}"

    def copy() -> int:
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{golden.pg_name}"')
        return _ready(make_app(_pg_database_url(name), folder))

    try:
        after, copied = timed(copy)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert seeded == copied > 0, (seeded, copied)
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    rows = []
    with tempfile.TemporaryDirectory() as tmp, clock.frozen(clock.at(TEST_TODAY, 10)):
        root = Path(tmp)
        golden = Golden(root / "golden")
        golden.root.mkdir()
        golden.sqlite_copy(root)  # build the golden database once, outside the timings
        backends = [("SQLite", sqlite_round)]
        if PG_URL:
            golden.postgresql_copy()
            backends.append(("PostgreSQL", postgresql_round))
        for label, one_round in backends:
            print(f"timing {label} …", file=sys.stderr)
            samples = [one_round(golden, root) for _ in range(rounds)]
            before = statistics.median(s[0] for s in samples)
            after = statistics.median(s[1] for s in samples)
            rows.append((label, before, after))
        golden.close()
    print(
        f"| database | seed per test (ms) | golden copy per test (ms) | ratio ({rounds} rounds) |"
    )
    print("|---|---:|---:|---:|")
    for label, before, after in rows:
        print(f"| {label} | {before:.0f} | {after:.0f} | {before / after:.1f}× |")


if __name__ == "__main__":
    main()
