"""Writing to the append-only audit log (added to the caller's transaction, never committed here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, inspect, select

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.kernel.paging import Page
from registry.kernel.versions import StaleEdit, flush_checked
from registry.models.audit import AuditEntry
from registry.models.market import SelectionRequest
from registry.models.types import utcnow

# Set by the web layer per request so services need not know about requests.
client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # exact, unlike a float
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
    of: Any = None,
) -> AuditEntry:
    """Append one audit entry to the current transaction. `of=row` names the object by the
    model's audit_type and audit_key (a provider by its USCC, a credit record by its number)."""
    if of is not None:
        object_type, object_id = of.audit_type, getattr(of, of.audit_key)
    if isinstance(actor, str):  # a job's name ("system:check-deadlines"): no account
        actor, actor_name = None, actor_name or actor
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


@dataclass
class Change:
    """What the block inside `change()` may add to its entry once it knows it."""

    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the `after` snapshot


@contextmanager
def change(
    action: str,
    *,
    actor: Any,
    of: Any,
    stale: type[StaleEdit] = StaleEdit,
    detail: str | None = None,
    extra: dict[str, Any] | None = None,
    view: Callable[[Any], dict] = snapshot,
) -> Iterator[Change]:
    """Audit the change the block makes to the row `of`: its view before, then a flush (a row
    changed meanwhile by someone else raises `stale` there, before anything is recorded), then
    one entry with the view before and after. A block that raises records nothing."""
    before = view(of)
    done = Change(detail, dict(extra or {}))
    yield done
    flush_checked(db.session, stale)
    record(
        action,
        actor=actor,
        of=of,
        before=before,
        after={**view(of), **done.extra},
        detail=done.detail,
    )


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    """Names of fields whose value differs between two snapshots."""
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def list_entries(
    *,
    action: str | None,
    object_id: str | None,
    page: int,
    per_page: int,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Page:
    """One page of the audit log, newest first, optionally for one action and/or object and
    between two Beijing dates (both included)."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action[:64])
    if object_id:
        query = query.where(AuditEntry.object_id == object_id[:64])
    if date_from:
        query = query.where(AuditEntry.at >= clock.at(date_from, 0))
    if date_to:
        query = query.where(AuditEntry.at < clock.at(date_to + timedelta(days=1), 0))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = db.session.scalars(
        query.order_by(AuditEntry.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(list(entries), total, page, per_page)


def sealed_entries(entries: list[AuditEntry], now: datetime | None = None) -> set[int]:
    """Ids of the entries that policy seals at this moment (bidders before the deadline): the
    audit page shows their action, object and time, but not who or what."""
    now = now or utcnow()
    refs = {e.object_id for e in entries if e.action.startswith(policy.SEALED_AUDIT_ACTIONS)}
    requests: dict[str, SelectionRequest] = {}
    if refs:
        query = select(SelectionRequest).where(SelectionRequest.ref.in_(refs))
        requests = {r.ref: r for r in db.session.scalars(query)}
    return {
        e.id
        for e in entries
        if policy.audit_entry_sealed(e, requests.get(e.object_id or ""), now=now)
    }
