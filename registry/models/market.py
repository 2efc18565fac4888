"""The marketplace aggregate: selection requests, quotes, awards, engagements, ratings and
behaviour events. Quotes, awards and ratings are evidence: rows are added, never rewritten."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.kernel import clock
from registry.models.catalogue import ServiceItem
from registry.models.evidence import append_only, write_once
from registry.models.objections import ObjectionAnswer
from registry.models.practitioners import Practitioner
from registry.models.projects import Project
from registry.models.providers import COMMITTED_DAYS_UNIT, HoldersOfKind, Provider, Upload
from registry.models.types import (
    Code,
    Created,
    Day,
    Flag,
    IntPK,
    Moment,
    Money,
    Name,
    Note,
    ProviderRef,
    UserRef,
    Versioned,
)


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
    def owner_decides(self) -> bool:
        """Whether the enterprise picks the winner itself, with a recorded reason."""
        return self in (SelectionMethod.DIRECT, SelectionMethod.BEST_PROPOSAL)


class RequestStatus(StrEnum):
    """Where a selection request stands."""

    OPEN = "报名中"
    # Shown (never stored) for an open request whose deadline has passed: display_status.
    CLOSED = "报名截止"
    AWARDED = "已选定"
    FAILED = "流标"
    CANCELLED = "已撤销"


class SelectionRequest(db.Model):
    """A selection request (选取公告) on one project for one service item."""

    __tablename__ = "selection_requests"
    audit_type = "selection_request"
    audit_key = "ref"

    id: Mapped[IntPK]
    ref: Mapped[Code]
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), index=True)
    method: Mapped[str] = mapped_column(String(8))
    # Why the owner names the provider itself (直接选取): required for that method, published.
    method_reason: Mapped[Note | None]
    price_min: Mapped[Money | None]
    price_max: Mapped[Money | None]
    deadline: Mapped[Moment]
    qualification_requirement: Mapped[str | None] = mapped_column(String(100))
    # The certificate type the 项目负责人 must hold (controlled list; None: no requirement).
    leader_certificate: Mapped[str | None] = mapped_column(String(100))
    requirements: Mapped[Note | None]
    status: Mapped[str] = mapped_column(String(8), default=RequestStatus.OPEN.value)
    # Why the request ended without an award: 流标's reason, or the owner's for 撤销 (public).
    failure_reason: Mapped[Note | None]
    reposted_from_id: Mapped[int | None] = mapped_column(ForeignKey("selection_requests.id"))
    created_by_id: Mapped[UserRef | None]
    created_at: Mapped[Created]
    closed_at: Mapped[Moment | None]
    is_demo: Mapped[Flag]
    # The new-request form's one-time key: the same form sent twice posts one request.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    project: Mapped[Project] = relationship()
    service_item: Mapped[ServiceItem] = relationship()
    exclusions: Mapped[list[Exclusion]] = relationship(
        back_populates="request", cascade="all, delete-orphan"
    )
    quotes: Mapped[list[Quote]] = relationship(back_populates="request", order_by="Quote.id")
    # How many holders of each certificate type the named team must include.
    team_certificates: Mapped[list[RequestCertificate]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestCertificate.id"
    )
    # Every award of the request in order; all but the last were withdrawn (撤销).
    awards: Mapped[list[Award]] = relationship(back_populates="request", order_by="Award.round")

    @property
    def award(self) -> Award | None:
        """The award in force: the latest, unless it was withdrawn (the owner decides again)."""
        latest = self.awards[-1] if self.awards else None
        return latest if latest is not None and latest.withdrawal is None else None

    @property
    def method_enum(self) -> SelectionMethod:
        """The method as an enum member."""
        return SelectionMethod(self.method)

    @property
    def requires_people(self) -> bool:
        """Whether a quote must name its 项目负责人 (the request requires certificates)."""
        return self.leader_certificate is not None or bool(self.team_certificates)

    @property
    def is_withdrawn(self) -> bool:
        """Withdrawn by its owner before the deadline (撤销): its quotes are never opened."""
        return self.status == RequestStatus.CANCELLED.value

    @property
    def display_status(self) -> str:
        """The status as shown: an open request whose deadline has passed reads 报名截止 until it
        is decided (computed at read time from the clock, so it is never stale)."""
        if self.status == RequestStatus.OPEN.value and self.deadline <= clock.now():
            return RequestStatus.CLOSED.value
        return self.status


class Exclusion(db.Model):
    """A provider kept out of one request (回避), with the reason."""

    __tablename__ = "selection_exclusions"
    __table_args__ = (UniqueConstraint("request_id", "provider_id"),)

    id: Mapped[IntPK]
    request_id: Mapped[int] = mapped_column(ForeignKey("selection_requests.id", ondelete="CASCADE"))
    provider_id: Mapped[ProviderRef]
    reason: Mapped[Note]

    request: Mapped[SelectionRequest] = relationship(back_populates="exclusions")
    provider: Mapped[Provider] = relationship()


class RequestCertificate(HoldersOfKind, db.Model):
    """A request's requirement on the named team: at least `count` holders of one type."""

    __tablename__ = "request_certificates"
    __table_args__ = (UniqueConstraint("request_id", "kind"),)

    request_id: Mapped[int] = mapped_column(ForeignKey("selection_requests.id", ondelete="CASCADE"))

    request: Mapped[SelectionRequest] = relationship(back_populates="team_certificates")


class Quote(db.Model):
    """A provider's application to a request, with its sealed quote (报价) or proposal.

    Insert-only: a revised quote before the deadline is a new revision; the latest counts.
    `submission_key` is the form's one-time key, so a double-submit stores one row.
    """

    __tablename__ = "quotes"
    __table_args__ = (UniqueConstraint("request_id", "provider_id", "revision"),)

    id: Mapped[IntPK]
    request_id: Mapped[int] = mapped_column(ForeignKey("selection_requests.id"))
    provider_id: Mapped[ProviderRef] = mapped_column(index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[Money | None]
    proposal: Mapped[Note | None]
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    submitted_by_id: Mapped[UserRef | None]
    submitted_at: Mapped[Created]

    request: Mapped[SelectionRequest] = relationship(back_populates="quotes")
    provider: Mapped[Provider] = relationship()
    # The people the quote names (sealed with it): one row per person and valid certificate.
    members: Mapped[list[QuoteMember]] = relationship(
        back_populates="quote", order_by="QuoteMember.id"
    )

    @property
    def leader(self) -> Practitioner | None:
        """The named 项目负责人, if any."""
        return next((m.practitioner for m in self.members if m.role == TeamRole.LEADER.value), None)

    @property
    def team(self) -> list[tuple[Practitioner, str, list[QuoteMember]]]:
        """The named people in order (leader first): (person, role, their certificate rows)."""
        people: dict[int, tuple[Practitioner, str, list[QuoteMember]]] = {}
        for member in self.members:
            people.setdefault(member.practitioner_id, (member.practitioner, member.role, []))
            people[member.practitioner_id][2].append(member)
        return sorted(people.values(), key=lambda row: row[1] != TeamRole.LEADER.value)


class TeamRole(StrEnum):
    """A named person's place in a quote's team."""

    LEADER = "项目负责人"
    MEMBER = "成员"


class QuoteMember(db.Model):
    """A person a quote names, with one certificate they held valid on the quote's day (a
    snapshot: kind, number, last valid day). Sealed evidence like the quote (append-only)."""

    __tablename__ = "quote_members"
    __table_args__ = (UniqueConstraint("quote_id", "practitioner_id", "certificate_kind"),)

    id: Mapped[IntPK]
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))
    certificate_kind: Mapped[str] = mapped_column(String(100))
    certificate_number: Mapped[str] = mapped_column(String(100))
    certificate_valid_to: Mapped[Day]

    quote: Mapped[Quote] = relationship(back_populates="members")
    practitioner: Mapped[Practitioner] = relationship()


class Award(db.Model):
    """The outcome of a request (中选结果), published as the award notice (中选公示).

    One per request and round (unique), so two concurrent draws can never both record a winner;
    a later round exists only after an upheld objection withdrew the earlier award."""

    __tablename__ = "awards"
    # The award notices, newest first (their pages and the API's).
    __table_args__ = (
        Index("ix_awards_newest", "awarded_at", "id"),
        UniqueConstraint("request_id", "round", name="uq_awards_request_round"),
    )
    audit_type = "award"

    id: Mapped[IntPK]
    request_id: Mapped[int] = mapped_column(ForeignKey("selection_requests.id"))
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    provider_id: Mapped[ProviderRef] = mapped_column(index=True)
    method: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Money | None]
    reason: Mapped[Note | None]
    explanation: Mapped[Note | None]
    # For draws: the public inputs, the seed derived from them and the algorithm version.
    draw_inputs: Mapped[dict | None] = mapped_column(JSON)
    seed: Mapped[str | None] = mapped_column(String(64))
    algorithm: Mapped[str | None] = mapped_column(String(32))
    awarded_at: Mapped[Created]
    awarded_by_id: Mapped[UserRef | None]
    is_demo: Mapped[Flag]
    # The 公示期 in working days as configured when the award was made (None: published before
    # the 公示期 existed); it ends that many working days after the award's Beijing date.
    disclosure_workdays: Mapped[int | None] = mapped_column(Integer)

    request: Mapped[SelectionRequest] = relationship(back_populates="awards")
    provider: Mapped[Provider] = relationship()
    engagement: Mapped[Engagement | None] = relationship(back_populates="award", uselist=False)
    objections: Mapped[list[AwardObjection]] = relationship(
        back_populates="award", order_by="AwardObjection.id"
    )
    withdrawal: Mapped[AwardWithdrawal | None] = relationship(back_populates="award", uselist=False)

    @property
    def open_objection(self) -> AwardObjection | None:
        """The first objection still waiting for its answer, if any."""
        return next((o for o in self.objections if o.is_open), None)


class AwardObjectionOutcome(StrEnum):
    """Staff's answer to an objection to an award."""

    UPHELD = "成立"  # the award is withdrawn (撤销) and the owner decides again
    REJECTED = "不成立"  # the award stands; the answer gives the reasons


class AwardObjection(ObjectionAnswer, db.Model):
    """An objection (异议) to an award during its 公示期, by a bidder or the owner, and the
    answer of 政务办 staff. What was filed is fixed when filed, the answer when given."""

    __tablename__ = "award_objections"
    audit_type = "award_objection"

    id: Mapped[IntPK]
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    # Who objects, as filed: a bidder (provider) or the owner (enterprise), by name and code.
    party: Mapped[str] = mapped_column(String(8))
    party_name: Mapped[Name]
    party_uscc: Mapped[str] = mapped_column(String(18))
    reason: Mapped[Note]
    evidence: Mapped[Note | None]

    award: Mapped[Award] = relationship(back_populates="objections")

    @property
    def outcome_label(self) -> str:
        """The outcome as people read it."""
        if self.outcome is None:
            return "处理中"
        return f"异议{self.outcome}"


class AwardWithdrawal(db.Model):
    """The withdrawal (撤销) of an award after an upheld objection: the award row stays as it
    was published; this row says it no longer stands, why, and on which objection."""

    __tablename__ = "award_withdrawals"
    audit_type = "award_withdrawal"

    id: Mapped[IntPK]
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), unique=True)
    objection_id: Mapped[int | None] = mapped_column(ForeignKey("award_objections.id"))
    reason: Mapped[Note]
    withdrawn_at: Mapped[Created]
    withdrawn_by_id: Mapped[UserRef | None]

    award: Mapped[Award] = relationship(back_populates="withdrawal")


class EngagementStatus(StrEnum):
    """Delivery of the awarded work."""

    AWAITING_CONTRACT = "待签约"
    IN_PROGRESS = "服务中"
    SUBMITTED = "成果待确认"
    RETURNED = "成果退回"
    CONFIRMED = "已确认"
    # The award was withdrawn (an upheld objection): nothing further happens on it.
    WITHDRAWN = "已撤销"


class Engagement(Versioned, db.Model):
    """Delivery after an award: contract date starts the timer; result, confirmation."""

    __tablename__ = "engagements"
    audit_type = "engagement"
    COMMITTED_DAYS_UNIT = COMMITTED_DAYS_UNIT

    id: Mapped[IntPK]
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), unique=True)
    status: Mapped[str] = mapped_column(String(8), default=EngagementStatus.AWAITING_CONTRACT.value)
    committed_days: Mapped[int] = mapped_column(Integer)
    contract_date: Mapped[Day | None]
    due_date: Mapped[Day | None]
    result_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    result_note: Mapped[Note | None]
    submitted_at: Mapped[Moment | None]
    return_reason: Mapped[Note | None]
    confirmed_at: Mapped[Moment | None]
    overrun_days: Mapped[int | None] = mapped_column(Integer)
    # Who signed the result (签字人): one of the people the winning quote named.
    signatory_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))

    award: Mapped[Award] = relationship(back_populates="engagement")
    signatory: Mapped[Practitioner | None] = relationship()
    result: Mapped[Upload | None] = relationship()
    rating: Mapped[OwnerRating | None] = relationship(back_populates="engagement", uselist=False)


RATING_PARTS = (
    ("quality", "质量"),
    ("timeliness", "时效"),
    ("attitude", "态度"),
    ("fee", "收费"),
    ("conduct", "规范"),
)


class OwnerRating(Versioned, db.Model):
    """The enterprise's rating of the delivered work (业主评价): five 0–100 sub-scores."""

    __tablename__ = "owner_ratings"
    audit_type = "owner_rating"

    id: Mapped[IntPK]
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), unique=True)
    provider_id: Mapped[ProviderRef] = mapped_column(index=True)
    quality: Mapped[int] = mapped_column(Integer)
    timeliness: Mapped[int] = mapped_column(Integer)
    attitude: Mapped[int] = mapped_column(Integer)
    fee: Mapped[int] = mapped_column(Integer)
    conduct: Mapped[int] = mapped_column(Integer)
    comment_html: Mapped[Note | None]
    created_at: Mapped[Created]
    edited_at: Mapped[Moment | None]
    edit_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[Flag]
    hidden_reason: Mapped[Note | None]

    engagement: Mapped[Engagement] = relationship(back_populates="rating")
    provider: Mapped[Provider] = relationship()

    @property
    def average(self) -> float:
        """Mean of the five sub-scores."""
        return sum(getattr(self, part) for part, _ in RATING_PARTS) / len(RATING_PARTS)

    @property
    def counts(self) -> bool:
        """Whether the rating counts (grade, profile): not of work whose award an upheld
        objection withdrew (the rating stays stored as given)."""
        return self.engagement.status != EngagementStatus.WITHDRAWN.value

    @classmethod
    def counted(cls) -> ColumnElement[bool]:
        """`counts` as a filter on OwnerRating."""
        return ~cls.engagement.has(Engagement.status == EngagementStatus.WITHDRAWN.value)


class BehaviourKind(StrEnum):
    """Behaviour events the credit module turns into deductions."""

    WALKED_AWAY = "放弃中选"
    LATE_CONTRACT = "逾期签约"
    OVERRUN = "超期服务"
    QUALIFICATION_EXPIRED = "资质过期"
    COMPLAINT_UPHELD = "投诉属实"
    OTHER_VIOLATION = "其他违规"
    # A provider tried to register a person or certificate active at another provider (issue 17).
    HUNG_CERTIFICATE = "挂证嫌疑"


class BehaviourEvent(db.Model):
    """A recorded behaviour event about a provider (append-only)."""

    __tablename__ = "behaviour_events"
    audit_type = "behaviour_event"
    __table_args__ = (UniqueConstraint("kind", "source"),)

    id: Mapped[IntPK]
    provider_id: Mapped[ProviderRef] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(8))
    # What caused it, e.g. "engagement:12" or "qualification:5:2026-10-01"; unique per kind so
    # that a re-run of a check records an event once.
    source: Mapped[str] = mapped_column(String(100))
    occurred_on: Mapped[Day]
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[Created]

    provider: Mapped[Provider] = relationship()


for _model in (Quote, QuoteMember, Award, BehaviourEvent, AwardWithdrawal):
    append_only(_model)
# Filed, then answered once: the objection's own columns never change after filing, the answer's
# never after it is given.
write_once(
    AwardObjection,
    fixed=(
        "award_id",
        "party",
        "party_name",
        "party_uscc",
        "reason",
        "evidence",
        "submitted_by_id",
        "submitted_at",
        "answer_due",
    ),
    answer=("outcome", "answer", "answered_by_id", "answered_at"),
)
