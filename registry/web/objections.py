"""The objection (异议) pages credit records and award notices share: the answering side's
queue, and the answer page (the answer form while the objection is open, one unit of work; the
objection with its answer once given)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template, request
from flask_wtf import FlaskForm

from registry.services.objections import is_overdue
from registry.web.unit_of_work import Confirmation, UnitOfWork, confirmed


def queue_page(template: str, rows: list) -> str:
    """The queue: open objections first (overdue ones marked), then the answered."""
    return render_template(template, objections=rows, is_overdue=is_overdue)


def answer_page(
    work: UnitOfWork,
    objection: Any,
    form: FlaskForm,
    answer: Callable[[], Any],
    *,
    confirm: Callable[[], Confirmation],
    done: str,
    to: str,
    template: str,
    **context: Any,
) -> Any:
    """An objection and, while it is open, the form that answers it once (`answer` is the
    service call; `done` is flashed on the way `to` the next page). An answer is final and
    may revise, revoke or withdraw what was published: its first POST shows the confirmation
    page `confirm` builds, and only the confirmed POST answers."""
    context.update(objection=objection, overdue=is_overdue(objection))
    if not objection.is_open:
        return render_template(template, form=form, **context)
    if request.method == "POST" and not confirmed() and form.validate_on_submit():
        return work.confirm_form(form, confirm, back=to, template=template, **context)
    return work.page(form, answer, done=done, to=to, template=template, **context)


def answer_confirmation(objection: Any, facts: list[tuple[str, str]], warning: str) -> Confirmation:
    """The confirmation page of an answer (credit records and award notices alike): what it
    says and does, every field of the form carried to the confirmed POST."""
    return Confirmation(
        title=f"答复异议 #{objection.id}",
        facts=facts,
        carry={k: v for k, v in request.form.items() if k != "csrf_token"},
        warning=warning,
        button="确认答复",
    )
