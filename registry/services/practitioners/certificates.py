"""Keeping a registered certificate current: renewing it (new validity, optionally a new number and
scan; the expiry flag reset), correcting a typo in its issuer or validity, and withdrawing it
(注销). Each change is audited with the certificate before and after; a withdrawn certificate is
kept and marked, never deleted, so its number stays taken and the 挂证 check still sees it."""

from __future__ import annotations

from datetime import date
from typing import Any

from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.models import PractitionerCertificate, Provider, User
from registry.pure import pii
from registry.services import audit, errors
from registry.services.errors import RegistryError
from registry.services.practitioners import history
from registry.services.practitioners.common import form_date, own_certificate
from registry.services.practitioners.roster import (
    _add_guarded,
    _attach_scan,
    _check_certificate_free,
    _person_facts,
    certificate_key,
    make_room,
)
from registry.services.providers.common import check_own


def certificate_facts(certificate: PractitionerCertificate) -> dict[str, Any]:
    """A certificate as the audit log keeps it (the number masked)."""
    return {
        "kind": certificate.kind,
        "number": pii.mask_number(certificate.number),
        "issuer": certificate.issuer,
        "valid_from": certificate.valid_from.isoformat(),
        "valid_to": certificate.valid_to.isoformat(),
        "scan": certificate.scan_id,
        "withdrawn_on": certificate.withdrawn_on and certificate.withdrawn_on.isoformat(),
        "withdrawn_reason": certificate.withdrawn_reason,
    }


def _editable(provider: Provider, certificate_id: int, actor: User) -> PractitionerCertificate:
    """A certificate of one of provider's current staff that is not withdrawn."""
    check_own(provider, actor)
    certificate = own_certificate(provider, certificate_id)
    if certificate.withdrawn_on is not None:
        raise RegistryError(None, "该证书已注销,不能再修改或续期;如取得新证书,请为该人员添加证书。")
    return certificate


def _validity(data: dict) -> tuple[date, date]:
    """The form's validity: both dates, in order."""
    valid_from = form_date(data, "valid_from", "有效期起")
    valid_to = form_date(data, "valid_to", "有效期止")
    if valid_from > valid_to:
        raise RegistryError("valid_to", "有效期止不能早于有效期起。")
    return valid_from, valid_to


def _audit_change(
    action: str,
    certificate: PractitionerCertificate,
    before: dict,
    actor: User,
    provider: Provider,
    detail: str | None = None,
) -> None:
    """One audit entry with the certificate before and after the change."""
    db.session.flush()
    audit.record(
        action,
        actor=actor,
        of=certificate,
        before=before,
        after={
            **_person_facts(certificate.practitioner),
            "provider": provider.uscc,
            **certificate_facts(certificate),
        },
        detail=detail,
    )


def renew_certificate(
    provider: Provider,
    certificate_id: int,
    data: dict,
    *,
    actor: User,
    scan: FileStorage | None = None,
) -> PractitionerCertificate:
    """Renew a certificate of one of provider's current staff: a new validity ending after the
    old one, the same number (or a new one, checked like a new certificate: 挂证), a new issuer
    and scan if given. The expiry flag is reset, so a lapse of the new term is noticed again."""
    certificate = _editable(provider, certificate_id, actor)
    valid_from, valid_to = _validity(data)
    if valid_to <= certificate.valid_to:
        raise RegistryError(
            "valid_to", f"续期后的有效期止须晚于原有效期止 {certificate.valid_to:%Y-%m-%d}。"
        )
    number = errors.text_field(data.get("number"), "number", "证书编号", 100, required=False)
    # A new number is refused as a new one would be (invisible characters, too few signs).
    key = certificate_key(number) if number else certificate.number_key
    fields = {"kind": certificate.kind, "number_key": key}
    moved = key != certificate.number_key
    if moved:
        make_room(certificate.practitioner, provider, fields, actor)
    issuer = errors.text_field(data.get("issuer"), "issuer", "发证机关", 200, required=False)
    before = certificate_facts(certificate)

    def renew() -> PractitionerCertificate:
        if number:
            certificate.number, certificate.number_key = number, key
        certificate.issuer = issuer or certificate.issuer
        certificate.valid_from, certificate.valid_to = valid_from, valid_to
        certificate.expired_flagged_at = None
        return certificate

    # As add_certificate: a race to a new number re-runs the check (which now sees the winner and
    # records the 挂证 attempt), and the scan is stored only once the renewal is in.
    _add_guarded(
        renew,
        "number",
        "该证书编号刚刚被登记,请刷新后核对。",
        recheck=(
            (lambda: _check_certificate_free(certificate.practitioner, provider, fields, actor))
            if moved
            else None
        ),
        then=lambda built: _attach_scan(built, scan, actor),
    )
    history.record_certificate(certificate, actor)
    _audit_change("practitioner.certificate_renew", certificate, before, actor, provider)
    return certificate


def correct_certificate(
    provider: Provider, certificate_id: int, data: dict, *, actor: User
) -> PractitionerCertificate:
    """Correct a typo in a certificate's issuer or validity, with a note saying what was wrong;
    the entry keeps both versions. A changed last day resets the expiry flag."""
    certificate = _editable(provider, certificate_id, actor)
    issuer = errors.text_field(data.get("issuer"), "issuer", "发证机关", 200)
    valid_from, valid_to = _validity(data)
    note = errors.text_field(data.get("note"), "note", "更正说明", 200)
    after = (issuer, valid_from, valid_to)
    if after == (certificate.issuer, certificate.valid_from, certificate.valid_to):
        raise RegistryError(None, "没有需要更正的内容。")
    before = certificate_facts(certificate)
    if valid_to != certificate.valid_to:
        certificate.expired_flagged_at = None
    certificate.issuer, certificate.valid_from, certificate.valid_to = after
    history.record_certificate(certificate, actor)
    _audit_change("practitioner.certificate_correct", certificate, before, actor, provider, note)
    return certificate


def withdraw_certificate(
    provider: Provider, certificate_id: int, data: dict, *, actor: User
) -> PractitionerCertificate:
    """Withdraw (注销) a certificate of one of provider's current staff with a reason: kept and
    marked, it stops counting today; its number stays taken except by the same person, whose
    certificate may be added again (roster.make_room keeps this one as history)."""
    certificate = _editable(provider, certificate_id, actor)
    reason = errors.text_field(data.get("reason"), "reason", "注销原因", 200)
    before = certificate_facts(certificate)
    certificate.withdrawn_on = clock.today()
    certificate.withdrawn_reason = reason
    history.record_certificate(certificate, actor)
    _audit_change("practitioner.certificate_withdraw", certificate, before, actor, provider)
    return certificate
