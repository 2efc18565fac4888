"""Crash diagnostics and the fork hazard (issue 14, item 4: a web worker died of SIGSEGV).

A crashed gunicorn worker or `registry serve` leaves every thread's Python stack in its log,
without PYTHONFAULTHANDLER in the environment; and no web process ever forks the parallel index
rebuild (the CLI's `registry reindex` still does)."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import time
import urllib.request
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

from registry.config import PROJECT_ROOT
from registry.extensions import db
from registry.search import whoosh_backend
from registry.search.engine import get_engine
from tests.conftest import make_app

BIN = Path(sys.executable).parent
# A WSGI app whose first request dies the way the worker in issue 14 did.
CRASHING_APP = """
import ctypes


def app(environ, start_response):
    ctypes.string_at(1)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _without_faulthandler_variable() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}


def _wait_for_text(log: Path, text: str, server: subprocess.Popen) -> str:
    """The log once it holds text (or whatever it holds when the server ended or 60 s passed)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        content = log.read_text("utf-8", "replace")
        if text in content or server.poll() is not None:
            return content
        time.sleep(0.2)
    return log.read_text("utf-8", "replace")


@pytest.mark.concurrency
@pytest.mark.realclock
def test_crash_gunicorn_worker_leaves_its_stack_in_the_log(tmp_path):
    (tmp_path / "crashing.py").write_text(CRASHING_APP)
    port, log = _free_port(), tmp_path / "gunicorn.log"
    env = _without_faulthandler_variable() | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    command = [str(BIN / "gunicorn"), "-c", "python:registry.gunicorn_conf", "--workers", "1"]
    command += ["--bind", f"127.0.0.1:{port}", "--pythonpath", str(tmp_path), "crashing:app"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=PROJECT_ROOT)  # fmt: skip
    try:
        assert "Booting worker" in _wait_for_text(log, "Booting worker", server)
        with pytest.raises(ConnectionError):  # the worker died without answering
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
        content = _wait_for_text(log, "was sent SIGSEGV", server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "was sent SIGSEGV" in content
    assert "Fatal Python error: Segmentation fault" in content
    # The stack names the line that crashed.
    assert 'crashing.py", line 6 in app' in content


@pytest.mark.concurrency
@pytest.mark.realclock
def test_crash_registry_serve_leaves_its_stack_on_stderr(tmp_path):
    # The server itself is replaced by a crash: what counts is what `registry serve` set up first.
    script = (
        "import ctypes, sys, waitress\n"
        "waitress.serve = lambda app, **options: ctypes.string_at(1)\n"
        "from registry.cli import main\n"
        "sys.argv = ['registry', 'serve', '--port', '0']\n"
        "main()\n"
    )
    env = _without_faulthandler_variable() | {
        "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "REGISTRY_SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "REGISTRY_SECRET_KEY": "test",
    }
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=120)  # fmt: skip
    assert done.returncode == -11
    assert "Fatal Python error: Segmentation fault" in done.stderr
    assert 'registry/serve.py", line' in done.stderr


@pytest.fixture
def process_starts(monkeypatch):
    """Every multiprocessing process started in this test (they still start)."""
    started: list[str] = []
    original = BaseProcess.start

    def recording(process):
        started.append(type(process).__name__)
        return original(process)

    monkeypatch.setattr(BaseProcess, "start", recording)
    return started


@pytest.fixture
def parallel_from_ten(app, monkeypatch):
    """The parallel rebuild at ten documents instead of thousands (the catalogue has 58)."""
    if app.config["SEARCH_BACKEND"] != "whoosh":
        pytest.skip("only the Whoosh backend rebuilds with several processes")
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the parallel rebuild needs the fork start method")
    monkeypatch.setattr(whoosh_backend, "PARALLEL_FROM", 10)
    monkeypatch.setattr(whoosh_backend, "PARALLEL_BATCH", 8)


@pytest.mark.concurrency
def test_crash_web_request_rebuilds_the_index_without_forking(
    app, database_url, tmp_path, parallel_from_ten, process_starts
):
    # A new node (or a lost index) beside existing data: the first search request rebuilds.
    fresh = make_app(database_url, tmp_path, SEARCH_INDEX_DIR=str(tmp_path / "new-index"))
    with fresh.app_context():
        assert get_engine().backend.rebuild_procs == 2
    page = fresh.test_client().get("/search?q=环评")
    assert page.status_code == 200
    assert "/services/ZJ-03" in page.get_data(as_text=True)
    assert process_starts == []
    with fresh.app_context():
        assert get_engine().backend.health()["documents"] == 58
        db.session.remove()
        db.engine.dispose()


@pytest.mark.concurrency
def test_crash_reindex_command_still_rebuilds_in_parallel(
    app, runner, parallel_from_ten, process_starts
):
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "58" in result.output
    assert process_starts == ["SubWriterTask", "SubWriterTask"]
    with app.app_context():
        assert get_engine().verify().clean
