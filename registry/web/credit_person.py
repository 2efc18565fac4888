"""A person's own credit pages (/my/person/credit: their records unmasked for them alone, their
standing, the objection form) and the template globals that show records against people on the
person's public page and their current firm's profile (masked). The routes join the credit
blueprint on import."""

from __future__ import annotations

from flask import render_template, url_for

from registry.extensions import db
from registry.models import Practitioner, Provider
from registry.policy import require
from registry.services import credit
from registry.services.practitioners import standing
from registry.web.credit import bp, objection_page
from registry.web.unit_of_work import actor

# ---------------------------------------------------------------------- the person's own page


@bp.get("/my/person/credit")
@require("credit.person")
def my_person_records():
    """Records against the person whose own account this is (everything ever published, their
    name unmasked for them alone), their standing, objections and answers."""
    person = credit.person_of(actor())
    return render_template(
        "credit/my_person_records.html",
        person=person,
        records=standing.person_records(person, public=False) if person else [],
        standing=standing.person_standing(person) if person else None,
        can_object=credit.can_object,
        today=credit.today(),
    )


@bp.route("/my/person/credit/<number>/object", methods=["GET", "POST"])
@require("credit.person")
def object_person_record(number: str):
    """The person objects to a record against them within the objection window."""
    records = "credit.my_person_records"
    return objection_page(
        number,
        records,
        lambda item: {
            "person_name": item.practitioner.name,
            "action_url": url_for("credit.object_person_record", number=number),
            "back": (url_for(records), "本人信用记录"),
        },
    )


@bp.app_template_global("person_credit")
def person_credit(practitioner_id: int) -> dict:
    """The person's public credit section (practitioners/_records.html): published records and
    the standing from the person table; names stay masked."""
    person = db.session.get(Practitioner, practitioner_id)
    if person is None:
        return {"records": [], "standing": None}
    return {
        "records": standing.person_records(person),
        "standing": standing.person_standing(person),
    }


@bp.app_template_global("staff_credit")
def staff_credit(provider: Provider) -> list[standing.StaffRecord]:
    """Published records against the provider's current staff, names masked (its profile)."""
    return standing.staff_records(provider)
