"""Enterprises (项目业主) and their construction projects (工程建设项目)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.types import UTCDateTime, utcnow


class ProjectCategory(StrEnum):
    """Project category; each has its own target from land contract to construction permit."""

    PRIVATE = "民营/外资"
    SIMPLE = "简易低风险厂房"
    STATE = "国有"

    @property
    def target_days(self) -> int:
        """The zone's target in days (policy section 三)."""
        return {"民营/外资": 160, "简易低风险厂房": 60, "国有": 210}[self.value]


class Enterprise(db.Model):
    """A company that owns projects; its accounts act for it."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    projects: Mapped[list[Project]] = relationship(
        back_populates="enterprise", order_by="Project.code"
    )


class Project(db.Model):
    """A construction project, identified by its 项目代码."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(300))
    building_type: Mapped[str | None] = mapped_column(String(50))
    floor_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    land_contract_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The 帮办管家 (concierge) and 审批专家 (expert): staff accounts serving the project.
    concierge_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(back_populates="projects")
    concierge = relationship("User", foreign_keys=[concierge_id])
    expert = relationship("User", foreign_keys=[expert_id])
    steps = relationship(
        "RoadmapStep", back_populates="project", order_by="RoadmapStep.sequence",
        cascade="all, delete-orphan",
    )  # fmt: skip

    @property
    def category_enum(self) -> ProjectCategory:
        """The category as an enum member."""
        return ProjectCategory(self.category)
