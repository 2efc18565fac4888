"""`registry seed --demo` builds a living, clearly marked marketplace, once."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from registry.extensions import db
from registry.models import (
    Award,
    Notification,
    OwnerRating,
    Project,
    Provider,
    RoadmapStep,
    SelectionRequest,
    User,
)
from registry.models.projects import ProjectCategory
from registry.services import accounts, demo, demo_market, grades, market, roadmaps

DEMO_DAY = date(2026, 11, 26)


def test_demo_market_is_believable_marked_and_idempotent(app, runner):
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    assert "示例市场数据:中介机构 32 家" in first.output
    with app.app_context():
        providers = db.session.scalars(select(Provider)).all()
        assert len(providers) >= 30
        assert all(p.is_demo and p.name.endswith("(示例)") for p in providers)
        offered = {o.service_item.code for p in providers for o in p.offers}
        assert len(offered) >= 20  # across the catalogue
        awards = db.session.scalars(select(Award)).all()
        assert len(awards) >= 5
        for award in awards:
            assert award.is_demo
            if award.seed:  # every draw re-runs to the published winner
                check = market.verify_award(award)
                assert check["winner_matches"], (award.id, check)
        assert db.session.scalar(select(func.count(OwnerRating.id))) >= 1
        # Grades come from the rules (demo regulators published a period), none are invented.
        graded = [p for p in providers if p.grade]
        assert graded
        for provider in graded:
            assert grades.compute(provider.id, market.today()).grade == provider.grade
        assert db.session.scalar(select(func.count(Project.id))) == 4
        open_requests = db.session.scalar(
            select(func.count(SelectionRequest.id)).where(SelectionRequest.status == "报名中")
        )
        assert open_requests >= 1
    again = runner.invoke(args=["seed", "--demo"])
    assert again.exit_code == 0
    assert "示例市场数据" not in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Provider.id))) == len(providers)


def test_demo_market_projects_have_roadmaps_with_warnings_overdue_and_notifications(app, runner):
    today = DEMO_DAY
    with app.app_context():
        demo.seed_demo_accounts()
        counts = demo_market.seed_demo_market(today)
        db.session.commit()
        assert counts["roadmaps"] == 4
        projects = db.session.scalars(select(Project).order_by(Project.code)).all()
        assert {p.category for p in projects} == {c.value for c in ProjectCategory}
        assert all(p.is_demo and "示例" in p.name and p.land_contract_date for p in projects)
        assert all(p.concierge and p.concierge.username == "demo-staff" for p in projects)
        states = []
        for project in projects:
            view = roadmaps.roadmap(project, today=today, lead=3)
            statuses = {row.step.status for row in view.rows}
            assert "已完成" in statuses  # every demo project has moved
            assert statuses & {"办理中", "已提交"}
            states += [row.state.value for row in view.rows]
            done = [r.step for r in view.rows if r.step.status == "已完成"]
            assert all(s.started_on and s.finished_on <= today for s in done)
        assert "到期预警" in states
        assert "超时" in states
        complete = [p for p in projects if roadmaps.roadmap(p, today=today).total_days]
        assert len(complete) >= 3  # most plans finish within the calendar (2026)
        kinds = set(db.session.scalars(select(Notification.kind)))
        assert kinds == {"到期预警", "超时"}
        notes = db.session.scalar(select(func.count(Notification.id)))
        steps = db.session.scalar(select(func.count(RoadmapStep.id)))
        owner = db.session.scalar(select(User).where(User.username == "demo-enterprise"))
        assert roadmaps.unread_count(owner) == notes
    again = runner.invoke(args=["seed", "--demo"])
    assert again.exit_code == 0, again.output
    assert "示例市场数据" not in again.output
    with app.app_context():
        assert demo_market.seed_demo_market(today)["roadmaps"] == 0
        assert db.session.scalar(select(func.count(Notification.id))) == notes
        assert db.session.scalar(select(func.count(RoadmapStep.id))) == steps


def test_demo_market_roadmaps_seed_on_a_later_day_without_crashing(app):
    with app.app_context():
        demo.seed_demo_accounts()
        counts = demo_market.seed_demo_market(date(2027, 6, 1))  # past the working-day calendar
        db.session.commit()
        assert counts["roadmaps"] == 4
        kinds = set(db.session.scalars(select(Notification.kind)))
        assert "超时" in kinds


def test_demo_market_roadmaps_show_on_the_staff_dashboard(app, client, login, monkeypatch):
    monkeypatch.setattr("registry.services.market.today", lambda: DEMO_DAY)
    with app.app_context():
        demo.seed_demo_accounts()
        demo_market.seed_demo_market(DEMO_DAY)
        passwords = {}
        for name in ("demo-staff", "demo-enterprise"):
            passwords[name] = accounts.generate_password()
            accounts.set_password(accounts.find_user(name), passwords[name])
        db.session.commit()
    staff = type("U", (), {"username": "demo-staff", "password": passwords["demo-staff"]})
    login(staff)
    html = client.get("/staff/deadlines?mine=1").get_data(as_text=True)
    assert "2026-120116-39-03-900102" in html
    assert "超时 2 天" in html  # 施工图设计, planned to finish 2026-11-24
    assert "到期预警(还有 1 个工作日)" in html  # 环评审批, planned Sat 2026-11-28: Fri 27 left
