"""Voided registrations (作废) kept as records: an employment or a certificate registration that
政务办 voided, or an applicant's that gave way to an entered provider's. Written once; an office
void may be lifted (撤销作废) once, which lets the firm register again."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.evidence import write_once
from registry.models.practitioners import Employment, PractitionerCertificate
from registry.models.providers import Provider
from registry.models.types import IntPK, Moment, UserRef


class VoidSubject:
    """What a void ends: an employment or a certificate registration."""

    EMPLOYMENT = "employment"
    CERTIFICATE = "certificate"


class VoidCause:
    """Who voided: 政务办 (blocks the firm until lifted) or an applicant's registration giving
    way to an entered firm's (never blocks, never lifted)."""

    OFFICE = "office"
    DISPLACED = "displaced"


class RegistrationVoid(db.Model):
    """A registration voided: what, whose, why, when and by whom; an office void is lifted at
    most once (lifted_at, lifted_by_id, lift_reason)."""

    __tablename__ = "registration_voids"
    audit_type = "registration_void"
    __table_args__ = (
        Index("ix_registration_voids_of", "practitioner_id", "subject", "provider_id"),
    )

    id: Mapped[IntPK]
    subject: Mapped[str] = mapped_column(String(20))  # VoidSubject
    employment_id: Mapped[int | None] = mapped_column(ForeignKey("employments.id"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner_certificates.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    # The firm whose registration was voided (for a certificate, the holder's employer then).
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    cause: Mapped[str] = mapped_column(String(20))  # VoidCause
    reason: Mapped[str] = mapped_column(String(200))
    voided_at: Mapped[Moment]
    voided_by_id: Mapped[UserRef | None]
    lifted_at: Mapped[Moment | None]
    lifted_by_id: Mapped[UserRef | None]
    lift_reason: Mapped[str | None] = mapped_column(String(200))

    employment: Mapped[Employment | None] = relationship()
    certificate: Mapped[PractitionerCertificate | None] = relationship()
    provider: Mapped[Provider | None] = relationship()

    @property
    def in_force(self) -> bool:
        """An office void not lifted: it keeps blocking the firm."""
        return self.cause == VoidCause.OFFICE and self.lifted_at is None

    @property
    def what(self) -> str:
        """The registration voided, in Chinese (the unmasked view)."""
        if self.subject == VoidSubject.EMPLOYMENT:
            return "任职登记"
        certificate = self.certificate
        return f"证书 {certificate.kind} {certificate.number}" if certificate else "证书登记"


VOID_FIXED = (
    "subject",
    "employment_id",
    "certificate_id",
    "practitioner_id",
    "provider_id",
    "cause",
    "reason",
    "voided_at",
    "voided_by_id",
)
VOID_LIFT = ("lifted_at", "lifted_by_id", "lift_reason")
# Written once but for its lift, itself written once; never deleted.
write_once(RegistrationVoid, fixed=VOID_FIXED, answer=VOID_LIFT)
