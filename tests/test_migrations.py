"""Migrations build the whole schema from empty, on SQLite and PostgreSQL, matching the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from registry.extensions import db
from tests.conftest import make_app


@pytest.fixture
def bare_app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_migrations_upgrade_from_empty_matches_models(bare_app):
    with bare_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "service_items",
            "approval_items",
            "departments",
            "stages",
            "users",
            "audit_log",
            "alembic_version",
        } <= tables
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == [], diff


def test_migrations_install_the_audit_trigger(bare_app):
    with bare_app.app_context():
        upgrade()
        db.session.execute(
            text(
                "INSERT INTO audit_log (at, action, outcome) "
                "VALUES (CURRENT_TIMESTAMP, 'probe', 'ok')"
            )
        )
        db.session.commit()
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("DELETE FROM audit_log"))
        db.session.rollback()


def test_migrations_downgrade_to_empty(bare_app):
    with bare_app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_migrations_down_and_up_again_keep_rows_other_rows_point_at(app, make_user):
    """Batch operations rebuild SQLite tables; rows pointing at a rebuilt table (a notice on a
    roadmap step) must neither stop the migration nor be lost (issue 15: 0011 stopped with
    "FOREIGN KEY constraint failed" on a database holding projects)."""
    from flask_migrate import stamp
    from sqlalchemy import func, select

    from registry.models import Notification, RoadmapStep
    from tests.test_roadmap_queries import _add_projects

    _add_projects(app, make_user, 1)
    with app.app_context():
        step = db.session.scalars(select(RoadmapStep)).first()
        db.session.add(
            Notification(
                project_id=step.project_id,
                step_id=step.id,
                kind="预警",
                due_on=step.project.land_contract_date,
                message="测试",
            )
        )
        db.session.commit()
        counted = (select(func.count(RoadmapStep.id)), select(func.count(Notification.id)))
        before = [db.session.scalar(query) for query in counted]
        db.session.remove()
        stamp()
        downgrade(revision="0009")
        upgrade()
        assert [db.session.scalar(query) for query in counted] == before
