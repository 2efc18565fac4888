"""Roadmap benchmark: the staff deadline dashboard and the roadmap page over many projects.

Not part of the test suite. Run it standalone from the repository root:

    .venv/bin/python bench/roadmap_bench.py                 # 50, 200 and 500 projects
    .venv/bin/python bench/roadmap_bench.py --sizes 1000

For each size it builds a fresh SQLite file with the real catalogue and templates and N projects
(the three categories in turn, land contracts spread over January–June 2026, some progress), then
times, in the same run:

* baseline  — loading every project with its steps (one query for projects, one for steps): the
              least any dashboard must read;
* dashboard — services.roadmaps.dashboard(): every project re-planned on China's working-day
              calendar, forecast from today, deadline states, alerts sorted;
* roadmap   — services.roadmaps.roadmap() for one project (what the roadmap page computes);
* check     — services.roadmaps.check_deadlines() (the cron job), second run (nothing new).

It prints a Markdown table with medians of 5 runs (ms), the dashboard/baseline ratio and the
number of SQL statements the dashboard issued. Goals (reported as PASS/MISS, never failing the
process): dashboard over 500 projects ≤ 2 s; statements do not grow with the number of projects.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.orm import selectinload  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.models import Project, User  # noqa: E402
from registry.pure.uscc import make_uscc  # noqa: E402
from registry.services import accounts, market, roadmaps, seeding  # noqa: E402

TODAY = date(2026, 11, 26)
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
        staff = accounts.create_user(username="bench-staff", password=accounts.generate_password(),
                                     role="staff", actor_name="bench")  # fmt: skip
        enterprise = market.create_enterprise("天津基准测试有限公司", make_uscc("9112011677009001"))
        for n in range(size):
            roadmaps.register_project(
                staff, code=f"BENCH-{n:05}", name=f"基准项目 {n}", category=CATEGORIES[n % 3],
                location="天津滨海高新区", land_contract_date=date(2026, 1, 5) + timedelta(days=n % 180),
                enterprise=enterprise,
            )  # fmt: skip
            if n % 2:
                land = date(2026, 1, 5) + timedelta(days=n % 180)
                roadmaps.record_progress(staff, f"BENCH-{n:05}", "SP-01", status="已完成",
                                         started_on=land + timedelta(days=1),
                                         finished_on=land + timedelta(days=2),
                                         today=TODAY)  # fmt: skip
        db.session.commit()


def _baseline() -> None:
    projects = db.session.scalars(select(Project).options(selectinload(Project.steps))).all()
    assert projects


def run(size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({
            "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
            "SEARCH_INDEX_DIR": f"{folder}/index", "UPLOAD_DIR": f"{folder}/uploads",
        })  # fmt: skip
        print(f"building {size} projects …", file=sys.stderr)
        _build(app, size)
        with app.app_context():
            staff = db.session.scalar(select(User).where(User.username == "bench-staff"))
            statements = []
            listener = lambda *args: statements.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            db.session.expire_all()
            roadmaps.dashboard(TODAY, 3, user=staff)
            event.remove(db.engine, "before_cursor_execute", listener)
            count = len(statements)

            def fresh(func):
                def call():
                    db.session.expire_all()
                    func()

                return call

            result = {
                "baseline": _median_ms(fresh(_baseline)),
                "dashboard": _median_ms(fresh(lambda: roadmaps.dashboard(TODAY, 3, user=staff))),
                "roadmap": _median_ms(
                    fresh(
                        lambda: roadmaps.roadmap(
                            db.session.scalar(select(Project).where(Project.code == "BENCH-00000")),
                            today=TODAY,
                        )
                    )
                ),  # fmt: skip
                "statements": count,
            }
            roadmaps.check_deadlines(TODAY, 3)
            db.session.commit()
            result["check"] = _median_ms(fresh(lambda: (roadmaps.check_deadlines(TODAY, 3),
                                                        db.session.rollback())), runs=3)  # fmt: skip
            db.session.remove()
            db.engine.dispose()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,500")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    rows = [(size, run(size)) for size in sizes]
    print(
        "| projects | baseline ms | dashboard ms | ratio | SQL statements | roadmap page ms | check-deadlines ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size, r in rows:
        print(f"| {size} | {r['baseline']:.1f} | {r['dashboard']:.1f} | {r['dashboard'] / r['baseline']:.1f}× "
              f"| {r['statements']} | {r['roadmap']:.1f} | {r['check']:.1f} |")  # fmt: skip
    largest = [r for size, r in rows if size >= 500]
    if largest:
        verdict = "PASS" if largest[-1]["dashboard"] <= 2000 else "MISS"
        print(f"\ndashboard over {max(s for s, _ in rows)} projects ≤ 2 s: {verdict}")
    counts = [r["statements"] for _, r in rows]
    print(
        f"SQL statements flat in the number of projects: {'PASS' if max(counts) - min(counts) <= 3 else 'MISS'} {counts}"
    )


if __name__ == "__main__":
    main()
