"""The landing page after sign-in (待办事项): what waits for the user, counted, with links."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from registry.kernel import clock
from registry.policy import SIGNED_IN, pending_work_kinds, require
from registry.services import pending
from registry.web.unit_of_work import actor

bp = Blueprint("pending", __name__)
# The header shows 待办 to those whose role has pending work to count.
bp.add_app_template_global(pending_work_kinds, "pending_work_kinds")


@bp.get("/my/pending")
@require(SIGNED_IN)
def show_pending():
    """The user's pending work by kind (which kinds is policy.pending_work_kinds)."""
    at = pending.Moment(
        now=clock.now(), today=clock.today(), lead=current_app.config["DEADLINE_WARNING_DAYS"]
    )
    return render_template("pending/show_pending.html", items=pending.pending_work(actor(), at))
