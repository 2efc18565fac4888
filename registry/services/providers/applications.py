"""A provider's application (入驻申请) and its qualifications: created and edited by the
provider account itself; a change to the key facts of an active provider sends it back to review."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.models import (
    REGIONS,
    Provider,
    ProviderStatus,
    Qualification,
    User,
)
from registry.pure.uscc import validate_uscc
from registry.sanitize import plain_text
from registry.services import audit
from registry.services.errors import RegistryError, add_unique
from registry.services.providers import qualification_types
from registry.services.providers.common import (
    FIELD_LABELS,
    KEY_FIELDS,
    back_to_review,
    check_own,
    check_provider_version,
    flush_provider,
    owned,
    provider_for,
    provider_snapshot,
    text_field,
    touch,
)
from registry.services.uploads import save_upload

_PHONE = re.compile(r"[0-9()()+\-— ,、转]{3,50}")
_LIMITS = {
    "name": 200,
    "legal_representative": 50,
    "address": 300,
    "contact_name": 50,
    "contact_phone": 50,
    "licence_scope": 5000,
}


def _apply_application(provider: Provider, data: dict, actor: User) -> None:
    try:
        uscc = validate_uscc(plain_text(data.get("uscc")))
    except ValueError as error:
        raise RegistryError("uscc", str(error)) from None
    # A self-registered account applies for the firm it registered (and confirmed) as; the code
    # could be swapped for another on the application, and the review did not show it. (An
    # application already stored under another code keeps it: only a change is refused.)
    if actor.org_uscc and uscc not in (actor.org_uscc, provider.uscc):
        raise RegistryError(
            "uscc",
            f"统一社会信用代码须与注册账户时填写的一致({actor.org_uscc});"
            "如注册时填写有误,请联系政务办。",
        )
    taken = db.session.scalar(select(Provider.id).where(Provider.uscc == uscc))
    if taken is not None and taken != provider.id:
        raise RegistryError("uscc", "该统一社会信用代码已有机构申请入驻;如有疑问请联系政务办。")
    provider.uscc = uscc
    for name in ("name", "legal_representative", "address", "contact_name", "contact_phone"):
        setattr(provider, name, text_field(data, name, FIELD_LABELS[name], limit=_LIMITS[name]))
    if not _PHONE.fullmatch(provider.contact_phone):
        raise RegistryError("contact_phone", "联系电话只能包含数字、括号、加号、短横线和空格。")
    region = data.get("region") or ""
    if region not in REGIONS:
        raise RegistryError("region", "请选择所在区域。")
    provider.region = region
    provider.licence_scope = text_field(
        data, "licence_scope", FIELD_LABELS["licence_scope"], limit=_LIMITS["licence_scope"]
    )


def create_application(data: dict, *, actor: User) -> Provider:
    """A provider account starts its entry application (status 草稿)."""
    if provider_for(actor) is not None:
        raise RegistryError(None, "该账户已登记过中介机构,请直接修改入驻资料。")
    provider = Provider(account_id=actor.id, status=ProviderStatus.DRAFT.value)
    _apply_application(provider, data, actor)
    add_unique(db.session, provider, "uscc", "该统一社会信用代码已有机构申请入驻。")
    audit.record("provider.create", actor=actor, of=provider, after=provider_snapshot(provider))
    return provider


def update_application(
    provider: Provider, data: dict, *, actor: User, version: int | None = None
) -> bool:
    """Edit the application; returns whether anything changed. Key changes on an ACTIVE
    provider send it back to 待审核."""
    check_own(provider, actor)
    check_provider_version(provider, version)
    before = provider_snapshot(provider)
    _apply_application(provider, data, actor)
    after = provider_snapshot(provider)
    if before == after:
        return False
    changed = [k for k in KEY_FIELDS if before.get(k) != after.get(k)]
    if changed:
        labels = "、".join(FIELD_LABELS[k] for k in changed)
        back_to_review(provider, f"修改了关键信息:{labels}", actor)
    flush_provider()
    audit.record(
        "provider.update",
        actor=actor,
        of=provider,
        before=before,
        after=provider_snapshot(provider),
    )
    return True


# A qualification's text fields: name, label, required, longest (kind: see _kind).
_QUALIFICATION_TEXT = (
    ("grade", "资质等级", False, 50),
    ("certificate_no", "证书编号", True, 100),
    ("issuer", "发证机关", True, 200),
)


def _date(data: dict, name: str, label: str) -> date:
    value = data.get(name)
    if not isinstance(value, date):
        raise RegistryError(name, f"请填写{label}(格式 YYYY-MM-DD)。")
    return value


def _kind(data: dict) -> tuple[str, str | None]:
    """The canonical type and its note from the form: a type must be on the controlled list (a
    variant spelling is accepted and kept as the note); 其他 needs a description."""
    typed = text_field(data, "kind", "资质类别", required=True, limit=100)
    note = plain_text(data.get("kind_note"))[:200].strip() or None
    name = qualification_types.canonical(typed)
    if name is None:
        raise RegistryError(
            "kind",
            f"资质类别“{typed}”不在资质类型列表中。请从列表中选择;"
            f"列表中没有的,请选择“{qualification_types.OTHER_LABEL}”并在资质说明中写明证书上的资质名称。",
        )
    if name == qualification_types.OTHER and note is None:
        raise RegistryError("kind_note", "选择“其他”时,请在资质说明中写明证书上的资质名称。")
    if note is None and typed != name:
        note = typed
    return name, note


def add_qualification(
    provider: Provider, data: dict, *, actor: User, scan: FileStorage | None = None
) -> Qualification:
    """Add a qualification certificate (optionally with a scan); on an ACTIVE provider it waits
    for the admins' check (pending_review) and the provider stays listed."""
    check_own(provider, actor)
    fields = {
        name: text_field(data, name, label, required=required, limit=limit) or None
        for name, label, required, limit in _QUALIFICATION_TEXT
    }
    fields["kind"], fields["kind_note"] = _kind(data)
    fields.update(valid_from=_date(data, "valid_from", "有效期起"))
    fields.update(valid_to=_date(data, "valid_to", "有效期止"))
    if fields["valid_from"] > fields["valid_to"]:
        raise RegistryError("valid_to", "有效期止不能早于有效期起。")
    if any(q.certificate_no == fields["certificate_no"] for q in provider.qualifications):
        raise RegistryError("certificate_no", "已添加过该证书编号的资质。")
    # The file is checked last, so a form with other mistakes stores no orphan upload.
    upload = save_upload(scan, "scan", actor) if scan is not None and scan.filename else None
    qualification = Qualification(**fields, scan=upload)
    provider.qualifications.append(qualification)
    _qualifications_changed(provider, qualification, "新增", actor)
    audit.record(
        "qualification.add", actor=actor, of=qualification, after=_held(qualification, provider)
    )
    return qualification


def get_qualification(provider: Provider, qualification_id: int) -> Qualification:
    """One of provider's qualifications (NotFound / Forbidden otherwise)."""
    return owned(Qualification, provider, qualification_id, "资质")


def remove_qualification(provider: Provider, qualification_id: int, *, actor: User) -> None:
    """Remove a qualification (it stops counting at once; the provider stays listed)."""
    check_own(provider, actor)
    qualification = get_qualification(provider, qualification_id)
    before = _held(qualification, provider)
    provider.qualifications.remove(qualification)
    _qualifications_changed(provider, qualification, "删除", actor)
    audit.record("qualification.remove", actor=actor, of=qualification, before=before)


def _held(qualification: Qualification, provider: Provider) -> dict:
    """A qualification as the audit log keeps it: its columns and whose it is."""
    return {**audit.snapshot(qualification), "provider": provider.uscc}


def _qualifications_changed(
    provider: Provider, qualification: Qualification, verb: str, actor: User
) -> None:
    """The provider's version moves (a review page opened before is stale). An ACTIVE provider
    stays listed: a qualification it adds waits for the admins' check on its own and counts
    only once accepted (`review.accept_qualification`); one it removes simply stops counting."""
    touch(provider)
    if verb == "新增" and provider.status == ProviderStatus.ACTIVE.value:
        qualification.pending_review = True
    flush_provider()
