"""Slow clients against the two ways of serving: gunicorn's sync workers (what `make run` used
before issue 14) and `registry serve` (Waitress, what it uses now).

Not part of the test suite. Run it from the repository root:

    .venv/bin/python bench/slow_clients_bench.py                # 20 and 200 slow clients
    .venv/bin/python bench/slow_clients_bench.py --slow 200 --timeout 10

For each server and each number of slow clients: a fresh seeded SQLite database, the server on a
free port, N connections that send "GET /services HTTP/1.1 …" and then one more header byte every
half second, never finishing; then 6 ordinary requests from another client, each with a timeout.
Prints, per run, how many of the 6 were answered and their median latency in milliseconds, and
the same 6 requests with no slow client first (the baseline of the same run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PATHS = ("/", "/services", "/providers", "/notices", "/services/ZJ-03", "/sitemap")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _seeded(folder: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "REGISTRY_SEARCH_INDEX_DIR": str(folder / "index"),
        "REGISTRY_UPLOAD_DIR": str(folder / "uploads"),
        "REGISTRY_SECRET_KEY": "bench",
    }
    for command in (["init-db"], ["seed"]):
        subprocess.run([BIN / "registry", *command], env=env, check=True, capture_output=True)
    return env


def _start(kind: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    if kind == "gunicorn-sync":
        command = [BIN / "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
        command.append("registry:create_app()")
    else:
        command = [BIN / "registry", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, cwd=ROOT)
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{kind} did not start")


def _requests(port: int, timeout: float) -> tuple[int, list[float]]:
    answered, took = 0, []
    for path in PATHS:
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
                r.read()
                answered += r.status == 200
                took.append((time.perf_counter() - start) * 1000)
        except OSError:
            pass
    return answered, took


def _run(kind: str, slow: int, timeout: float) -> str:
    with tempfile.TemporaryDirectory() as folder:
        env = _seeded(Path(folder))
        port = _free_port()
        server = _start(kind, port, env)
        sockets, stop = [], threading.Event()
        try:
            _requests(port, timeout)  # warm up
            idle_answered, idle = _requests(port, timeout)
            for _ in range(slow):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"GET /services HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                sockets.append(sock)

            def trickle():
                while not stop.wait(0.5):
                    for sock in sockets:
                        with contextlib.suppress(OSError):
                            sock.sendall(b"x")

            threading.Thread(target=trickle, daemon=True).start()
            time.sleep(1)
            answered, took = _requests(port, timeout)
        finally:
            stop.set()
            for sock in sockets:
                sock.close()
            server.terminate()
            server.wait(timeout=30)

    def median(values):
        return f"{statistics.median(values):.0f}" if values else "—"

    return (
        f"{kind:14} slow={slow:4}  idle: {idle_answered}/6 answered, median {median(idle)} ms"
        f"  |  with slow clients: {answered}/{len(PATHS)} answered, median {median(took)} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, nargs="*", default=[20, 200])
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    for kind in ("gunicorn-sync", "registry-serve"):
        for slow in args.slow:
            print(_run(kind, slow, args.timeout), flush=True)


if __name__ == "__main__":
    main()
