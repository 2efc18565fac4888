"""The catalogue aggregate: departments, approval stages, approval items and intermediary service items."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.types import UTCDateTime, utcnow

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

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(50))
    complaint_phone: Mapped[str | None] = mapped_column(String(50))
    complaint_phone_is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint_phone_note: Mapped[str | None] = mapped_column(Text)
    source_note: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def label(self) -> str:
        """The short name people use, falling back to the full name."""
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class Stage(db.Model):
    """An approval stage (审批阶段)."""

    __tablename__ = "stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    sequence: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<Stage {self.code} {self.name}>"


class ApprovalItem(db.Model):
    """An administrative approval (审批事项) that intermediary services feed into."""

    __tablename__ = "approval_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    stage_note: Mapped[str | None] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    approving_body: Mapped[str | None] = mapped_column(String(200))
    legal_basis: Mapped[list] = mapped_column(JSON, default=list)
    time_limit_days: Mapped[int | None] = mapped_column(Integer)
    time_limit_unit: Mapped[str | None] = mapped_column(String(8))
    time_limit_note: Mapped[str | None] = mapped_column(Text)
    commitment_approval: Mapped[bool | None] = mapped_column(Boolean)
    accept_with_deficiency: Mapped[bool | None] = mapped_column(Boolean)
    applicability: Mapped[str | None] = mapped_column(Text)
    tianjin_note: Mapped[str | None] = mapped_column(Text)
    notes_html: Mapped[str | None] = mapped_column(Text)
    source_note: Mapped[str | None] = mapped_column(Text)
    validity: Mapped[str] = mapped_column(String(8), default=Validity.VALID.value)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship()
    stages: Mapped[list[Stage]] = relationship(
        secondary=approval_item_stages, order_by="Stage.sequence"
    )
    service_items: Mapped[list[ServiceItem]] = relationship(
        secondary=service_item_approval_items,
        back_populates="approval_items",
        order_by="ServiceItem.code",
    )

    def __repr__(self) -> str:
        return f"<ApprovalItem {self.code}>"


class ServiceItem(db.Model):
    """An intermediary service item (中介服务事项) in the unified catalogue."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    abbreviations: Mapped[list] = mapped_column(JSON, default=list)
    stage_note: Mapped[str | None] = mapped_column(Text)
    serves_note: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[list] = mapped_column(JSON, default=list)
    applicability: Mapped[str | None] = mapped_column(Text)
    may_self_prepare: Mapped[bool | None] = mapped_column(Boolean)
    self_prepare_note: Mapped[str | None] = mapped_column(Text)
    covered_by_regional_assessment: Mapped[bool | None] = mapped_column(Boolean)
    regional_assessment_note: Mapped[str | None] = mapped_column(Text)
    time_limit_days: Mapped[int | None] = mapped_column(Integer)
    time_limit_unit: Mapped[str | None] = mapped_column(String(8))
    time_limit_note: Mapped[str | None] = mapped_column(Text)
    fee_regime: Mapped[str | None] = mapped_column(String(16))
    fee_regime_note: Mapped[str | None] = mapped_column(Text)
    fee_basis: Mapped[str | None] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    department_note: Mapped[str | None] = mapped_column(Text)
    complaint_phone: Mapped[str | None] = mapped_column(String(50))
    qualification_required: Mapped[str | None] = mapped_column(Text)
    notes_html: Mapped[str | None] = mapped_column(Text)
    source_note: Mapped[str | None] = mapped_column(Text)
    validity: Mapped[str] = mapped_column(String(8), default=Validity.VALID.value)
    last_verified: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship()
    stages: Mapped[list[Stage]] = relationship(
        secondary=service_item_stages, order_by="Stage.sequence"
    )
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

    @property
    def is_current(self) -> bool:
        """Whether the item is in force (not revised away or repealed)."""
        return self.validity == Validity.VALID.value

    def __repr__(self) -> str:
        return f"<ServiceItem {self.code}>"
