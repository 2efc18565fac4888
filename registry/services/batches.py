"""Batched jobs: a service that walks many rows works one small batch at a time and yields after
each, so that its caller (a CLI command, the worker) commits between batches and no transaction
holds SQLite's write lock for long. Every batch is idempotent on its own: a run stopped between
batches leaves consistent data, and the next run completes it.

A batched service is a generator: it yields the number of rows the batch handled and returns its
summary. `exhaust` runs one to the end without committing (callers inside one unit of work,
tests); the committing loop, `jobs.run_committing`, belongs to the callers."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.sql.base import ExecutableOption

from registry.extensions import db

T = TypeVar("T")
# A batched service: yields after each batch (rows handled), returns its summary.
Batches = Generator[int, None, T]

# Rows per batch by default: small enough that a batch on SQLite takes a fraction of a second.
BATCH_SIZE = 20


def exhaust(batches: Batches[T]) -> T:
    """Run a batched service to the end in the current transaction; its summary."""
    while True:
        try:
            next(batches)
        except StopIteration as done:
            return done.value


def id_batches(query: Select[Any], column: Any, size: int = BATCH_SIZE) -> Iterator[list[int]]:
    """The ids `query` selects (one id column), in ascending batches of `size`, read batch by
    batch (keyset pagination): each batch is read in the transaction that will work on it, so
    rows added meanwhile are included and rows gone are skipped."""
    last = None
    while True:
        page = query.order_by(column).limit(size)
        if last is not None:
            page = page.where(column > last)
        ids = list(db.session.scalars(page))
        if not ids:
            return
        yield ids
        if len(ids) < size:
            return
        last = ids[-1]


def batch_rows(model: Any, ids: list[int], *options: ExecutableOption) -> list[Any]:
    """The rows of one batch (`ids` from `id_batches`) in id order, with `options` (the eager
    loads the batch's work needs) applied."""
    query = select(model).where(model.id.in_(ids)).options(*options).order_by(model.id)
    return list(db.session.scalars(query))
