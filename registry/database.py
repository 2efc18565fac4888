"""Engine tuning: SQLite in WAL mode with foreign keys and immediate (write-locking) transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

# Whether the current unit of work may write. Safe requests (GET/HEAD) clear it so that public
# readers take a deferred transaction and never queue behind a writer in WAL mode.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def configure_engine(engine: Engine) -> None:
    """Apply per-dialect settings; a no-op for PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of one
        # failing with "database is locked" halfway through a read-then-write transaction.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


@contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside this block only read: they take no write lock on SQLite, so a
    helper session never queues behind the caller's own open write transaction."""
    token = write_intent.set(False)
    try:
        yield
    finally:
        write_intent.reset(token)
