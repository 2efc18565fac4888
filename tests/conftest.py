"""Fixtures: an app per test on a temp SQLite file (and on PostgreSQL when configured), clients,
users per role, and signing in through the real login form."""

from __future__ import annotations

import os
import re
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from registry import clock, create_app
from registry.config import PROJECT_ROOT
from registry.extensions import db
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


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A fresh, empty database: an SQLite file, or a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
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
        "SEEDS_DIR": str(PROJECT_ROOT / "seeds"),
        # Year files an operator adds to seeds/calendar must not change what the tests compute
        # (test_calendar checks that those files parse).
        "CALENDAR_DIR": str(tmp_path / "calendar"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "SERVER_NAME": None,
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
def app(empty_app):
    """An app with the real catalogue and the roadmap templates seeded."""
    with empty_app.app_context():
        seeding.seed_catalogue(Path(empty_app.config["SEEDS_DIR"]))
        roadmaps.seed_templates(Path(empty_app.config["SEEDS_DIR"]))
        db.session.commit()
    return empty_app


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
