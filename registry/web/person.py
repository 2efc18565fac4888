"""A practitioner's own account (从业人员本人账户): the person's own page (/my/person, their name
unmasked for them alone), and inviting a person to open the account, by the employing provider
from its roster and by 政务办 from the audited unmasked view. Views are thin: one service call
through the unit of work."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from registry import policy
from registry.policy import require
from registry.services import credit
from registry.services.practitioners import accounts as service
from registry.services.practitioners import standing
from registry.web.account_forms import PersonInviteForm
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("person", __name__)
# Someone else's person answers 404 (unknown) or 403, and the attempt is audited.
work = UnitOfWork("practitioner.denied", status=403)
# The person's account state on the roster and the unmasked view.
bp.add_app_template_global(service.account_state, "person_account")
bp.add_app_template_global(policy.may_invite_practitioner, "may_invite_practitioner")


@bp.get("/my/person")
@require("person.self")
def show_person():
    """The person's own record: full name, the ID's last four, certificates with full numbers,
    employments, and their credit standing with a link to the records and objections."""
    person = credit.person_of(actor())
    return render_template(
        "practitioners/my_person.html",
        person=person,
        standing=standing.person_standing(person) if person else None,
        open_records=[
            r for r in standing.person_records(person, public=False) if credit.can_object(r)
        ]
        if person
        else [],
        today=credit.today(),
    )


def _invite_page(practitioner_id: int, back: str):
    """The invitation form for one person and its POST (both routes)."""
    person = work.found(service.invitable, actor(), practitioner_id)
    state = service.account_state(person)
    form = PersonInviteForm()
    if not form.is_submitted() and state.account is not None:
        form.email.data, form.username.data = state.account.email, state.account.username
    data = {"email": form.email.data, "username": form.username.data}
    return work.page(
        form,
        lambda: service.invite_account(practitioner_id, data, actor=actor()),
        done=lambda user: (
            f"已向 {user.email} 发送开通邀请。{person.name}通过邮件中的链接设置密码后即可登录。"
        ),
        to=back,
        template="practitioners/invite_account.html",
        person=person,
        state=state,
        back=back,
    )


@bp.route("/my/provider/practitioners/<int:practitioner_id>/account", methods=["GET", "POST"])
@require("practitioners.self")
def invite_account(practitioner_id: int):
    """The employing provider invites one of its current staff to open their own account."""
    return _invite_page(practitioner_id, url_for("practitioners.list_practitioners"))


@bp.route("/office/practitioners/<int:practitioner_id>/account", methods=["GET", "POST"])
@require("practitioners.accounts")
def office_invite_account(practitioner_id: int):
    """政务办 invites a person to open their own account (from the unmasked view)."""
    back = url_for("people.unmasked_practitioner", practitioner_id=practitioner_id)
    return _invite_page(practitioner_id, back)
