"""SQL statement counts: pages and the cron over many projects load them in a fixed number of
queries (no lazy load per project or step), and the header badge is one COUNT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from registry.extensions import db
from registry.models import Notification, NotificationRead, RoadmapStep, User
from registry.services import roadmaps
from registry.services.batches import exhaust
from tests import factories

TODAY = date(2026, 11, 23)
CATEGORIES = ("民营/外资", "国有", "简易低风险厂房")


@contextmanager
def _statements(app) -> Iterator[list[str]]:
    """Collect every SQL statement the engine sends while the block runs."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def collect(_conn, _cursor, statement, _parameters, _context, _executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", collect)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", collect)


def _add_projects(app, make_user, count: int) -> None:
    """`count` planned projects, each of its own enterprise, category in turn, late enough to
    have overdue steps, served by their own concierge and expert."""
    for n in range(count):
        owner, concierge, expert = make_user("enterprise"), make_user("staff"), make_user("staff")
        with app.app_context():
            user = db.session.get(User, owner.id)
            project = factories.enterprise_with_project(
                user, category=CATEGORIES[n % len(CATEGORIES)]
            )
            project.land_contract_date = date(2026, 1, 5) + timedelta(days=7 * n)
            roadmaps.create_roadmap(project, actor=user)
            project.concierge = db.session.get(User, concierge.id)
            project.expert = db.session.get(User, expert.id)
            db.session.commit()


@pytest.fixture
def staff_client(client, make_user, login, frozen_clock):
    """A client signed in as staff, with today pinned."""
    frozen_clock.freeze(TODAY)
    login(make_user("staff"))
    return client


@pytest.mark.parametrize("url", ["/staff/deadlines", "/staff/projects"])
def test_roadmap_queries_staff_pages_do_not_grow_with_projects(app, staff_client, make_user, url):
    counts = {}
    for total, added in ((3, 3), (12, 9)):
        _add_projects(app, make_user, added)
        with _statements(app) as seen:
            page = staff_client.get(url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert html.count('href="/projects/') >= total
        counts[total] = len(seen)
    assert counts[12] <= counts[3] + 2, counts


def test_roadmap_queries_deadline_check_does_not_grow_with_projects(app, make_user):
    counts = {}
    for total, added in ((3, 3), (12, 9)):
        _add_projects(app, make_user, added)
        with app.app_context():
            roadmaps.check_deadlines(TODAY, 3)  # raises the new notices and re-plans
            db.session.commit()
        with _statements(app) as seen, app.app_context():
            # Nothing new: only reads. One batch holds every project, so what is counted is the
            # work per project inside a batch (the daily job adds a constant few per batch of 8).
            result = exhaust(roadmaps.deadline_batches(TODAY, 3, size=50))
            db.session.commit()
        assert result["projects"] == total
        assert result["overdue"] == result["warning"] == 0
        counts[total] = len(seen)
    assert counts[12] <= counts[3] + 2, counts


def test_roadmap_queries_unread_badge_is_one_count_without_a_cap(app, make_user):
    _add_projects(app, make_user, 1)
    staff = make_user("staff")
    with app.app_context():
        step = db.session.scalars(select(RoadmapStep)).first()
        for n in range(250):
            db.session.add(
                Notification(
                    project_id=step.project_id,
                    step_id=step.id,
                    kind="超时",
                    due_on=date(2026, 1, 1) + timedelta(days=n),
                    message=f"超时通报 {n}",
                )
            )
        db.session.commit()
        user = db.session.get(User, staff.id)
        first = db.session.scalars(select(Notification.id).order_by(Notification.id)).first()
        db.session.add(NotificationRead(notification_id=first, user_id=user.id))
        db.session.commit()
        user = db.session.get(User, staff.id)
        with _statements(app) as seen:
            unread = roadmaps.unread_count(user)
        assert unread == 249
        assert len(seen) == 1, seen
