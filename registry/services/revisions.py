"""Insert-only revisions (score entries, sealed quotes): each submission is a new row numbered
one past the latest, and a form posted twice stores one row (its submission key is unique)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from registry.extensions import db
from registry.services.errors import RegistryError

Row = TypeVar("Row")
TOO_FAST = "提交过于频繁,请稍后重试"


def insert_revision(
    model: type[Row], *, scope: dict[str, Any], attempts: int, submission_key: str, **fields: Any
) -> tuple[Row, bool]:
    """Insert the next revision within `scope` (the columns that number revisions together);
    returns the row and whether it is new. A race for the same number retries with the next
    one; a race with the same submission key returns the row that won, not new."""
    same_scope = [getattr(model, name) == value for name, value in scope.items()]
    for _attempt in range(attempts):
        latest = db.session.scalar(select(func.max(model.revision)).where(*same_scope))
        row = model(**scope, revision=(latest or 0) + 1, submission_key=submission_key, **fields)
        try:
            with db.session.begin_nested():
                db.session.add(row)
            return row, True
        except IntegrityError:
            # Another submission won the race: the same form (then that row is the answer) or
            # another form (then this one becomes the next revision).
            same = db.session.scalar(select(model).where(model.submission_key == submission_key))
            if same is not None:
                return same, False
    raise RegistryError(None, TOO_FAST)
