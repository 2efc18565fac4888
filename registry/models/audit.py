"""The append-only audit log: who did what, when, with the before and after state."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.evidence import append_only, triggers
from registry.models.types import Created, IntPK, UserRef


class AuditEntry(db.Model):
    """One audited change or one denied attempt. Rows are never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[IntPK]
    at: Mapped[Created] = mapped_column(index=True)
    actor_id: Mapped[UserRef | None]
    actor_name: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))


# Database-level guard: the log stays append-only even against raw SQL (migration 0001 runs these).
SQLITE_TRIGGERS = triggers("audit_log")["sqlite"]
POSTGRESQL_TRIGGERS = triggers("audit_log")["postgresql"]
append_only(AuditEntry)
