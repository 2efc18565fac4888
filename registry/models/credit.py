"""The credit aggregate: credit records (信用记录) published on the notice board, and providers'
objections (异议) to them.

Published records are evidence. They are never edited in place: a correction is a NEW row that
points to the one it revises (`revises_id`), and the old row is only marked superseded; a
revocation only changes the status. Both the ORM and database triggers (SQLite and PostgreSQL;
the statements are below so that the migration can run exactly the same ones) refuse any other
change once a record has left the draft state, and refuse deleting it. Objections are evidence
too: what the provider wrote is fixed when it is submitted, and the answer when it is given.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from registry.extensions import db
from registry.models.accounts import User
from registry.models.catalogue import Department
from registry.models.evidence import changed_sql, on_create
from registry.models.objections import ObjectionAnswer
from registry.models.practitioners import Practitioner
from registry.models.providers import Provider, Upload
from registry.models.types import (
    Code,
    Created,
    Day,
    IntPK,
    Moment,
    Name,
    Note,
    ProviderRef,
    UserRef,
)
from registry.pure.pii import mask_name


class CreditKind(StrEnum):
    """Kinds of credit record."""

    COMMENDATION = "表扬"
    INTERVIEW = "约谈提醒"
    WARNING = "警示通报"
    CRITICISM = "通报批评"
    BLACKLIST = "列入黑名单"
    REPAIR = "信用修复"  # ends the department's blacklisting of the provider early


class CreditStatus(StrEnum):
    """草稿 → 已发布 → (已撤销 | 已修订, i.e. superseded by a newer revision)."""

    DRAFT = "草稿"
    PUBLISHED = "已发布"
    REVOKED = "已撤销"
    SUPERSEDED = "已修订"


class ObjectionOutcome(StrEnum):
    """The regulator's answer to an objection."""

    REJECTED = "维持"  # the record stands; the answer gives the reasons
    UPHELD = "成立"  # the record is revised (a new revision) or revoked


class CreditRecord(db.Model):
    """One credit record about one provider, issued by one department."""

    __tablename__ = "credit_records"
    # The public board: published records, newest first (its count and its pages, deep ones too).
    # A provider's published records, newest first (its profile), without scanning the board.
    __table_args__ = (
        Index("ix_credit_records_board", "status", "published_at", "id"),
        Index("ix_credit_records_of_provider", "provider_id", "status", "published_at", "id"),
        # A person's published records (their page, their standing, their firm's profile).
        Index(
            "ix_credit_records_of_practitioner", "practitioner_id", "status", "published_at", "id"
        ),
    )
    audit_type = "credit_record"
    audit_key = "number"

    id: Mapped[IntPK]
    # Public number (XY-2026-000123) from the row id, so concurrent drafts never share one.
    number: Mapped[Code]
    kind: Mapped[str] = mapped_column(String(8))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    provider_id: Mapped[ProviderRef] = mapped_column(index=True)
    # A record against a person (从业人员): the person, and provider_* is their firm at the time.
    # The record follows the person, not the employment; None for a record against a firm.
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    # The provider's name and code as published (a later rename does not rewrite a notice).
    provider_name: Mapped[Name]
    provider_uscc: Mapped[str] = mapped_column(String(18))
    title: Mapped[str] = mapped_column(String(200))
    facts: Mapped[Note]
    basis: Mapped[Note]
    term_until: Mapped[Day | None]  # 列入黑名单: last day of the term
    status: Mapped[str] = mapped_column(String(8), default=CreditStatus.DRAFT.value, index=True)
    revises_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))
    revision_reason: Mapped[Note | None]
    created_by_id: Mapped[UserRef | None]
    created_at: Mapped[Created]
    published_at: Mapped[Moment | None] = mapped_column(index=True)
    published_by_id: Mapped[UserRef | None]
    disclosure_until: Mapped[Day | None]  # end of the 公示期
    objection_until: Mapped[Day | None]  # last day to object
    closed_at: Mapped[Moment | None]  # revoked or superseded
    closed_by_id: Mapped[UserRef | None]
    closed_reason: Mapped[Note | None]

    department: Mapped[Department] = relationship()
    provider: Mapped[Provider] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()
    revises: Mapped[CreditRecord | None] = relationship(remote_side="CreditRecord.id")
    created_by: Mapped[User | None] = relationship(foreign_keys="CreditRecord.created_by_id")
    objections: Mapped[list[Objection]] = relationship(
        back_populates="record", order_by="Objection.id", foreign_keys="Objection.record_id"
    )

    @property
    def kind_enum(self) -> CreditKind:
        """The kind as an enum member."""
        return CreditKind(self.kind)

    @property
    def is_about_person(self) -> bool:
        """A record against a person rather than a firm."""
        return self.practitioner_id is not None

    @property
    def person_masked(self) -> str | None:
        """The person a record is against, the name masked (张*明) as every page shows it
        but the person's own; None for a record against a firm."""
        return mask_name(self.practitioner.name) if self.practitioner is not None else None

    @property
    def is_draft(self) -> bool:
        """Still a draft (editable, not public)."""
        return self.status == CreditStatus.DRAFT.value

    @property
    def is_published(self) -> bool:
        """Published and current (public)."""
        return self.status == CreditStatus.PUBLISHED.value

    def __repr__(self) -> str:
        return f"<CreditRecord {self.number} {self.status}>"


class Objection(ObjectionAnswer, db.Model):
    """A provider's objection (异议) to a published record, and the regulator's answer."""

    __tablename__ = "credit_objections"
    audit_type = "credit_objection"

    id: Mapped[IntPK]
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_records.id"), index=True)
    provider_id: Mapped[ProviderRef]
    # Equal to record_id while the objection awaits its answer, NULL afterwards: the unique
    # constraint allows one open objection per record (NULLs never collide, on both databases).
    open_record_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    reason: Mapped[Note]
    # An upheld objection: the revision that replaced the record (None when it was revoked).
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))

    record: Mapped[CreditRecord] = relationship(
        back_populates="objections", foreign_keys=[record_id]
    )
    provider: Mapped[Provider] = relationship()
    revision: Mapped[CreditRecord | None] = relationship(foreign_keys=[revision_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys="Objection.answered_by_id")
    # Evidence the provider attached (scans, letters): checked like every upload, never removed.
    files: Mapped[list[Upload]] = relationship(
        secondary="credit_objection_files", order_by="Upload.id", viewonly=True
    )

    @property
    def outcome_label(self) -> str:
        """The outcome as people read it."""
        if self.outcome == ObjectionOutcome.UPHELD.value:
            return "异议成立"
        if self.outcome == ObjectionOutcome.REJECTED.value:
            return "异议不成立(维持原记录)"
        return "待答复"


# ---------------------------------------------------------------------- database guards

DRAFT = CreditStatus.DRAFT.value
PUBLISHED = CreditStatus.PUBLISHED.value

# Fixed once a record leaves the draft state (what was published, by whom, when). `status` and
# the closing columns may change once: 已发布 → 已撤销 / 已修订. The windows (公示期, 异议期) are
# working-day deadlines: only a change of a year's holiday arrangement moves them, audited
# (services/calendars.py, which sets WINDOW_MOVES on the session; the ORM refuses it otherwise).
RECORD_CONTENT = (
    "number",
    "kind",
    "department_id",
    "provider_id",
    "provider_name",
    "provider_uscc",
    "title",
    "facts",
    "basis",
    "term_until",
    "revises_id",
    "revision_reason",
    "created_by_id",
    "created_at",
    "published_at",
    "published_by_id",
)
# Added with records against persons (migration 0021): guarded like RECORD_CONTENT, by the ORM
# and by a trigger of its own (the older triggers stay as their migrations created them).
RECORD_SUBJECT = ("practitioner_id",)
RECORD_CLOSING = ("closed_at", "closed_by_id", "closed_reason")
RECORD_WINDOWS = ("disclosure_until", "objection_until")
OBJECTION_WINDOWS = ("answer_due",)
# Session.info key under which services.calendars may move published windows.
WINDOW_MOVES = "calendar.window_moves"
# Fixed once submitted; the answer columns are written once, when the answer is given. The
# answer deadline moves only with a year's holiday arrangement, like the record's windows.
OBJECTION_CONTENT = ("record_id", "provider_id", "reason", "submitted_by_id", "submitted_at")


class ObjectionFile(db.Model):
    """A file attached to an objection as evidence."""

    __tablename__ = "credit_objection_files"

    objection_id: Mapped[int] = mapped_column(ForeignKey("credit_objections.id"), primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"), primary_key=True)


OBJECTION_ANSWER = ("outcome", "answer", "answered_by_id", "answered_at", "revision_id")


def _trigger_statements() -> dict[str, dict[str, list[str]]]:
    """dialect → table → statements."""
    record_message = "credit_records: a published record is never changed or deleted"
    objection_message = "credit_objections: a submitted objection and its answer are final"

    def record_violation(distinct: str) -> str:
        return (
            f"OLD.status <> '{DRAFT}' AND ({changed_sql(RECORD_CONTENT, distinct)}"
            f" OR NEW.status = '{DRAFT}' OR (OLD.status <> '{PUBLISHED}' AND (NEW.status <>"
            f" OLD.status OR {changed_sql(RECORD_CLOSING, distinct)})))"
        )

    def objection_violation(distinct: str) -> str:
        return (
            f"{changed_sql(OBJECTION_CONTENT, distinct)} OR (OLD.outcome IS NOT NULL AND"
            f" ({changed_sql(OBJECTION_ANSWER, distinct)}"
            f" OR NEW.open_record_id IS NOT NULL))"
        )

    return {
        "sqlite": {
            "credit_records": [
                "CREATE TRIGGER IF NOT EXISTS credit_records_guard_update BEFORE UPDATE ON "
                f"credit_records WHEN {record_violation('IS NOT')} "
                f"BEGIN SELECT RAISE(ABORT, '{record_message}'); END",
                "CREATE TRIGGER IF NOT EXISTS credit_records_guard_delete BEFORE DELETE ON "
                f"credit_records WHEN OLD.status <> '{DRAFT}' "
                f"BEGIN SELECT RAISE(ABORT, '{record_message}'); END",
            ],
            "credit_objections": [
                "CREATE TRIGGER IF NOT EXISTS credit_objections_guard_update BEFORE UPDATE ON "
                f"credit_objections WHEN {objection_violation('IS NOT')} "
                f"BEGIN SELECT RAISE(ABORT, '{objection_message}'); END",
                "CREATE TRIGGER IF NOT EXISTS credit_objections_guard_delete BEFORE DELETE ON "
                f"credit_objections BEGIN SELECT RAISE(ABORT, '{objection_message}'); END",
            ],
        },
        "postgresql": {
            "credit_records": [
                "CREATE OR REPLACE FUNCTION credit_records_guard() RETURNS trigger AS $$ BEGIN "
                f"IF TG_OP = 'DELETE' THEN IF OLD.status <> '{DRAFT}' THEN "
                f"RAISE EXCEPTION '{record_message}'; END IF; RETURN OLD; END IF; "
                f"IF {record_violation('IS DISTINCT FROM')} THEN "
                f"RAISE EXCEPTION '{record_message}'; END IF; RETURN NEW; END; $$ "
                "LANGUAGE plpgsql",
                "CREATE TRIGGER credit_records_guard BEFORE UPDATE OR DELETE ON credit_records "
                "FOR EACH ROW EXECUTE FUNCTION credit_records_guard()",
            ],
            "credit_objections": [
                "CREATE OR REPLACE FUNCTION credit_objections_guard() RETURNS trigger AS $$ "
                f"BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{objection_message}'; END IF; "
                f"IF {objection_violation('IS DISTINCT FROM')} THEN "
                f"RAISE EXCEPTION '{objection_message}'; END IF; RETURN NEW; END; $$ "
                "LANGUAGE plpgsql",
                "CREATE TRIGGER credit_objections_guard BEFORE UPDATE OR DELETE ON "
                "credit_objections FOR EACH ROW EXECUTE FUNCTION credit_objections_guard()",
            ],
        },
    }


def credit_triggers() -> dict[str, list[str]]:
    """The statements that guard both tables against raw SQL, per dialect (run them after the
    tables exist, in this order)."""
    return {
        dialect: [s for statements in tables.values() for s in statements]
        for dialect, tables in _trigger_statements().items()
    }


def drop_credit_triggers() -> dict[str, list[str]]:
    """The statements that undo credit_triggers(), per dialect (for migration downgrades)."""
    return {
        "sqlite": [
            "DROP TRIGGER IF EXISTS credit_records_guard_update",
            "DROP TRIGGER IF EXISTS credit_records_guard_delete",
            "DROP TRIGGER IF EXISTS credit_objections_guard_update",
            "DROP TRIGGER IF EXISTS credit_objections_guard_delete",
        ],
        "postgresql": [
            "DROP TRIGGER IF EXISTS credit_records_guard ON credit_records",
            "DROP FUNCTION IF EXISTS credit_records_guard()",
            "DROP TRIGGER IF EXISTS credit_objections_guard ON credit_objections",
            "DROP FUNCTION IF EXISTS credit_objections_guard()",
        ],
    }


def subject_triggers() -> dict[str, list[str]]:
    """The statements that fix a record's subject (RECORD_SUBJECT) once it leaves the draft
    state, against raw SQL, per dialect (migration 0021; metadata runs them in tests)."""
    message = "credit_records: the subject of a published record is never changed"
    changed = changed_sql(RECORD_SUBJECT, "{distinct}")
    violation = f"OLD.status <> '{DRAFT}' AND ({changed})"
    return {
        "sqlite": [
            "CREATE TRIGGER IF NOT EXISTS credit_records_subject_guard BEFORE UPDATE ON "
            f"credit_records WHEN {violation.format(distinct='IS NOT')} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        ],
        "postgresql": [
            "CREATE OR REPLACE FUNCTION credit_records_subject_guard() RETURNS trigger AS $$ "
            f"BEGIN IF {violation.format(distinct='IS DISTINCT FROM')} THEN "
            f"RAISE EXCEPTION '{message}'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER credit_records_subject_guard BEFORE UPDATE ON credit_records "
            "FOR EACH ROW EXECUTE FUNCTION credit_records_subject_guard()",
        ],
    }


def drop_subject_triggers() -> dict[str, list[str]]:
    """The statements that undo subject_triggers(), per dialect (migration 0021's downgrade)."""
    return {
        "sqlite": ["DROP TRIGGER IF EXISTS credit_records_subject_guard"],
        "postgresql": [
            "DROP TRIGGER IF EXISTS credit_records_subject_guard ON credit_records",
            "DROP FUNCTION IF EXISTS credit_records_subject_guard()",
        ],
    }


def _install_triggers() -> None:
    """Create the triggers whenever metadata creates the tables (tests; migrations add them)."""
    tables = {"credit_records": CreditRecord.__table__, "credit_objections": Objection.__table__}
    for dialect, by_table in _trigger_statements().items():
        for name, statements in by_table.items():
            on_create(tables[name], {dialect: statements})
    on_create(CreditRecord.__table__, subject_triggers())


def _old(target, column: str):
    history = inspect(target).attrs[column].history
    if history.deleted:
        return history.deleted[0]
    return getattr(target, column)


def _changed_attrs(target, columns) -> list[str]:
    state = inspect(target)
    return [c for c in columns if state.attrs[c].history.has_changes()]


def _window_moved(target, columns) -> bool:
    """A published window changed outside a calendar change."""
    session = object_session(target)
    allowed = session is not None and session.info.get(WINDOW_MOVES)
    return bool(_changed_attrs(target, columns)) and not allowed


def _guard_record_update(_mapper, _connection, target: CreditRecord) -> None:
    old = _old(target, "status")
    if old == DRAFT:
        return
    if _window_moved(target, RECORD_WINDOWS):
        raise PermissionError("credit_records: windows move only with the holiday calendar")
    closing_changed = _changed_attrs(target, RECORD_CLOSING)
    if (
        _changed_attrs(target, (*RECORD_CONTENT, *RECORD_SUBJECT))
        or target.status == DRAFT
        or (old != PUBLISHED and (target.status != old or closing_changed))
    ):
        raise PermissionError("credit_records: a published record is never changed in place")


def _guard_record_delete(_mapper, _connection, target: CreditRecord) -> None:
    if _old(target, "status") != DRAFT:
        raise PermissionError("credit_records: a published record is never deleted")


def _guard_objection_update(_mapper, _connection, target: Objection) -> None:
    if _window_moved(target, OBJECTION_WINDOWS):
        raise PermissionError("credit_objections: deadlines move only with the holiday calendar")
    if _changed_attrs(target, OBJECTION_CONTENT) or (
        _old(target, "outcome") is not None
        and (_changed_attrs(target, OBJECTION_ANSWER) or target.open_record_id is not None)
    ):
        raise PermissionError("credit_objections: a submitted objection and its answer are final")


def _refuse_delete(_mapper, _connection, _target) -> None:
    raise PermissionError("credit_objections: objections are never deleted")


_install_triggers()
event.listen(CreditRecord, "before_update", _guard_record_update)
event.listen(CreditRecord, "before_delete", _guard_record_delete)
event.listen(Objection, "before_update", _guard_objection_update)
event.listen(Objection, "before_delete", _refuse_delete)

SQLITE_TRIGGERS = credit_triggers()["sqlite"]
POSTGRESQL_TRIGGERS = credit_triggers()["postgresql"]
