"""What objections (异议) to credit records and to award notices share: each is filed once with
an answer deadline in working days, answered once (its outcome one of the answering side's
choices), overdue when open past that deadline, and listed open ones first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from registry.kernel import clock
from registry.models import User
from registry.pure.workdays import add_working_days
from registry.services.errors import RegistryError, text_field

ANSWER_MAX = 5000

T = TypeVar("T")


def answer_due(workdays: int) -> date:
    """The answer deadline of an objection filed today: `workdays` working days on."""
    return add_working_days(clock.today(), workdays)


def is_overdue(objection: Any, on: date | None = None) -> bool:
    """An open objection whose answer is past due."""
    return objection.is_open and (on or clock.today()) > objection.answer_due


def queue_order(rows: Iterable[T]) -> list[T]:
    """Open objections first by answer deadline, then the answered ones, newest answer first."""
    return sorted(
        rows,
        key=lambda o: (
            not o.is_open,
            o.answer_due if o.is_open else date.min,
            -(o.answered_at or o.submitted_at).timestamp(),
        ),
    )


def checked_answer(
    objection: Any,
    outcome: str | None,
    answer: str | None,
    outcomes: type[StrEnum],
    labels: tuple[str, str],
) -> str:
    """The answer's text, once the objection is still open (it is answered once) and `outcome`
    is one of `outcomes`; `labels` name that choice and the reasons a rejection must give."""
    conclusion, reasons = labels
    if not objection.is_open:
        raise RegistryError(None, "该异议已答复,不能重复答复")
    if outcome not in {o.value for o in outcomes}:
        raise RegistryError("outcome", f"请选择{conclusion}(异议成立或不成立)")
    label = reasons if outcome == outcomes["REJECTED"].value else "答复意见"
    return text_field(answer, "answer", label, ANSWER_MAX)


def mark_answered(objection: Any, user: User, outcome: str, text: str) -> None:
    """Write the answer (the caller's audited change); once an outcome is stored, it is final."""
    objection.outcome, objection.answer = outcome, text
    objection.answered_by_id, objection.answered_at = user.id, clock.now()
