"""The provider aggregate: intermediary firms (中介机构), their qualifications, offers and uploads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from registry.extensions import db
from registry.models.catalogue import ServiceItem
from registry.models.types import (
    Created,
    Day,
    Firm,
    Flag,
    IntPK,
    Moment,
    Money,
    Note,
    Phone,
    Updated,
    UserRef,
    Versioned,
)
from registry.pure.workdays import TimeUnit


class ProviderStatus(StrEnum):
    """Where a provider stands in entry review (入驻)."""

    DRAFT = "草稿"
    PENDING = "待审核"
    RETURNED = "已退回"
    ACTIVE = "已入驻"
    SUSPENDED = "已暂停"


REGIONS = ("滨海高新区", "滨海新区其他区域", "天津市其他区", "外省市")
# An offer's committed days (and the engagement's timer, delivery/engagements.py) count working
# days: every page writes them through the |days filter with this unit.
COMMITTED_DAYS_UNIT = TimeUnit.WORKING_DAY.value


class Upload(db.Model):
    """A stored file (a qualification scan, a service result): checked type and size, content by hash."""

    __tablename__ = "uploads"

    id: Mapped[IntPK]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[UserRef | None]
    created_at: Mapped[Created]


class UploadBlob(db.Model):
    """An upload's bytes under their SHA-256, for UPLOAD_STORAGE = "database" (every node reads
    the same PostgreSQL, so they share uploads without a shared disk)."""

    __tablename__ = "upload_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[Created]


class Provider(Firm, Versioned, db.Model):
    """An intermediary firm, identified by its unified social credit code (统一社会信用代码)."""

    __tablename__ = "providers"
    # The directory: active providers by name (its pages without sorting them all).
    __table_args__ = (Index("ix_providers_directory", "status", "name", "id"),)
    audit_type = "provider"

    id: Mapped[IntPK]
    legal_representative: Mapped[str] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(300))
    region: Mapped[str] = mapped_column(String(32))
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_phone: Mapped[Phone]
    licence_scope: Mapped[Note]
    status: Mapped[str] = mapped_column(String(8), default=ProviderStatus.DRAFT.value)
    review_note: Mapped[Note | None]
    submitted_at: Mapped[Moment | None]
    reviewed_at: Mapped[Moment | None]
    reviewed_by_id: Mapped[UserRef | None]
    account_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    # Filled by the credit module; None means 未评级.
    grade: Mapped[str | None] = mapped_column(String(4))
    credit_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    blacklisted_until: Mapped[Day | None]
    # The credit detail (composite with its parts and deductions, half-year trend) as of the
    # day it was last recomputed: services/grades/stored.py writes and reads it.
    credit_detail: Mapped[dict | None] = mapped_column(JSON)
    is_demo: Mapped[Flag]
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]

    qualifications: Mapped[list[Qualification]] = relationship(
        back_populates="provider", cascade="all, delete-orphan", order_by="Qualification.id"
    )
    offers: Mapped[list[Offer]] = relationship(
        back_populates="provider", cascade="all, delete-orphan", order_by="Offer.id"
    )

    @property
    def is_active(self) -> bool:
        """Active in the marketplace (entry approved, not suspended)."""
        return self.status == ProviderStatus.ACTIVE.value

    def is_blacklisted(self, on: date) -> bool:
        """Whether a blacklisting is in force on the given day."""
        return self.blacklisted_until is not None and self.blacklisted_until >= on


class CertificateFields:
    """What a certificate records, whoever holds it (a provider's 资质, a person's 执业资格): its
    issuer, its validity (valid_to is its last day), the uploaded scan, and when its expiry was
    flagged."""

    issuer: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[Day]
    valid_to: Mapped[Day]
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    expired_flagged_at: Mapped[Moment | None]

    @declared_attr
    def scan(cls) -> Mapped[Upload | None]:
        return relationship(Upload)

    def is_valid(self, on: date) -> bool:
        """Whether the certificate is in force on the given day."""
        return self.valid_from <= on <= self.valid_to


class Qualification(CertificateFields, db.Model):
    """A qualification certificate (资质) with its validity."""

    __tablename__ = "qualifications"
    audit_type = "qualification"

    id: Mapped[IntPK]
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    # The canonical name from the controlled list (services/providers/qualification_types.py).
    kind: Mapped[str] = mapped_column(String(100))
    # What the provider typed when it differed from the canonical name (kept as evidence by
    # migration 0018), or its own description of a type listed as 其他.
    kind_note: Mapped[str | None] = mapped_column(String(200))
    grade: Mapped[str | None] = mapped_column(String(50))
    certificate_no: Mapped[str] = mapped_column(String(100))
    # Added by an ACTIVE provider and not yet checked by the admins: it does not count (is_valid)
    # until they accept it, and the provider stays listed meanwhile (a renewed certificate took
    # the whole firm out of the directory and its quotes out of the draw: a tester, stop 31).
    pending_review: Mapped[Flag]

    provider: Mapped[Provider] = relationship(back_populates="qualifications")

    def is_valid(self, on: date) -> bool:
        """In force on the day, and checked by the admins."""
        return not self.pending_review and super().is_valid(on)

    @property
    def kind_label(self) -> str:
        """The type as pages show it: the canonical name; an 其他 type with its description."""
        if self.kind == "其他" and self.kind_note:
            return f"其他({self.kind_note})"
        return self.kind


class Offer(db.Model):
    """A provider's offer for one service item (服务承诺): committed days, fee, promise."""

    __tablename__ = "offers"
    audit_type = "offer"
    COMMITTED_DAYS_UNIT = COMMITTED_DAYS_UNIT
    __table_args__ = (UniqueConstraint("provider_id", "service_item_id"),)

    id: Mapped[IntPK]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), index=True)
    committed_days: Mapped[int] = mapped_column(Integer)
    fee_quote: Mapped[Money | None]
    fee_basis: Mapped[Note | None]
    promise: Mapped[Note | None]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    provider: Mapped[Provider] = relationship(back_populates="offers")
    service_item: Mapped[ServiceItem] = relationship()
    # Key personnel the provider commits to the item, by certificate type (issue 17).
    personnel: Mapped[list[OfferPersonnel]] = relationship(
        back_populates="offer", cascade="all, delete-orphan", order_by="OfferPersonnel.id"
    )


class HoldersOfKind:
    """A number of people holding one certificate type: an offer's key personnel, a request's
    team requirement. One row per type and owner."""

    id: Mapped[IntPK]
    # The canonical name from the controlled list (services/practitioners/certificate_types.py).
    kind: Mapped[str] = mapped_column(String(100))
    count: Mapped[int] = mapped_column(Integer)


class OfferPersonnel(HoldersOfKind, db.Model):
    """Key personnel an offer commits (关键人员): how many holders of one certificate type."""

    __tablename__ = "offer_personnel"
    __table_args__ = (UniqueConstraint("offer_id", "kind"),)

    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))

    offer: Mapped[Offer] = relationship(back_populates="personnel")
