"""Fixtures: an app per test on its own copy of a seeded database (an SQLite file, and PostgreSQL
when configured) and search index, clients,
users per role, and signing in through the real login form."""

from __future__ import annotations

import gc
import os
import re
import shutil
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import quote

import jinja2
import pytest
import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from werkzeug.routing import Rule

from registry import create_app
from registry.config import PROJECT_ROOT
from registry.demo import accounts as demo_accounts
from registry.demo import market as demo_market
from registry.extensions import db
from registry.kernel import clock
from registry.services import accounts, roadmaps, seeding

PG_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL")
# The day every test runs on: fixed, never the machine's date. CI runs the suite again with the
# clock moved (REGISTRY_TEST_TODAY=2027-06-15, 2031-02-10) so a date bug shows before the date comes.
TEST_TODAY = date.fromisoformat(os.environ.get("REGISTRY_TEST_TODAY") or "2026-12-07")
# Which of `make test`'s runs this is (in_run says what each runs); unset, every collected test.
RUN = os.environ.get("REGISTRY_TEST_RUN")
RUNS = ("standard", "moved", "dates")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"|value="([^"]+)" name="csrf_token"'
)


def pytest_configure(config):
    """Fewer garbage collections in the test processes. Every test builds an app, an engine and a
    session, thousands of objects in reference cycles, and Python's default thresholds ran a
    collection every 700 allocations over an ever larger heap. The modules imported by now
    (Flask, SQLAlchemy, the app) live as long as the process, so they are moved out of the
    collector's sight, and the youngest generation is collected every 100,000 allocations.
    `bench/gc_bench.py` (eight test files, one process, both settings): 54.3 s → 46.7 s, of which
    in collections 10.5 s → 5.3 s. The cycles are still collected, only in larger batches; the
    site itself keeps Python's defaults."""
    if os.environ.get("REGISTRY_TEST_GC") == "default":  # bench/gc_bench.py's baseline
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def pytest_collection_modifyitems(config, items):
    """The racing tests share one xdist worker (make test runs with --dist loadgroup): two of
    them at once on a 2-core machine would time each other out, not find a bug.

    With REGISTRY_TEST_RUN set (`make test`'s three runs) only the tests of that run are kept
    (in_run); the whole collection stays in config.stash for tests/test_clock.py to check."""
    for item in items:
        if item.get_closest_marker("concurrency"):
            item.add_marker(pytest.mark.xdist_group("concurrency"))
    config.stash[COLLECTED] = list(items)
    if not RUN:
        return
    assert RUN in RUNS, f"REGISTRY_TEST_RUN is one of {RUNS}"
    kept, dropped = [], []
    for item in items:
        (kept if in_run(item, RUN) else dropped).append(item)
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept


COLLECTED = pytest.StashKey[list]()


def in_run(item, run: str, *, both_databases: bool = bool(PG_URL)) -> bool:
    """Whether `make test`'s run `run` runs this test.

    - "standard": the standard day (TEST_TODAY) on both databases, but for the SQLite runs of the
      tests that follow the test clock, which the first moved-clock run makes on another day.
    - "moved": the first moved day (SQLite only): every test that follows the test clock.
    - "dates": every later moved day: the tests marked `dates`.

    So every test runs on each database, every test runs under two days (the standard one and a
    moved one), and the tests about dates under every day. A test follows the test clock unless it
    drives the browser (its server, its pages and their dates are the ones tested here) or is
    marked `realclock` (it starts server processes, which run on the machine's clock). Without
    PostgreSQL the standard run keeps SQLite: it is then the only database of that day."""
    follows_clock = not (item.get_closest_marker("e2e") or item.get_closest_marker("realclock"))
    if run == "standard":
        return not (both_databases and follows_clock and on_sqlite(item))
    if run == "moved":
        return follows_clock
    return follows_clock and bool(item.get_closest_marker("dates"))


def on_sqlite(item) -> bool:
    """Whether a test is the SQLite run of a test made on each database."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    # the value of a fixture with params=BACKENDS, or the backend of a (backend, …) parameter
    return any(
        value == "sqlite" or (isinstance(value, tuple) and "sqlite" in value)
        for value in params.values()
    )


def _pg_schema_url(schema: str) -> str:
    joiner = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{joiner}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(autouse=True)
def frozen_clock():
    """The clock of every test: 10:00 Beijing time on TEST_TODAY, standing still; tests move it
    with clock.advance() or clock.freeze(). No test reads the machine's clock."""
    clock.freeze(clock.at(TEST_TODAY, 10))
    yield clock
    clock.unfreeze()


class Golden:
    """The seeded databases and search indexes, built once per test process and copied per test.

    Two kinds: "catalogue" (the real catalogue and the roadmap templates, what `app` starts from)
    and "demo" (the same plus `registry seed --demo`, for tests marked `demo`). Seeding the
    catalogue and draining it into the search index took about 1.8 s a test on SQLite and 2.9 s on
    PostgreSQL, the demo 3–7 s more; copying the result takes a few tens of milliseconds. Every
    test still gets its own fresh copy: an SQLite file and index folder in its tmp_path, or a
    PostgreSQL database made with CREATE DATABASE … TEMPLATE.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sqlite_dirs: dict[str, Path] = {}
        self.pg_names: dict[str, str] = {}
        self._pg_ready: dict[str, deque[Future[str]]] = {}
        self._pg_worker: ThreadPoolExecutor | None = None
        self._pg_connection: sa.Connection | None = None  # the background thread's own

    @property
    def pg_name(self) -> str | None:
        """The catalogue template's name (bench/test_setup_bench.py copies it)."""
        return self.pg_names.get("catalogue")

    def _build(self, kind: str, url: str, folder: Path) -> None:
        """Seed kind into url (the demo onto a copy of the catalogue) at the tests' own moment,
        whatever the machine's clock says."""
        app = make_app(url, folder)
        with clock.frozen(clock.at(TEST_TODAY, 10)), app.app_context():
            if kind == "catalogue":
                db.create_all()
                seeding.seed_catalogue(Path(app.config["SEEDS_DIR"]))
                roadmaps.seed_templates(Path(app.config["SEEDS_DIR"]))
            else:
                demo_accounts.seed_demo_accounts()
                demo_market.seed_demo_market()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

    def sqlite_copy(self, folder: Path, kind: str = "catalogue") -> str:
        """A seeded SQLite file and Whoosh index folder copied into folder; returns the URL."""
        if kind not in self.sqlite_dirs:
            source = self.root / f"sqlite-{kind}"
            source.mkdir()
            if kind == "catalogue":
                url = f"sqlite:///{source / 'registry.db'}"
            else:
                url = self.sqlite_copy(source)
            self._build(kind, url, source)
            self.sqlite_dirs[kind] = source
        source = self.sqlite_dirs[kind]
        for name in ("registry.db", "registry.db-wal"):
            if (source / name).exists():
                shutil.copyfile(source / name, folder / name)
        shutil.copytree(source / "index", folder / "index")
        return f"sqlite:///{folder / 'registry.db'}"

    def postgresql_copy(self, kind: str = "catalogue") -> str:
        """A fresh seeded PostgreSQL database made from the golden template; returns the URL.

        CREATE DATABASE waits on the server's disk (≈ 0.3 s), so one background thread makes the
        next copies while the current test runs, and drops the used ones."""
        if kind not in self._pg_ready:
            self._pg_golden(kind)
            ahead = 2 if kind == "catalogue" else 1  # the demo serves a few tests only
            self._pg_ready[kind] = deque(self._pg_submit(kind) for _ in range(ahead))
        name = self._pg_ready[kind].popleft().result()
        self._pg_ready[kind].append(self._pg_submit(kind))
        return _pg_database_url(name)

    def _pg_golden(self, kind: str) -> str:
        """The template database of kind, built on first use (the demo on the catalogue's)."""
        if kind not in self.pg_names:
            golden = f"golden_{kind}_{uuid.uuid4().hex[:12]}"
            source = "" if kind == "catalogue" else f' TEMPLATE "{self._pg_golden("catalogue")}"'
            _pg_admin(f'CREATE DATABASE "{golden}"{source}')
            self._build(kind, _pg_database_url(golden), self.root / f"pg-{kind}")
            self.pg_names[kind] = golden
            if self._pg_worker is None:
                self._pg_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-copies")
        return self.pg_names[kind]

    def _pg_submit(self, kind: str) -> Future[str]:
        return self._pg_worker.submit(self._pg_create, self.pg_names[kind])

    def _pg_create(self, template: str) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def _pg_execute(self, statement: str) -> None:
        """Run statement on the background thread's own connection, opened once: a connection
        per statement (a new engine, a new server process) cost 13 ms, twice per test."""
        if self._pg_connection is None:
            engine = sa.create_engine(
                PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
            )
            self._pg_connection = engine.connect()
        self._pg_connection.execute(sa.text(statement))

    def _pg_disconnect(self) -> None:
        """Close the background thread's connection (on that thread, after its queued work)."""
        if self._pg_connection is not None:
            self._pg_connection.close()
            self._pg_connection = None

    def postgresql_drop(self, url: str) -> None:
        """Drop a used copy (in the background; FORCE ends connections a test left open)."""
        name = sa.engine.make_url(url).database
        self._pg_worker.submit(self._pg_execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self._pg_worker is None:
            return
        for ready in self._pg_ready.values():
            for future in ready:
                self.postgresql_drop(_pg_database_url(future.result()))
        self._pg_worker.submit(self._pg_disconnect)
        self._pg_worker.shutdown(wait=True)
        for golden in reversed(self.pg_names.values()):
            _pg_admin(f'DROP DATABASE IF EXISTS "{golden}" WITH (FORCE)')


def _pg_admin(statement: str) -> None:
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


def _pg_database_url(name: str) -> str:
    return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def golden(tmp_path_factory):
    """This process's golden database and index (built on first use, per backend)."""
    built = Golden(tmp_path_factory.mktemp("golden"))
    yield built
    built.close()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, golden):
    """This test's own database: a copy of the golden seeded one when the test uses `app` (with
    the demo marketplace when it is marked `demo`), else an empty one (an SQLite file, or a
    PostgreSQL schema) for tests that build their own."""
    seeded = "app" in request.fixturenames
    kind = "demo" if request.node.get_closest_marker("demo") else "catalogue"
    if request.param == "sqlite":
        if seeded:
            yield golden.sqlite_copy(tmp_path, kind)
        else:
            yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    if seeded:
        url = golden.postgresql_copy(kind)
        try:
            yield url
        finally:
            golden.postgresql_drop(url)
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per test process instead of once per test: every test builds its
    own app, whose fresh Jinja environment would parse and compile each page it renders again.
    Jinja keys a bucket by the template's name and checks its source's checksum, so an edited
    template is compiled afresh; every test app's environment is configured alike."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def _share_url_builders() -> None:
    """Compile each URL rule's builder once per test process, not once per test's app.

    Werkzeug generates and compiles a Python function per rule and app (two per rule, ~800 rules):
    two thirds of building an app, which every test does. The generated code depends only on the
    rule's parsed parts, its defaults and the flag (it reaches the rule's converters through its
    `self` argument), so the function is shared by every rule with the same key. Every url_for in
    the suite checks the result. Should Werkzeug change this private method, nothing is shared
    and the suite is only slower."""
    original = getattr(Rule, "_compile_builder", None)
    if original is None:
        return
    built: dict[tuple, object] = {}

    def compile_builder(self, append_unknown: bool = True):
        defaults = tuple(sorted((self.defaults or {}).items(), key=repr))
        key = (self.rule, tuple(self._trace), defaults, append_unknown)
        if key not in built:
            built[key] = original(self, append_unknown)
        return built[key]

    Rule._compile_builder = compile_builder


_share_url_builders()


def _share_compiled_statements() -> None:
    """Compile each SQL statement once per test process, not once per test's engine.

    Every test builds its own app and so its own engine, whose statement cache starts empty:
    the same few hundred queries were compiled again in every test (a fifth of the CPU time of
    a test). SQLAlchemy keys its cache by the dialect object, so here the engines of one server
    share one dialect and one cache. Only engines that differ in nothing but the database share
    (a URL with options, such as a schema's search_path, or other engine options keep their
    own). Should Flask-SQLAlchemy change this private method, nothing is shared and the suite
    is only slower."""
    original = getattr(SQLAlchemy, "_make_engine", None)
    if original is None:
        return
    shared: dict[tuple, tuple] = {}

    def make_engine(self, bind_key, options, app):
        engine = original(self, bind_key, options, app)
        # Options by name (a function, such as the JSON serialiser, by its qualified name).
        settings = sorted(
            (k, getattr(v, "__qualname__", repr(v))) for k, v in options.items() if k != "url"
        )
        url = engine.url
        key = (url.drivername, url.host, url.port, tuple(sorted(url.query.items())), *settings)
        dialect, cache = shared.setdefault(key, (engine.dialect, engine._compiled_cache))
        engine.dialect = engine.pool._dialect = dialect
        engine._compiled_cache = cache
        return engine

    SQLAlchemy._make_engine = make_engine


_share_compiled_statements()


def make_app(database_url: str, tmp_path: Path, **overrides):
    """An application bound to database_url with a temp search index directory."""
    config = {
        "TESTING": True,
        # Each database runs its own search backend: Whoosh beside SQLite, full text in PostgreSQL.
        "SEARCH_BACKEND": "postgresql" if database_url.startswith("postgresql") else "whoosh",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "MAIL_DIR": str(tmp_path / "mail"),  # the .eml mail backend, never instance/mail
        "RUN_LOCK_FILE": str(tmp_path / "running.lock"),  # never the checkout's instance/
        "SEEDS_DIR": str(PROJECT_ROOT / "seeds"),
        # Year files an operator adds to seeds/calendar must not change what the tests compute
        # (test_calendar checks that those files parse).
        "CALENDAR_DIR": str(tmp_path / "calendar"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        # A cheap hash: the suite signs in thousands of times. test_auth checks the real default.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Every API response is checked against the OpenAPI document (registry/web/openapi.yaml).
        "OPENAPI_VALIDATE_RESPONSES": True,
        "SERVER_NAME": None,
        # Read the data generation on every request: a test never waits for the page cache.
        "PAGE_CACHE_RECHECK_SECONDS": 0,
        # Flows open a request and pass its deadline within hours; the minimum notice period
        # (default 3 working days) is tested on its own with the default (test_market_fairness).
        "REQUEST_MIN_NOTICE_WORKDAYS": 0,
    }
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    return app


@pytest.fixture
def app_config():
    """Per-test config overrides (override this fixture or parametrize it indirectly)."""
    return {}


@pytest.fixture
def empty_app(database_url, tmp_path, app_config):
    """An app whose database has the schema but no rows."""
    app = make_app(database_url, tmp_path, **app_config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path, app_config):
    """An app with the real catalogue and the roadmap templates seeded (a copy of the golden
    database and search index; see Golden), and the demo marketplace for a test marked `demo`."""
    app = make_app(database_url, tmp_path, **app_config)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def shared_app(request, golden, tmp_path_factory):
    """One seeded app shared by a module's READ-ONLY tests (pages and queries that store nothing),
    such as the many parametrised catalogue pages. A test that writes uses `app`."""
    folder = tmp_path_factory.mktemp("shared")
    sqlite = request.param == "sqlite"
    url = golden.sqlite_copy(folder) if sqlite else golden.postgresql_copy()
    shared = make_app(url, folder)
    yield shared
    with shared.app_context():
        db.session.remove()
        db.engine.dispose()
    if not sqlite:
        golden.postgresql_drop(url)


@pytest.fixture
def reader(shared_app):
    """A fresh test client (no cookies) on the module's shared read-only app."""
    return shared_app.test_client()


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user with a role (and department for regulators); .password holds its password."""

    def _make(role: str = "enterprise", department: str | None = None, username: str | None = None):
        password = accounts.generate_password()
        with app.app_context():
            if role == "regulator" and department is None:
                department = "STHJ"
            user = accounts.create_user(
                username=username or f"{role}-{uuid.uuid4().hex[:8]}",
                password=password,
                role=role,
                department_code=department,
                actor_name="test",
            )
            db.session.commit()
            user_id, name = user.id, user.username
        return type(
            "TestUser", (), {"id": user_id, "username": name, "password": password, "role": role}
        )

    return _make


def csrf_from(html: str) -> str:
    """The first CSRF token in a page."""
    match = CSRF_RE.search(html)
    assert match, "page has no csrf_token field"
    return next(g for g in match.groups() if g)


def fresh_token(client) -> str:
    """A CSRF token valid for this client's session (from the login or account page)."""
    page = client.get("/login", follow_redirects=True).get_data(as_text=True)
    return csrf_from(page)


@pytest.fixture
def login(client):
    """Sign a user in through the real form (CSRF and all); returns the response."""

    def _login(user, *, password: str | None = None, next_url: str | None = None, on=None):
        target = on or client
        token = csrf_from(target.get("/login").get_data(as_text=True))
        url = "/login" + (f"?next={quote(next_url)}" if next_url else "")
        return target.post(
            url,
            data={
                "csrf_token": token,
                "username": user.username,
                "password": password or user.password,
            },
        )

    return _login


def post_form(client, url: str, data: dict | None = None, **kwargs):
    """POST with a valid CSRF token taken from the client's session."""
    payload = {"csrf_token": fresh_token(client)}
    payload.update(data or {})
    return client.post(url, data=payload, **kwargs)
