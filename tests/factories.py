"""Building marketplace objects for tests through the real services where they exist (active
providers with offers and qualifications, enterprises with projects, requests past deadline)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Offer,
    Provider,
    ProviderStatus,
    Qualification,
    ServiceItem,
    User,
)
from registry.pure.uscc import make_uscc
from registry.services import market

_numbers = itertools.count(1)


def uscc() -> str:
    """A fresh valid unified social credit code."""
    return make_uscc(f"91120116{next(_numbers):08d}")


def active_provider(
    service_codes=("ZJ-03",),
    *,
    name: str | None = None,
    account: User | None = None,
    grade: str | None = None,
    credit_score=None,
    committed_days: int = 10,
    valid_to: date | None = None,
    qualification_kind: str = "工程咨询单位资信",
    blacklisted_until: date | None = None,
) -> Provider:
    """An ACTIVE provider offering the given service items with a valid qualification (flushed)."""
    code = uscc()
    provider = Provider(
        uscc=code,
        name=name or f"天津测试{code[-6:]}环境科技有限公司",
        legal_representative="张三",
        address="天津市滨海高新区华苑产业区海泰发展六道6号",
        region="滨海高新区",
        contact_name="李四",
        contact_phone="022-58000000",
        licence_scope="环境影响评价;技术咨询",
        status=ProviderStatus.ACTIVE.value,
        account_id=account.id if account else None,
        grade=grade,
        credit_score=None if credit_score is None else Decimal(str(credit_score)),
        blacklisted_until=blacklisted_until,
    )
    provider.qualifications.append(
        Qualification(
            kind=qualification_kind,
            grade="甲级",
            certificate_no=f"Q{code[-8:]}",
            issuer="中国工程咨询协会",
            valid_from=date(2024, 1, 1),
            valid_to=valid_to or clock.today() + timedelta(days=365),
        )
    )
    for service_code in service_codes:
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == service_code))
        provider.offers.append(
            Offer(service_item=item, committed_days=committed_days, fee_quote=Decimal("50000"))
        )
    db.session.add(provider)
    db.session.flush()
    return provider


def enterprise_with_project(user: User, *, code: str | None = None, category: str = "民营/外资"):
    """Attach the user to a new enterprise and give it a project (flushed); returns the project."""
    enterprise = market.create_enterprise(f"天津示范{next(_numbers)}制造有限公司", uscc())
    user.enterprise_id = enterprise.id
    db.session.flush()
    return market.create_project(
        user,
        code=code or f"2026-120116-{next(_numbers) % 100:02d}-01-{next(_numbers):06d}",
        name="新建厂房项目",
        category=category,
        location="天津滨海高新区",
    )


def later(hours: float = 2):
    """A deadline hours from now (timezone-aware)."""
    return clock.now() + timedelta(hours=hours)
