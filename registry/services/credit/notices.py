"""The public credit notices: published records, searchable and exportable, during and after
their 公示期."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.kernel.paging import Page, paginate
from registry.models import (
    CreditRecord,
    CreditStatus,
    Department,
)
from registry.services.credit.common import (
    NUMBER_RE,
    SHANGHAI,
    Revoked,
    Superseded,
    load_record,
    today,
    window_days,
)
from registry.services.credit.records import revisions_of
from registry.services.errors import NotFound
from registry.services.listing import LIKE_ESCAPE, contains_pattern


@dataclass(frozen=True)
class NoticeFilters:
    """Filters of the public notice board (pages, exports, feed and API alike)."""

    department: str | None = None
    kind: str | None = None
    year: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    provider: str | None = None  # part of the name, or the USCC


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def notice_query(filters: NoticeFilters) -> Select:
    """Published, current records against firms matching the filters, newest first (records
    against a person are shown, masked, on the person's page and their firm's profile)."""
    query = select(CreditRecord).where(
        CreditRecord.status == CreditStatus.PUBLISHED.value, CreditRecord.practitioner_id.is_(None)
    )
    if filters.department:
        query = query.join(Department, Department.id == CreditRecord.department_id).where(
            Department.code == filters.department
        )
    if filters.kind:
        query = query.where(CreditRecord.kind == filters.kind)
    start, end = filters.date_from, filters.date_to
    if filters.year:
        start = max(start or date.min, date(filters.year, 1, 1))
        end = min(end or date.max, date(filters.year, 12, 31))
    if start:
        query = query.where(CreditRecord.published_at >= _day_start(start))
    if end and end < date.max:
        query = query.where(CreditRecord.published_at < _day_start(end) + timedelta(days=1))
    if filters.provider:
        text = filters.provider.strip()
        query = query.where(
            or_(
                func.lower(CreditRecord.provider_name).like(
                    contains_pattern(text), escape=LIKE_ESCAPE
                ),
                CreditRecord.provider_uscc == text.upper(),
            )
        )
    return query.options(selectinload(CreditRecord.department)).order_by(
        CreditRecord.published_at.desc(), CreditRecord.id.desc()
    )


def list_notices(filters: NoticeFilters, *, page: int = 1, per_page: int = 20) -> Page:
    """One page of the public notice board."""
    return paginate(db.session, notice_query(filters), page, per_page)


def notices_for_export(filters: NoticeFilters, limit: int | None = None) -> list[CreditRecord]:
    """Matching notices for a CSV / XLSX export or the feed, capped at `limit` rows."""
    limit = limit or window_days("CREDIT_EXPORT_MAX_ROWS")
    return list(db.session.scalars(notice_query(filters).limit(limit)))


def latest_notices(limit: int = 5) -> list[CreditRecord]:
    """The newest published notices (the home page): two statements, the rows and their
    departments."""
    return list(db.session.scalars(notice_query(NoticeFilters()).limit(limit)))


def get_public_notice(number: str) -> CreditRecord:
    """A published, current record by number. A superseded one raises Superseded with the
    number of its current revision; drafts, revoked records, records against a person (their
    page shows them masked) and unknown numbers are NotFound. A number is read in any case
    (xy-2026-000001), as catalogue codes are."""
    number = (number or "").upper()
    if not NUMBER_RE.match(number):
        raise NotFound("未找到该信用公示")
    item = load_record(number)
    if item is None:
        raise NotFound("未找到该信用公示")
    if item.status == CreditStatus.SUPERSEDED.value:
        current = revisions_of(item)[-1]
        if current.is_published:
            raise Superseded(current.number)
    if item.status == CreditStatus.REVOKED.value and not item.is_about_person:
        raise Revoked(item)
    if not item.is_published or item.is_about_person:
        raise NotFound("未找到该信用公示")
    return item


def in_disclosure(item: CreditRecord, on: date | None = None) -> bool:
    """Whether the record is still in its 公示期."""
    return item.disclosure_until is not None and (on or today()) <= item.disclosure_until


def departments_with_notices() -> list[Department]:
    """Departments that have published at least one current record (the board's filter)."""
    return list(
        db.session.scalars(
            select(Department)
            .where(
                exists(
                    select(CreditRecord.id).where(
                        CreditRecord.department_id == Department.id,
                        CreditRecord.status == CreditStatus.PUBLISHED.value,
                        CreditRecord.practitioner_id.is_(None),
                    )
                )
            )
            .order_by(Department.code)
        )
    )
