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
