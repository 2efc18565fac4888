"""The services a provider offers (服务事项) with their fees: saved and withdrawn by the provider
account; a new offer of an active provider sends it back to review."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Offer,
    Provider,
    ServiceItem,
    User,
    Validity,
)
from registry.sanitize import sanitize_html
from registry.services import audit
from registry.services.errors import RegistryError, decimal_field
from registry.services.providers import personnel
from registry.services.providers.common import (
    StaleProvider,
    check_own,
    flush_provider,
    owned,
    text_field,
    touch,
)


def _apply_offer(offer: Offer, data: dict) -> None:
    days = data.get("committed_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 3650:
        raise RegistryError("committed_days", "承诺办理时限须为 1–3650 之间的整数(工作日)。")
    fee_quote = decimal_field(data.get("fee_quote"), "fee_quote", "报价")
    fee_basis = text_field(data, "fee_basis", "收费依据", required=False, limit=1000) or None
    if fee_quote is None and fee_basis is None:
        raise RegistryError("fee_quote", "请填写报价,或在“收费依据”中说明收费方式。")
    promise = data.get("promise") or ""
    if len(promise) > 5000:
        raise RegistryError("promise", "服务承诺最长 5000 字。")
    offer.committed_days = days
    offer.fee_quote = fee_quote
    offer.fee_basis = fee_basis
    offer.promise = sanitize_html(promise) or None


def _service_item(code: str | None) -> ServiceItem:
    item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == (code or "")))
    if item is None or item.validity == Validity.REPEALED.value:
        raise RegistryError("service_item", "请选择有效的中介服务事项。")
    return item


def get_offer(provider: Provider, offer_id: int) -> Offer:
    """One of provider's offers (NotFound / Forbidden otherwise)."""
    return owned(Offer, provider, offer_id, "服务承诺")


def save_offer(
    provider: Provider, data: dict, *, actor: User, offer_id: int | None = None
) -> Offer:
    """Add an offer for a service item (reviving a deactivated one for the same item), or edit
    one (the item stays fixed). Offers are not key facts: an ACTIVE provider stays listed."""
    check_own(provider, actor)
    if offer_id is not None:
        offer = get_offer(provider, offer_id)
        action = "offer.update"
    else:
        item = _service_item(data.get("service_item"))
        offer = next((o for o in provider.offers if o.service_item_id == item.id), None)
        if offer is not None and offer.is_active:
            raise RegistryError("service_item", "已为该事项登记过服务承诺,请在列表中直接修改。")
        action = "offer.reactivate" if offer is not None else "offer.create"
        if offer is None:
            offer = Offer(service_item=item)
            provider.offers.append(offer)
    before = _snapshot(offer) if offer.id is not None else None
    _apply_offer(offer, data)
    if "personnel" in data:
        wanted = personnel.checked_personnel(provider, data["personnel"], clock.today())
        personnel.apply_personnel(offer, wanted)
    offer.is_active = True
    after = _snapshot(offer) if offer.id is not None else None
    if before is not None and before == after:
        return offer
    touch(provider)
    try:
        flush_provider()
    except IntegrityError:
        # Two submissions for the same item at once: the unique (provider, item) refuses one.
        raise RegistryError(
            "service_item", "已为该事项登记过服务承诺,请刷新页面后在列表中直接修改。"
        ) from None
    audit.record(
        action,
        actor=actor,
        of=offer,
        before=before,
        after={**_snapshot(offer), "provider": provider.uscc},
    )
    return offer


def _snapshot(offer: Offer) -> dict:
    """The offer's columns and its committed personnel, as the audit log records them."""
    return {**audit.snapshot(offer), "personnel": personnel.personnel_of(offer)}


def deactivate_offer(provider: Provider, offer_id: int, *, actor: User) -> None:
    """Withdraw an offer (kept for the record; it leaves the directory and selection)."""
    check_own(provider, actor)
    offer = get_offer(provider, offer_id)
    if not offer.is_active:
        return
    with audit.change(
        "offer.deactivate",
        actor=actor,
        of=offer,
        stale=StaleProvider,
        extra={"provider": provider.uscc},
    ):
        offer.is_active = False
        touch(provider)
