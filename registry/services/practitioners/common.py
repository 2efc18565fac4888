"""What the practitioner use cases share: the key of the ID digest, finding a person by ID
number, loading a provider's own practitioner or employment, ending an employment (audited),
the dates of the forms, and how a person or a certificate is named to a firm (masked)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from flask import current_app
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Employment,
    Practitioner,
    PractitionerCertificate,
    Provider,
    User,
)
from registry.pure import pii
from registry.services import audit
from registry.services.errors import Forbidden, NotFound, RegistryError

SYSTEM_ACTOR = "system:check-deadlines"


def personal_id_key() -> bytes:
    """The HMAC key of ID digests: PERSONAL_ID_KEY, or (unset) one derived from SECRET_KEY, so
    the raw SECRET_KEY is never the digest key itself."""
    configured = current_app.config.get("PERSONAL_ID_KEY")
    if configured:
        return str(configured).encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"registry:personal-id", hashlib.sha256).digest()


def digest_of(id_number: str) -> str:
    """The digest that stands for an ID number (see registry/pure/pii.py)."""
    return pii.id_digest(id_number, personal_id_key())


def find_by_id_number(id_number: str) -> Practitioner | None:
    """The person registered under this ID number, if any (by digest; the number is not kept)."""
    return db.session.scalar(
        select(Practitioner).where(Practitioner.id_digest == digest_of(id_number))
    )


def own_practitioner(provider: Provider, practitioner_id: int) -> Practitioner:
    """A person currently employed by provider: NotFound if unknown, Forbidden otherwise."""
    person = db.session.get(Practitioner, practitioner_id)
    if person is None:
        raise NotFound("未找到该从业人员")
    current = person.current_employment
    if current is None or current.provider_id != provider.id:
        raise Forbidden("该人员不是本机构在职人员")
    return person


def own_employment(provider: Provider, employment_id: int) -> Employment:
    """One of provider's employments: NotFound if unknown, Forbidden if another provider's."""
    employment = db.session.get(Employment, employment_id)
    if employment is None:
        raise NotFound("未找到该任职记录")
    if employment.provider_id != provider.id:
        raise Forbidden("该任职记录不属于本机构")
    return employment


def close_employment(
    employment: Employment,
    ended_on: date,
    *,
    actor: User,
    action: str,
    after: dict,
    detail: str | None = None,
) -> None:
    """End an employment on `ended_on` (the first day it no longer counts) and audit it as
    `action` with `after`: the provider's own leaving, or a registration voided or given way."""
    employment.ended_on = ended_on
    # When the end was entered: the draw pool ignores an end entered after a deadline.
    employment.ended_recorded_at = clock.now()
    db.session.flush()
    audit.record(action, actor=actor, of=employment, after=after, detail=detail)


def form_date(data: dict, name: str, label: str) -> date:
    """A required date field of the form."""
    value = data.get(name)
    if not isinstance(value, date):
        raise RegistryError(name, f"请填写{label}(格式 YYYY-MM-DD)。")
    return value


def named_person(person: Practitioner) -> str:
    """A person as a refusal, a 挂证 record or a void names them to a firm: the masked name and
    the last four characters of the ID number."""
    return f"从业人员 {pii.mask_name(person.name)}(身份证号末四位 {person.id_tail})"


def named_certificate(certificate: PractitionerCertificate) -> str:
    """A certificate as a refusal, a 挂证 record or a void names it: its type and its number
    partly hidden."""
    return f"证书 {certificate.kind} {pii.mask_number(certificate.number)}"


def own_certificate(provider: Provider, certificate_id: int) -> PractitionerCertificate:
    """A certificate of one of provider's current staff: NotFound if unknown, Forbidden
    otherwise."""
    certificate = db.session.get(PractitionerCertificate, certificate_id)
    if certificate is None:
        raise NotFound("未找到该证书")
    own_practitioner(provider, certificate.practitioner_id)
    return certificate
