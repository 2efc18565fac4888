"""The marketplace aggregate: selection requests, quotes, awards, engagements, ratings and
behaviour events. Quotes, awards and ratings are evidence: rows are added, never rewritten."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.catalogue import ServiceItem
from registry.models.evidence import append_only
from registry.models.projects import Project
from registry.models.providers import Provider, Upload
from registry.models.types import UTCDateTime, utcnow


class SelectionMethod(StrEnum):
    """How the winner is chosen (选取方式)."""

    DIRECT = "直接选取"
    RANDOM = "随机抽取"
    LOWEST_PRICE = "竞价选取"
    CLOSEST_TO_MEAN = "均价比选"
    CREDIT_SHORTLIST = "信用择优"
    BEST_PROPOSAL = "方案择优"

    @property
    def uses_price(self) -> bool:
        """Whether participants must quote an amount."""
        return self in (SelectionMethod.LOWEST_PRICE, SelectionMethod.CLOSEST_TO_MEAN)

    @property
    def draws(self) -> bool:
        """Whether a verifiable draw decides (or may break ties)."""
        return self in (
            SelectionMethod.RANDOM,
            SelectionMethod.CREDIT_SHORTLIST,
            SelectionMethod.LOWEST_PRICE,
            SelectionMethod.CLOSEST_TO_MEAN,
        )

    @property
    def owner_decides(self) -> bool:
        """Whether the enterprise picks the winner itself, with a recorded reason."""
        return self in (SelectionMethod.DIRECT, SelectionMethod.BEST_PROPOSAL)


class RequestStatus(StrEnum):
    """Where a selection request stands."""

    OPEN = "报名中"
    AWARDED = "已选定"
    FAILED = "流标"
    CANCELLED = "已撤销"


class SelectionRequest(db.Model):
    """A selection request (选取公告) on one project for one service item."""

    __tablename__ = "selection_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"))
    method: Mapped[str] = mapped_column(String(8))
    price_min: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    price_max: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    qualification_requirement: Mapped[str | None] = mapped_column(String(100))
    requirements: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default=RequestStatus.OPEN.value)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    reposted_from_id: Mapped[int | None] = mapped_column(ForeignKey("selection_requests.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    project: Mapped[Project] = relationship()
    service_item: Mapped[ServiceItem] = relationship()
    exclusions: Mapped[list[Exclusion]] = relationship(
        back_populates="request", cascade="all, delete-orphan"
    )
    quotes: Mapped[list[Quote]] = relationship(back_populates="request", order_by="Quote.id")
    award: Mapped[Award | None] = relationship(back_populates="request", uselist=False)

    @property
    def method_enum(self) -> SelectionMethod:
        """The method as an enum member."""
        return SelectionMethod(self.method)


class Exclusion(db.Model):
    """A provider kept out of one request (回避), with the reason."""

    __tablename__ = "selection_exclusions"
    __table_args__ = (UniqueConstraint("request_id", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("selection_requests.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    reason: Mapped[str] = mapped_column(Text)

    request: Mapped[SelectionRequest] = relationship(back_populates="exclusions")
    provider: Mapped[Provider] = relationship()


class Quote(db.Model):
    """A provider's application to a request, with its sealed quote (报价) or proposal.

    Insert-only: a revised quote before the deadline is a new revision; the latest counts.
    `submission_key` is the form's one-time key, so a double-submit stores one row.
    """

    __tablename__ = "quotes"
    __table_args__ = (UniqueConstraint("request_id", "provider_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("selection_requests.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    proposal: Mapped[str | None] = mapped_column(Text)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[SelectionRequest] = relationship(back_populates="quotes")
    provider: Mapped[Provider] = relationship()


class Award(db.Model):
    """The outcome of a request (中选结果), published as the award notice (中选公示).

    One per request (unique), so two concurrent draws can never both record a winner."""

    __tablename__ = "awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("selection_requests.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    method: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    reason: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)
    # For draws: the public inputs, the seed derived from them and the algorithm version.
    draw_inputs: Mapped[dict | None] = mapped_column(JSON)
    seed: Mapped[str | None] = mapped_column(String(64))
    algorithm: Mapped[str | None] = mapped_column(String(32))
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    request: Mapped[SelectionRequest] = relationship(back_populates="award")
    provider: Mapped[Provider] = relationship()
    engagement: Mapped[Engagement | None] = relationship(back_populates="award", uselist=False)


class EngagementStatus(StrEnum):
    """Delivery of the awarded work."""

    AWAITING_CONTRACT = "待签约"
    IN_PROGRESS = "服务中"
    SUBMITTED = "成果待确认"
    RETURNED = "成果退回"
    CONFIRMED = "已确认"


class Engagement(db.Model):
    """Delivery after an award: contract date starts the timer; result, confirmation."""

    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), unique=True)
    status: Mapped[str] = mapped_column(String(8), default=EngagementStatus.AWAITING_CONTRACT.value)
    committed_days: Mapped[int] = mapped_column(Integer)
    contract_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    result_note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overrun_days: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)

    award: Mapped[Award] = relationship(back_populates="engagement")
    result: Mapped[Upload | None] = relationship()
    rating: Mapped[OwnerRating | None] = relationship(back_populates="engagement", uselist=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API


RATING_PARTS = (
    ("quality", "质量"),
    ("timeliness", "时效"),
    ("attitude", "态度"),
    ("fee", "收费"),
    ("conduct", "规范"),
)


class OwnerRating(db.Model):
    """The enterprise's rating of the delivered work (业主评价): five 0–100 sub-scores."""

    __tablename__ = "owner_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    quality: Mapped[int] = mapped_column(Integer)
    timeliness: Mapped[int] = mapped_column(Integer)
    attitude: Mapped[int] = mapped_column(Integer)
    fee: Mapped[int] = mapped_column(Integer)
    conduct: Mapped[int] = mapped_column(Integer)
    comment_html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edit_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    engagement: Mapped[Engagement] = relationship(back_populates="rating")
    provider: Mapped[Provider] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API

    @property
    def average(self) -> float:
        """Mean of the five sub-scores."""
        return sum(getattr(self, part) for part, _ in RATING_PARTS) / len(RATING_PARTS)


class BehaviourKind(StrEnum):
    """Behaviour events the credit module turns into deductions."""

    WALKED_AWAY = "放弃中选"
    LATE_CONTRACT = "逾期签约"
    OVERRUN = "超期服务"
    QUALIFICATION_EXPIRED = "资质过期"
    COMPLAINT_UPHELD = "投诉属实"
    OTHER_VIOLATION = "其他违规"


class BehaviourEvent(db.Model):
    """A recorded behaviour event about a provider (append-only)."""

    __tablename__ = "behaviour_events"
    __table_args__ = (UniqueConstraint("kind", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    kind: Mapped[str] = mapped_column(String(8))
    # What caused it, e.g. "engagement:12" or "qualification:5:2026-10-01"; unique per kind so
    # that a re-run of a check records an event once.
    source: Mapped[str] = mapped_column(String(100))
    occurred_on: Mapped[date] = mapped_column(Date)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider: Mapped[Provider] = relationship()


for _model in (Quote, Award, BehaviourEvent):
    append_only(_model)
