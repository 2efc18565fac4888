"""Deadline control: the `check-deadlines` command over time, the staff dashboard, and each
user's notifications (only on their own projects) with mark-read."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Notification, NotificationRead, User
from registry.services import roadmaps
from tests import factories
from tests.conftest import post_form


def _project(app, make_user, *, land=date(2026, 3, 2), category="民营/外资"):
    """An enterprise account with one project planned from `land`; returns (account, code)."""
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user, category=category)
        project.land_contract_date = land
        roadmaps.create_roadmap(project, actor=user)
        db.session.commit()
        return owner, project.code


def _count(app, **where) -> int:
    with app.app_context():
        query = select(func.count(Notification.id))
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return db.session.scalar(query)


def test_deadlines_cli_is_idempotent_and_follows_the_date(app, runner, make_user):
    _project(app, make_user, land=date(2026, 3, 2))  # SP-01 planned to finish Tue 2026-03-03
    first = runner.invoke(args=["check-deadlines", "--date", "2026-02-27"])
    assert first.exit_code == 0, first.output
    assert "到期检查(2026-02-27)完成" in first.output
    assert "工作日历:工作日历仅覆盖至 2026 年,2027 年的节假日安排尚未纳入" in first.output
    warnings = _count(app, kind="到期预警")
    assert warnings >= 1
    assert _count(app, kind="超时") == 0
    again = runner.invoke(args=["check-deadlines", "--date", "2026-02-27"])
    assert again.exit_code == 0, again.output
    assert "新增到期预警 0 条、超时通报 0 条" in again.output
    assert _count(app) == warnings
    later = runner.invoke(args=["check-deadlines", "--date", "2026-03-05"])
    assert later.exit_code == 0, later.output
    overdue = _count(app, kind="超时")
    assert overdue >= 1
    assert f"超时通报 {overdue} 条" in later.output
    # Travelling back in time creates nothing the same step, kind and due date already have.
    back = runner.invoke(args=["check-deadlines", "--date", "2026-02-27"])
    assert "新增到期预警 0 条、超时通报 0 条" in back.output
    assert _count(app) == warnings + overdue


def test_deadlines_enterprise_sees_only_its_own_notifications(app, client, make_user, login):
    owner, code = _project(app, make_user)
    _stranger, other_code = _project(app, make_user)
    with app.app_context():
        roadmaps.check_deadlines(date(2026, 3, 5), 3)
        db.session.commit()
    login(owner)
    page = client.get("/my/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert code in html
    assert "超时通报" in html
    assert "未读" in html
    assert other_code not in html
    header = re.search(r'href="/my/notifications"[^>]*>通知 <span class="badge">(\d+)', html)
    assert header is not None
    assert int(header.group(1)) == _count(app) // 2


def test_deadlines_mark_read_marks_own_and_never_anothers(app, client, make_user, login):
    owner, code = _project(app, make_user)
    _stranger, other_code = _project(app, make_user)
    with app.app_context():
        roadmaps.check_deadlines(date(2026, 3, 5), 3)
        db.session.commit()
        rows = db.session.scalars(select(Notification)).all()
        mine = [n.id for n in rows if n.project.code == code]
        theirs = [n.id for n in rows if n.project.code == other_code]
    assert mine
    assert theirs
    login(owner)
    response = post_form(client, "/my/notifications/read", {"ids": [mine[0], *theirs]})
    assert response.status_code == 302
    with app.app_context():
        read = set(db.session.scalars(select(NotificationRead.notification_id)))
    assert read == {mine[0]}
    post_form(client, "/my/notifications/read", {"all": "1"})
    with app.app_context():
        read = set(db.session.scalars(select(NotificationRead.notification_id)))
    assert read == set(mine)
    html = client.get("/my/notifications").get_data(as_text=True)
    assert "未读 0 条" in html
    assert 'class="badge"' not in html


def test_deadlines_mark_read_needs_csrf(app, client, make_user, login):
    owner, _code = _project(app, make_user)
    login(owner)
    response = client.post("/my/notifications/read", data={"all": "1"})
    assert response.status_code == 400


def test_deadlines_dashboard_lists_overdue_first_with_text_states(
    app, client, make_user, login, monkeypatch
):
    _owner, late_code = _project(app, make_user, land=date(2026, 1, 5))
    _owner2, soon_code = _project(app, make_user, land=date(2026, 11, 20))
    monkeypatch.setattr("registry.services.market.today", lambda: date(2026, 11, 23))
    staff = make_user("staff")
    login(staff)
    page = client.get("/staff/deadlines")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "超时" in html
    assert re.search(r"超时 \d+ 天", html)
    assert "到期预警" in html
    alerts = html.split('id="alerts-caption"')[1].split("</table>")[0]
    assert alerts.index(late_code) < alerts.index(soon_code)
    assert alerts.index("超时 ") < alerts.index("到期预警(")
    assert f'href="/projects/{late_code}/roadmap"' in alerts
    projects = html.split('id="projects-caption"')[1]
    assert "160 天" in projects


def test_deadlines_dashboard_mine_keeps_staff_to_their_projects(
    app, client, make_user, login, monkeypatch
):
    _owner, served = _project(app, make_user, land=date(2026, 1, 5))
    _owner2, other = _project(app, make_user, land=date(2026, 1, 5))
    staff = make_user("staff")
    with app.app_context():
        user = db.session.get(User, staff.id)
        roadmaps.assign_staff(user, served, concierge=user, expert=None)
        db.session.commit()
    monkeypatch.setattr("registry.services.market.today", lambda: date(2026, 11, 23))
    login(staff)
    html = client.get("/staff/deadlines?mine=1").get_data(as_text=True)
    assert served in html
    assert other not in html
    everything = client.get("/staff/deadlines").get_data(as_text=True)
    assert other in everything


def test_deadlines_dashboard_is_for_staff_and_admins_only(app, client, make_user, login):
    owner, _code = _project(app, make_user)
    assert client.get("/staff/deadlines").status_code == 302  # anonymous: to the login page
    login(owner)
    assert client.get("/staff/deadlines").status_code == 403
    html = client.get("/my/notifications").get_data(as_text=True)
    assert "到期预警</a>" not in html  # no dashboard link in the header for enterprises


def test_deadlines_header_links_for_staff(app, client, make_user, login):
    login(make_user("staff"))
    html = client.get("/").get_data(as_text=True)
    assert 'href="/staff/deadlines"' in html
    assert 'href="/my/notifications"' in html


def test_deadlines_header_is_safe_for_anonymous_and_providers(app, client, make_user, login):
    html = client.get("/").get_data(as_text=True)
    assert "/my/notifications" not in html
    login(make_user("provider"))
    html = client.get("/").get_data(as_text=True)
    assert "/my/notifications" not in html
    assert client.get("/my/notifications").status_code == 403
