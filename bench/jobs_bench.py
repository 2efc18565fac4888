"""Jobs benchmark: how long an admin edit waits while a bulk job runs (issue 14, item 2).

Not part of the test suite. Run it standalone from the repository root:

    .venv/bin/python bench/jobs_bench.py                       # 3000 providers, 1500 projects
    .venv/bin/python bench/jobs_bench.py --providers 500 --projects 200   # quick
    .venv/bin/python bench/jobs_bench.py --data /tmp/jobs-data  # build once, reuse next time

It builds a grown dataset in a temporary SQLite file: the real catalogue, the demo accounts and
marketplace, plus generated providers (one qualification each, one in ten expired; two offers)
and projects with roadmaps; then the Whoosh index. For each phase it copies that dataset afresh,
then, in this process, edits one provider's contact name and commits (the write an admin's edit
of a provider's particulars makes: one row, its search document drained into the index after
the commit) every EDIT_PAUSE seconds, measuring each edit, while in another process:

* idle             — nothing (for IDLE_SECONDS);
* check-deadlines  — `registry check-deadlines --date DAY`;
* recompute-grades — `registry recompute-grades --date DAY`;
* reindex          — `registry reindex` (the full Whoosh rebuild).

An edit held up for longer than EDIT_PAUSE also counts the edits that would have started meanwhile
(each waiting until about when it finished), as independent admins would. It prints, per phase,
the job's wall time, the edits' p50/p95/max (ms), any edit that failed
(`database is locked`), and the p95 ratio against idle measured in the same run. Goal (reported
as PASS/MISS, never failing the process): every ratio ≤ 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from registry import create_app  # noqa: E402
from registry.demo import accounts as demo_accounts  # noqa: E402
from registry.demo import market as demo_market  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.kernel import clock  # noqa: E402
from registry.models import (  # noqa: E402
    Offer,
    Provider,
    ProviderStatus,
    Qualification,
    ServiceItem,
    User,
)
from registry.pure.uscc import make_uscc  # noqa: E402
from registry.search.engine import get_engine  # noqa: E402
from registry.services import accounts, market, roadmaps, seeding  # noqa: E402

DAY = date(2026, 11, 26)
CATEGORIES = ("民营/外资", "简易低风险厂房", "国有")
IDLE_SECONDS = 6.0
EDIT_PAUSE = 0.05
EDITED = make_uscc("91120116BJ000002")  # the provider the admin edits (one search document)
GOAL = 2.0
JOBS = {
    "check-deadlines": ["check-deadlines", "--yes", "--date", DAY.isoformat()],
    "recompute-grades": ["recompute-grades", "--yes", "--date", DAY.isoformat()],
    "reindex": ["reindex"],
}


def _config(folder: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
        "SEARCH_INDEX_DIR": str(folder / "index"),
        "UPLOAD_DIR": str(folder / "uploads"),
    }


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env |= {
        "REGISTRY_DATABASE_URL": f"sqlite:///{folder}/bench.db",
        "REGISTRY_SEARCH_INDEX_DIR": str(folder / "index"),
        "REGISTRY_UPLOAD_DIR": str(folder / "uploads"),
        "REGISTRY_SECRET_KEY": "bench",
        "FLASK_APP": "registry",
    }
    return env


def build(folder: Path, providers: int, projects: int) -> None:
    """The grown dataset and its index in folder."""
    app = create_app(_config(folder))
    clock.freeze(clock.at(DAY - timedelta(days=30), 10))
    try:
        with app.app_context():
            db.create_all()
            seeding.seed_catalogue(Path(app.config["SEEDS_DIR"]))
            roadmaps.seed_templates(Path(app.config["SEEDS_DIR"]))
            demo_accounts.seed_demo_accounts()
            demo_market.seed_demo_market()
            db.session.commit()
            services = db.session.scalars(select(ServiceItem).order_by(ServiceItem.id)).all()
            for n in range(providers):
                provider = Provider(
                    uscc=make_uscc(f"91120116BJ{n + 1:06d}"),
                    name=f"天津基准{n}号环境科技有限公司",
                    legal_representative=f"法人{n}",
                    address=f"天津市滨海新区基准路{n}号",
                    region="滨海新区",
                    contact_name=f"联系人{n}",
                    contact_phone="022-58001234",
                    licence_scope="环境影响评价、技术咨询",
                    status=ProviderStatus.ACTIVE.value,
                    submitted_at=clock.at(DAY - timedelta(days=400), 10),
                    reviewed_at=clock.at(DAY - timedelta(days=390), 10),
                )
                expired = n % 10 == 0
                provider.qualifications.append(
                    Qualification(
                        kind="工程咨询单位资信",
                        certificate_no=f"BJ-{n:06d}",
                        issuer="基准发证机关",
                        valid_from=DAY - timedelta(days=800),
                        valid_to=DAY - timedelta(days=5 + n % 50)
                        if expired
                        else DAY + timedelta(days=200 + n % 300),
                    )
                )
                for item in (services[n % len(services)], services[(n * 7 + 3) % len(services)]):
                    if all(o.service_item is not item for o in provider.offers):
                        provider.offers.append(
                            Offer(service_item=item, committed_days=20, fee_quote=Decimal(50000))
                        )
                db.session.add(provider)
                if n % 500 == 499:
                    db.session.commit()
            db.session.commit()
            staff = accounts.create_user(
                username="bench-staff",
                password=accounts.generate_password(),
                role="staff",
                actor_name="bench",
            )
            enterprise = market.create_enterprise(
                "天津基准测试有限公司", make_uscc("9112011677009001")
            )
            for n in range(projects):
                land = date(2026, 1, 5) + timedelta(days=n % 300)
                roadmaps.register_project(
                    staff,
                    code=f"2026-120116-99-09-{n:06}",
                    name=f"基准项目 {n}",
                    category=CATEGORIES[n % 3],
                    location="天津滨海高新区",
                    land_contract_date=land,
                    enterprise=enterprise,
                )
                if n % 200 == 199:
                    db.session.commit()
            db.session.commit()
            get_engine().rebuild()
            counts = {
                "providers": len(db.session.scalars(select(Provider.id)).all()),
                "users": len(db.session.scalars(select(User.id)).all()),
            }
            db.session.remove()
            db.engine.dispose()  # the last connection checkpoints the WAL into bench.db
    finally:
        clock.unfreeze()
    print(f"built {counts} and {projects} projects in {folder}", file=sys.stderr)


def _fresh_copy(data: Path, work: Path) -> None:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name in ("bench.db", "bench.db-wal"):
        if (data / name).exists():
            shutil.copy2(data / name, work / name)
    shutil.copytree(data / "index", work / "index", symlinks=True)
    (work / "uploads").mkdir()


def _edit(app, n: int) -> tuple[float, str | None]:
    """One admin edit of a provider's particulars, committed: (seconds, error or None)."""
    began = time.perf_counter()
    error = None
    with app.app_context():
        try:
            provider = db.session.scalar(
                select(Provider).where(Provider.uscc == EDITED).with_for_update()
            )
            provider.contact_name = f"基准编辑 {n}"
            db.session.commit()
        except Exception as failure:  # noqa: BLE001 - a failed edit is a figure, not a crash
            db.session.rollback()
            error = f"{type(failure).__name__}: {str(failure)[:80]}"
        finally:
            db.session.remove()
    return time.perf_counter() - began, error


def phase(work: Path, job: str | None) -> dict:
    """Edits while job runs in another process (or for IDLE_SECONDS when job is None)."""
    app = create_app(_config(work))
    with app.app_context():
        get_engine().search  # noqa: B018 - the engine exists before timing
    latencies, errors = [], []
    process = None
    began = time.perf_counter()
    if job is not None:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [str(Path(sys.executable).parent / "registry"), *JOBS[job]],
            env=_environment(work),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(0.3)  # the job starts (imports) before the first edit counts
    n = 0
    while True:
        if process is None:
            if time.perf_counter() - began > IDLE_SECONDS:
                break
        elif process.poll() is not None:
            break
        seconds, error = _edit(app, n)
        latencies.append(seconds)
        # Admins do not wait for each other: the edits that would have started every EDIT_PAUSE
        # while this one was held up would each have waited until about when it finished
        # (the coordinated-omission correction), so they count too.
        waited = seconds - EDIT_PAUSE
        while waited > 0:
            latencies.append(waited)
            waited -= EDIT_PAUSE
        if error:
            errors.append(error)
        n += 1
        time.sleep(EDIT_PAUSE)
    wall = time.perf_counter() - began
    output = process.stdout.read() if process else ""
    if process is not None and process.returncode != 0:
        print(f"{job} exited {process.returncode}:\n{output}", file=sys.stderr)
    latencies.sort()
    return {
        "job": job or "idle",
        "wall": wall,
        "edits": n,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000,
        "max": latencies[-1] * 1000,
        "errors": errors,
        "output": output.strip().splitlines()[:8],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=3000)
    parser.add_argument("--projects", type=int, default=1500)
    parser.add_argument("--data", type=Path, help="Dataset folder (built if missing, else reused).")
    parser.add_argument("--jobs", nargs="*", default=list(JOBS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as temp:
        data = args.data or Path(temp) / "data"
        if not (data / "bench.db").exists():
            data.mkdir(parents=True, exist_ok=True)
            build(data, args.providers, args.projects)
        work = Path(temp) / "work"
        results = []
        for job in [None, *args.jobs]:
            _fresh_copy(data, work)
            results.append(phase(work, job))
            print(f"  {results[-1]['job']} done", file=sys.stderr)
    idle = results[0]["p95"]
    print("| phase | job wall s | edits | p50 ms | p95 ms | max ms | failed | p95 / idle |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        ratio = r["p95"] / idle if idle else float("inf")
        print(
            f"| {r['job']} | {r['wall']:.1f} | {r['edits']} | {r['p50']:.0f} | {r['p95']:.0f} "
            f"| {r['max']:.0f} | {len(r['errors'])} | {ratio:.1f}× |"
        )
    for r in results[1:]:
        ratio = r["p95"] / idle if idle else float("inf")
        verdict = "PASS" if ratio <= GOAL else "MISS"
        print(f"{verdict}: edit p95 during {r['job']} ≤ {GOAL}× idle ({ratio:.1f}×)")
        for error in sorted(set(r["errors"]))[:3]:
            print(f"  failed edit: {error}")
        for line in r["output"]:
            print(f"  {r['job']}: {line}")


if __name__ == "__main__":
    main()
