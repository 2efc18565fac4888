"""Oversight dashboard benchmark (issue 16, item 7): each part of /stats and the pages, in-process.

Not part of the test suite. Run it from the repository root on data folders made by
bench/large_data.py (registry.db and accounts.json), or on a fresh demo (`--demo`: init-db and
seed --demo in a temporary folder, as `make run` does):

    .venv/bin/python bench/stats_bench.py --demo /tmp/registry-large
    .venv/bin/python bench/stats_bench.py --demo /tmp/registry-stats-03 --runs 5

For each data set it prints the rows the figures read (requests, quotes, decided requests, bids,
roadmap steps), then for each part of `services.stats` the best of `--runs` calls in ms and its SQL
statements, then the pages /stats for staff (signed in as demo-staff through the login form: every
table, the signals included), once with the signals computed for the request and once with them
kept for the data generation (services/stats `_signals`), and for the public (page cache off, so
each request renders), best ms and statements. A last table gives the ratio of each figure on the last data set to the first.
Nothing is written to the data sets. Goal (issue 16, item 7 follow-up): the signals and the staff
page ≤ 500 ms at the large size (reported as PASS/MISS, never failing the process).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.kernel import clock  # noqa: E402
from registry.models import Quote, RoadmapStep, SelectionRequest  # noqa: E402
from registry.services import stats  # noqa: E402
from registry.services.stats import common, market, signals, timeliness  # noqa: E402

GOAL_MS = 500


def _parts(app):
    """name → a call computing that part of the dashboard (as stats.dashboard does)."""
    settings = stats.Settings.from_config(app.config)
    lead = app.config["DEADLINE_WARNING_DAYS"]
    today = clock.today()
    return {
        "permit": lambda: timeliness.permit_tables(settings),
        "stages": lambda: timeliness.stage_tables(common.departments()),
        "alerts": lambda: timeliness.alert_tables(common.departments(), today, lead, settings),
        "methods": market.method_table,
        "price": lambda: market.price_table(common.services()),
        "concentration": lambda: market.concentration_table(common.services()),
        "win rates": lambda: market.win_table(settings),
        "signals": lambda: signals.signal_tables(settings),
    }


class Counter:
    """SQL statements run on the engine while it is on."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _seen(self, *_args):
        self.count += 1

    def __enter__(self):
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _best(call, runs: int, engine) -> tuple[float, int]:
    """Best ms of `runs` calls and the statements of one."""
    times, statements = [], 0
    for n in range(runs):
        with Counter(engine) as counted:
            began = time.perf_counter()
            call()
            times.append((time.perf_counter() - began) * 1000)
        if n == 0:
            statements = counted.count
    return min(times), statements


def _signed_in(app, password: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post(
        "/login", data={"csrf_token": token, "username": "demo-staff", "password": password}
    )
    assert answer.status_code == 302, answer.status_code
    return client


def _demo_folder(into: Path) -> Path:
    """A fresh demo as `make run` makes it (init-db, seed --demo), with accounts.json."""
    env = dict(
        os.environ,
        REGISTRY_DATABASE_URL=f"sqlite:///{into}/registry.db",
        REGISTRY_SEARCH_INDEX_DIR=str(into / "index"),
        REGISTRY_UPLOAD_DIR=str(into / "uploads"),
        REGISTRY_MAIL_DIR=str(into / "mail"),
    )
    binary = Path(sys.executable).parent / "registry"
    subprocess.run([binary, "init-db"], env=env, check=True, capture_output=True, cwd=ROOT)
    began = time.perf_counter()
    seeded = subprocess.run(
        [binary, "seed", "--demo"], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    print(f"seed --demo: {time.perf_counter() - began:.1f} s", file=sys.stderr)
    passwords = dict(re.findall(r"^\s+(demo-[\w-]+)\s+\S+\s+(\S+)$", seeded.stdout, re.M))
    (into / "accounts.json").write_text(json.dumps(passwords))
    return into


def measure(folder: Path, runs: int) -> dict:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/registry.db",
            "SEARCH_INDEX_DIR": str(folder / "index"),
            "UPLOAD_DIR": str(folder / "uploads"),
            "MAIL_DIR": str(folder / "mail"),
            "RATELIMIT_ENABLED": False,
            "PAGE_CACHE": False,
        }
    )
    password = json.loads((folder / "accounts.json").read_text())["demo-staff"]
    result: dict = {"folder": str(folder), "parts": {}, "pages": {}}
    with app.app_context():
        engine = db.engine
        decided = SelectionRequest.status.in_(common.DECIDED)
        bid = common.bids()
        result["rows"] = {
            "requests": db.session.scalar(select(func.count(SelectionRequest.id))),
            "decided": db.session.scalar(select(func.count(SelectionRequest.id)).where(decided)),
            "quotes": db.session.scalar(select(func.count(Quote.id))),
            "bids": db.session.scalar(select(func.count()).select_from(bid)),
            "steps": db.session.scalar(select(func.count(RoadmapStep.id))),
        }
        for name, call in _parts(app).items():
            result["parts"][name] = _best(call, runs, engine)
            db.session.rollback()
        rows = {
            t.name: len(t.rows)
            for t in signals.signal_tables(stats.Settings.from_config(app.config))
        }
        result["signal rows"] = rows
    staff = _signed_in(app, password)
    public = app.test_client()
    pages = (
        ("/stats staff", staff, True),  # the signals computed on each request
        ("/stats staff, signals kept", staff, False),  # kept for the data generation
        ("/stats public", public, True),
    )
    for label, client, forget in pages:

        def get(client=client, forget=forget):
            if forget:
                app.extensions.pop("stats_signals", None)
            answer = client.get("/stats")
            assert answer.status_code == 200, answer.status_code

        get()  # the first request of a kind warms what it may keep
        result["pages"][label] = _best(get, runs, engine)
    with app.app_context():
        db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="data folders of bench/large_data.py")
    parser.add_argument("--demo", action="store_true", help="first measure a fresh seed --demo")
    parser.add_argument("--runs", type=int, default=3, help="calls per figure (best is kept)")
    options = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as temporary:
        folders = list(options.folders)
        if options.demo:
            folders.insert(0, _demo_folder(Path(temporary)))
        for folder in folders:
            print(f"measuring {folder} …", file=sys.stderr)
            results.append(("demo" if options.demo and folder == folders[0] else folder.name,
                            measure(folder, options.runs)))  # fmt: skip
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    names = [name for name, _ in results]
    print("| rows | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for key in results[0][1]["rows"]:
        print(f"| {key} | " + " | ".join(f"{r['rows'][key]:,}" for _, r in results) + " |")
    print("\n| part | " + " | ".join(f"{n} ms | stmts" for n in names) + " | ratio |")
    print("|---|" + "---:|---:|" * len(names) + "---:|")
    for section in ("parts", "pages"):
        for key in results[0][1][section]:
            cells = " | ".join(
                f"{r[section][key][0]:.1f} | {r[section][key][1]}" for _, r in results
            )
            first, last = results[0][1][section][key][0], results[-1][1][section][key][0]
            print(f"| {key} | {cells} | {last / first if first else 0:.1f}× |")
    print("\nsignal rows: " + "; ".join(f"{n}: {r['signal rows']}" for n, r in results))
    last_name, last = results[-1]
    for key in (("parts", "signals"), ("pages", "/stats staff")):
        ms = last[key[0]][key[1]][0]
        print(
            f"{key[1]} on {last_name}: {ms:.0f} ms, ≤ {GOAL_MS} ms {'PASS' if ms <= GOAL_MS else 'MISS'}"
        )


if __name__ == "__main__":
    main()
