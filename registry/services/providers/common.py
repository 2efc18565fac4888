"""What every provider use case shares: the fields and limits of an application, the
provider an account acts for, optimistic locking (StaleProvider), and sending an active provider
whose key facts changed back to review."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from registry.extensions import db
from registry.kernel import clock
from registry.kernel.versions import StaleEdit, check_version, flush_checked
from registry.models import (
    Offer,
    Provider,
    ProviderStatus,
    Qualification,
    User,
)
from registry.models.types import utcnow
from registry.services import audit, errors
from registry.services.errors import Forbidden, NotFound

# Changing any of these on an ACTIVE provider sends it back to review (qualifications too).
KEY_FIELDS = ("uscc", "name", "legal_representative", "licence_scope")
FIELD_LABELS = {
    "uscc": "统一社会信用代码",
    "name": "机构名称",
    "legal_representative": "法定代表人",
    "address": "地址",
    "region": "所在区域",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "licence_scope": "营业执照经营范围",
}
GRADES = ("AA", "A", "B", "C", "D")
UNRATED = "none"  # the directory's filter value for 未评级 (grade is None)
STALE_MESSAGE = (
    "本次操作未生效:您打开页面之后,这家机构的资料已被修改(可能来自其他窗口、申请机构或审核人员)。"
    "为避免覆盖他人的修改,请重新打开页面,核对最新内容后再操作。"
)
SYSTEM_ACTOR = "system:check-deadlines"


class StaleProvider(StaleEdit):
    """Someone changed the provider since the editor loaded it (optimistic locking)."""

    message_text = STALE_MESSAGE


def today() -> date:
    """Today in the zone's time zone (validity dates are local dates)."""
    return clock.today()


def text_field(
    data: dict, name: str, label: str, *, required: bool = True, limit: int = 200
) -> str:
    """The form's text field `name` checked by errors.text_field."""
    return errors.text_field(data.get(name), name, label, limit, required=required)


def flush_provider() -> None:
    """Flush; a provider row updated meanwhile by someone else becomes a StaleProvider."""
    flush_checked(db.session, StaleProvider)


def check_provider_version(provider: Provider, version: int | None) -> None:
    """The form carries the version it was rendered from; a different one means a stale page."""
    check_version(provider.version, version, StaleProvider)


def check_own(provider: Provider, actor: User) -> None:
    if provider.account_id is None or provider.account_id != getattr(actor, "id", None):
        raise Forbidden("只能修改本机构的资料")


def provider_snapshot(provider: Provider) -> dict:
    return audit.snapshot(provider)


def touch(provider: Provider) -> None:
    """Mark the provider row changed when only its qualifications or offers did, so its version
    moves on and a review decision taken on the older page is refused as stale."""
    provider.updated_at = utcnow()
    # Flagged as well: two changes in the same instant (a coarse or frozen clock) still move it.
    flag_modified(provider, "updated_at")


def back_to_review(provider: Provider, reason: str, actor: User) -> bool:
    """An ACTIVE provider whose key facts changed leaves the directory until approved again."""
    if provider.status != ProviderStatus.ACTIVE.value:
        return False
    provider.status = ProviderStatus.PENDING.value
    provider.submitted_at = utcnow()
    provider.review_note = None
    audit.record("provider.back_to_review", of=provider, actor=actor, detail=reason)
    return True


def owned(model: type, provider: Provider, object_id: int, noun: str):
    """A child row of provider by id: NotFound if absent, Forbidden if another provider's."""
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(f"未找到该{noun}")
    if obj.provider_id != provider.id:
        raise Forbidden(f"该{noun}不属于本机构")
    return obj


def provider_for(user: Any) -> Provider | None:
    """The provider a provider account acts for, or None if it has not applied yet."""
    if user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(
        select(Provider)
        .where(Provider.account_id == user.id)
        .options(
            selectinload(Provider.qualifications).selectinload(Qualification.scan),
            selectinload(Provider.offers).selectinload(Offer.service_item),
        )
    )


def get_provider(provider_id: int) -> Provider:
    """Any provider by id (admin review), or NotFound."""
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("未找到该中介机构")
    return provider
