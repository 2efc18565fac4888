"""The regulators' own behaviour entries (投诉属实, 其他违规) about the providers their
department supervises, and the behaviour events a regulator may see."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from registry import policy
from registry.extensions import db
from registry.kernel.paging import Page
from registry.models.accounts import User
from registry.models.catalogue import Department
from registry.models.market import BehaviourEvent, BehaviourKind
from registry.models.providers import Provider, ProviderStatus
from registry.sanitize import plain_text
from registry.services import audit
from registry.services.errors import Forbidden, RegistryError
from registry.services.grades.compute import months_before, today

# Behaviour a regulator records itself (the marketplace records the others).
REGULATOR_KINDS = (BehaviourKind.COMPLAINT_UPHELD.value, BehaviourKind.OTHER_VIOLATION.value)
REGULATOR_SOURCE = "regulator:"
FACTS_MAX = 2000
REFERENCE_MAX = 100
_KEY = re.compile(r"^[0-9a-f]{32}$")


def _department_of(actor: User) -> Department:
    """The department a regulator acts for (policy.regulator_department); anyone else is refused."""
    department = policy.regulator_department(actor)
    if department is None:
        raise Forbidden("只有绑定部门的行业主管部门账户可以录入行为记录")
    return department


def in_scope(actor: User, provider: Provider) -> bool:
    """Whether the regulator's department supervises the provider (policy.supervises)."""
    return policy.supervises(_department_of(actor).id, provider)


def scoped_providers(actor: User) -> list[Provider]:
    """Active or suspended providers the regulator's department supervises, by name."""
    department = _department_of(actor)
    return list(
        db.session.scalars(
            select(Provider)
            .where(
                policy.supervised_providers(department.id),
                Provider.status.in_((ProviderStatus.ACTIVE.value, ProviderStatus.SUSPENDED.value)),
            )
            .order_by(Provider.name, Provider.uscc)
        )
    )


def behaviour_events(actor: User, *, page: int = 1, per_page: int = 20) -> Page:
    """Behaviour events the regulator may see, newest first: those its department entered, and
    those the marketplace recorded about providers it supervises (never another department's
    own entries)."""
    department = _department_of(actor)
    own = BehaviourEvent.source.like(f"{REGULATOR_SOURCE}{department.code}:%")
    market = ~BehaviourEvent.source.like(f"{REGULATOR_SOURCE}%") & BehaviourEvent.provider_id.in_(
        policy.supervised_provider_ids(department.id)
    )
    query = select(BehaviourEvent).where(own | market)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.order_by(BehaviourEvent.occurred_on.desc(), BehaviourEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(items), total, page, per_page)


def record_behaviour(
    actor: User,
    *,
    provider_uscc: str | None,
    kind: str | None,
    occurred_on: date | None,
    facts: str | None,
    reference: str | None = None,
    submission_key: str | None = None,
    on: date | None = None,
) -> BehaviourEvent:
    """A regulator records an upheld complaint or another violation about a provider its
    department supervises. Audited; a provider outside the department is refused (Forbidden,
    nothing stored). The form's one-time key makes a double-submit store one row."""
    department = _department_of(actor)
    on = on or today()
    if kind not in REGULATOR_KINDS:
        raise RegistryError("kind", "请选择行为类型(投诉属实或其他违规)。")
    uscc = plain_text(provider_uscc).upper()[:18]
    provider = db.session.scalar(select(Provider).where(Provider.uscc == uscc)) if uscc else None
    if provider is None:
        raise RegistryError("provider", "请选择中介机构。")
    if not in_scope(actor, provider):
        raise Forbidden(f"{provider.uscc} 不在{department.name}监管的中介服务事项范围内")
    if provider.status not in (ProviderStatus.ACTIVE.value, ProviderStatus.SUSPENDED.value):
        raise RegistryError("provider", "该机构尚未入驻,不能录入行为记录。")
    if occurred_on is None:
        raise RegistryError("occurred_on", "请填写发生日期(YYYY-MM-DD)。")
    if occurred_on > on:
        raise RegistryError("occurred_on", "发生日期不能晚于今天。")
    if occurred_on < months_before(on, 120):
        raise RegistryError("occurred_on", "发生日期过早,请核对(不得早于十年前)。")
    facts_text = plain_text(facts)
    if not facts_text:
        raise RegistryError("facts", "请填写事实和依据。")
    if len(facts_text) > FACTS_MAX:
        raise RegistryError("facts", f"事实和依据最长 {FACTS_MAX} 字。")
    reference_text = plain_text(reference)
    if len(reference_text) > REFERENCE_MAX:
        raise RegistryError("reference", f"文号最长 {REFERENCE_MAX} 字。")
    key = (submission_key or "").strip().lower()
    if not _KEY.match(key):
        raise RegistryError(None, "表单已失效,请刷新页面后重新填写。")
    source = f"{REGULATOR_SOURCE}{department.code}:{key}"
    existing = db.session.scalar(select(BehaviourEvent).where(BehaviourEvent.source == source))
    if existing is not None:
        return existing  # the same form posted twice
    event_row = BehaviourEvent(
        provider_id=provider.id,
        kind=kind,
        source=source,
        occurred_on=occurred_on,
        details={
            "facts": facts_text,
            "reference": reference_text or None,
            "department": department.code,
            "entered_by": actor.username,
        },
    )
    try:
        with db.session.begin_nested():
            db.session.add(event_row)
    except IntegrityError:  # a racing double-submit: the unique (kind, source) refused it
        existing = db.session.scalar(select(BehaviourEvent).where(BehaviourEvent.source == source))
        if existing is None:
            raise RegistryError(None, "保存未成功,请重试。") from None
        return existing
    audit.record(
        "behaviour_event.create",
        actor=actor,
        of=event_row,
        after=audit.snapshot(event_row),
        detail=f"{provider.uscc} {kind}",
    )
    return event_row
