"""Project roadmaps: templates, the plan against the category target, options, progress,
deadline states and notifications (services; the pages are in test_roadmap_pages.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Notification, RoadmapStep, RoadmapTemplate, User
from registry.services import roadmaps
from registry.services.errors import NotFound, RegistryError
from tests import factories

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates


def _project(app, make_user, *, category="民营/外资", land=date(2026, 3, 2)):
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user, category=category)
        project.land_contract_date = land
        roadmaps.create_roadmap(project, actor=user)
        db.session.commit()
        return owner, project.code


def test_roadmaps_seeded_templates_cover_every_category_and_seeding_twice_changes_nothing(app):
    with app.app_context():
        templates = roadmaps.list_templates()
        assert [t.category for t in templates] == ["民营/外资", "简易低风险厂房", "国有"]
        again = roadmaps.seed_templates(app.config["SEEDS_DIR"])
        assert again == {"created": 0, "unchanged": 3}
        simple = roadmaps.get_template("简易低风险厂房")
        assert "登记表备案" in simple.simplifications
        env = next(s for s in roadmaps.get_template("民营/外资").steps if s.key == "SP-05")
        assert env.approval_item.code == "SP-05"
        assert env.duration == 60
        assert env.unit == "日"
        assert "[S" in env.duration_source  # the source tag stays visible


@pytest.mark.parametrize(
    ("category", "target"), [("民营/外资", 160), ("简易低风险厂房", 60), ("国有", 210)]
)
def test_roadmaps_each_template_plans_within_its_target(app, make_user, category, target):
    owner, code = _project(app, make_user, category=category)
    with app.app_context():
        user = db.session.get(User, owner.id)
        view = roadmaps.roadmap(roadmaps.get_roadmap_for(user, code), today=date(2026, 3, 2))
        assert view.target_days == target
        assert view.total_days is not None
        assert 0 < view.total_days <= target
        assert view.margin_days == target - view.total_days
        assert view.schedule.critical_path[-1] == "SP-15"  # the construction permit ends the map
        conditional = [r.step.key for r in view.rows if r.step.status == "不适用"]
        assert all(r.finish is None for r in view.rows if r.step.key in conditional)


def test_roadmaps_regional_assessment_removes_the_soil_and_water_steps(app, make_user):
    owner, code = _project(app, make_user)
    with app.app_context():
        user = db.session.get(User, owner.id)
        for key in ("ZJ-04", "SP-06"):
            roadmaps.set_options(
                user, code, key, applicable=True, covered_by_regional=True, self_prepared=False
            )
        db.session.commit()
        steps = {s.key: s for s in roadmaps.get_roadmap_for(user, code).steps}
        assert steps["SP-06"].planned_finish is None
        assert steps["ZJ-04"].planned_finish is None
        with pytest.raises(RegistryError, match="区域评估"):
            roadmaps.set_options(
                user, code, "SP-05", applicable=True, covered_by_regional=True, self_prepared=False
            )


def test_roadmaps_progress_replans_from_actual_dates_and_rejects_bad_dates(app, make_user):
    owner, code = _project(app, make_user)
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = roadmaps.get_roadmap_for(user, code)
        before = {s.key: s.planned_finish for s in project.steps}
        roadmaps.record_progress(
            user,
            code,
            "ZJ-03",
            status="已完成",
            started_on=date(2026, 3, 3),
            finished_on=date(2026, 4, 30),
            today=date(2026, 5, 6),
        )
        db.session.commit()
        after = {s.key: s.planned_finish for s in roadmaps.get_roadmap_for(user, code).steps}
        assert after["ZJ-03"] == date(2026, 4, 30)
        assert after["SP-05"] < before["SP-05"]  # finished early: the approval moves up
        with pytest.raises(RegistryError, match="不能晚于今天"):
            roadmaps.record_progress(
                user,
                code,
                "SP-05",
                status="办理中",
                started_on=date(2026, 6, 1),
                today=date(2026, 5, 6),
            )
        with pytest.raises(RegistryError, match="不能早于开始日期"):
            roadmaps.record_progress(
                user,
                code,
                "SP-05",
                status="已完成",
                started_on=date(2026, 5, 4),
                finished_on=date(2026, 5, 1),
                today=date(2026, 5, 6),
            )
        with pytest.raises(RegistryError, match="须填写"):
            roadmaps.record_progress(user, code, "SP-05", status="已完成", today=date(2026, 5, 6))
        db.session.rollback()
        step = db.session.scalar(select(RoadmapStep).where(RoadmapStep.key == "SP-05"))
        assert step.status == "未开始"


def test_roadmaps_another_enterprise_cannot_find_the_project(app, make_user):
    _owner, code = _project(app, make_user)
    stranger = make_user("enterprise")
    with app.app_context():
        other = db.session.get(User, stranger.id)
        factories.enterprise_with_project(other)
        with pytest.raises(NotFound):
            roadmaps.get_roadmap_for(other, code)
        with pytest.raises(NotFound):
            roadmaps.record_progress(
                other, code, "SP-01", status="办理中", started_on=date(2026, 3, 3)
            )


def test_roadmaps_check_deadlines_is_idempotent_and_follows_time(app, make_user):
    owner, code = _project(app, make_user, land=date(2026, 3, 2))
    with app.app_context():
        project = roadmaps.get_roadmap_for(db.session.get(User, owner.id), code)
        finish = next(s for s in project.steps if s.key == "SP-01").planned_finish
        assert finish == date(2026, 3, 3)
        first = roadmaps.check_deadlines(date(2026, 2, 27), 3)  # Fri: Mon 2, Tue 3 ≤ 3 working days
        db.session.commit()
        again = roadmaps.check_deadlines(date(2026, 2, 27), 3)
        db.session.commit()
        assert first["warning"] >= 1
        assert again["warning"] == again["overdue"] == 0
        later = roadmaps.check_deadlines(date(2026, 3, 4), 3)
        db.session.commit()
        assert later["overdue"] >= 1
        kinds = db.session.execute(
            select(Notification.kind, func.count())
            .join(RoadmapStep)
            .where(RoadmapStep.key == "SP-01")
            .group_by(Notification.kind)
        ).all()
        assert dict(kinds) == {"到期预警": 1, "超时": 1}
        assert roadmaps.check_deadlines(date(2026, 3, 4), 3)["overdue"] == 0


def test_roadmaps_template_edit_refuses_a_dependency_loop_and_keeps_the_template(app, make_user):
    admin = make_user("admin")
    with app.app_context():
        user = db.session.get(User, admin.id)
        with pytest.raises(RegistryError, match="循环依赖"):
            roadmaps.save_template_step(user, "民营/外资", "SP-01", {"depends_on": ["SP-15"]})
        db.session.rollback()
        template = db.session.scalar(
            select(RoadmapTemplate).where(RoadmapTemplate.category == "民营/外资")
        )
        assert next(s for s in template.steps if s.key == "SP-01").depends_on == []


def test_roadmaps_two_deadline_checks_at_once_raise_each_notice_once(app, make_user):
    """A cron run overlapping a manual run: each step's warning exists once, and neither fails."""
    import threading

    _owner, _code = _project(app, make_user, land=date(2026, 3, 2))
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run():
        barrier.wait(timeout=20)  # before any database access: on SQLite the first holds the lock
        with app.app_context():
            try:
                results.append(roadmaps.check_deadlines(date(2026, 3, 4), 3))
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - collected and asserted
                db.session.rollback()
                results.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, dict) for r in results), results
    with app.app_context():
        rows = db.session.execute(
            select(Notification.step_id, Notification.kind, func.count()).group_by(
                Notification.step_id, Notification.kind
            )
        ).all()
        assert rows
        assert {count for *_key, count in rows} == {1}
    assert sum(r["overdue"] for r in results) == len(rows)


def test_roadmaps_progress_form_is_not_made_stale_by_replanning(app, make_user):
    owner, code = _project(app, make_user)
    with app.app_context():
        user = db.session.get(User, owner.id)
        step = next(s for s in roadmaps.get_roadmap_for(user, code).steps if s.key == "SP-05")
        seen = step.version
        roadmaps.record_progress(
            user,
            code,
            "ZJ-03",
            status="办理中",
            started_on=date(2026, 3, 10),
            today=date(2026, 3, 20),
        )
        roadmaps.check_deadlines(date(2026, 3, 20), 3)
        db.session.commit()
        # SP-05's planned dates moved, but the form opened before still saves.
        roadmaps.record_progress(
            user,
            code,
            "SP-05",
            status="办理中",
            started_on=date(2026, 3, 19),
            version=seen,
            today=date(2026, 3, 20),
        )
        db.session.commit()
        with pytest.raises(RegistryError, match="已被他人更新"):
            roadmaps.record_progress(
                user,
                code,
                "SP-05",
                status="已提交",
                started_on=date(2026, 3, 19),
                submitted_on=date(2026, 3, 20),
                version=seen,
                today=date(2026, 3, 20),
            )


def test_roadmaps_a_step_waiting_for_a_late_predecessor_is_not_itself_late(app, make_user):
    owner, code = _project(app, make_user, land=date(2026, 3, 2))
    with app.app_context():
        user = db.session.get(User, owner.id)
        # Long after everything's planned finish, nothing recorded: only steps without open
        # predecessors are overdue; SP-15 (waits for SP-12, SP-05, …) is not.
        view = roadmaps.roadmap(roadmaps.get_roadmap_for(user, code), today=date(2026, 6, 1))
        states = {row.step.key: row.state.value for row in view.rows}
        assert states["SP-01"] == "超时"
        assert states["ZJ-11"] == "超时"
        assert states["SP-03"] == ""
        assert states["SP-15"] == ""
        # The forecast pushes the unfinished work past today: well over the target.
        assert view.total_days == 158
        # Nothing started by Mon 1 June: 备案 1 working day (Tue 2 June), then the EIA report
        # 90 d (31 Aug), its approval 60 d (30 Oct) and the permit 7 d: 6 Nov.
        assert view.forecast_days == (date(2026, 11, 6) - date(2026, 3, 2)).days
        assert view.forecast_margin_days < 0


@pytest.mark.parametrize(
    ("land", "message"),
    [
        (date(9999, 12, 30), "之间"),  # would overflow the date arithmetic
        (date(1990, 5, 1), "之间"),  # long before any known arrangement
    ],
)
def test_roadmaps_land_contract_dates_outside_the_sensible_range_are_refused(
    app, make_user, land, message
):
    owner, code = _project(app, make_user)
    with app.app_context():
        user = db.session.get(User, owner.id)
        with pytest.raises(RegistryError, match=message):
            roadmaps.update_project(
                user,
                code,
                land_contract_date=land,
                building_type="厂房",
                floor_area="1000",
                location="天津滨海高新区",
            )
        db.session.rollback()
        assert roadmaps.get_roadmap_for(user, code).land_contract_date == date(2026, 3, 2)


def test_roadmaps_land_contract_cannot_move_after_recorded_work(app, make_user):
    owner, code = _project(app, make_user)
    with app.app_context():
        user = db.session.get(User, owner.id)
        roadmaps.record_progress(
            user,
            code,
            "SP-01",
            status="已完成",
            started_on=date(2026, 3, 3),
            finished_on=date(2026, 3, 3),
            today=date(2026, 3, 10),
        )
        db.session.commit()
        with pytest.raises(RegistryError, match="2026-03-03"):
            roadmaps.update_project(
                user,
                code,
                land_contract_date=date(2026, 3, 5),
                building_type=None,
                floor_area=None,
                location="天津",
            )


def test_roadmaps_progress_keeps_only_the_dates_of_its_status(app, make_user):
    owner, code = _project(app, make_user)
    with app.app_context():
        user = db.session.get(User, owner.id)
        on = date(2026, 5, 6)
        with pytest.raises(RegistryError, match="不能早于提交日期"):
            roadmaps.record_progress(
                user,
                code,
                "SP-05",
                status="已完成",
                started_on=date(2026, 4, 1),
                submitted_on=date(2026, 4, 20),
                finished_on=date(2026, 4, 10),
                today=on,
            )
        # 办理中 keeps the start only; a stray (even invalid) submission date is ignored.
        step = roadmaps.record_progress(
            user,
            code,
            "SP-05",
            status="办理中",
            started_on=date(2026, 4, 1),
            submitted_on=date(2030, 1, 1),
            today=on,
        )
        assert (step.started_on, step.submitted_on, step.finished_on) == (
            date(2026, 4, 1),
            None,
            None,
        )
        # A step set to 不适用 takes no progress until it is made applicable again.
        with pytest.raises(RegistryError, match="不适用"):
            roadmaps.record_progress(
                user, code, "SP-04", status="办理中", started_on=date(2026, 4, 1), today=on
            )
