"""Practitioners in public (从业人员): the list with its filters and each person's page, names
masked and certificate numbers partly hidden; and the unmasked record for 政务办, regulators
and the person's own provider, every view of it audited."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from registry.database import write_intent
from registry.policy import PUBLIC, require, review_scope
from registry.services.practitioners import accounts, conflicts, voids
from registry.services.practitioners import public as service
from registry.web.page_cache import cached_page
from registry.web.params import filtered_list, person_filters
from registry.web.practitioner_forms import VoidRegistrationForm
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("people", __name__)

LIST_FILTERS = ("provider", "certificate", "per_page")

# Refusals of the unmasked record are audited (another provider's account, say) and answered
# 403; a person who does not exist is 404.
work = UnitOfWork("practitioner.denied", status=403)


@bp.get("/practitioners")
@cached_page
@require(PUBLIC)
def list_practitioners():
    """Public practitioners (masked), filtered by provider and certificate type, paginated."""
    return filtered_list(
        "practitioners/list.html",
        service.list_public,
        person_filters(),
        LIST_FILTERS,
        kinds=service.certificate_kinds(),
        today=service.today(),
    )


@bp.get("/practitioners/<int:practitioner_id>")
@cached_page
@require(PUBLIC)
def show_practitioner(practitioner_id: int):
    """A person's public page: masked name, current firm, certificates, credit records."""
    person = work.found(service.get_public, practitioner_id)
    return render_template("practitioners/show.html", person=person, today=service.today())


@bp.get("/office/practitioners/<int:practitioner_id>")
@require("practitioners.unmasked")
def unmasked_practitioner(practitioner_id: int):
    """A person's full record (name, certificate numbers, employments) for those the policy
    allows; the view is written to the audit log, a refusal too."""
    # This GET writes its audit entry: end the read the guard began, so that the next
    # transaction takes the write lock up front (SQLite).
    write_intent.set(True)
    work.rollback()
    shown = work.run(lambda: service.unmasked(practitioner_id, actor=actor()))
    person = shown.value
    return render_template(
        "practitioners/unmasked.html",
        person=person,
        masked=service.person_view(person, service.today()),
        today=service.today(),
        void_form=VoidRegistrationForm(formdata=None),
        voids=voids.voids_of(person),
        causes=voids.CAUSE_LABELS,
    )


def _void(practitioner_id: int, call, done: str, what: str = "作废原因"):
    """A 作废 button's POST on the unmasked view: one audited service call, back to the view."""
    form = VoidRegistrationForm()
    back = url_for("people.unmasked_practitioner", practitioner_id=practitioner_id)
    data = {"reason": form.reason.data}
    return work.press(
        lambda: call(data), form=form, invalid=f"请填写{what}(200 字以内)。", back=back, done=done
    )


@bp.post("/office/practitioners/<int:practitioner_id>/account/unlink")
@require("practitioners.accounts")
def unlink_account(practitioner_id: int):
    """政务办 unlinks a wrongly linked own account (disabled, audited); then re-invites."""
    return _void(
        practitioner_id,
        lambda data: accounts.office_unlink(practitioner_id, data, actor=actor()),
        "已解除本人账户关联并停用该账户,可重新邀请本人开通账户。",
        "解除原因",
    )


@bp.post("/office/practitioners/<int:practitioner_id>/employments/<int:employment_id>/void")
@require("practitioners.void")
def void_employment(practitioner_id: int, employment_id: int):
    """政务办 ends a made-up or disputed employment with a reason (audited)."""
    return _void(
        practitioner_id,
        lambda data: conflicts.void_employment(practitioner_id, employment_id, data, actor=actor()),
        "已作废该任职登记。",
    )


@bp.post("/office/practitioners/<int:practitioner_id>/certificates/<int:certificate_id>/void")
@require("practitioners.void")
def void_certificate(practitioner_id: int, certificate_id: int):
    """政务办 marks a made-up or disputed certificate withdrawn and frees its number (audited)."""
    return _void(
        practitioner_id,
        lambda data: conflicts.void_certificate(
            practitioner_id, certificate_id, data, actor=actor()
        ),
        "已作废该证书登记。",
    )


@bp.post("/office/practitioners/<int:practitioner_id>/voids/<int:void_id>/lift")
@require("practitioners.void")
def lift_void(practitioner_id: int, void_id: int):
    """政务办 lifts its void (撤销作废) with a reason (audited): the firm may register again."""
    return _void(
        practitioner_id,
        lambda data: voids.lift_void(practitioner_id, void_id, data, actor=actor()),
        "已撤销作废,该机构可重新登记。",
        "撤销原因",
    )


@bp.get("/office/practitioner-conflicts")
@require("practitioners.conflicts")
def list_conflicts():
    """Conflicts between two entered providers over a person or certificate (挂证嫌疑), of the
    last days: 政务办 sees all, a regulator its supervised providers'."""
    events = conflicts.recent_conflicts(service.today(), review_scope(actor()))
    return render_template(
        "practitioners/conflicts.html", events=events, days=conflicts.CONFLICT_DAYS
    )
