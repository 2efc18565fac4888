"""Append-only tables for evidence (the audit log, quotes, awards, behaviour events): guarded in
the ORM and, against raw SQL, by triggers on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import DDL, event


def triggers(table: str) -> dict[str, list[str]]:
    """The statements that make `table` refuse UPDATE and DELETE, per dialect."""
    message = f"{table} is append-only"
    return {
        "sqlite": [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        ],
        "postgresql": [
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{message}'; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        ],
    }


def drop_triggers(table: str) -> dict[str, list[str]]:
    """The statements that undo triggers(table), per dialect (for migration downgrades)."""
    return {
        "sqlite": [
            f"DROP TRIGGER IF EXISTS {table}_no_update",
            f"DROP TRIGGER IF EXISTS {table}_no_delete",
        ],
        "postgresql": [
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_append_only()",
        ],
    }


def append_only(model) -> None:
    """Make a mapped class append-only: ORM updates and deletes raise, and the table gets the
    triggers whenever metadata creates it (tests; migrations add them themselves)."""
    table = model.__table__
    for dialect, statements in triggers(table.name).items():
        for statement in statements:
            event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))

    def refuse(_mapper, _connection, _target):
        raise PermissionError(f"{table.name} is append-only")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)
