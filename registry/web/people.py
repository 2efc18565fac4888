"""Practitioners in public (从业人员): the list with its filters and each person's page, names
masked and certificate numbers partly hidden; and the unmasked record for 政务办, regulators
and the person's own provider, every view of it audited."""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request

from registry.database import write_intent
from registry.policy import PUBLIC, require
from registry.sanitize import plain_text
from registry.services.practitioners import certificate_types
from registry.services.practitioners import public as service
from registry.web.page_cache import cached_page
from registry.web.params import filtered_list
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("people", __name__)

LIST_FILTERS = ("provider", "certificate", "per_page")
USCC_RE = re.compile(r"^[0-9A-Z]{18}$")

# Refusals of the unmasked record are audited (another provider's account, say) and answered
# 403; a person who does not exist is 404.
work = UnitOfWork("practitioner.denied", status=403)


def person_filters() -> service.PersonFilters:
    """The list's filters from the query string; an unknown provider code or certificate type
    is dropped, not trusted (an alias of a listed type selects the type)."""
    uscc = (request.args.get("provider") or "").strip().upper()
    typed = plain_text(request.args.get("certificate"))[:100]
    return service.PersonFilters(
        provider=uscc if USCC_RE.match(uscc) else None,
        certificate=certificate_types.canonical(typed) if typed else None,
    )


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
    )
