"""Rate limits are exact across workers and nodes: the registry-db:// storage counts in the app's
own database (atomic upsert, its own transaction), proven in-process on SQLite and PostgreSQL and
against a real gunicorn with 2 and 4 workers (and with Redis, the option for many nodes)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import RateLimitCounter
from registry.ratelimit_storage import DatabaseStorage
from tests.conftest import csrf_from, make_app, post_form
from tests.test_registration import register

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
DB_LIMITS = {"RATELIMIT_STORAGE_URI": "registry-db://", "LOGIN_RATE_LIMIT": "3 per minute"}


def _counters(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.scalars(select(RateLimitCounter)).all()
        found = {row.key: row.count for row in rows}
        db.session.remove()
        return found


@pytest.mark.parametrize("app_config", [DB_LIMITS])
def test_rate_limits_database_counts_refused_sign_ins_and_opens_a_new_window(
    app, client, make_user, login, frozen_clock
):
    user = make_user("enterprise")
    codes = [login(user, password="Wrong-pass-123").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    assert "请求过于频繁" in login(user).get_data(as_text=True)
    # Every try counted in the database, though a refused sign-in commits nothing of its own.
    [(key, count)] = _counters(app).items()
    assert "auth.login" in key
    assert count == 6
    # A minute later a new window: the right password gets in, and ended windows are dropped.
    with app.app_context():
        db.session.add(RateLimitCounter(key="stale", expires_at=0.0, count=9))
        db.session.commit()
    frozen_clock.advance(timedelta(seconds=61))
    assert login(user).status_code == 302
    assert _counters(app) == {key: 1}


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_STORAGE_URI": "registry-db://", "REGISTER_RATE_LIMIT": "2 per hour"}]
)
def test_rate_limits_database_while_the_request_holds_a_transaction(app, client):
    # A signed-in POST: the request guard has read the user (on SQLite that takes the write
    # lock) before the limit is counted on a connection of its own; it must neither wait nor fail.
    register(client)
    started = time.monotonic()
    codes = [post_form(client, "/account/confirm-email/resend").status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert time.monotonic() - started < 5
    assert any("resend_confirmation" in key for key in _counters(app))


def test_rate_limits_database_storage_interface(app):
    with app.app_context():
        storage = DatabaseStorage()
        assert storage.check()
        assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
        assert storage.get("k") == 3
        assert storage.get_expiry("k") == clock.timestamp() + 60
        assert storage.incr("k", 60, amount=2) == 5
        storage.clear("k")
        assert storage.get("k") == 0
        storage.incr("a", 60)
        storage.incr("b", 60)
        assert storage.reset() == 2
        db.session.remove()


# ---------------------------------------------------------------------- real gunicorn workers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _request(port: int, method: str, path: str, body: str = "", cookie: str = ""):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    answer = (response.status, response.getheader("Set-Cookie") or "", response.read().decode())
    connection.close()
    return answer


def _start_gunicorn(env: dict[str, str], folder: Path, workers: int) -> tuple:
    """A gunicorn of `workers` workers on a free port: (process, port, access log, error log)."""
    port = _free_port()
    env = {**env, "REGISTRY_SITE_URL": f"http://127.0.0.1:{port}"}
    log = (folder / f"gunicorn-{port}.log").open("w")
    access = folder / f"access-{port}.log"
    server = subprocess.Popen(
        # --preload: the app is built once and forked (quicker than one boot per worker, and every
        # worker is up at once); the access log names the worker (pid) that answered.
        [GUNICORN, "-w", str(workers), "--preload", "--bind", f"127.0.0.1:{port}"]
        + ["--access-logfile", str(access), "--access-logformat", "%(p)s %(m)s"]
        + ["registry:create_app()"],
        env=env,
        stderr=log,
        stdout=log,
    )
    return server, port, access, log


def _login_page(server: subprocess.Popen, port: int) -> tuple[str, str]:
    """Wait for the server to answer; its session cookie and the login form's CSRF token."""
    deadline = time.monotonic() + 30
    while True:
        try:
            status, cookie, page = _request(port, "GET", "/login")
            break
        except OSError:
            assert server.poll() is None, "gunicorn did not start"
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.1)
    assert status == 200
    return cookie.split(";", 1)[0], csrf_from(page)


def sign_in_tries(
    database_url: str,
    folder: Path,
    workers: int,
    storage: str,
    *,
    nodes: int = 1,
    tries: int = 25,
    limit: str = "10 per minute",
    extra_env: dict[str, str] | None = None,
) -> tuple[list[int], int]:
    """Start `nodes` gunicorns of `workers` workers each on one database and send `tries`
    wrong-password sign-ins from one client, five at a time, round the nodes; returns the status
    codes and how many worker processes answered them."""
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": database_url,
        "REGISTRY_SECRET_KEY": "rate-limit-test",
        "REGISTRY_RATELIMIT_STORAGE_URI": storage,
        "REGISTRY_LOGIN_RATE_LIMIT": limit,
        "REGISTRY_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "REGISTRY_SEARCH_INDEX_DIR": str(folder / "index"),
        "REGISTRY_UPLOAD_DIR": str(folder / "uploads"),
        "REGISTRY_MAIL_DIR": str(folder / "mail"),
        **(extra_env or {}),
    }
    servers = []
    try:
        servers = [_start_gunicorn(env, folder, workers) for _ in range(nodes)]
        # One session and its CSRF token serve every try on every node (one shared secret key).
        cookie, token = [_login_page(server, port) for server, port, _, _ in servers][0]
        body = urlencode({"csrf_token": token, "username": "nobody", "password": "Wrong-pass-123"})
        ports = [port for _, port, _, _ in servers]

        def attempt(n: int) -> int:
            return _request(ports[n % nodes], "POST", "/login", body, cookie)[0]

        with ThreadPoolExecutor(5) as pool:
            codes = list(pool.map(attempt, range(tries)))
    finally:
        for server, _, _, log in servers:
            server.send_signal(signal.SIGINT)  # quick shutdown
            server.wait(timeout=20)
            log.close()
    answered = {
        line.split()[0]
        for _, _, access, _ in servers
        for line in access.read_text().splitlines()
        if "POST" in line
    }
    return codes, len(answered)


def _schema(url: str, folder: Path) -> str:
    app = make_app(url, folder)
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return url


@pytest.mark.concurrency
@pytest.mark.parametrize("workers", [2, 4])
@pytest.mark.realclock
def test_rate_limits_exact_across_gunicorn_workers(tmp_path, workers):
    # The embedded default: one SQLite file, counters in it.
    url = _schema(f"sqlite:///{tmp_path / 'served.db'}", tmp_path)
    codes, answered = sign_in_tries(url, tmp_path, workers, "registry-db://")
    assert answered >= 2  # the tries really were spread over several workers
    assert codes.count(429) == 15, codes
    assert set(codes) - {429} == {401}, codes


@pytest.mark.concurrency
def test_rate_limits_exact_across_nodes_on_postgresql(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("several nodes share a PostgreSQL database")
    # Two nodes (gunicorn masters) of two workers each, the tries dealt round them.
    codes, answered = sign_in_tries(
        _schema(database_url, tmp_path), tmp_path, 2, "registry-db://", nodes=2
    )
    assert answered >= 3
    assert codes.count(429) == 15, codes
    assert set(codes) - {429} == {401}, codes


def _redis_url() -> str | None:
    try:
        import redis  # noqa: F401 - the optional extra (pip install ".[redis]")

        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return "redis://127.0.0.1:6379/0"
    except (ImportError, OSError):
        return None


@pytest.mark.concurrency
@pytest.mark.skipif(_redis_url() is None, reason="no Redis at 127.0.0.1:6379 or no redis package")
@pytest.mark.realclock
def test_rate_limits_exact_across_gunicorn_workers_with_redis(tmp_path):
    import redis

    url = _schema(f"sqlite:///{tmp_path / 'served.db'}", tmp_path)
    prefix = f"registry-test-{uuid.uuid4().hex}"
    codes, answered = sign_in_tries(
        url, tmp_path, 2, _redis_url(), extra_env={"REGISTRY_RATELIMIT_KEY_PREFIX": prefix}
    )
    assert answered >= 2
    assert codes.count(429) == 15, codes
    assert set(codes) - {429} == {401}, codes
    client = redis.Redis.from_url(_redis_url())
    try:
        keys = client.keys(f"*{prefix}*")
        assert keys  # the counters were in Redis
        client.delete(*keys)
    finally:
        client.close()
