"""The multi-node deployment in deploy/, run as written: two gunicorn nodes from the systemd
unit's ExecStart on one PostgreSQL (search in PostgreSQL, rate limits in Redis), nginx from
deploy/render-nginx.sh in front. A mixed load of page reads and self-registrations goes through
nginx; one node is killed (SIGKILL) in the middle. Every registration that was acknowledged is
stored, with its confirmation mail, and the site keeps answering through the other node.

Needs nginx (.ci/run installs it), PostgreSQL (REGISTRY_TEST_DATABASE_URL) and Redis at
127.0.0.1:6379; skipped with the reason where one is missing."""

from __future__ import annotations

import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
DIGITS = "一二三四五六七八九"
QUESTION = re.compile(r"([一二三四五六七八九])(加|乘以)([一二三四五六七八九])等于多少")
PASSWORD = "Hj7#kLq2-Wm9"

pytestmark = [pytest.mark.concurrency, pytest.mark.realclock]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def _exec_start(unit: str, port: int) -> list[str]:
    """The unit's ExecStart, with this checkout in place of /srv/registry and %i the port."""
    line = next(
        line
        for line in (DEPLOY / "systemd" / unit).read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    command = line.removeprefix("ExecStart=").replace("%i", str(port))
    command = command.replace("/srv/registry/.venv/bin/", f"{BIN}/")
    return shlex.split(command)


def _environment(database_url: str, folder: Path, site: str) -> dict[str, str]:
    """deploy/env.example, with this machine's database, key and address in it."""
    env = dict(os.environ)
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env.update(
        REGISTRY_DATABASE_URL=database_url,
        REGISTRY_SECRET_KEY=uuid.uuid4().hex,
        REGISTRY_SITE_URL=site,
        REGISTRY_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
        REGISTRY_RATELIMIT_KEY_PREFIX=f"deploy-test-{uuid.uuid4().hex[:8]}",
        REGISTRY_REGISTER_RATE_LIMIT="100000 per hour",
        REGISTRY_REGISTER_ATTEMPT_RATE_LIMIT="100000 per hour",
        REGISTRY_MAIL_URL="",
        REGISTRY_MAIL_DIR=str(folder / "mail"),
        REGISTRY_UPLOAD_DIR=str(folder / "uploads"),
        REGISTRY_SEARCH_INDEX_DIR=str(folder / "index"),
        # The test speaks plain HTTP to nginx; production sends the cookie over HTTPS only.
        REGISTRY_SESSION_COOKIE_SECURE="false",
    )
    return env


def _nginx(folder: Path, port: int, nodes: list[int]) -> subprocess.Popen:
    """nginx with the rendered site file (and a minimal main file of the test's own)."""
    site = subprocess.run(
        [str(DEPLOY / "render-nginx.sh")],
        env={
            **os.environ,
            "REGISTRY_NODES": " ".join(f"127.0.0.1:{n}" for n in nodes),
            "LISTEN": f"127.0.0.1:{port}",
        },
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (folder / "registry.conf").write_text(site)
    temp = {k: folder / f"nginx-{k}" for k in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    (folder / "nginx.conf").write_text(
        f"user root; worker_processes 1; daemon off; pid {folder}/nginx.pid;\n"
        f"error_log {folder}/nginx-error.log;\n"
        "events { worker_connections 1024; }\n"
        "http { include /etc/nginx/mime.types;\n"
        f"  access_log {folder}/nginx-access.log;\n"
        f"  client_body_temp_path {temp['body']}; proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']}; uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n"
        f"  include {folder}/registry.conf; }}\n"
    )
    return subprocess.Popen([NGINX, "-c", str(folder / "nginx.conf")], stderr=subprocess.DEVNULL)


def _wait(port: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _get(port, "/healthz")[0] in (200, 503):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"nothing answered on port {port}")


def _get(port: int, path: str, cookie: str = "") -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        reply = connection.getresponse()
        set_cookie = reply.getheader("Set-Cookie") or ""
        return reply.status, reply.read().decode(), set_cookie.split(";")[0]
    finally:
        connection.close()


def _too_large(port: int) -> tuple[int, str]:
    """A POST that announces a body over client_max_body_size: nginx answers before reading it."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % (13 * 1024 * 1024)
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def _register(port: int, username: str) -> bool:
    """One registration as a browser makes it; True when the site acknowledged it (302)."""
    status, page, cookie = _get(port, "/register")
    if status != 200:
        return False
    a, op, b = QUESTION.search(page).groups()
    a, b = DIGITS.index(a) + 1, DIGITS.index(b) + 1
    from urllib.parse import urlencode

    from tests import factories

    form = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
        "role": "enterprise",
        "org_name": f"天津部署测试{username}有限公司",
        "org_uscc": factories.uscc(),
        "contact_name": "钱进",
        "phone": "13712345678",
        "email": f"{username}@deploy-test.cn",
        "username": username,
        "password": PASSWORD,
        "confirm": PASSWORD,
        "challenge": str(a * b if op == "乘以" else a + b),
        "website": "",
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(
            "POST",
            "/register",
            body=urlencode(form),
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = connection.getresponse()
        reply.read()
        location = reply.getheader("Location") or ""
    finally:
        connection.close()
    return reply.status == 302 and "/account/confirm-email" in location


@pytest.fixture
def empty_database():
    """A new, empty PostgreSQL database (dropped afterwards): the deployment migrates and seeds
    it itself, as on a new server."""
    if not (PG_URL or "").startswith("postgresql"):
        pytest.skip("REGISTRY_TEST_DATABASE_URL does not name a PostgreSQL database")
    name = f"deploy_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs it)")
def test_two_nodes_behind_nginx_one_killed_nothing_lost(tmp_path, empty_database):
    if not _redis_up():
        pytest.skip("Redis is not answering at 127.0.0.1:6379")
    database_url = empty_database
    front, nodes = _free_port(), [_free_port(), _free_port()]
    env = _environment(database_url, tmp_path, f"http://127.0.0.1:{front}")
    subprocess.run(_exec_start("registry-migrate.service", 0), env=env, check=True)
    subprocess.run([f"{BIN}/registry", "seed"], env=env, check=True, capture_output=True)
    servers = []
    for port in nodes:
        node_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{port}")}
        with (tmp_path / f"node-{port}.log").open("w") as log:
            servers.append(
                subprocess.Popen(
                    _exec_start("registry-web@.service", port),
                    env=node_env,
                    stdout=log,
                    stderr=log,
                    cwd=ROOT,
                    start_new_session=True,
                )
            )
    proxy = _nginx(tmp_path, front, nodes)
    acknowledged, failed_reads_after_kill = [], []
    killed_at = [None]
    stop = threading.Event()
    try:
        for port in (*nodes, front):
            _wait(port)

        def writer(n: int) -> None:
            count = 0
            while not stop.is_set():
                username = f"deploy-{n}-{count}"
                count += 1
                try:
                    if _register(front, username):
                        acknowledged.append(username)
                except (OSError, http.client.HTTPException):
                    # Cut off when its node was killed (IncompleteRead mid-body): no
                    # acknowledgement, so nothing that must be found afterwards.
                    pass

        def reader() -> None:
            while not stop.is_set():
                for path in ("/", "/services", "/providers", "/search?q=" + quote("环评")):
                    try:
                        status = _get(front, path)[0]
                    except (OSError, http.client.HTTPException):
                        status = 0
                    grace = killed_at[0] is not None and time.monotonic() > killed_at[0] + 1
                    if grace and status != 200:
                        failed_reads_after_kill.append((path, status))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
        threads.append(threading.Thread(target=reader))
        for thread in threads:
            thread.start()
        time.sleep(4)
        os.killpg(servers[0].pid, signal.SIGKILL)  # the whole node: master and workers
        killed_at[0] = time.monotonic()
        before_kill = len(acknowledged)
        time.sleep(5)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert before_kill > 0
        assert len(acknowledged) > before_kill  # the other node took the writes on
        assert failed_reads_after_kill == []
        assert _get(front, "/healthz")[0] == 200
        # A request over nginx's limit never reaches a node: nginx's own page, in Chinese.
        status, page = _too_large(front)
        assert status == 413
        assert "提交的内容超过了允许的大小" in page

        engine = create_engine(database_url)
        with engine.connect() as connection:
            stored = set(
                connection.scalars(
                    text("SELECT username FROM users WHERE username LIKE 'deploy-%'")
                )
            )
            mailed = set(
                connection.scalars(
                    text(
                        "SELECT to_address FROM mail_outbox WHERE to_address LIKE '%@deploy-test.cn'"
                    )
                )
            )
        engine.dispose()
        assert set(acknowledged) <= stored
        assert {f"{u}@deploy-test.cn" for u in acknowledged} <= mailed
    finally:
        stop.set()
        proxy.terminate()
        proxy.wait(timeout=10)
        for server in servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
