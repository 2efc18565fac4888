"""Roadmap benchmark: the staff deadline dashboard and the roadmap page over many projects.

Not part of the test suite. Run it standalone from the repository root:

    .venv/bin/python bench/roadmap_bench.py                 # 50, 200 and 500 projects
    .venv/bin/python bench/roadmap_bench.py --sizes 2000 --pages-only

For each size it builds a fresh SQLite file with the real catalogue and templates and N projects
(the three categories in turn, land contracts spread over January–June 2026, some progress), then
times, in the same run:

* check     — services.roadmaps.check_deadlines() (the cron job), second run (nothing new);
* the staff pages /staff/deadlines and /staff/projects, first page, requested in-process through
  Flask's test client signed in as staff (what a browser gets, template rendering included):
  median ms, SQL statements and bytes.

It prints Markdown tables with medians (ms). It uses only what every version of the app has (the
services that build projects, the pages by URL), so the same file times the code before plans
were stored (run it from a `git archive` of an older commit) and after. Goals of issue 15
(reported as PASS/MISS, never failing the process): each staff page ≤ 1 s at the largest size,
in-process median ≤ 50 ms with ≤ 15 statements.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.pure.uscc import make_uscc  # noqa: E402
from registry.services import accounts, market, roadmaps, seeding  # noqa: E402

TODAY = date(2026, 11, 26)
PASSWORD = "Tj-roadmap-2026!"  # noqa: S105 (a throw-away database)
PAGES = ("/staff/deadlines", "/staff/projects")
CATEGORIES = ("民营/外资", "简易低风险厂房", "国有")


def _median_ms(func, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        func()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _build(app, size: int) -> None:
    with app.app_context():
        db.create_all()
        seeding.seed_catalogue(app.config["SEEDS_DIR"])
        roadmaps.seed_templates(app.config["SEEDS_DIR"])
        staff = accounts.create_user(username="bench-staff", password=PASSWORD,
                                     role="staff", actor_name="bench")  # fmt: skip
        enterprise = market.create_enterprise("天津基准测试有限公司", make_uscc("9112011677009001"))
        for n in range(size):
            roadmaps.register_project(
                staff, code=f"2026-120116-99-09-{n:06}", name=f"基准项目 {n}", category=CATEGORIES[n % 3],
                location="天津滨海高新区", land_contract_date=date(2026, 1, 5) + timedelta(days=n % 180),
                enterprise=enterprise,
            )  # fmt: skip
            if n % 2:
                land = date(2026, 1, 5) + timedelta(days=n % 180)
                roadmaps.record_progress(staff, f"2026-120116-99-09-{n:06}", "SP-01", status="已完成",
                                         started_on=land + timedelta(days=1),
                                         finished_on=land + timedelta(days=2),
                                         today=TODAY)  # fmt: skip
        db.session.commit()


def _signed_in(app):
    """A test client signed in as the bench's staff account through the login form."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post(
        "/login", data={"csrf_token": token, "username": "bench-staff", "password": PASSWORD}
    )
    assert answer.status_code == 302, answer.status_code
    return client


def _pages(app, runs: int) -> dict[str, dict[str, float]]:
    """Each staff page: median ms of `runs` requests, statements and bytes of one."""
    client = _signed_in(app)
    with app.app_context():
        engine = db.engine
    result = {}
    for url in PAGES:
        statements: list[int] = []
        listener = lambda *args, seen=statements: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        answer = client.get(url)
        event.remove(engine, "before_cursor_execute", listener)
        assert answer.status_code == 200, (url, answer.status_code)
        result[url] = {
            "ms": _median_ms(lambda: client.get(url), runs=runs),  # noqa: B023
            "statements": len(statements),
            "bytes": len(answer.data),
        }
    return result


def run(size: int, pages_only: bool, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
            "SEARCH_INDEX_DIR": f"{folder}/index", "UPLOAD_DIR": f"{folder}/uploads",
            "RATELIMIT_ENABLED": False,
        })  # fmt: skip
        print(f"building {size} projects …", file=sys.stderr)
        began = time.perf_counter()
        with _frozen():
            _build(app, size)
            with app.app_context():
                roadmaps.check_deadlines(TODAY, 3)  # the daily job has run today
                db.session.commit()
            print(f"built in {time.perf_counter() - began:.0f} s", file=sys.stderr)
            result: dict = {"pages": _pages(app, runs)}
            if not pages_only:
                with app.app_context():
                    result["check"] = _median_ms(lambda: (roadmaps.check_deadlines(TODAY, 3),
                                                          db.session.rollback()), runs=3)  # fmt: skip
                    db.session.remove()
        with app.app_context():
            db.engine.dispose()
        return result


@contextmanager
def _frozen():
    """The app's clock at TODAY noon (Beijing), as the tests freeze it."""
    from registry.kernel import clock

    moment = datetime(TODAY.year, TODAY.month, TODAY.day, 4, 0, tzinfo=UTC)
    with clock.frozen(moment):
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,500")
    parser.add_argument(
        "--runs", type=int, default=5, help="requests per page to take the median of"
    )
    parser.add_argument("--pages-only", action="store_true", help="skip timing check-deadlines")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    rows = [(size, run(size, options.pages_only, options.runs)) for size in sizes]
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| projects | page | median ms | SQL statements | bytes |")
    print("|---:|---|---:|---:|---:|")
    for size, r in rows:
        for url, p in r["pages"].items():
            print(f"| {size} | {url} | {p['ms']:.1f} | {p['statements']} | {p['bytes']:,} |")
    if not options.pages_only:
        print("\n| projects | check-deadlines ms (second run) |\n|---:|---:|")
        for size, r in rows:
            print(f"| {size} | {r['check']:.1f} |")
    largest = rows[-1][1]["pages"]
    for url, p in largest.items():
        goal = p["ms"] <= 50 and p["statements"] <= 15
        print(f"{url} at {rows[-1][0]} projects: ≤ 1 s {'PASS' if p['ms'] <= 1000 else 'MISS'}; "
              f"≤ 50 ms and ≤ 15 statements {'PASS' if goal else 'MISS'}")  # fmt: skip


if __name__ == "__main__":
    main()
