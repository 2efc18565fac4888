"""Whether the site runs on this instance: `registry serve`, gunicorn's master, `registry worker`
and the commands that write on their own (`seed`, `check-deadlines`, `recompute-grades`) hold a
shared lock on `RUN_LOCK_FILE` (instance/running.lock) while they run, and `registry restore`
takes it exclusively. A restore therefore refuses while any of them runs on this node, and a site
started during a restore refuses to start. (Other nodes of a PostgreSQL installation are seen
from the server: services/backups.py asks it which sessions use the database.)

The lock is taken on a descriptor opened read-only (flock needs no write access): an operator's
restore run as another account leaves a file the site can still lock. Where the file cannot be
opened at all (a read-only instance folder), the site and the worker run without it, with a
warning; a restore refuses."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from flask import Flask

log = logging.getLogger(__name__)

# gunicorn's master holds its lock for the life of the process (see hold).
_held: list[AbstractContextManager[None]] = []


class Busy(Exception):
    """The lock is held the other way, or cannot be had; the message is for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _open(app: Flask) -> int:
    """A read-only descriptor of the lock file (created if missing); OSError when it cannot be."""
    path = Path(app.config["RUN_LOCK_FILE"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDONLY | os.O_CREAT, 0o640)


def _take(descriptor: int, mode: int, message: str) -> None:
    try:
        fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise Busy(message) from None


@contextmanager
def serving(app: Flask) -> Iterator[None]:
    """This process runs the site (or writes as the worker does) for the block; Busy while a
    restore is under way."""
    try:
        descriptor = _open(app)
    except OSError as error:
        log.warning("运行锁 %s 无法打开(%s):本进程不持锁运行", app.config["RUN_LOCK_FILE"], error)
        yield
        return
    _take(descriptor, fcntl.LOCK_SH, "正在恢复备份(registry restore),恢复完成后再启动。")
    try:
        yield
    finally:
        os.close(descriptor)


def hold(app: Flask) -> None:
    """`serving` for the rest of the process (gunicorn's master; its workers inherit it)."""
    context = serving(app)
    context.__enter__()
    _held.append(context)


@contextmanager
def alone(app: Flask) -> Iterator[None]:
    """Run the block only while nothing of this instance runs (see `serving`); Busy otherwise.
    Nothing can start until the block ends."""
    try:
        descriptor = _open(app)
    except OSError as error:
        raise Busy(
            f"无法打开运行锁 {app.config['RUN_LOCK_FILE']}({error.strerror}),"
            "无法确认站点已停止;请检查 REGISTRY_RUN_LOCK_FILE 及其目录的权限。"
        ) from None
    _take(
        descriptor,
        fcntl.LOCK_EX,
        "本实例的站点或 worker 仍在运行。请先停止所有节点的站点与 worker,再恢复备份。",
    )
    try:
        yield
    finally:
        os.close(descriptor)
