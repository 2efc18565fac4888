"""Slow clients do not hold the site: `registry serve` (what `make run` serves with) keeps
answering other people while 200 connections trickle their requests a byte at a time.

A real server process on a copy of the seeded database; the slow clients are real sockets that
never finish their request headers while the test runs."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

REGISTRY = str(Path(sys.executable).parent / "registry")
SLOW_CLIENTS = 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, server: subprocess.Popen, log: Path) -> None:
    """Until the server accepts connections (it exits with its log if it cannot start)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"registry serve exited: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("registry serve did not start")


@pytest.fixture
def served(tmp_path, golden):
    """`registry serve` on a free port, on a copy of the seeded SQLite database."""
    port = _free_port()
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": golden.sqlite_copy(tmp_path),
        "REGISTRY_SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "REGISTRY_UPLOAD_DIR": str(tmp_path / "uploads"),
        "REGISTRY_SECRET_KEY": "slow-clients",
        "REGISTRY_SERVE_THREADS": "4",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [REGISTRY, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        _wait_for(port, server, log)
        yield port, log
    finally:
        server.terminate()
        server.wait(timeout=10)


def _trickle(sockets: list[socket.socket], stop: threading.Event) -> None:
    """Each slow client sends one more byte of a header that never ends, every half second."""
    while not stop.wait(0.5):
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.sendall(b"x")


@pytest.mark.concurrency
@pytest.mark.realclock
def test_slow_clients_do_not_hold_the_site(served):
    port, log = served
    slow = []
    stop = threading.Event()
    trickler = threading.Thread(target=_trickle, args=(slow, stop), daemon=True)
    try:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /services HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(sock)
        trickler.start()
        time.sleep(1)  # every slow request is in, each waiting for the rest of its headers
        # Other people are answered, each well within a timeout a browser would keep.
        for path in ("/", "/services", "/providers", "/notices", "/services/ZJ-03", "/guide"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
                assert reply.status == 200
                assert "中介服务" in reply.read().decode()
        # The slow clients are still connected (held, not dropped to make room).
        still_open = 0
        for sock in slow:
            try:
                sock.sendall(b"y")
                still_open += 1
            except OSError:
                pass
        assert still_open == SLOW_CLIENTS
        # Each answered request has its access-log line (with its request id).
        time.sleep(0.2)
        assert '"GET /guide HTTP/1.1" 200' in log.read_text()
    finally:
        stop.set()
        for sock in slow:
            sock.close()


@pytest.mark.realclock
def test_serve_file_a_little_too_large_is_refused_in_chinese(served):
    """A body over the app's limit (MAX_CONTENT_LENGTH, 12 MiB) is refused by the app with its
    Chinese 413 page: Waitress lets bodies up to twice the limit through to it. Before, Waitress
    answered every such request itself: "Request Entity Too Large", in English."""
    port, _log = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/login",
            body=b"x" * (13 * 1024 * 1024),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = connection.getresponse()
        page = reply.read().decode()
    finally:
        connection.close()
    assert reply.status == 413
    assert "内容过大" in page
    assert "提交的内容超过了允许的大小" in page
    assert "每次提交连同附件不超过 12 MB" in page  # how much is allowed (a tester, stop 30)
