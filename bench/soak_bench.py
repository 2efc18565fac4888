"""Soak benchmark: a grown dataset under a mixed load for some minutes, on gunicorn and on
`registry serve`, counting errors and crashed workers (issue 14, item 4: a SIGSEGV under load).

Not part of the test suite. Run it from the repository root:

    .venv/bin/python bench/soak_bench.py                          # 3 minutes on each server
    .venv/bin/python bench/soak_bench.py --minutes 10 --providers 5000 --servers gunicorn
    .venv/bin/python bench/soak_bench.py --index built            # index kept, no start-up rebuild

One temp folder per run: a SQLite database migrated and seeded with the demo data (`registry
init-db`, `registry seed --demo`), then grown to N providers (default 3,000; active, each with a
qualification and one to three offers) through the ORM, so the search outbox indexes them. With
`--index fresh` (the default) the index folder is then deleted, so the servers' first searches
rebuild it from the database inside a web process (≥ 2,000 documents: the parallel rebuild).

Each server is started with faulthandler on (PYTHONFAULTHANDLER=1) and its stdout and stderr in
one log: gunicorn with `-c python:registry.gunicorn_conf` and --workers (PROMETHEUS_MULTIPROC_DIR
in the temp folder), `registry serve` (Waitress threads, metrics in memory), or `serve-fork`:
`registry serve` patched to let the web process fork the parallel rebuild as it did before
issue 14 (the comparison for the fix). Client threads then run a mixed load
until the time is up: public lists, profiles, search pages, the JSON API (reads), sign-ins of the
demo accounts (each a new session), and admin edits of a department (every one re-indexes the
department after commit, merging segments after the response).

Printed per server: requests done, statuses other than 2xx/3xx and transport errors by kind,
p50/p95 latency in ms, and crashes: workers gunicorn booted beyond the first ones, "Worker … was
sent SIG…" / "exited with code" / "Fatal Python error" lines, and a server process that died.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookiejar
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20261206
DISTRICTS = ["滨海", "华苑", "南开", "河西", "西青", "东丽", "津南", "武清", "宝坻", "塘沽"]
BRANDS = "瑞泽华信宏远恒通博创嘉禾中科德润鑫源天成安达永盛新程海川广联"
TRADES = ["环境", "工程", "测绘", "检测", "咨询", "设计", "技术", "安全", "节能", "水务"]
QUERIES = [
    "环评",
    "环境影响评价",
    "测绘",
    "水土保持",
    "检测",
    "安全评价",
    "天津 咨询",
    "huanping",
    "节能",
]
CRASH_LINES = re.compile(r"was sent SIG\w+|exited with code|Fatal Python error|Segmentation fault")
BOOTED = re.compile(r"Booting worker with pid: (\d+)")
# `registry serve` as it was before issue 14: a web process allowed to fork the parallel rebuild.
FORKING_SERVE = """
import sys
from registry.cli import main
from registry.search.whoosh_backend import WhooshBackend

original = WhooshBackend.__init__
def forking(self, *args, **kwargs):
    original(self, *args, **kwargs)
    self.forks_allowed = True
WhooshBackend.__init__ = forking
sys.argv[0] = "registry"
main()
"""


# ------------------------------------------------------------------------------------ dataset


def environment(folder: Path) -> dict[str, str]:
    """The servers' and CLI's environment for one temp instance."""
    return {
        **os.environ,
        "REGISTRY_DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "REGISTRY_SEARCH_INDEX_DIR": str(folder / "index"),
        "REGISTRY_UPLOAD_DIR": str(folder / "uploads"),
        "REGISTRY_MAIL_DIR": str(folder / "mail"),
        "REGISTRY_SECRET_KEY": "soak-bench",
        # Sign-ins are part of the load: the per-address limit would turn them into 429s.
        "REGISTRY_LOGIN_RATE_LIMIT": "100000 per minute",
        "PYTHONFAULTHANDLER": "1",
    }


def seed(env: dict[str, str]) -> dict[str, str]:
    """Migrate and seed with the demo data; returns the demo accounts' passwords."""
    subprocess.run([BIN / "registry", "init-db"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [BIN / "registry", "seed", "--demo"], env=env, check=True, capture_output=True, text=True
    ).stdout
    return dict(re.findall(r"^\s+(demo-[\w-]+)\s+\S+\s+(\S+)\s*$", out, re.MULTILINE))


def grow(env: dict[str, str], providers: int) -> int:
    """Add active providers (a qualification, one to three offers each) until there are N."""
    from sqlalchemy import func, select

    from registry import create_app
    from registry.extensions import db
    from registry.models import Offer, Provider, ProviderStatus, Qualification, ServiceItem
    from registry.pure.uscc import make_uscc

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": env["REGISTRY_DATABASE_URL"],
            "SEARCH_INDEX_DIR": env["REGISTRY_SEARCH_INDEX_DIR"],
            "UPLOAD_DIR": env["REGISTRY_UPLOAD_DIR"],
            "MAIL_DIR": env["REGISTRY_MAIL_DIR"],
            "SECRET_KEY": "soak-bench",
        }
    )
    rng = random.Random(SEED)
    with app.app_context():
        items = db.session.scalars(select(ServiceItem)).all()
        have = db.session.scalar(select(func.count(Provider.id)))
        for n in range(have, providers):
            code = make_uscc(f"91120116{n:08d}")
            name = (
                f"天津{rng.choice(DISTRICTS)}{''.join(rng.sample(BRANDS, 2))}"
                f"{rng.choice(TRADES)}{rng.choice(TRADES)}有限公司"
            )
            provider = Provider(
                uscc=code,
                name=name,
                legal_representative="张三",
                address=f"天津市{rng.choice(DISTRICTS)}区海泰发展{n % 9 + 1}道{n % 97 + 1}号",
                region="滨海高新区",
                contact_name="李四",
                contact_phone="022-58000000",
                licence_scope="环境影响评价;技术咨询;工程测量",
                status=ProviderStatus.ACTIVE.value,
            )
            provider.qualifications.append(
                Qualification(
                    kind="工程咨询单位资信",
                    grade=rng.choice(["甲级", "乙级"]),
                    certificate_no=f"Q{code[-8:]}",
                    issuer="中国工程咨询协会",
                    valid_from=date(2024, 1, 1),
                    valid_to=date.today() + timedelta(days=365),
                )
            )
            for item in rng.sample(items, rng.randint(1, 3)):
                provider.offers.append(
                    Offer(
                        service_item=item,
                        committed_days=rng.randint(5, 30),
                        fee_quote=Decimal(rng.randrange(5000, 200000, 500)),
                    )
                )
            db.session.add(provider)
            if n % 500 == 499:
                db.session.commit()
        db.session.commit()
        total = db.session.scalar(select(func.count(Provider.id)))
        db.session.remove()
        db.engine.dispose()
    return total


# ------------------------------------------------------------------------------------- server


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(kind: str, port: int, env: dict[str, str], log, workers: int) -> subprocess.Popen:
    """Start one server, its output in log; waits until it accepts connections."""
    if kind == "gunicorn":
        # Each run its own metrics folder, as registry/gunicorn_conf.py expects (registry serve
        # keeps its metrics in memory, as in production).
        metrics = Path(env["REGISTRY_UPLOAD_DIR"]).parent / f"metrics-{port}"
        env = env | {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        command = [BIN / "gunicorn", "-c", "python:registry.gunicorn_conf"]
        command += ["--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "120"]
        command.append("registry:create_app()")
    elif kind == "serve-fork":
        command = [sys.executable, "-c", FORKING_SERVE, "serve", "--port", str(port)]
    else:
        command = [BIN / "registry", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit(f"{kind} exited at start ({server.returncode})")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        time.sleep(0.2)
    raise SystemExit(f"{kind} did not start")


# --------------------------------------------------------------------------------------- load


class FormFields(HTMLParser):
    """The named fields of the first form holding a CSRF token (inputs, textareas, selects)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "file"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.fields.setdefault(name, a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.setdefault(name, "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and ("selected" in a):
            self.fields.setdefault(self._select, a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


class Load:
    """Client threads sharing the counters of one run."""

    def __init__(self, base: str, passwords: dict[str, str], paths: list[str]) -> None:
        self.base, self.passwords, self.paths = base, passwords, paths
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()

    def session(self) -> urllib.request.OpenerDirector:
        """A client with its own cookies that does not follow redirects (a 302 is an answer)."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        jar = http.cookiejar.CookieJar()
        return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    def call(self, opener, path: str, data: dict | None = None) -> tuple[int, str]:
        """One request; counted, timed; returns (status, body) or (0, '') on a transport error."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        began = time.perf_counter()
        status, text = 0, ""
        try:
            with opener.open(self.base + path, data=body, timeout=60) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status = error.code
            with contextlib.suppress(OSError):
                text = error.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            with self.lock:
                self.errors[type(error).__name__] += 1
        took = (time.perf_counter() - began) * 1000
        with self.lock:
            if status:
                self.statuses[status] += 1
                self.latencies.append(took)
        return status, text

    def form(self, opener, path: str) -> dict[str, str]:
        """The fields of the form on a page (empty if the page failed)."""
        status, text = self.call(opener, path)
        parser = FormFields()
        if status == 200:
            parser.feed(text)
        return parser.fields

    def sign_in(self, username: str):
        """A new session signed in as username (or None)."""
        opener = self.session()
        fields = self.form(opener, "/login")
        if "csrf_token" not in fields:
            return None
        fields.update(username=username, password=self.passwords.get(username, "?"))
        status, _ = self.call(opener, "/login", fields)
        return opener if status == 302 else None

    def reader(self, stop: threading.Event, rng: random.Random) -> None:
        """Reads, with a sign-in now and then (about one request in twenty)."""
        opener = self.session()
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.05 and self.passwords:
                self.sign_in(rng.choice(sorted(self.passwords)))
            elif roll < 0.35:
                query = urllib.parse.quote(rng.choice(QUERIES))
                prefix = "/api/v1" if roll < 0.15 else ""
                self.call(opener, f"{prefix}/search?q={query}&page={rng.randint(1, 3)}")
            else:
                self.call(opener, rng.choice(self.paths))

    def writer(self, stop: threading.Event, rng: random.Random, departments: list[str]) -> None:
        """The admin edits a department now and then (each edit re-indexes after commit)."""
        opener = None
        while not stop.wait(rng.uniform(0.5, 2.0)):
            opener = opener or self.sign_in("demo-admin")
            if opener is None:
                continue
            code = rng.choice(departments)
            fields = self.form(opener, f"/admin/departments/{code}/edit")
            if "csrf_token" not in fields:
                continue
            fields["source_note"] = f"soak {rng.randrange(10**6)}"
            self.call(opener, f"/admin/departments/{code}/edit", fields)


def public_paths(env: dict[str, str]) -> tuple[list[str], list[str]]:
    """Read paths over the grown data, and the department codes."""
    import sqlite3

    from registry.models import ProviderStatus

    database = sqlite3.connect(env["REGISTRY_DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        usccs = [
            r[0]
            for r in database.execute(
                "SELECT uscc FROM providers WHERE status = ? ORDER BY random()",
                (ProviderStatus.ACTIVE.value,),
            )
        ]
        services = [r[0] for r in database.execute("SELECT code FROM service_items")]
        departments = [r[0] for r in database.execute("SELECT code FROM departments")]
    finally:
        database.close()
    paths = ["/", "/services", "/departments", "/notices", "/awards", "/approval-items"]
    paths += [f"/providers?page={p}" for p in range(1, 30)]
    paths += [f"/providers/{u}" for u in usccs[:300]]
    paths += [f"/services/{c}" for c in services]
    paths += ["/api/v1/providers", "/api/v1/services", "/api/v1/departments"]
    paths += [f"/api/v1/providers/{u}" for u in usccs[300:450]]
    return paths, departments


# ---------------------------------------------------------------------------------------- run


def crashes(log_text: str, died: int | None, workers: int, kind: str) -> dict:
    """Worker crashes as the log and the server's own exit (None: it was still up) tell them."""
    booted = set(BOOTED.findall(log_text))
    lines = [line.strip()[:200] for line in log_text.splitlines() if CRASH_LINES.search(line)]
    return {
        "extra workers booted": max(0, len(booted) - workers) if kind == "gunicorn" else 0,
        "crash lines": lines,
        "server died": "no" if died is None else f"exit {died}",
    }


def run(kind: str, args, folder: Path, env: dict[str, str], passwords: dict[str, str]) -> None:
    """One soak on one server; prints its figures."""
    if args.index == "fresh":
        shutil.rmtree(folder / "index", ignore_errors=True)
    paths, departments = public_paths(env)
    port = free_port()
    log_path = folder / f"{kind}.log"
    with log_path.open("wb") as log:
        server = start(kind, port, env, log, args.workers)
        load = Load(f"http://127.0.0.1:{port}", passwords, paths)
        stop = threading.Event()
        threads = [
            threading.Thread(target=load.reader, args=(stop, random.Random(SEED + i)))
            for i in range(args.clients)
        ]
        threads.append(
            threading.Thread(target=load.writer, args=(stop, random.Random(SEED), departments))
        )
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        deadline = began + args.minutes * 60
        while time.perf_counter() < deadline and server.poll() is None:
            time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        died = server.poll()
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
    text = log_path.read_text("utf-8", "replace")
    found = crashes(text, died, args.workers, kind)
    done = sum(load.statuses.values())
    failed = {s: c for s, c in sorted(load.statuses.items()) if s >= 400}
    quantiles = statistics.quantiles(load.latencies, n=20) if len(load.latencies) > 1 else [0] * 19
    label = {
        "gunicorn": f"gunicorn --workers {args.workers}",
        "serve": "registry serve",
        "serve-fork": "registry serve, parallel rebuild allowed in the web process (before issue 14)",
    }[kind]
    print(f"## {label}: {elapsed / 60:.1f} min, {args.clients} readers + 1 admin writer")
    print(f"requests answered: {done} ({done / elapsed:.1f}/s)")
    print(f"statuses >= 400: {failed or 'none'}; transport errors: {dict(load.errors) or 'none'}")
    print(f"latency ms: p50 {statistics.median(load.latencies):.0f}, p95 {quantiles[18]:.0f}")
    print(f"worker crashes: {found['extra workers booted']} extra workers booted; "
          f"server died: {found['server died']}; crash lines: {len(found['crash lines'])}")  # fmt: skip
    for line in found["crash lines"][:20]:
        print(f"    {line}")
    if args.keep:
        print(f"log kept: {log_path}")
    sys.stdout.flush()


def main() -> None:
    """Parse the options, build the dataset once, soak each server in turn."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--providers", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=6, help="reader threads")
    parser.add_argument(
        "--servers", default="gunicorn,serve", help="comma-separated: gunicorn, serve, serve-fork"
    )
    parser.add_argument("--index", choices=("fresh", "built"), default="fresh")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and logs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        env = environment(folder)
        began = time.perf_counter()
        passwords = seed(env)
        total = grow(env, args.providers)
        print(f"dataset: {total} providers (+ demo data), built in "
              f"{time.perf_counter() - began:.0f} s; index: {args.index}", flush=True)  # fmt: skip
        for kind in args.servers.split(","):
            run(kind, args, folder, env, passwords)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
