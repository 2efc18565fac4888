"""Bulk jobs work in small batches committed one by one (issue 14, item 2): running one twice
stores what one run stores, a run stopped between batches leaves consistent data that the next
run completes, and a full reindex builds beside the live index, catching edits made meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import (
    AuditEntry,
    BehaviourEvent,
    MailMessage,
    Notification,
    Provider,
    Qualification,
    ServiceItem,
)
from registry.search.base import SearchRequest
from registry.search.engine import get_engine
from registry.search.query import parse_query
from registry.services import delivery, grades, jobs, providers, roadmaps
from registry.services.batches import exhaust
from tests.conftest import TEST_TODAY

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

LATER = TEST_TODAY + timedelta(days=45)  # more steps overdue, more certificates run out
MUCH_LATER = TEST_TODAY + timedelta(days=500)  # every rating has aged out of the window


class Interrupted(Exception):
    """Raised by the test hook after a job's first batch (a crash, a kill)."""


def _stop_after_first_batch():
    raise Interrupted


def _rows(statement) -> list[tuple]:
    return sorted((tuple(row) for row in db.session.execute(statement)), key=repr)


def _stored() -> dict:
    """What the daily jobs store, without timestamps."""
    db.session.expire_all()
    return {
        "notifications": _rows(
            select(Notification.step_id, Notification.kind, Notification.due_on)
        ),
        "events": _rows(select(BehaviourEvent.kind, BehaviourEvent.source)),
        "flagged": sorted(
            db.session.scalars(
                select(Qualification.id).where(Qualification.expired_flagged_at.is_not(None))
            )
        ),
        "grades": _rows(select(Provider.id, Provider.grade, Provider.credit_score)),
        "grade_audits": db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "provider.grade")
        ),
        "mails": db.session.scalar(select(func.count(MailMessage.id))),
    }


def _daily_batches(day):
    """Every batched daily job as of day, with one row per batch (so there are many)."""
    return [
        providers.qualification_batches(day, size=1),
        grades.recompute_batches(MUCH_LATER, size=2),
        roadmaps.deadline_batches(day, 3, size=1),
        delivery.reminder_batches(day, 3, size=1),
    ]


@pytest.mark.demo
def test_job_batches_check_deadlines_twice_stores_what_one_run_stores(app, runner):
    with app.app_context():
        before = _stored()
    first = runner.invoke(args=["check-deadlines", "--yes", "--date", LATER.isoformat()])
    assert first.exit_code == 0, first.output
    with app.app_context():
        once = _stored()
    assert len(once["notifications"]) > len(before["notifications"])  # the run did something
    assert len(once["flagged"]) > len(before["flagged"])
    second = runner.invoke(args=["check-deadlines", "--yes", "--date", LATER.isoformat()])
    assert second.exit_code == 0, second.output
    assert "本次新标记 0 项,记录行为事件 0 条" in second.output
    assert "新增到期预警 0 条、超时通报 0 条" in second.output
    with app.app_context():
        assert _stored() == once


@pytest.mark.demo
def test_job_batches_recompute_grades_twice_stores_what_one_run_stores(app, runner):
    first = runner.invoke(args=["recompute-grades", "--yes", "--date", MUCH_LATER.isoformat()])
    assert first.exit_code == 0, first.output
    assert "有变化 0 家" not in first.output  # the ratings aged out: grades changed
    with app.app_context():
        once = _stored()
    second = runner.invoke(args=["recompute-grades", "--yes", "--date", MUCH_LATER.isoformat()])
    assert "有变化 0 家" in second.output
    with app.app_context():
        assert _stored() == once


@pytest.mark.demo
def test_job_batches_interrupted_between_batches_are_completed_by_the_next_run(app):
    with app.app_context():
        # What one uninterrupted run stores, in one transaction that is then undone.
        for batches in _daily_batches(LATER):
            exhaust(batches)
        expected = _stored()
        db.session.rollback()
        untouched = _stored()
        assert untouched != expected
        for make in range(4):
            # Each job crashes right after its first batch was committed …
            with pytest.raises(Interrupted):
                jobs.run_committing(
                    _daily_batches(LATER)[make], after_batch=_stop_after_first_batch
                )
            db.session.rollback()
        partial = _stored()
        assert partial != untouched  # the first batches stayed
        assert partial != expected  # and the rest were left for the next run
        # … and the next run completes them, storing what one run would have.
        for batches in _daily_batches(LATER):
            jobs.run_committing(batches)
        assert _stored() == expected
        # A consistent state throughout: no notification or event twice.
        on_steps = [n for n in expected["notifications"] if n[0] is not None]
        assert len(set(on_steps)) == len(on_steps)
        assert len(set(expected["events"])) == len(expected["events"])


def _search(text: str) -> list[str]:
    return [hit.doc_id for hit in get_engine().search(SearchRequest(parse_query(text))).hits]


def test_job_batches_reindex_catches_edits_made_while_it_builds(app):
    with app.app_context():
        engine = get_engine()
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-03"))
        edited = {"done": False}

        def edit_meanwhile(_count: int) -> None:
            # An admin renames a service item while the rebuild is writing its documents.
            if not edited["done"]:
                edited["done"] = True
                item.name = "基准改名测绘服务"
                db.session.commit()

        count = engine.rebuild(progress=edit_meanwhile)
        assert edited["done"]
        assert count > 50
        assert "service:ZJ-03" in _search("基准改名测绘服务")
        assert engine.verify().clean
        if not engine.in_transaction:
            backend = engine.backend
            live = backend.live_directory()
            assert live != backend.directory  # built beside, then switched to
            assert not list(backend.directory.glob("*.toc"))  # the old generation is gone
            assert not (backend.directory / "REBUILD_JOURNAL").exists()


def test_job_batches_reindex_that_fails_leaves_the_live_index_serving(app):
    with app.app_context():
        engine = get_engine()
        engine.rebuild()
        before = engine.backend.health()["documents"] if not engine.in_transaction else None

        def crash(_count: int) -> None:
            raise Interrupted

        with pytest.raises(Interrupted):
            engine.rebuild(progress=crash)
        assert "service:ZJ-03" in _search("环评")
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-03"))
        item.name = "中断后改名服务"
        db.session.commit()  # writes go on after the failed rebuild
        assert "service:ZJ-03" in _search("中断后改名服务")
        assert engine.verify().clean
        if before is not None:
            backend = engine.backend
            assert backend.health()["documents"] == before
            assert not (backend.directory / "REBUILD_JOURNAL").exists()
            assert [p.name for p in backend.directory.iterdir() if p.is_dir()] == [
                backend.live_directory().name
            ]


def test_job_batches_savepoint_inside_a_job_does_not_drain_the_outbox(app, caplog):
    # SQLAlchemy reports a released savepoint as a commit: draining then (in another
    # connection) waited on the job's own write lock for the busy timeout and failed.
    with app.app_context():
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-03"))
        item.name = "保存点内改名服务"
        db.session.flush()
        with db.session.begin_nested():
            db.session.add(
                Notification(kind="考评开启", message="保存点", due_on=TEST_TODAY, user_id=None)
            )
        if not get_engine().in_transaction:  # Whoosh: drained after the commit, not before
            assert "service:ZJ-03" not in _search("保存点内改名服务")
        db.session.commit()
        assert "service:ZJ-03" in _search("保存点内改名服务")
    assert "drain after commit failed" not in caplog.text
