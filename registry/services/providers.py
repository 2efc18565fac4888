"""Provider entry (入驻) use cases: the application, qualifications, offers, admin review, the
expired-qualification check, eligibility helpers for selection, and the public directory.

Services flush, audit and raise RegistryError; they never commit. Every self-service function
takes the acting account and refuses to touch a provider that is not the account's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.kernel.paging import Page
from registry.kernel.versions import StaleEdit, check_version, flush_checked
from registry.models import (
    REGIONS,
    Award,
    BehaviourEvent,
    BehaviourKind,
    Offer,
    OwnerRating,
    Provider,
    ProviderStatus,
    Qualification,
    SelectionRequest,
    ServiceItem,
    User,
    Validity,
)
from registry.models.types import utcnow
from registry.pure.uscc import validate_uscc
from registry.sanitize import plain_text, sanitize_html
from registry.services import audit
from registry.services.errors import Forbidden, NotFound, RegistryError, add_unique
from registry.services.uploads import save_upload

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
_PHONE = re.compile(r"[0-9()()+\-— ,、转]{3,50}")
_MAX_FEE = Decimal("9999999999.99")  # Numeric(12, 2)
_LIMITS = {
    "name": 200,
    "legal_representative": 50,
    "address": 300,
    "contact_name": 50,
    "contact_phone": 50,
    "licence_scope": 5000,
}


class StaleProvider(StaleEdit):
    """Someone changed the provider since the editor loaded it (optimistic locking)."""

    message_text = STALE_MESSAGE


# ---------------------------------------------------------------------- helpers


def today() -> date:
    """Today in the zone's time zone (validity dates are local dates)."""
    return clock.today()


def _text(data: dict, name: str, label: str, *, required: bool = True, limit: int = 200) -> str:
    value = plain_text(data.get(name))
    if required and not value:
        raise RegistryError(name, f"请填写{label}。")
    if len(value) > limit:
        raise RegistryError(name, f"{label}最长 {limit} 字。")
    return value


def _flush() -> None:
    """Flush; a provider row updated meanwhile by someone else becomes a StaleProvider."""
    flush_checked(db.session, StaleProvider)


def _check_version(provider: Provider, version: int | None) -> None:
    """The form carries the version it was rendered from; a different one means a stale page."""
    check_version(provider.version, version, StaleProvider)


def _check_own(provider: Provider, actor: User) -> None:
    if provider.account_id is None or provider.account_id != getattr(actor, "id", None):
        raise Forbidden("只能修改本机构的资料")


def _snapshot(provider: Provider) -> dict:
    return audit.snapshot(provider)


def _touch(provider: Provider) -> None:
    """Mark the provider row changed when only its qualifications or offers did, so its version
    moves on and a review decision taken on the older page is refused as stale."""
    provider.updated_at = utcnow()
    # Flagged as well: two changes in the same instant (a coarse or frozen clock) still move it.
    flag_modified(provider, "updated_at")


def _back_to_review(provider: Provider, reason: str, actor: User) -> bool:
    """An ACTIVE provider whose key facts changed leaves the directory until approved again."""
    if provider.status != ProviderStatus.ACTIVE.value:
        return False
    provider.status = ProviderStatus.PENDING.value
    provider.submitted_at = utcnow()
    provider.review_note = None
    audit.record(
        "provider.back_to_review",
        object_type="provider",
        object_id=provider.uscc,
        actor=actor,
        detail=reason,
    )
    return True


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


# ---------------------------------------------------------------------- the application


def _apply_application(provider: Provider, data: dict) -> None:
    try:
        uscc = validate_uscc(plain_text(data.get("uscc")))
    except ValueError as error:
        raise RegistryError("uscc", str(error)) from None
    taken = db.session.scalar(select(Provider.id).where(Provider.uscc == uscc))
    if taken is not None and taken != provider.id:
        raise RegistryError("uscc", "该统一社会信用代码已有机构申请入驻;如有疑问请联系政务办。")
    provider.uscc = uscc
    for name in ("name", "legal_representative", "address", "contact_name", "contact_phone"):
        setattr(provider, name, _text(data, name, FIELD_LABELS[name], limit=_LIMITS[name]))
    if not _PHONE.fullmatch(provider.contact_phone):
        raise RegistryError("contact_phone", "联系电话只能包含数字、括号、加号、短横线和空格。")
    region = data.get("region") or ""
    if region not in REGIONS:
        raise RegistryError("region", "请选择所在区域。")
    provider.region = region
    provider.licence_scope = _text(
        data, "licence_scope", FIELD_LABELS["licence_scope"], limit=_LIMITS["licence_scope"]
    )


def create_application(data: dict, *, actor: User) -> Provider:
    """A provider account starts its entry application (status 草稿)."""
    if provider_for(actor) is not None:
        raise RegistryError(None, "该账户已登记过中介机构,请直接修改入驻资料。")
    provider = Provider(account_id=actor.id, status=ProviderStatus.DRAFT.value)
    _apply_application(provider, data)
    add_unique(db.session, provider, "uscc", "该统一社会信用代码已有机构申请入驻。")
    audit.record(
        "provider.create",
        actor=actor,
        object_type="provider",
        object_id=provider.uscc,
        after=_snapshot(provider),
    )
    return provider


def update_application(
    provider: Provider, data: dict, *, actor: User, version: int | None = None
) -> bool:
    """Edit the application; returns whether anything changed. Key changes on an ACTIVE
    provider send it back to 待审核."""
    _check_own(provider, actor)
    _check_version(provider, version)
    before = _snapshot(provider)
    _apply_application(provider, data)
    after = _snapshot(provider)
    if before == after:
        return False
    changed = [k for k in KEY_FIELDS if before.get(k) != after.get(k)]
    if changed:
        labels = "、".join(FIELD_LABELS[k] for k in changed)
        _back_to_review(provider, f"修改了关键信息:{labels}", actor)
    _flush()
    audit.record(
        "provider.update",
        actor=actor,
        object_type="provider",
        object_id=provider.uscc,
        before=before,
        after=_snapshot(provider),
    )
    return True


# ---------------------------------------------------------------------- qualifications


def _date(data: dict, name: str, label: str) -> date:
    value = data.get(name)
    if not isinstance(value, date):
        raise RegistryError(name, f"请填写{label}(格式 YYYY-MM-DD)。")
    return value


def add_qualification(
    provider: Provider, data: dict, *, actor: User, scan: FileStorage | None = None
) -> Qualification:
    """Add a qualification certificate (optionally with a scan); on an ACTIVE provider this is a
    key change that sends it back to review."""
    _check_own(provider, actor)
    kind = _text(data, "kind", "资质类别", limit=100)
    grade = _text(data, "grade", "资质等级", required=False, limit=50) or None
    certificate_no = _text(data, "certificate_no", "证书编号", limit=100)
    issuer = _text(data, "issuer", "发证机关", limit=200)
    valid_from = _date(data, "valid_from", "有效期起")
    valid_to = _date(data, "valid_to", "有效期止")
    if valid_from > valid_to:
        raise RegistryError("valid_to", "有效期止不能早于有效期起。")
    if any(q.certificate_no == certificate_no for q in provider.qualifications):
        raise RegistryError("certificate_no", "已添加过该证书编号的资质。")
    # The file is checked last, so a form with other mistakes stores no orphan upload.
    upload = save_upload(scan, "scan", actor) if scan is not None and scan.filename else None
    qualification = Qualification(
        kind=kind,
        grade=grade,
        certificate_no=certificate_no,
        issuer=issuer,
        valid_from=valid_from,
        valid_to=valid_to,
        scan=upload,
    )
    provider.qualifications.append(qualification)
    _touch(provider)
    _back_to_review(provider, f"新增资质:{kind} {certificate_no}", actor)
    _flush()
    audit.record(
        "qualification.add",
        actor=actor,
        object_type="qualification",
        object_id=qualification.id,
        after={**audit.snapshot(qualification), "provider": provider.uscc},
    )
    return qualification


def _owned(model: type, provider: Provider, object_id: int, noun: str):
    """A child row of provider by id: NotFound if absent, Forbidden if another provider's."""
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(f"未找到该{noun}")
    if obj.provider_id != provider.id:
        raise Forbidden(f"该{noun}不属于本机构")
    return obj


def get_qualification(provider: Provider, qualification_id: int) -> Qualification:
    """One of provider's qualifications (NotFound / Forbidden otherwise)."""
    return _owned(Qualification, provider, qualification_id, "资质")


def remove_qualification(provider: Provider, qualification_id: int, *, actor: User) -> None:
    """Remove a qualification; on an ACTIVE provider this sends it back to review."""
    _check_own(provider, actor)
    qualification = get_qualification(provider, qualification_id)
    before = {**audit.snapshot(qualification), "provider": provider.uscc}
    provider.qualifications.remove(qualification)
    _touch(provider)
    _back_to_review(
        provider, f"删除资质:{qualification.kind} {qualification.certificate_no}", actor
    )
    _flush()
    audit.record(
        "qualification.remove",
        actor=actor,
        object_type="qualification",
        object_id=qualification_id,
        before=before,
    )


# ---------------------------------------------------------------------- offers


def _fee(raw: Any) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise RegistryError("fee_quote", "报价须为数字(元)。") from None
    if not value.is_finite() or value < 0:
        raise RegistryError("fee_quote", "报价不能为负数。")
    if value > _MAX_FEE:
        raise RegistryError("fee_quote", "报价超出可登记的范围。")
    return value.quantize(Decimal("0.01"))


def _apply_offer(offer: Offer, data: dict) -> None:
    days = data.get("committed_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 3650:
        raise RegistryError("committed_days", "承诺办理时限须为 1–3650 之间的整数(天)。")
    fee_quote = _fee(data.get("fee_quote"))
    fee_basis = _text(data, "fee_basis", "收费依据", required=False, limit=1000) or None
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
    return _owned(Offer, provider, offer_id, "服务承诺")


def save_offer(
    provider: Provider, data: dict, *, actor: User, offer_id: int | None = None
) -> Offer:
    """Add an offer for a service item (reviving a deactivated one for the same item), or edit
    one (the item stays fixed). Offers are not key facts: an ACTIVE provider stays listed."""
    _check_own(provider, actor)
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
    before = audit.snapshot(offer) if offer.id is not None else None
    _apply_offer(offer, data)
    offer.is_active = True
    after = audit.snapshot(offer) if offer.id is not None else None
    if before is not None and before == after:
        return offer
    _touch(provider)
    try:
        _flush()
    except IntegrityError:
        # Two submissions for the same item at once: the unique (provider, item) refuses one.
        raise RegistryError(
            "service_item", "已为该事项登记过服务承诺,请刷新页面后在列表中直接修改。"
        ) from None
    audit.record(
        action,
        actor=actor,
        object_type="offer",
        object_id=offer.id,
        before=before,
        after={**audit.snapshot(offer), "provider": provider.uscc},
    )
    return offer


def deactivate_offer(provider: Provider, offer_id: int, *, actor: User) -> None:
    """Withdraw an offer (kept for the record; it leaves the directory and selection)."""
    _check_own(provider, actor)
    offer = get_offer(provider, offer_id)
    if not offer.is_active:
        return
    before = audit.snapshot(offer)
    offer.is_active = False
    _touch(provider)
    _flush()
    audit.record(
        "offer.deactivate",
        actor=actor,
        object_type="offer",
        object_id=offer.id,
        before=before,
        after={**audit.snapshot(offer), "provider": provider.uscc},
    )


# ---------------------------------------------------------------------- submission and review


def missing_for_review(provider: Provider, today: date) -> list[str]:
    """What the application still lacks before it can be reviewed (empty when complete)."""
    missing = []
    if not any(q.is_valid(today) for q in provider.qualifications):
        missing.append("至少一项在有效期内的资质")
    if not any(o.is_active for o in provider.offers):
        missing.append("至少一项服务承诺")
    return missing


def submit_for_review(
    provider: Provider, *, actor: User, today: date, version: int | None = None
) -> None:
    """Send a draft or returned application to review (待审核)."""
    _check_own(provider, actor)
    _check_version(provider, version)
    if provider.status == ProviderStatus.PENDING.value:
        raise RegistryError(None, "申请已提交,正在审核中。")
    if provider.status not in (ProviderStatus.DRAFT.value, ProviderStatus.RETURNED.value):
        raise RegistryError(None, f"当前状态为“{provider.status}”,无需提交审核。")
    missing = missing_for_review(provider, today)
    if missing:
        raise RegistryError(None, f"提交审核前请补充:{'、'.join(missing)}。")
    before = _snapshot(provider)
    provider.status = ProviderStatus.PENDING.value
    provider.submitted_at = utcnow()
    _flush()
    audit.record(
        "provider.submit",
        actor=actor,
        object_type="provider",
        object_id=provider.uscc,
        before=before,
        after=_snapshot(provider),
    )


def _check_pending(provider: Provider, version: int | None) -> None:
    _check_version(provider, version)
    if provider.status != ProviderStatus.PENDING.value:
        raise RegistryError(None, f"该机构当前状态为“{provider.status}”,不在待审核队列中。")


def approve(provider: Provider, *, actor: User, today: date, version: int | None = None) -> None:
    """Admin approves an application: the provider becomes ACTIVE and enters the directory."""
    _check_pending(provider, version)
    missing = missing_for_review(provider, today)
    if missing:
        raise RegistryError(None, f"申请资料不完整,不能通过:缺少{'、'.join(missing)}。")
    before = _snapshot(provider)
    provider.status = ProviderStatus.ACTIVE.value
    provider.reviewed_at = utcnow()
    provider.reviewed_by_id = actor.id
    provider.review_note = None
    _flush()
    audit.record(
        "provider.approve",
        actor=actor,
        object_type="provider",
        object_id=provider.uscc,
        before=before,
        after=_snapshot(provider),
    )


def return_application(
    provider: Provider, reason: str, *, actor: User, version: int | None = None
) -> None:
    """Admin returns an application with a reason the provider sees (已退回)."""
    _check_pending(provider, version)
    reason = plain_text(reason)
    if not reason:
        raise RegistryError("reason", "请填写退回原因,告诉申请机构需要补正的内容。")
    if len(reason) > 2000:
        raise RegistryError("reason", "退回原因最长 2000 字。")
    before = _snapshot(provider)
    provider.status = ProviderStatus.RETURNED.value
    provider.reviewed_at = utcnow()
    provider.reviewed_by_id = actor.id
    provider.review_note = reason
    _flush()
    audit.record(
        "provider.return",
        actor=actor,
        object_type="provider",
        object_id=provider.uscc,
        before=before,
        after=_snapshot(provider),
        detail=reason,
    )


def review_queue() -> list[Provider]:
    """Applications waiting for review, oldest submission first."""
    return list(
        db.session.scalars(
            select(Provider)
            .where(Provider.status == ProviderStatus.PENDING.value)
            .options(selectinload(Provider.qualifications), selectinload(Provider.offers))
            .order_by(Provider.submitted_at, Provider.id)
        )
    )


def status_counts() -> dict[str, int]:
    """Number of providers per status (admin overview)."""
    rows = db.session.execute(select(Provider.status, func.count()).group_by(Provider.status))
    return {row[0]: row[1] for row in rows}


# ---------------------------------------------------------------------- deadlines and eligibility


@dataclass
class QualificationCheck:
    """What one run of check_qualifications did."""

    expired: int = 0  # qualifications past valid_to (flagged now or before)
    flagged: int = 0  # newly flagged in this run
    events: int = 0  # behaviour events recorded in this run
    providers: list[str] = field(default_factory=list)  # USCCs newly affected

    def summary(self) -> str:
        """One line of Chinese for the cron log."""
        return (
            f"已过期资质 {self.expired} 项,本次新标记 {self.flagged} 项,"
            f"记录行为事件 {self.events} 条"
        )


def qualification_source(qualification: Qualification) -> str:
    """The behaviour event source of one expiry; includes valid_to so a renewal that expires
    again is a new event, while a re-run of the check is not."""
    return f"qualification:{qualification.id}:{qualification.valid_to.isoformat()}"


def check_qualifications(today: date) -> QualificationCheck:
    """Flag qualifications past their valid_to and record one 资质过期 behaviour event each for
    active providers (idempotent: re-runs add nothing)."""
    result = QualificationCheck()
    expired = db.session.scalars(
        select(Qualification)
        .where(Qualification.valid_to < today)
        .options(selectinload(Qualification.provider))
        .order_by(Qualification.id)
    ).all()
    result.expired = len(expired)
    for qualification in expired:
        provider = qualification.provider
        if qualification.expired_flagged_at is None:
            qualification.expired_flagged_at = utcnow()
            result.flagged += 1
            audit.record(
                "qualification.expired",
                actor_name=SYSTEM_ACTOR,
                object_type="qualification",
                object_id=qualification.id,
                detail=f"{provider.uscc} {qualification.kind} 有效期至 {qualification.valid_to}",
            )
        if provider.status != ProviderStatus.ACTIVE.value:
            continue  # an applicant's old certificate is not a market behaviour
        source = qualification_source(qualification)
        exists = db.session.scalar(
            select(BehaviourEvent.id).where(
                BehaviourEvent.kind == BehaviourKind.QUALIFICATION_EXPIRED.value,
                BehaviourEvent.source == source,
            )
        )
        if exists is not None:
            continue
        event = BehaviourEvent(
            provider_id=provider.id,
            kind=BehaviourKind.QUALIFICATION_EXPIRED.value,
            source=source,
            occurred_on=qualification.valid_to + timedelta(days=1),
            details={
                "qualification": qualification.kind,
                "certificate_no": qualification.certificate_no,
                "valid_to": qualification.valid_to.isoformat(),
            },
        )
        try:
            # A concurrent run may have recorded the same event: the unique (kind, source)
            # refuses the second one, and only this savepoint is undone.
            with db.session.begin_nested():
                db.session.add(event)
        except IntegrityError:
            continue
        audit.record(
            "behaviour_event.create",
            actor_name=SYSTEM_ACTOR,
            object_type="behaviour_event",
            object_id=event.id,
            after=audit.snapshot(event),
        )
        result.events += 1
        if provider.uscc not in result.providers:
            result.providers.append(provider.uscc)
    db.session.flush()
    return result


def has_valid_qualification(provider: Provider, on: date) -> bool:
    """Whether any of the provider's qualifications is in force on the day."""
    return any(q.is_valid(on) for q in provider.qualifications)


def qualification_valid_until(provider: Provider, on: date) -> date | None:
    """The latest valid_to among qualifications in force on the day (None: none in force)."""
    return max((q.valid_to for q in provider.qualifications if q.is_valid(on)), default=None)


def eligible_offer(provider: Provider, service_item: ServiceItem, on: date) -> Offer | None:
    """The provider's offer for the item if it may take part in selection on the day: provider
    ACTIVE, offer active, a qualification in force, not blacklisted. Per-request rules
    (exclusions, qualification requirements) are the selection code's own."""
    if not provider.is_active or provider.is_blacklisted(on):
        return None
    if not has_valid_qualification(provider, on):
        return None
    return next(
        (o for o in provider.offers if o.service_item_id == service_item.id and o.is_active),
        None,
    )


def _offers_of_active_providers(service_item: ServiceItem) -> list[Offer]:
    return list(
        db.session.scalars(
            select(Offer)
            .join(Offer.provider)
            .where(
                Offer.service_item_id == service_item.id,
                Offer.is_active.is_(True),
                Provider.status == ProviderStatus.ACTIVE.value,
            )
            .options(
                selectinload(Offer.provider).selectinload(Provider.qualifications),
                selectinload(Offer.provider).selectinload(Provider.offers),
            )
            .order_by(Provider.uscc)
        )
    )


def eligible_offers(service_item: ServiceItem, on: date) -> list[Offer]:
    """Every offer for the item that may take part in selection on the day, by provider USCC."""
    return [
        o
        for o in _offers_of_active_providers(service_item)
        if eligible_offer(o.provider, service_item, on)
    ]


def eligible_providers(service_item: ServiceItem, on: date) -> list[Provider]:
    """Providers that may take part in selection for the item on the day, by USCC."""
    return [o.provider for o in eligible_offers(service_item, on)]


def listed_offers(service_item: ServiceItem) -> list[Offer]:
    """Active offers of active providers for the item (the catalogue page lists them all and
    marks those not currently eligible)."""
    return _offers_of_active_providers(service_item)


# ---------------------------------------------------------------------- the public directory


@dataclass(frozen=True)
class DirectoryFilters:
    """Filters of the provider directory (page and API alike)."""

    service: str | None = None  # service item code
    region: str | None = None
    grade: str | None = None  # one of GRADES, or UNRATED
    qualification: str | None = None  # qualification kind, in force on `on`
    on: date | None = None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any((self.service, self.region, self.grade, self.qualification))


def directory_query(filters: DirectoryFilters):
    """The filtered, ordered query behind the directory: ACTIVE providers only."""
    query = select(Provider).where(Provider.status == ProviderStatus.ACTIVE.value)
    if filters.service:
        query = query.where(
            Provider.offers.any(
                (Offer.is_active.is_(True))
                & Offer.service_item.has(ServiceItem.code == filters.service)
            )
        )
    if filters.region:
        query = query.where(Provider.region == filters.region)
    if filters.grade == UNRATED:
        query = query.where(Provider.grade.is_(None))
    elif filters.grade:
        query = query.where(Provider.grade == filters.grade)
    if filters.qualification:
        condition = Qualification.kind == filters.qualification
        if filters.on is not None:
            condition = (
                condition
                & (Qualification.valid_from <= filters.on)
                & (Qualification.valid_to >= filters.on)
            )
        query = query.where(Provider.qualifications.any(condition))
    return query.order_by(Provider.name, Provider.id)


def list_directory(filters: DirectoryFilters, page: int = 1, per_page: int = 20) -> Page:
    """One page of active providers matching the filters, with offers and qualifications."""
    page = max(1, page)
    base = directory_query(filters)
    total = db.session.scalar(select(func.count()).select_from(base.order_by(None).subquery()))
    items = db.session.scalars(
        base.options(
            selectinload(Provider.offers).selectinload(Offer.service_item),
            selectinload(Provider.qualifications),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(items), total or 0, page, per_page)


def qualification_kinds() -> list[str]:
    """Distinct qualification kinds held by active providers (the directory's filter options)."""
    return list(
        db.session.scalars(
            select(Qualification.kind)
            .join(Qualification.provider)
            .where(Provider.status == ProviderStatus.ACTIVE.value)
            .distinct()
            .order_by(Qualification.kind)
        )
    )


def get_public_provider(uscc: str) -> Provider:
    """An ACTIVE provider by USCC; anything else (draft, pending, suspended) is NotFound."""
    provider = db.session.scalar(
        select(Provider)
        .where(Provider.uscc == (uscc or "").strip().upper()[:18])
        .options(
            selectinload(Provider.offers).selectinload(Offer.service_item),
            selectinload(Provider.qualifications),
        )
    )
    if provider is None or not provider.is_active:
        raise NotFound("未找到该中介机构,或其尚未入驻")
    return provider


def rating_history(provider: Provider) -> list[OwnerRating]:
    """The provider's owner ratings, oldest first (hidden comments stay hidden; scores count)."""
    return list(
        db.session.scalars(
            select(OwnerRating)
            .where(OwnerRating.provider_id == provider.id)
            .order_by(OwnerRating.created_at, OwnerRating.id)
        )
    )


def awards_of(provider: Provider) -> list[Award]:
    """Award notices the provider won, newest first."""
    return list(
        db.session.scalars(
            select(Award)
            .where(Award.provider_id == provider.id)
            .options(selectinload(Award.request).selectinload(SelectionRequest.service_item))
            .order_by(Award.awarded_at.desc(), Award.id.desc())
        )
    )
