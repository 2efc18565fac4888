"""The practitioner aggregate (从业人员): people independent of any firm, their employments at
providers and their professional certificates.

Personal information is kept to what the checks need (个人信息保护法): of a national ID number
only a keyed HMAC-SHA256 digest (to recognise the same person, registry/pii.py) and its last
four characters are stored, never the number itself.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.evidence import append_only
from registry.models.providers import CertificateFields, Provider
from registry.models.types import Created, Day, Flag, IntPK, Moment, Updated, UserRef, Versioned

# An employment is open while ended_on is empty; a person has at most one open employment.
OPEN_EMPLOYMENT = text("ended_on IS NULL")
# A certificate number holds against others until a void frees it (registration_voids).
NUMBER_HELD = text("NOT voided")


class Practitioner(Versioned, db.Model):
    """A person (从业人员), known by name and a digest of the national ID number."""

    __tablename__ = "practitioners"
    audit_type = "practitioner"

    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(50))
    # HMAC-SHA256 (hex) of the normalised ID number under PERSONAL_ID_KEY: "the same person".
    id_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # The last four characters of the ID number, the only part any page shows.
    id_tail: Mapped[str] = mapped_column(String(4))
    # The person's own account, for their own view and objections (None until linked).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    # The provider that (last) sent the invitation of that account; None when 政务办 did or no
    # account is linked: an employment of that provider voided or given way takes the account.
    invited_by_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    is_demo: Mapped[Flag]
    created_at: Mapped[Created]
    updated_at: Mapped[Updated]

    employments: Mapped[list[Employment]] = relationship(
        back_populates="practitioner", order_by="Employment.id"
    )
    certificates: Mapped[list[PractitionerCertificate]] = relationship(
        back_populates="practitioner", order_by="PractitionerCertificate.id"
    )

    @property
    def current_employment(self) -> Employment | None:
        """The open employment, if the person works somewhere now."""
        return next((e for e in self.employments if e.ended_on is None), None)


class Employment(db.Model):
    """A practitioner working at a provider from started_on until ended_on (open while empty).
    When it was entered (created_at) and when its end was entered (ended_recorded_at) are kept:
    the draw pool judges a team by what was on record at the deadline instant."""

    __tablename__ = "employments"
    audit_type = "employment"
    __table_args__ = (
        # At most one open employment per person, on both databases (services check it first).
        Index(
            "uq_employments_open",
            "practitioner_id",
            unique=True,
            sqlite_where=OPEN_EMPLOYMENT,
            postgresql_where=OPEN_EMPLOYMENT,
        ),
        # A provider's current staff.
        Index("ix_employments_provider_open", "provider_id", "ended_on"),
    )

    id: Mapped[IntPK]
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    title: Mapped[str | None] = mapped_column(String(50))  # 职务/岗位, optional
    started_on: Mapped[Day]
    ended_on: Mapped[Day | None]  # the first day no longer employed (离职日期)
    # When ended_on was entered (common.close_employment); None while open, and for ends entered
    # before migration 0025, whose dates are taken as on record.
    ended_recorded_at: Mapped[Moment | None]
    created_at: Mapped[Created]

    practitioner: Mapped[Practitioner] = relationship(back_populates="employments")
    provider: Mapped[Provider] = relationship()

    def is_current(self, on: date) -> bool:
        """Whether the person works at the provider on the given day (ended_on is the first day
        they no longer do, so a move from one provider to another leaves no day at both)."""
        return self.started_on <= on and (self.ended_on is None or on < self.ended_on)

    def was_current(self, on: date, at: datetime) -> bool:
        """Whether the record as it stood at the instant `at` had the person working there on
        the day `on`: entered by then, and not ended by an end entered by then (an employment
        or an end entered later counts for nothing, whatever its dates)."""
        if self.created_at > at or self.started_on > on:
            return False
        end_known = self.ended_on is not None and (
            self.ended_recorded_at is None or self.ended_recorded_at <= at
        )
        return not end_known or on < self.ended_on


class PractitionerCertificate(CertificateFields, db.Model):
    """A professional certificate (执业资格/注册证书) of a person, from the controlled list."""

    __tablename__ = "practitioner_certificates"
    audit_type = "practitioner_certificate"
    # One certificate number per type, whoever holds it (the 挂证 check rests on this); a
    # voided registration no longer holds its number (the real holder may register it).
    __table_args__ = (
        Index(
            "uq_practitioner_certificates_number",
            "kind",
            "number_key",
            unique=True,
            sqlite_where=NUMBER_HELD,
            postgresql_where=NUMBER_HELD,
        ),
    )

    id: Mapped[IntPK]
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    # The canonical name from the controlled list (services/practitioners/certificate_types.py).
    kind: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(100))  # as entered
    # NFKC, upper-case, without spaces and hyphens (registry/pii.py number_key).
    number_key: Mapped[str] = mapped_column(String(100))
    # 注销: the first day the certificate no longer counts, and why; the row is kept (the number
    # stays taken, so the 挂证 check still sees it).
    withdrawn_on: Mapped[Day | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(String(200))
    # Voided (registration_voids): withdrawn, and its number free for others; set once, never
    # cleared (lifting a void lets the firm register the number again as a new row).
    voided: Mapped[Flag]
    created_at: Mapped[Created]

    practitioner: Mapped[Practitioner] = relationship(back_populates="certificates")
    versions: Mapped[list[CertificateVersion]] = relationship(
        back_populates="certificate",
        order_by="(CertificateVersion.recorded_at, CertificateVersion.id)",
    )

    def is_valid(self, on: date) -> bool:
        """Whether the certificate is in force on the given day (a withdrawn one stops on
        withdrawn_on)."""
        withdrawn = self.withdrawn_on is not None and on >= self.withdrawn_on
        return super().is_valid(on) and not withdrawn

    def as_recorded(self, at: datetime) -> CertificateVersion | None:
        """The certificate as it stood on record at the instant `at` (its last version entered
        by then), or None if it was not registered yet."""
        return next((v for v in reversed(self.versions) if v.recorded_at <= at), None)


# What a certificate version records: a change to any of these writes one (history.py).
VERSIONED_FIELDS = ("kind", "number_key", "valid_from", "valid_to", "withdrawn_on")


class CertificateVersion(db.Model):
    """One version of a practitioner's certificate, append-only: written when the certificate
    is added and whenever its type, number key, validity or withdrawal (注销, void) changes, with
    when and by whom (services/practitioners/history.py). The certificate row keeps only its
    current state; the draw pool reads the version on record at a selection's deadline instant,
    so a renewal, correction or withdrawal entered after it cannot change who is drawn from."""

    __tablename__ = "certificate_versions"
    audit_type = "certificate_version"
    __table_args__ = (
        Index("ix_certificate_versions_certificate", "certificate_id", "recorded_at"),
    )

    id: Mapped[IntPK]
    certificate_id: Mapped[int] = mapped_column(ForeignKey("practitioner_certificates.id"))
    kind: Mapped[str] = mapped_column(String(100))
    number_key: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[Day]
    valid_to: Mapped[Day]
    withdrawn_on: Mapped[Day | None]
    recorded_at: Mapped[Moment]
    recorded_by_id: Mapped[UserRef | None]

    certificate: Mapped[PractitionerCertificate] = relationship(back_populates="versions")

    def is_valid(self, on: date) -> bool:
        """Whether this version had the certificate in force on the day."""
        withdrawn = self.withdrawn_on is not None and on >= self.withdrawn_on
        return self.valid_from <= on <= self.valid_to and not withdrawn


append_only(CertificateVersion)
