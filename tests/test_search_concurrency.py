"""Several processes writing at once (as gunicorn workers do): no lock error, no lost write, and
the index ends exactly in step with the database."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import SearchOutbox
from registry.search.base import SearchRequest
from registry.search.engine import get_engine
from registry.search.query import parse_query
from tests.conftest import make_app

WORKERS, WRITES = 4, 25


def _writer(url: str, tmp: str, worker: int, queue) -> None:
    """One worker process: WRITES catalogue edits, each its own request-sized transaction."""
    from pathlib import Path

    from registry.services import catalogue

    app = make_app(url, Path(tmp))
    errors = 0
    with app.app_context():
        for n in range(WRITES):
            try:
                catalogue.create_service_item(
                    {
                        "code": f"C{worker}-{n}",
                        "name": f"并发写入测试事项{worker}号{n}",
                        "department": "SW",
                        "legal_basis": [],
                    },
                    actor=None,
                )
                db.session.commit()
            except Exception:  # noqa: BLE001 - counted, and the test fails on any
                db.session.rollback()
                errors += 1
        db.session.remove()
        db.engine.dispose()
    queue.put(errors)


@pytest.mark.concurrency
def test_search_concurrent_writers_lose_nothing(app, database_url, tmp_path):
    # Started from a fork server that has imported the app once (as gunicorn's workers fork from
    # a master with --preload), not each spawned afresh: four imports of the app cost 12 s of
    # CPU. The fork server runs no thread, so forking from it is safe.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["registry.services.catalogue", "tests.conftest"])
    queue = context.Queue()
    processes = [
        context.Process(target=_writer, args=(database_url, str(tmp_path), w, queue))
        for w in range(WORKERS)
    ]
    for process in processes:
        process.start()
    errors = [queue.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert errors == [0] * WORKERS
    with app.app_context():
        engine = get_engine()
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
        drift = engine.verify()
        assert drift.clean, drift
        result = engine.search(SearchRequest(parse_query("并发写入测试事项"), per_page=5))
        assert result.total == WORKERS * WRITES
