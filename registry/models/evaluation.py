"""The periodic-evaluation aggregate (定期考评): evaluation periods per department and the
regulators' score entries. Score entries are evidence: rows are added, never rewritten."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.catalogue import Department
from registry.models.evidence import append_only
from registry.models.providers import Provider
from registry.models.types import Created, Day, Flag, IntPK, Moment, Note, ProviderRef, UserRef

if TYPE_CHECKING:
    from registry.models.accounts import User


class PeriodStatus(StrEnum):
    """Where an evaluation period stands: scores are entered, then the period is closed and
    its results published."""

    OPEN = "进行中"
    CLOSED = "已结束"
    PUBLISHED = "已发布"


class ScoreState(StrEnum):
    """The state of one score revision."""

    DRAFT = "草稿"
    SUBMITTED = "已提交"
    CORRECTION = "更正"


class EvaluationPeriod(db.Model):
    """An evaluation period (考评周期) of one department, e.g. 2026年上半年, with its criteria.

    `criteria` is a list of {code, name, weight} fixed when the period is opened (weights sum to
    1), so a later change of configuration never alters a period already running."""

    __tablename__ = "evaluation_periods"
    audit_type = "evaluation_period"
    __table_args__ = (UniqueConstraint("department_id", "name"),)

    id: Mapped[IntPK]
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    name: Mapped[str] = mapped_column(String(50))
    starts_on: Mapped[Day]
    ends_on: Mapped[Day]
    status: Mapped[str] = mapped_column(String(8), default=PeriodStatus.OPEN.value)
    criteria: Mapped[list] = mapped_column(JSON)
    opened_by_id: Mapped[UserRef | None]
    opened_at: Mapped[Created]
    closed_at: Mapped[Moment | None]
    # Why score entry ended before ends_on (an early close, which alone lets results be
    # published before the period is over); None for a period closed after its end.
    close_reason: Mapped[Note | None]
    published_at: Mapped[Moment | None]

    department: Mapped[Department] = relationship()

    @property
    def status_enum(self) -> PeriodStatus:
        """The status as an enum member."""
        return PeriodStatus(self.status)

    def __repr__(self) -> str:
        return f"<EvaluationPeriod {self.id} {self.name}>"


class ScoreEntry(db.Model):
    """One revision of a provider's scores in a period (append-only).

    The provider's current score in the period is its latest revision. `submission_key` is unique:
    the same form posted twice, or the same file row uploaded twice, stores one row.
    `after_publication` is fixed at insert time: a correction made once the period was published
    takes effect publicly."""

    __tablename__ = "score_entries"
    __table_args__ = (UniqueConstraint("period_id", "provider_id", "revision"),)

    id: Mapped[IntPK]
    period_id: Mapped[int] = mapped_column(ForeignKey("evaluation_periods.id"))
    provider_id: Mapped[ProviderRef] = mapped_column(index=True)
    revision: Mapped[int] = mapped_column(Integer)
    # Criterion code → score 0–100 (a JSON number, at most two decimals).
    scores: Mapped[dict] = mapped_column(JSON)
    total: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    state: Mapped[str] = mapped_column(String(8))
    reason: Mapped[Note | None]
    note: Mapped[Note | None]
    # Where it came from: "表单", or the uploaded file and row ("文件 名称.csv 第 3 行").
    source: Mapped[str | None] = mapped_column(String(300))
    after_publication: Mapped[Flag]
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    entered_by_id: Mapped[UserRef | None]
    created_at: Mapped[Created]

    period: Mapped[EvaluationPeriod] = relationship()
    provider: Mapped[Provider] = relationship()
    entered_by: Mapped[User | None] = relationship()

    @property
    def state_enum(self) -> ScoreState:
        """The state as an enum member."""
        return ScoreState(self.state)


append_only(ScoreEntry)
