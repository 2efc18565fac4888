"""What was on record when: every service that adds a certificate or changes its type, number
key, validity or withdrawal appends a version (certificate_versions, append-only), and ending an
employment stamps when the end was entered (common.close_employment). The draw pool reads them
(services/market/staffing.py): a team is judged by what was on record at the deadline instant,
so nothing entered later, whatever its dates, changes who is drawn from."""

from __future__ import annotations

from registry.extensions import db
from registry.kernel import clock
from registry.models import CertificateVersion, PractitionerCertificate, User
from registry.models.practitioners import VERSIONED_FIELDS


def _fields(row: PractitionerCertificate | CertificateVersion) -> dict:
    return {name: getattr(row, name) for name in VERSIONED_FIELDS}


def record_certificate(
    certificate: PractitionerCertificate, actor: User | None
) -> CertificateVersion | None:
    """Append the certificate's current state as a version, entered now by `actor` (None: the
    system), unless its last version already says the same; flushes the certificate (and the
    version); returns the version written, if any."""
    last = certificate.versions[-1] if certificate.versions else None
    fields = _fields(certificate)
    version = None
    if last is None or _fields(last) != fields:
        version = CertificateVersion(
            certificate=certificate,
            recorded_at=clock.now(),
            recorded_by_id=actor.id if actor is not None else None,
            **fields,
        )
        db.session.add(version)
    db.session.flush()
    return version
