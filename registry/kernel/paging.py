"""One page of a listing (catalogue, directory, audit log, notices)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Page:
    """One page of results."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def paginate(session: Session, query: Select, page: int, per_page: int, *options: Any) -> Page:
    """One page of the query's rows (loaded with the given options) and the count of them all."""
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = session.scalars(
        query.options(*options).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(list(items), total or 0, page, per_page)
