"""A `limits` storage in the app's own database (URI scheme ``registry-db://``): one fixed-window
counter per key in the rate_limits table, so a limit is exact whatever the number of gunicorn
workers and of app nodes on one database. No maintained `limits` storage uses SQL (it ships
memory, Redis, Memcached, MongoDB); Redis stays the choice for large setups.

Every hit is one atomic upsert-increment (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, on
SQLite ≥ 3.35 and PostgreSQL alike) on a connection of its own that commits at once: the count
never joins, nor is rolled back with, the request's transaction, so a refused sign-in counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import current_app
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from registry.database import read_only, write_intent
from registry.kernel import clock

# The table of registry.models.ratelimit.RateLimitCounter, named here as a plain table so that
# this module (imported by registry.extensions to register its scheme) needs no model import.
_COUNTERS = sa.table(
    "rate_limits",
    sa.column("key", sa.Text),
    sa.column("expires_at", sa.Float),
    sa.column("count", sa.Integer),
)


class DatabaseStorage(Storage):
    """Fixed-window counters in the rate_limits table of the current app's database."""

    STORAGE_SCHEME = ["registry-db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    # ------------------------------------------------------------------ the limits interface

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count amount more hits of key; a key whose window has passed starts a new one."""
        now = clock.timestamp()
        insert = (postgresql if self._engine().dialect.name == "postgresql" else sqlite).insert
        row = insert(_COUNTERS).values(key=key, expires_at=now + expiry, count=amount)
        expired = _COUNTERS.c.expires_at <= now
        statement = row.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": sa.case(
                    (expired, row.excluded["count"]), else_=_COUNTERS.c["count"] + amount
                ),
                "expires_at": sa.case(
                    (expired, row.excluded.expires_at), else_=_COUNTERS.c.expires_at
                ),
            },
        ).returning(_COUNTERS.c["count"])
        with self._transaction() as connection:
            count = connection.execute(statement).scalar_one()
        if count == amount:
            # A new window began: a cheap moment to drop the windows that ended (indexed).
            with self._transaction() as connection:
                connection.execute(sa.delete(_COUNTERS).where(_COUNTERS.c.expires_at <= now))
        return count

    def get(self, key: str) -> int:
        """Hits of key in its current window (0 once the window has passed)."""
        with read_only(), self._engine().connect() as connection:
            count = connection.execute(
                sa.select(_COUNTERS.c["count"]).where(
                    _COUNTERS.c.key == key, _COUNTERS.c.expires_at > clock.timestamp()
                )
            ).scalar()
        return count or 0

    def get_expiry(self, key: str) -> float:
        """When key's window ends (seconds since the epoch); now when there is none."""
        now = clock.timestamp()
        with read_only(), self._engine().connect() as connection:
            expiry = connection.execute(
                sa.select(_COUNTERS.c.expires_at).where(
                    _COUNTERS.c.key == key, _COUNTERS.c.expires_at > now
                )
            ).scalar()
        return expiry if expiry is not None else now

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with read_only(), self._engine().connect() as connection:
                connection.execute(sa.select(sa.func.count()).select_from(_COUNTERS))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; returns how many there were."""
        with self._transaction() as connection:
            return connection.execute(sa.delete(_COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        """Forget key's counter."""
        with self._transaction() as connection:
            connection.execute(sa.delete(_COUNTERS).where(_COUNTERS.c.key == key))

    # ------------------------------------------------------------------ connections

    @staticmethod
    def _engine() -> Engine:
        return current_app.extensions["sqlalchemy"].engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A short write transaction on a connection of its own, committed on leaving the block."""
        engine = self._engine()
        if engine.dialect.name == "sqlite":
            _end_read_transaction()
        token = write_intent.set(True)  # take the write lock up front (BEGIN IMMEDIATE)
        try:
            with engine.begin() as connection:
                yield connection
        finally:
            write_intent.reset(token)


def _end_read_transaction() -> None:
    """End the request's transaction on SQLite when it holds no unflushed change.

    A POST's first read begins IMMEDIATE and so holds the file's write lock; a second connection
    of the same thread waiting for that lock could only time out. Limits are checked before the
    view writes, so that transaction has only read (the user behind the session): ending it costs
    a reload of those rows, and the request's own work begins afresh after the count.
    """
    session = current_app.extensions["sqlalchemy"].session()  # this app context's Session
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    session.commit()
