"""Roadmaps ("一张图"): templates of approval steps per project category, each project's own copy
of those steps with progress, and the deadline notifications raised on them."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, declared_attr, mapped_column, relationship

from registry.extensions import db
from registry.models.catalogue import ApprovalItem, ServiceItem
from registry.models.types import (
    Created,
    Day,
    Flag,
    IntPK,
    JsonList,
    Name,
    Note,
    Updated,
    Versioned,
)


class StepKind(StrEnum):
    """An approval handled by a department, or an intermediary service that prepares for one."""

    APPROVAL = "审批事项"
    SERVICE = "中介服务"


class StepStatus(StrEnum):
    """Where a project's step stands."""

    PENDING = "未开始"
    STARTED = "办理中"
    SUBMITTED = "已提交"
    DONE = "已完成"
    NOT_APPLICABLE = "不适用"

    @property
    def is_closed(self) -> bool:
        """No deadline applies any more."""
        return self in (StepStatus.DONE, StepStatus.NOT_APPLICABLE)


class DeadlineState(StrEnum):
    """A step's position against its planned finish."""

    ON_TRACK = ""
    WARNING = "到期预警"
    OVERDUE = "超时"


STAGE_NAMES = {
    "1": "第一阶段 立项用地规划许可",
    "2": "第二阶段 工程建设规划许可",
    "3": "第三阶段 施工许可",
}


class StepFields:
    """Columns a template step and a project's step share, with the catalogue entry each is for."""

    key: Mapped[str] = mapped_column(String(16))
    name: Mapped[Name]
    kind: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(4))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(8))
    # Where the duration comes from (statute, secondary source or planning assumption) with its tag.
    duration_source: Mapped[Note | None]
    depends_on: Mapped[JsonList]
    # Codes of the intermediary service items the step needs (a service step lists its own).
    services: Mapped[JsonList]
    # Applies only in the conditions of `applies_when`: a project's copy starts as 不适用.
    conditional: Mapped[Flag]
    self_prepare_duration: Mapped[int | None] = mapped_column(Integer)
    regional_assessment: Mapped[Flag]
    applies_when: Mapped[Note | None]
    note: Mapped[Note | None]
    approval_item_id: Mapped[int | None] = mapped_column(ForeignKey("approval_items.id"))
    service_item_id: Mapped[int | None] = mapped_column(ForeignKey("service_items.id"))

    @declared_attr
    def approval_item(cls) -> Mapped[ApprovalItem | None]:
        return relationship(ApprovalItem)

    @declared_attr
    def service_item(cls) -> Mapped[ServiceItem | None]:
        return relationship(ServiceItem)


class RoadmapTemplate(Versioned, db.Model):
    """The standard roadmap of one project category; admins edit it, projects copy it."""

    __tablename__ = "roadmap_templates"
    audit_type = "roadmap_template"
    audit_key = "category"

    id: Mapped[IntPK]
    category: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    simplifications: Mapped[Note | None]
    source_note: Mapped[Note | None]
    updated_at: Mapped[Updated]

    steps: Mapped[list[TemplateStep]] = relationship(
        back_populates="template", order_by="TemplateStep.sequence", cascade="all, delete-orphan"
    )


class TemplateStep(StepFields, db.Model):
    """One step of a template."""

    __tablename__ = "template_steps"
    __table_args__ = (UniqueConstraint("template_id", "key"),)

    id: Mapped[IntPK]
    template_id: Mapped[int] = mapped_column(ForeignKey("roadmap_templates.id"))

    template: Mapped[RoadmapTemplate] = relationship(back_populates="steps")


class RoadmapStep(Versioned, StepFields, db.Model):
    """A project's copy of a template step, with the options chosen and the progress made."""

    __tablename__ = "roadmap_steps"
    __table_args__ = (UniqueConstraint("project_id", "key"),)

    id: Mapped[IntPK]
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    covered_by_regional: Mapped[Flag]
    self_prepared: Mapped[Flag]
    status: Mapped[str] = mapped_column(String(8), default=StepStatus.PENDING.value)
    started_on: Mapped[Day | None]
    submitted_on: Mapped[Day | None]
    finished_on: Mapped[Day | None]
    # The plan as last computed (kept so the dashboard and the deadline check can query it).
    planned_start: Mapped[Day | None]
    planned_finish: Mapped[Day | None]
    # The planned finish while the step is open and could be worked on (started, or every
    # predecessor closed): the date its deadline state is read against today. NULL otherwise.
    due_on: Mapped[Day | None]
    # The planned dates were counted over a year without an official arrangement.
    planned_provisional: Mapped[Flag]
    updated_at: Mapped[Updated]

    project = relationship("Project", back_populates="steps")

    @property
    def status_enum(self) -> StepStatus:
        """The status as an enum member."""
        return StepStatus(self.status)

    @property
    def skipped(self) -> bool:
        """Takes no time: covered by the regional assessment or not applicable."""
        return self.covered_by_regional or self.status == StepStatus.NOT_APPLICABLE.value


# The staff dashboard reads open deadlines in date order (keyset on due_on, id).
Index("ix_roadmap_steps_due_on", RoadmapStep.due_on, RoadmapStep.id)


class ProjectPlan(db.Model):
    """A project's plan as last stored (services/roadmaps/stored.py): written when its steps, its
    particulars or the calendar change and by the daily check; the staff dashboards read it.
    Deadline states are not stored: they are today compared with the steps' `due_on`."""

    __tablename__ = "project_plans"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    # The plan's last finish and its days from the land contract, when every step is dated.
    finish: Mapped[Day | None]
    total_days: Mapped[int | None] = mapped_column(Integer)
    scheduled: Mapped[Flag]  # a plan exists (the land-contract date is known)
    # The forecast (unfinished work pushed past today) as of `forecast_on`.
    forecast_days: Mapped[int | None] = mapped_column(Integer)
    forecast_on: Mapped[Day | None]
    # The earliest due_on of the project's steps: the urgency the lists sort by.
    next_due_on: Mapped[Day | None] = mapped_column(index=True)
    provisional: Mapped[Flag]

    project = relationship("Project", backref=backref("plan", uselist=False))


class Notification(db.Model):
    """An in-app notification. On a project's step: a due-date warning or overdue notice, one
    per step, kind and planned finish (running the deadline check again creates nothing new; a
    re-planned finish may), read by everyone who may see the project. Addressed to one user
    (`user_id`): a date of theirs that moved when a year's holiday arrangement changed."""

    __tablename__ = "notifications"
    audit_type = "notification"
    __table_args__ = (
        UniqueConstraint("step_id", "kind", "due_on"),
        # A reminder a daily check raises once per person and deadline (see notify(once_key=)).
        UniqueConstraint("user_id", "once_key"),
    )

    id: Mapped[IntPK]
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("roadmap_steps.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    # What it is about (services/notify.TOPICS): the key of the user's mail choice. NULL on the
    # roadmap's own warnings and overdue notices from before topics (read as "roadmap").
    topic: Mapped[str | None] = mapped_column(String(32))
    once_key: Mapped[str | None] = mapped_column(String(100))
    due_on: Mapped[Day]
    message: Mapped[Note]
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[Created]

    project = relationship("Project")
    step: Mapped[RoadmapStep | None] = relationship()


class NotificationRead(db.Model):
    """That a user has read a notification."""

    __tablename__ = "notification_reads"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    read_at: Mapped[Created]
