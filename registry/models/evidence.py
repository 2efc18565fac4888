"""Append-only tables for evidence (the audit log, quotes, awards, behaviour events) and
write-once ones (filed, then answered once): guarded in the ORM and, against raw SQL, by triggers
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import DDL, event, inspect


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


def _drop_statements(
    table: str, sqlite_triggers: Sequence[str], pg_trigger: str, pg_function: str
) -> dict[str, list[str]]:
    """The statements that drop `table`'s SQLite triggers, and its PostgreSQL trigger and the
    function it runs, per dialect; each name is a suffix after `table`_."""
    return {
        "sqlite": [f"DROP TRIGGER IF EXISTS {table}_{name}" for name in sqlite_triggers],
        "postgresql": [
            f"DROP TRIGGER IF EXISTS {table}_{pg_trigger} ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_{pg_function}()",
        ],
    }


def drop_triggers(table: str) -> dict[str, list[str]]:
    """The statements that undo triggers(table), per dialect (for migration downgrades)."""
    return _drop_statements(table, ["no_update", "no_delete"], "no_change", "append_only")


def on_create(table, statements: dict[str, list[str]]) -> None:
    """Run each dialect's statements whenever metadata creates `table` on that dialect."""
    for dialect, listed in statements.items():
        for statement in listed:
            event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))


def append_only(model) -> None:
    """Make a mapped class append-only: ORM updates and deletes raise, and the table gets the
    triggers whenever metadata creates it (tests; migrations add them themselves)."""
    table = model.__table__
    on_create(table, triggers(table.name))

    def refuse(_mapper, _connection, _target):
        raise PermissionError(f"{table.name} is append-only")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)


def changed_sql(columns: Sequence[str], distinct: str) -> str:
    """SQL true when any of `columns` differs between OLD and NEW (`distinct`: the dialect's
    NULL-safe inequality, `IS NOT` or `IS DISTINCT FROM`)."""
    return " OR ".join(f"NEW.{c} {distinct} OLD.{c}" for c in columns)


def write_once_triggers(
    table: str, fixed: Sequence[str], answer: Sequence[str]
) -> dict[str, list[str]]:
    """The statements that make `table` refuse deletes, any change of the `fixed` columns, and
    any change of the `answer` columns once the first of them is set, per dialect."""
    message = f"{table}: what was filed and its answer are final"
    decided = answer[0]

    def violation(distinct: str) -> str:
        return (
            f"{changed_sql(fixed, distinct)} OR (OLD.{decided} IS NOT NULL AND"
            f" ({changed_sql(answer, distinct)}))"
        )

    return {
        "sqlite": [
            f"CREATE TRIGGER IF NOT EXISTS {table}_write_once BEFORE UPDATE ON {table} "
            f"WHEN {violation('IS NOT')} BEGIN SELECT RAISE(ABORT, '{message}'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        ],
        "postgresql": [
            f"CREATE OR REPLACE FUNCTION {table}_write_once() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{message}'; END IF; "
            f"IF {violation('IS DISTINCT FROM')} THEN RAISE EXCEPTION '{message}'; END IF; "
            "RETURN NEW; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_write_once BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_write_once()",
        ],
    }


def drop_write_once_triggers(table: str) -> dict[str, list[str]]:
    """The statements that undo write_once_triggers(table), per dialect."""
    return _drop_statements(table, ["write_once", "no_delete"], "write_once", "write_once")


def write_once(model, *, fixed: Sequence[str], answer: Sequence[str]) -> None:
    """Make a mapped class write-once: the `fixed` columns never change after insert, the
    `answer` columns are written once (when the first of them is set), rows are never deleted;
    in the ORM and by triggers whenever metadata creates the table."""
    table = model.__table__
    on_create(table, write_once_triggers(table.name, fixed, answer))

    def changed(target, columns: Sequence[str]) -> bool:
        state = inspect(target)
        return any(state.attrs[c].history.has_changes() for c in columns)

    def guard(_mapper, _connection, target) -> None:
        history = inspect(target).attrs[answer[0]].history
        was_decided = (history.deleted or [getattr(target, answer[0])])[0] is not None
        if changed(target, fixed) or (was_decided and changed(target, answer)):
            raise PermissionError(f"{table.name}: what was filed and its answer are final")

    def refuse(_mapper, _connection, _target) -> None:
        raise PermissionError(f"{table.name}: rows are never deleted")

    event.listen(model, "before_update", guard)
    event.listen(model, "before_delete", refuse)
