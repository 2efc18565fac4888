"""Enterprises (项目业主) and their construction projects (工程建设项目)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.types import Created, Day, Firm, Flag, IntPK, Money, Name, Note, Phone, UserRef


class ProjectCategory(StrEnum):
    """Project category; each has its own target from land contract to construction permit."""

    PRIVATE = "民营/外资"
    SIMPLE = "简易低风险厂房"
    STATE = "国有"

    @property
    def target_days(self) -> int:
        """The zone's target in days (policy section 三)."""
        return {"民营/外资": 160, "简易低风险厂房": 60, "国有": 210}[self.value]


class Enterprise(Firm, db.Model):
    """A company that owns projects; its accounts act for it."""

    __tablename__ = "enterprises"
    audit_type = "enterprise"

    id: Mapped[IntPK]
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[Phone | None]
    is_demo: Mapped[Flag]
    created_at: Mapped[Created]

    projects: Mapped[list[Project]] = relationship(
        back_populates="enterprise", order_by="Project.code"
    )


class Project(db.Model):
    """A construction project, identified by its 项目代码."""

    __tablename__ = "projects"
    audit_type = "project"
    audit_key = "code"

    id: Mapped[IntPK]
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[Name]
    category: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(300))
    building_type: Mapped[str | None] = mapped_column(String(50))
    floor_area: Mapped[Money | None]
    land_contract_date: Mapped[Day | None]
    description: Mapped[Note | None]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    created_by_id: Mapped[UserRef | None]
    # The 帮办管家 (concierge) and 审批专家 (expert): staff accounts serving the project.
    concierge_id: Mapped[UserRef | None]
    expert_id: Mapped[UserRef | None]
    is_demo: Mapped[Flag]
    created_at: Mapped[Created]

    enterprise: Mapped[Enterprise] = relationship(back_populates="projects")
    concierge = relationship("User", foreign_keys="Project.concierge_id")
    expert = relationship("User", foreign_keys="Project.expert_id")
    steps = relationship(
        "RoadmapStep",
        back_populates="project",
        order_by="RoadmapStep.sequence",
        cascade="all, delete-orphan",
    )

    @property
    def category_enum(self) -> ProjectCategory:
        """The category as an enum member."""
        return ProjectCategory(self.category)
