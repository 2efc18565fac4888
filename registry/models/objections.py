"""What both objection tables (to a credit record, to an award notice) record about the filing and
its answer; services/objections.py holds the rules they share."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.types import Created, Day, Moment, Note, UserRef


class ObjectionAnswer:
    """Who filed the objection and when, its answer deadline, and the answer once given."""

    submitted_by_id: Mapped[UserRef | None]
    submitted_at: Mapped[Created]
    answer_due: Mapped[Day]
    outcome: Mapped[str | None] = mapped_column(String(8))
    answer: Mapped[Note | None]
    answered_by_id: Mapped[UserRef | None]
    answered_at: Mapped[Moment | None]

    @property
    def is_open(self) -> bool:
        """Awaiting its answer."""
        return self.outcome is None
