"""The public directory of active providers: filters, a provider's public page, its rating
history and awards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.kernel.paging import Page
from registry.models import (
    Award,
    Offer,
    OwnerRating,
    Provider,
    ProviderStatus,
    Qualification,
    SelectionRequest,
    ServiceItem,
)
from registry.services.errors import NotFound
from registry.services.providers import qualification_types
from registry.services.providers.common import UNRATED


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
        # An old link may name a variant spelling: it filters by its canonical type.
        kind = qualification_types.canonical(filters.qualification) or filters.qualification
        query = query.where(Provider.qualifications.any(_held(kind, filters.on)))
    return query.order_by(Provider.name, Provider.id)


def _held(kind: str, on: date | None):
    """A qualification of the (canonical) kind, checked (not 待核验), in force on `on` when
    given."""
    condition = (Qualification.kind == kind) & Qualification.pending_review.is_(False)
    if on is not None:
        condition = condition & (Qualification.valid_from <= on) & (Qualification.valid_to >= on)
    return condition


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


def qualification_kinds(on: date | None = None) -> list[tuple[str, int]]:
    """The directory's filter options: each canonical type held by active providers, once, with
    how many providers the filter finds (in force on `on` when given), in list order."""
    condition = (Provider.status == ProviderStatus.ACTIVE.value) & Qualification.pending_review.is_(
        False
    )
    if on is not None:
        condition = condition & (Qualification.valid_from <= on) & (Qualification.valid_to >= on)
    counts = dict(
        db.session.execute(
            select(Qualification.kind, func.count(func.distinct(Qualification.provider_id)))
            .join(Qualification.provider)
            .where(condition)
            .group_by(Qualification.kind)
        ).all()
    )
    order = {name: n for n, name in enumerate(qualification_types.names())}
    return sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


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
    """The provider's owner ratings that count, oldest first (hidden comments stay hidden; their
    scores count; a rating of work whose award was withdrawn does not, as for the grade)."""
    return list(
        db.session.scalars(
            select(OwnerRating)
            .where(OwnerRating.provider_id == provider.id, OwnerRating.counted())
            .order_by(OwnerRating.created_at, OwnerRating.id)
        )
    )


def awards_of(provider: Provider) -> list[Award]:
    """Award notices the provider won, newest first (a withdrawn one marked 已撤销 by the page)."""
    service = selectinload(Award.request).selectinload(SelectionRequest.service_item)
    return list(
        db.session.scalars(
            select(Award)
            .where(Award.provider_id == provider.id)
            .options(service, selectinload(Award.withdrawal))
            .order_by(Award.awarded_at.desc(), Award.id.desc())
        )
    )
