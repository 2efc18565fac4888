"""Fixtures: an app per test on its own copy of a seeded database (an SQLite file, and PostgreSQL
when configured) and search index, clients,
users per role, and signing in through the real login form."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from registry import create_app
from registry.config import PROJECT_ROOT
from registry.extensions import db
from registry.kernel import clock
from registry.services import accounts, roadmaps, seeding

PG_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL")
# The day every test runs on: fixed, never the machine's date. CI runs the suite again with the
# clock moved (REGISTRY_TEST_TODAY=2027-06-15, 2031-02-10) so a date bug shows before the date comes.
TEST_TODAY = date.fromisoformat(os.environ.get("REGISTRY_TEST_TODAY") or "2026-12-07")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"|value="([^"]+)" name="csrf_token"'
)


def pytest_collection_modifyitems(items):
    """The racing tests share one xdist worker (make test runs with --dist loadgroup): two of
    them at once on a 2-core machine would time each other out, not find a bug."""
    for item in items:
        if item.get_closest_marker("concurrency"):
            item.add_marker(pytest.mark.xdist_group("concurrency"))


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
    """The seeded database and search index, built once per test process and copied per test.

    Seeding the catalogue and the roadmap templates and draining them into the search index took
    about 1.8 s a test on SQLite and 2.9 s on PostgreSQL; copying the result takes a few tens of
    milliseconds. Every test still gets its own fresh copy: an SQLite file and index folder in its
    tmp_path, or a PostgreSQL database made with CREATE DATABASE … TEMPLATE.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sqlite_dir: Path | None = None
        self.pg_name: str | None = None

    def _build(self, url: str, folder: Path) -> None:
        app = make_app(url, folder)
        # The golden data is made at the tests' own moment, whatever the machine's clock says.
        with clock.frozen(clock.at(TEST_TODAY, 10)), app.app_context():
            db.create_all()
            seeding.seed_catalogue(Path(app.config["SEEDS_DIR"]))
            roadmaps.seed_templates(Path(app.config["SEEDS_DIR"]))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

    def sqlite_copy(self, folder: Path) -> str:
        """A seeded SQLite file and Whoosh index folder copied into folder; returns the URL."""
        if self.sqlite_dir is None:
            source = self.root / "sqlite"
            source.mkdir()
            self._build(f"sqlite:///{source / 'registry.db'}", source)
            self.sqlite_dir = source
        for name in ("registry.db", "registry.db-wal"):
            if (self.sqlite_dir / name).exists():
                shutil.copyfile(self.sqlite_dir / name, folder / name)
        shutil.copytree(self.sqlite_dir / "index", folder / "index")
        return f"sqlite:///{folder / 'registry.db'}"

    def postgresql_copy(self) -> str:
        """A fresh seeded PostgreSQL database made from the golden template; returns the URL.

        CREATE DATABASE waits on the server's disk (≈ 0.3 s), so one background thread makes the
        next copies while the current test runs, and drops the used ones."""
        if self.pg_name is None:
            golden = f"golden_{uuid.uuid4().hex[:12]}"
            _pg_admin(f'CREATE DATABASE "{golden}"')
            self._build(_pg_database_url(golden), self.root / "pg")
            self.pg_name = golden
            self._pg_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-copies")
            self._pg_ready = deque(self._pg_worker.submit(self._pg_create) for _ in range(2))
        name = self._pg_ready.popleft().result()
        self._pg_ready.append(self._pg_worker.submit(self._pg_create))
        return _pg_database_url(name)

    def _pg_create(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_name}"')
        return name

    def postgresql_drop(self, url: str) -> None:
        """Drop a used copy (in the background; FORCE ends connections a test left open)."""
        name = sa.engine.make_url(url).database
        self._pg_worker.submit(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.pg_name is None:
            return
        for future in self._pg_ready:
            self.postgresql_drop(_pg_database_url(future.result()))
        self._pg_worker.shutdown(wait=True)
        _pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


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
    """This test's own database: a copy of the golden seeded one when the test uses `app`, else
    an empty one (an SQLite file, or a PostgreSQL schema) for tests that build their own."""
    seeded = "app" in request.fixturenames
    if request.param == "sqlite":
        if seeded:
            yield golden.sqlite_copy(tmp_path)
        else:
            yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    if seeded:
        url = golden.postgresql_copy()
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
    return create_app(config)


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
    database and search index; see Golden)."""
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
