"""The catalogue aggregate: departments, approval stages, approval items and intermediary service items."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from registry.extensions import db
from registry.models.types import Code, Day, Flag, IntPK, JsonList, Name, Note, Phone, Updated

# The time-limit units are the pure calendar's; the catalogue stores them (and names them here).
from registry.pure.workdays import TimeUnit as TimeUnit


class FeeRegime(StrEnum):
    """取费标准的性质."""

    MARKET = "市场调节价"
    GUIDED = "政府指导价"
    FREE = "免费"
    GOVERNMENT_PAID = "政府购买服务"


class Validity(StrEnum):
    """Whether a catalogue entry is still in force."""

    VALID = "有效"
    REVISED = "已修订"
    REPEALED = "已废止"


service_item_stages = Table(
    "service_item_stages",
    db.metadata,
    Column("service_item_id", ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True),
    Column("stage_id", ForeignKey("stages.id", ondelete="CASCADE"), primary_key=True),
)

service_item_approval_items = Table(
    "service_item_approval_items",
    db.metadata,
    Column("service_item_id", ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "approval_item_id", ForeignKey("approval_items.id", ondelete="CASCADE"), primary_key=True
    ),
)

approval_item_stages = Table(
    "approval_item_stages",
    db.metadata,
    Column(
        "approval_item_id", ForeignKey("approval_items.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("stage_id", ForeignKey("stages.id", ondelete="CASCADE"), primary_key=True),
)


class Department(db.Model):
    """A supervising or approving department (监管部门)."""

    __tablename__ = "departments"
    audit_key = "code"

    id: Mapped[IntPK]
    code: Mapped[Code]
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[Phone | None]
    complaint_phone: Mapped[Phone | None]
    complaint_phone_is_fallback: Mapped[Flag]
    complaint_phone_note: Mapped[Note | None]
    source_note: Mapped[Note | None]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[Updated]

    @property
    def label(self) -> str:
        """The short name people use, falling back to the full name."""
        return self.short_name or self.name


class Stage(db.Model):
    """An approval stage (审批阶段)."""

    __tablename__ = "stages"

    id: Mapped[IntPK]
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    sequence: Mapped[int] = mapped_column(Integer)
    description: Mapped[Note | None]

    def __repr__(self) -> str:
        return f"<Stage {self.code} {self.name}>"


class CatalogueEntry:
    """What an approval item and an intermediary service item both record: code and name, the
    stage, the legal basis and statutory time limit, the department, notes and whether the entry
    is still in force. The audit log names an entry by its code."""

    audit_key = "code"

    code: Mapped[Code]
    name: Mapped[Name]
    stage_note: Mapped[Note | None]
    legal_basis: Mapped[JsonList]
    applicability: Mapped[Note | None]
    time_limit_days: Mapped[int | None] = mapped_column(Integer)
    time_limit_unit: Mapped[str | None] = mapped_column(String(8))
    time_limit_note: Mapped[Note | None]
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    notes_html: Mapped[Note | None]
    source_note: Mapped[Note | None]
    validity: Mapped[str] = mapped_column(String(8), default=Validity.VALID.value)
    updated_at: Mapped[Updated]

    # Each kind links to its stages through its own association table.
    stage_links: ClassVar[Table]

    @declared_attr
    def department(cls) -> Mapped[Department | None]:
        return relationship(Department)

    @declared_attr
    def stages(cls) -> Mapped[list[Stage]]:
        return relationship(Stage, secondary=cls.stage_links, order_by=Stage.sequence)

    @property
    def is_current(self) -> bool:
        """Whether the entry is in force (not revised away or repealed)."""
        return self.validity == Validity.VALID.value


class ApprovalItem(CatalogueEntry, db.Model):
    """An administrative approval (审批事项) that intermediary services feed into."""

    __tablename__ = "approval_items"
    stage_links = approval_item_stages

    id: Mapped[IntPK]
    approving_body: Mapped[str | None] = mapped_column(String(200))
    commitment_approval: Mapped[bool | None] = mapped_column(Boolean)
    accept_with_deficiency: Mapped[bool | None] = mapped_column(Boolean)
    tianjin_note: Mapped[Note | None]

    service_items: Mapped[list[ServiceItem]] = relationship(
        secondary=service_item_approval_items,
        back_populates="approval_items",
        order_by="ServiceItem.code",
    )


class ServiceItem(CatalogueEntry, db.Model):
    """An intermediary service item (中介服务事项) in the unified catalogue."""

    __tablename__ = "service_items"
    stage_links = service_item_stages

    id: Mapped[IntPK]
    abbreviations: Mapped[JsonList]
    serves_note: Mapped[Note | None]
    may_self_prepare: Mapped[bool | None] = mapped_column(Boolean)
    self_prepare_note: Mapped[Note | None]
    covered_by_regional_assessment: Mapped[bool | None] = mapped_column(Boolean)
    regional_assessment_note: Mapped[Note | None]
    fee_regime: Mapped[str | None] = mapped_column(String(16))
    fee_regime_note: Mapped[Note | None]
    fee_basis: Mapped[Note | None]
    department_note: Mapped[Note | None]
    complaint_phone: Mapped[Phone | None]
    qualification_required: Mapped[Note | None]
    last_verified: Mapped[Day | None]

    approval_items: Mapped[list[ApprovalItem]] = relationship(
        secondary=service_item_approval_items,
        back_populates="service_items",
        order_by="ApprovalItem.code",
    )

    @property
    def effective_complaint_phone(self) -> tuple[str | None, bool]:
        """The complaint phone to show and whether it is the 12345 fallback rather than a direct line."""
        if self.complaint_phone:
            return self.complaint_phone, False
        if self.department and self.department.complaint_phone:
            return self.department.complaint_phone, self.department.complaint_phone_is_fallback
        return None, True
