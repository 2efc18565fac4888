"""Practitioners (从业人员), one module per subject: `certificate_types` (the controlled list),
`common` (the ID key, lookups), `roster` (registering people, employments and certificates,
the 挂证 check), `certificates` (renewing, correcting and withdrawing one), `history` (each certificate's versions,
what was on record when), `staff` (who counts as a provider's valid practitioner) and `expiry`
(the daily expired-certificate check).

Services flush, audit and raise RegistryError; they never commit. The public names are
re-exported here."""

from __future__ import annotations

from registry.services.practitioners.certificates import (
    correct_certificate,
    renew_certificate,
    withdraw_certificate,
)
from registry.services.practitioners.common import (
    digest_of,
    find_by_id_number,
    own_certificate,
    own_employment,
    own_practitioner,
    personal_id_key,
)
from registry.services.practitioners.expiry import CertificateCheck, certificate_batches
from registry.services.practitioners.roster import (
    add_certificate,
    end_employment,
    register_practitioner,
)
from registry.services.practitioners.staff import (
    current_staff,
    employed_on,
    past_staff,
    staff_page,
    strength,
    valid_certificate,
    valid_practitioners,
)

__all__ = [
    "CertificateCheck",
    "add_certificate",
    "certificate_batches",
    "correct_certificate",
    "current_staff",
    "digest_of",
    "employed_on",
    "end_employment",
    "find_by_id_number",
    "own_certificate",
    "own_employment",
    "own_practitioner",
    "past_staff",
    "personal_id_key",
    "register_practitioner",
    "renew_certificate",
    "staff_page",
    "strength",
    "valid_certificate",
    "valid_practitioners",
    "withdraw_certificate",
]
