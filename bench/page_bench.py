"""Page benchmark (issue 15): every public and staff list page at demo size and at large size,
served as `make run` serves it, beside a bare Flask route under the same server settings.

Not part of the test suite. Run it from the repository root:

    .venv/bin/python bench/page_bench.py                          # demo and large, Waitress
    .venv/bin/python bench/page_bench.py --sizes demo --duration 3
    .venv/bin/python bench/page_bench.py --server gunicorn --workers 2
    .venv/bin/python bench/page_bench.py --pages /notices,/staff/deadlines --no-wrk

Sizes: `demo` is `registry init-db && registry seed --demo` on a fresh SQLite file (a temp folder);
`large` is bench/large_data.py's folder (`--large-folder`, default /tmp/registry-large; built
there first when missing, a few minutes; `--large-scale 0.1` for a quick look).

Per size, two servers run side by side, both with the same settings: the site (`registry serve`,
Waitress, the SERVE_* settings, as `make run`; or `--server gunicorn` with
registry/gunicorn_conf.py and `--workers`) and a bare Flask app with one route returning a short
string. For each page `wrk` (Debian's) runs `--duration` seconds with `--connections` connections
(one wrk thread); the bare route is measured before the first page, after every `--bare-every`
pages and after the last, and a page's throughput is reported as a share of the mean of the bare
runs just before and just after it (all printed, so drift under load is visible). Latency p50/p95
come from wrk's own histogram (a Lua `done` hook). The staff pages are requested with the session
cookie of demo-staff (signed in over HTTP, passed with -H).

In-process, through the Flask test client on the same data, with the page cache off (what a
render costs; the wrk runs serve with it on, as the site does): the median time of `--runs`
requests after one warm-up, the SQL statements of one request (SQLAlchemy before_cursor_execute) and the
response bytes.

Printed: a Markdown table per size, the demo/large ratio of the in-process medians, and the
issue's goals as PASS/MISS: ≥ 50 % of the bare route's throughput on /, /services,
/services/<code>, /providers, /notices and /api/v1/services (each size); at large size every page
≤ 50 ms in-process and ≤ 15 statements; every page's large/demo median < 2×. The load average is
printed at the start and the end: the machine is shared, compare ratios within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

THROUGHPUT_PAGES = (
    "/",
    "/services",
    "/services/<code>",
    "/providers",
    "/notices",
    "/api/v1/services",
)
LATENCY_LIMIT_MS, STATEMENT_LIMIT, GROWTH_LIMIT, SHARE_GOAL = 50.0, 15, 2.0, 0.5
BARE_APP = '''"""The bare route of bench/page_bench.py: Flask and nothing else."""
from flask import Flask

app = Flask(__name__)


@app.get("/bare")
def bare():
    return "ok"
'''
# Waitress with the settings `registry serve` takes from the app's config, around the bare app.
BARE_WAITRESS = """
import sys
from waitress import serve
from registry import create_app
from registry.serve import AccessLog, waitress_options
from bare_app import app

with create_app().app_context():
    options = waitress_options(int(sys.argv[1]))
serve(AccessLog(app), **options)
"""
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


# ------------------------------------------------------------------------------------- data


def environment(folder: Path) -> dict[str, str]:
    """The site's variables for a data folder (as bench/large_data.py lays it out)."""
    return {
        "REGISTRY_DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "REGISTRY_SEARCH_INDEX_DIR": str(folder / "index"),
        "REGISTRY_UPLOAD_DIR": str(folder / "uploads"),
        "REGISTRY_MAIL_DIR": str(folder / "mail"),
    }


def code_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a child process: the code beside this script, the data's variables;
    sign-ins are not rate limited (the benchmark signs in a few times per size)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        **extra,
        "PYTHONPATH": path,
        "REGISTRY_LOGIN_RATE_LIMIT": "100000 per minute",
    }


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [BIN / "registry", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"registry {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def demo_folder(scratch: Path) -> tuple[Path, dict[str, str]]:
    """A fresh SQLite file with `registry init-db && registry seed --demo`; the passwords."""
    folder = scratch / "demo-data"
    folder.mkdir()
    env = code_env(environment(folder))
    cli(env, "init-db")
    out = cli(env, "seed", "--demo")
    return folder, dict(re.findall(r"^\s+(demo-[\w-]+)\s+\S+\s+(\S+)\s*$", out, re.MULTILINE))


def large_folder(folder: Path, scale: float) -> tuple[Path, dict[str, str]]:
    """bench/large_data.py's folder (built or reused by it; it migrates a reused one)."""
    command = [sys.executable, str(ROOT / "bench" / "large_data.py"), str(folder)]
    subprocess.run([*command, "--scale", str(scale)], env=code_env({}), cwd=ROOT, check=True)
    return folder, json.loads((folder / "accounts.json").read_text())


def pages_for(folder: Path) -> list[tuple[str, str, bool]]:
    """(label, path, staff) for every page measured, with ids read from the data."""
    from sqlalchemy import create_engine, text

    engine = create_engine(environment(folder)["REGISTRY_DATABASE_URL"])
    with engine.connect() as db:
        provider = db.scalar(
            text(
                "SELECT p.uscc FROM providers p LEFT JOIN awards a ON a.provider_id = p.id "
                "WHERE p.status = '已入驻' GROUP BY p.id ORDER BY count(a.id) DESC, p.id LIMIT 1"
            )
        ) or db.scalar(text("SELECT uscc FROM providers ORDER BY id LIMIT 1"))
        notices = db.scalar(
            text("SELECT count(*) FROM credit_records WHERE published_at IS NOT NULL")
        )
        project = db.scalar(text("SELECT code FROM projects ORDER BY id LIMIT 1"))
    engine.dispose()
    deepest = max(1, min(500, math.ceil((notices or 0) / 20)))
    pages = [
        ("/", "/", False),
        ("/services", "/services", False),
        ("/services/<code>", "/services/ZJ-03", False),
        ("/providers", "/providers", False),
        ("/providers/<uscc>", f"/providers/{provider}", False),
        ("/providers/<uscc>/ratings", f"/providers/{provider}/ratings", False),
        ("/search?q=环评", "/search?q=" + urllib.parse.quote("环评"), False),
        ("/notices", "/notices", False),
        (f"/notices?page={deepest}", f"/notices?page={deepest}", False),
        ("/api/v1/services", "/api/v1/services", False),
        ("/api/v1/providers", "/api/v1/providers", False),
        ("/api/v1/notices", "/api/v1/notices", False),
        ("/api/v1/awards", "/api/v1/awards", False),
        ("/awards", "/awards", False),
        ("/requests", "/requests", False),
        ("/approval-items", "/approval-items", False),
        ("/departments", "/departments", False),
        ("/departments/STHJ/grades", "/departments/STHJ/grades", False),
        ("/staff/deadlines", "/staff/deadlines", True),
        ("/staff/projects", "/staff/projects", True),
        ("/projects/<code>/roadmap", f"/projects/{project}/roadmap", True),
        ("/my/notifications", "/my/notifications", True),
    ]
    return pages


# ----------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(server: subprocess.Popen, port: int, what: str) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit(f"{what} exited at start ({server.returncode})")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start")


def start_servers(kind: str, workers: int, env: dict[str, str], scratch: Path, log):
    """The site and the bare app, same server and settings; returns (processes, ports)."""
    (scratch / "bare_app.py").write_text(BARE_APP)
    env = env | {"PYTHONPATH": os.pathsep.join([env["PYTHONPATH"], str(scratch)])}
    site_port, bare_port = free_port(), free_port()
    if kind == "gunicorn":
        env = env | {"PROMETHEUS_MULTIPROC_DIR": str(scratch / "prometheus")}
        base = [str(BIN / "gunicorn"), "-c", "python:registry.gunicorn_conf"]
        base += ["--workers", str(workers), "--timeout", "300"]
        site = [*base, "--bind", f"127.0.0.1:{site_port}", "registry:create_app()"]
        bare = [*base, "--bind", f"127.0.0.1:{bare_port}", "bare_app:app"]
    else:
        site = [str(BIN / "registry"), "serve", "--port", str(site_port)]
        bare = [sys.executable, "-c", BARE_WAITRESS, str(bare_port)]
    processes = []
    for command, port, what in ((site, site_port, "site"), (bare, bare_port, "bare app")):
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        wait_for(process, port, what)
    return processes, site_port, bare_port


def stop(processes) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in_over_http(port: int, username: str, password: str) -> str:
    """A Cookie header value for a session signed in as username."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"http://127.0.0.1:{port}/login", timeout=60).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode(
        {"csrf_token": token, "username": username, "password": password}
    ).encode()
    opener.open(f"http://127.0.0.1:{port}/login", data, timeout=60).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session" not in cookie:
        raise SystemExit(f"could not sign in as {username}")
    return cookie


def wrk(port: int, path: str, duration: int, connections: int, script: Path, cookie=None) -> dict:
    """Requests per second, p50 and p95 in ms, and errors (non-2xx/3xx included)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script)]
    command += ["--timeout", "30s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.MULTILINE)
    requests, micros, p50, p95, errors = (int(g) for g in found.groups())
    return {
        "rps": requests / (micros / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "errors": errors,
        "requests": requests,
        "seconds": duration,
    }


# -------------------------------------------------------------------------------- in-process


def in_process(folder: Path, pages, password: str, runs: int) -> dict[str, dict]:
    """Median time, SQL statements and bytes of each page through the Flask test client."""
    from sqlalchemy import event

    from registry import create_app
    from registry.extensions import db

    variables = environment(folder)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": variables["REGISTRY_DATABASE_URL"],
            "SEARCH_INDEX_DIR": variables["REGISTRY_SEARCH_INDEX_DIR"],
            "UPLOAD_DIR": variables["REGISTRY_UPLOAD_DIR"],
            "MAIL_DIR": variables["REGISTRY_MAIL_DIR"],
            "LOGIN_RATE_LIMIT": "100000 per minute",
            # What a render costs: the page cache (registry/web/page_cache.py) would answer
            # every anonymous repeat from memory; the wrk runs serve with it, as the site does.
            "PAGE_CACHE": False,
        }
    )
    anonymous, staff = app.test_client(), app.test_client()
    form = staff.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    answer = staff.post(
        "/login", data={"csrf_token": token, "username": "demo-staff", "password": password}
    )
    if answer.status_code != 302:
        raise SystemExit("in-process sign-in as demo-staff failed")
    statements: list[int] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(1)  # noqa: E731
    results = {}
    for label, path, needs_staff in pages:
        client = staff if needs_staff else anonymous
        first = client.get(path)  # warm-up (caches, the index's first open)
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - began) * 1000)
        statements.clear()
        event.listen(engine, "before_cursor_execute", listener)
        response = client.get(path)
        event.remove(engine, "before_cursor_execute", listener)
        results[label] = {
            "status": response.status_code if first.status_code == response.status_code else -1,
            "median": statistics.median(times),
            "statements": len(statements),
            "bytes": len(response.get_data()),
        }
    with app.app_context():
        db.engine.dispose()
    return results


# ------------------------------------------------------------------------------------- report


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_size(name: str, folder: Path, passwords, args, scratch: Path) -> dict:
    pages = pages_for(folder)
    if args.pages:
        wanted = [p.strip() for p in args.pages.split(",")]
        pages = [p for p in pages if any(w == p[0] or w == p[1] for w in wanted)]
    print(f"\n## {name}: {folder} (load average {load_average()})", flush=True)
    inproc = in_process(folder, pages, passwords["demo-staff"], args.runs)
    served: dict[str, dict] = {}
    bare: list[dict] = []
    if not args.no_wrk:
        script = scratch / "report.lua"
        script.write_text(WRK_SCRIPT)
        env = code_env(environment(folder))
        with open(scratch / f"servers-{name}.log", "w") as log:
            processes, site, bare_port = start_servers(
                args.server, args.workers, env, scratch / name, log
            )
            try:
                cookie = sign_in_over_http(site, "demo-staff", passwords["demo-staff"])
                for _label, path, _staff in pages[:3]:  # warm the site's caches
                    wrk(site, path, 1, 1, script)
                bare.append(wrk(bare_port, "/bare", args.duration, args.connections, script))
                for number, (label, path, needs_staff) in enumerate(pages):
                    if number and number % args.bare_every == 0:
                        bare.append(
                            wrk(bare_port, "/bare", args.duration, args.connections, script)
                        )
                    served[label] = wrk(
                        site,
                        path,
                        args.duration,
                        args.connections,
                        script,
                        cookie if needs_staff else None,
                    )
                    # The bare runs just before and just after this page are its reference.
                    served[label]["bare_runs"] = (len(bare) - 1, len(bare))
                    print(f"  {label}: {served[label]['rps']:.1f} req/s", flush=True)
                bare.append(wrk(bare_port, "/bare", args.duration, args.connections, script))
            finally:
                stop(processes)
    return {"pages": pages, "inproc": inproc, "served": served, "bare": bare}


def share(result: dict, label: str) -> float:
    """The page's throughput over the mean of the bare runs around it."""
    served = result["served"][label]
    before, after = served["bare_runs"]
    return served["rps"] / statistics.mean(b["rps"] for b in result["bare"][before : after + 1])


def table(name: str, result: dict) -> None:
    bare = result["bare"]
    if bare:
        runs = ", ".join(f"{b['rps']:.0f}" for b in bare)
        print(f"\n### {name}: bare route {runs} req/s (a page's share is of the runs around it)\n")
    else:
        print(f"\n### {name}\n")
    print(
        "| page | req/s | share of bare | p50 ms | p95 ms | errors | in-process median ms | SQL statements | bytes | status |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for label, _path, _staff in result["pages"]:
        row = result["inproc"][label]
        served = result["served"].get(label)
        if served and not served["requests"]:
            cells = f"0 (none done in {served['seconds']} s) | 0 % | – | – | {served['errors']}"
        elif served:
            cells = (
                f"{served['rps']:.1f} | {share(result, label):.1%} | {served['p50']:.0f} | "
                f"{served['p95']:.0f} | {served['errors']}"
            )
        else:
            cells = "– | – | – | – | –"
        print(
            f"| `{label}` | {cells} | {row['median']:.1f} | {row['statements']} | "
            f"{row['bytes']:,} | {row['status']} |"
        )


def goals(results: dict[str, dict]) -> None:
    print("\n### Goals (issue 15)\n")
    for name, result in results.items():
        if not result["bare"]:
            continue
        for label in THROUGHPUT_PAGES:
            if label in result["served"]:
                part = share(result, label)
                verdict = "PASS" if part >= SHARE_GOAL else "MISS"
                print(f"- {verdict} {name} `{label}` throughput {part:.1%} of bare (≥ 50 %)")
    large = results.get("large")
    if large:
        for label, row in large["inproc"].items():
            ok = row["median"] <= LATENCY_LIMIT_MS and row["statements"] <= STATEMENT_LIMIT
            print(
                f"- {'PASS' if ok else 'MISS'} large `{label}` in-process {row['median']:.1f} ms "
                f"(≤ 50), {row['statements']} statements (≤ 15)"
            )
    demo = results.get("demo")
    if demo and large:
        print("\n| page | demo ms | large ms | large/demo |")
        print("|---|---:|---:|---:|")
        verdicts = []
        for label, row in large["inproc"].items():
            before = demo["inproc"].get(label)
            if before is None:
                continue
            ratio = row["median"] / before["median"]
            verdicts.append((label, ratio))
            print(f"| `{label}` | {before['median']:.1f} | {row['median']:.1f} | {ratio:.2f}× |")
        print()
        for label, ratio in verdicts:
            verdict = "PASS" if ratio < GROWTH_LIMIT else "MISS"
            print(f"- {verdict} `{label}` large/demo {ratio:.2f}× (< 2×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="demo,large", help="demo, large or both")
    parser.add_argument("--pages", help="comma-separated labels or paths (default: all)")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per page")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--bare-every", type=int, default=4, help="bare-route run every N pages")
    parser.add_argument("--runs", type=int, default=5, help="in-process requests per page")
    parser.add_argument("--server", choices=("waitress", "gunicorn"), default="waitress")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--large-folder", type=Path, default=Path(tempfile.gettempdir()) / "registry-large"
    )
    parser.add_argument("--large-scale", type=float, default=1.0)
    parser.add_argument("--no-wrk", action="store_true", help="in-process figures only")
    args = parser.parse_args()
    if not args.no_wrk and shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk (or --no-wrk)")
    began = time.perf_counter()
    print(f"# Page benchmark ({args.server}; load average {load_average()})")
    results = {}
    with tempfile.TemporaryDirectory(prefix="page-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        for name in [s.strip() for s in args.sizes.split(",")]:
            (scratch / name).mkdir(exist_ok=True)
            if name == "demo":
                folder, passwords = demo_folder(scratch)
            else:
                folder, passwords = large_folder(args.large_folder.resolve(), args.large_scale)
            results[name] = run_size(name, folder, passwords, args, scratch)
    for name, result in results.items():
        table(name, result)
    goals(results)
    print(f"\nload average at the end {load_average()}; {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
