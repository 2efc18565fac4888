"""Whether the site runs on this instance: `registry serve`, gunicorn's master and `registry
worker` hold a shared lock on `RUN_LOCK_FILE` (instance/running.lock) for as long as they run, and
`registry restore` takes it exclusively. A restore therefore refuses while any of them runs on this node, and a site
started during a restore refuses to start. (PostgreSQL's other nodes are seen from the server:
services/backups.py asks it which other sessions use the database.)"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from flask import Flask

LOCK_FILE = "running.lock"

# gunicorn's master holds its lock for the life of the process (see hold).
_held: list[IO[str]] = []


class Busy(Exception):
    """The lock is held the other way; the message is for the operator (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _open(app: Flask) -> IO[str]:
    path = Path(app.config["RUN_LOCK_FILE"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")


def _take(handle: IO[str], mode: int, message: str) -> None:
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise Busy(message) from None


@contextmanager
def serving(app: Flask) -> Iterator[None]:
    """This process runs the site (or the worker) for the block; Busy while a restore is under
    way."""
    with _open(app) as handle:
        _take(handle, fcntl.LOCK_SH, "正在恢复备份(registry restore),恢复完成后再启动。")
        yield


def hold(app: Flask) -> None:
    """`serving` for the rest of the process (gunicorn's master; its workers inherit it)."""
    context = serving(app)
    context.__enter__()
    _held.append(context)


@contextmanager
def alone(app: Flask) -> Iterator[None]:
    """Run the block only while no site or worker runs on this instance; Busy otherwise. Nothing
    can start until the block ends."""
    with _open(app) as handle:
        _take(
            handle,
            fcntl.LOCK_EX,
            "本实例的站点或 worker 仍在运行。请先停止所有节点的站点与 worker,再恢复备份。",
        )
        yield
