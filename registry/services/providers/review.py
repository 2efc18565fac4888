"""Submission for review and the admin's review: what is still missing, approve or return
with a reason, the review queue."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Provider,
    ProviderStatus,
    Qualification,
    User,
)
from registry.models.types import utcnow
from registry.sanitize import as_clause, plain_text
from registry.services import audit, notify
from registry.services.errors import NotFound, RegistryError
from registry.services.providers import qualification_types
from registry.services.providers.common import (
    StaleProvider,
    check_own,
    check_provider_version,
)


def missing_for_review(provider: Provider, today: date) -> list[str]:
    """What the application still lacks before it can be reviewed (empty when complete)."""
    missing = []
    if not any(q.is_valid(today) for q in provider.qualifications):
        missing.append("至少一项在有效期内的资质")
    if not any(o.is_active for o in provider.offers):
        missing.append("至少一项服务承诺")
    return missing


def uncovered_offers(provider: Provider, today: date) -> list[tuple[str, str, list[str]]]:
    """The reviewer's check: offered service items for which the list names qualification types
    but the provider holds none of them in force, as (code, name, the listed types)."""
    held = {q.kind for q in provider.qualifications if q.is_valid(today)}
    found = []
    for offer in provider.offers:
        item = offer.service_item
        wanted = qualification_types.for_services([item.code])
        if offer.is_active and wanted and not held.intersection(wanted):
            found.append((item.code, item.name, wanted))
    return found


def submit_for_review(
    provider: Provider, *, actor: User, today: date, version: int | None = None
) -> None:
    """Send a draft or returned application to review (待审核)."""
    check_own(provider, actor)
    check_provider_version(provider, version)
    if provider.status == ProviderStatus.PENDING.value:
        raise RegistryError(None, "申请已提交,正在审核中。")
    if provider.status not in (ProviderStatus.DRAFT.value, ProviderStatus.RETURNED.value):
        raise RegistryError(None, f"当前状态为“{provider.status}”,无需提交审核。")
    missing = missing_for_review(provider, today)
    if missing:
        raise RegistryError(None, f"提交审核前请补充:{'、'.join(missing)}。")
    with audit.change("provider.submit", actor=actor, of=provider, stale=StaleProvider):
        provider.status = ProviderStatus.PENDING.value
        provider.submitted_at = utcnow()
    notify.notify(
        notify.people(policy.action_accounts("providers.review")),
        "review",
        f"{provider.name}(统一社会信用代码 {provider.uscc})提交了入驻申请,请审核。",
        link=f"/admin/providers/{provider.id}",
        kind="入驻申请",
        subject=f"新的入驻申请:{provider.name}",
    )


def _tell_applicant(provider: Provider, kind: str, message: str) -> None:
    """The applicant's account: the review's decision (its provider page shows it)."""
    account = db.session.get(User, provider.account_id) if provider.account_id else None
    notify.notify([account], "review", message, link="/my/provider", kind=kind)


def _check_pending(provider: Provider, version: int | None) -> None:
    check_provider_version(provider, version)
    if provider.status != ProviderStatus.PENDING.value:
        raise RegistryError(None, f"该机构当前状态为“{provider.status}”,不在待审核队列中。")


def _decide(
    provider: Provider,
    action: str,
    status: ProviderStatus,
    *,
    actor: User,
    reason: str | None = None,
) -> None:
    """Store the review decision (the reason is the note the provider sees) and audit it."""
    with audit.change(action, actor=actor, of=provider, stale=StaleProvider, detail=reason):
        provider.status = status.value
        provider.reviewed_at = utcnow()
        provider.reviewed_by_id = actor.id
        provider.review_note = reason


def approve(provider: Provider, *, actor: User, today: date, version: int | None = None) -> None:
    """Admin approves an application: the provider becomes ACTIVE and enters the directory."""
    _check_pending(provider, version)
    missing = missing_for_review(provider, today)
    if missing:
        raise RegistryError(None, f"申请资料不完整,不能通过:缺少{'、'.join(missing)}。")
    _decide(provider, "provider.approve", ProviderStatus.ACTIVE, actor=actor)
    for qualification in provider.qualifications:  # the whole review covered them
        qualification.pending_review = False
    _tell_applicant(
        provider,
        "入驻通过",
        f"{provider.name}的入驻申请已审核通过,贵机构已列入中介机构名录,可报名参加所提供服务事项的选取。",
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
    _decide(provider, "provider.return", ProviderStatus.RETURNED, actor=actor, reason=reason)
    _tell_applicant(
        provider,
        "入驻退回",
        f"{provider.name}的入驻申请被退回,退回原因:{as_clause(reason)}。请补正后重新提交审核。",
    )


def pending_qualifications() -> list[Qualification]:
    """Qualifications listed providers added and the admins have not checked, oldest first."""
    return list(
        db.session.scalars(
            select(Qualification)
            .join(Provider)
            .where(
                Qualification.pending_review.is_(True),
                Provider.status == ProviderStatus.ACTIVE.value,
            )
            .options(selectinload(Qualification.provider))
            .order_by(Qualification.id)
        )
    )


def _pending(provider: Provider, qualification_id: int) -> Qualification:
    qualification = next((q for q in provider.qualifications if q.id == qualification_id), None)
    if qualification is None:
        raise NotFound("未找到该资质")
    if not qualification.pending_review:
        raise RegistryError(None, "该资质已核验,不在待核验之列。")
    return qualification


def _what(qualification: Qualification) -> str:
    return f"资质“{qualification.kind_label}”(证书编号 {qualification.certificate_no})"


def accept_qualification(provider: Provider, qualification_id: int, *, actor: User) -> None:
    """The admins accept a qualification a listed provider added: it counts from now on."""
    qualification = _pending(provider, qualification_id)
    with audit.change("qualification.accept", actor=actor, of=qualification):
        qualification.pending_review = False
    _tell_applicant(
        provider, "资质核验", f"{provider.name}新增的{_what(qualification)}已核验通过。"
    )


def reject_qualification(
    provider: Provider, qualification_id: int, reason: str | None, *, actor: User
) -> None:
    """The admins refuse a qualification a listed provider added, with a reason it sees: the
    row is removed (the audit log keeps it); the provider stays listed on what it had."""
    qualification = _pending(provider, qualification_id)
    reason = plain_text(reason)
    if not reason:
        raise RegistryError("reason", "请填写不予通过的原因,告诉该机构需要补正的内容。")
    if len(reason) > 2000:
        raise RegistryError("reason", "原因最长 2000 字。")
    before = {**audit.snapshot(qualification), "provider": provider.uscc}
    what = _what(qualification)
    provider.qualifications.remove(qualification)
    db.session.flush()
    audit.record(
        "qualification.reject", actor=actor, of=qualification, before=before, detail=reason
    )
    _tell_applicant(
        provider, "资质核验", f"{provider.name}新增的{what}未通过核验:{as_clause(reason)}。"
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


def waiting_days(provider: Provider, on: date) -> int | None:
    """Calendar days an application has waited for review: from its submission (Beijing date)
    to `on`; None when it was never submitted."""
    if provider.submitted_at is None:
        return None
    return (on - clock.local_date(provider.submitted_at)).days


def status_counts() -> dict[str, int]:
    """Number of providers per status (admin overview)."""
    rows = db.session.execute(select(Provider.status, func.count()).group_by(Provider.status))
    return {row[0]: row[1] for row in rows}
