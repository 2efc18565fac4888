"""Writing to the append-only audit log (added to the caller's transaction, never committed here)."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect

from registry.extensions import db
from registry.models.audit import AuditEntry

# Set by the web layer per request so services need not know about requests.
client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any, *, relations: dict[str, str] | None = None) -> dict[str, Any]:
    """Column values of obj (plus codes of named relationships) as a JSON-ready dict."""
    state = inspect(obj)
    data = {attr.key: _plain(getattr(obj, attr.key)) for attr in state.mapper.column_attrs}
    data.pop("updated_at", None)
    for name, key in (relations or {}).items():
        data[name] = [getattr(item, key) for item in getattr(obj, name)]
    return data


def record(
    action: str,
    *,
    actor: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    outcome: str = "ok",
    detail: str | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Append one audit entry to the current transaction."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_name=actor_name or getattr(actor, "username", None),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=before,
        after=after,
        outcome=outcome,
        detail=(detail or None) and detail[:500],
        ip=client_ip.get(),
    )
    db.session.add(entry)
    return entry


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    """Names of fields whose value differs between two snapshots."""
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
