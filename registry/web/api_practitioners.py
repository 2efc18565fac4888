"""JSON API v1 of practitioners (从业人员), on the API blueprint: the list with its provider and
certificate filters, and one person. Names are masked and certificate numbers partly hidden, as
on the public pages (the views come from services/practitioners/public.py)."""

from __future__ import annotations

from flask import jsonify

from registry.services.errors import NotFound
from registry.services.practitioners import public as service
from registry.web.api import page_of, resource
from registry.web.errors import render_error
from registry.web.params import paged, person_filters
from registry.web.urls import external_url


def practitioner_json(person: service.PersonView) -> dict:
    """A person as the API publishes them (masked, like the public page)."""
    firm = person.firm
    return {
        "id": person.id,
        "name": person.name,
        "provider": None if firm is None else {"uscc": firm.uscc, "name": firm.name},
        "title": person.title,
        "since": person.since.isoformat() if person.since else None,
        "certificates": [
            {
                "kind": c.kind,
                "number": c.number,
                "issuer": c.issuer,
                "valid_from": c.valid_from.isoformat(),
                "valid_to": c.valid_to.isoformat(),
                "valid": c.valid,
            }
            for c in person.certificates
        ],
        "url": external_url("people.show_practitioner", practitioner_id=person.id),
    }


@resource("/practitioners")
def list_practitioners():
    """Paginated public practitioners, filtered by ?provider=<uscc> and ?certificate=<type>."""
    result = paged(service.list_public, person_filters())
    return jsonify(page_of(result, [practitioner_json(p) for p in result.items]))


@resource("/practitioners/<int:practitioner_id>")
def show_practitioner(practitioner_id: int):
    """One public practitioner (masked); anyone not public is 404."""
    try:
        return jsonify(practitioner_json(service.get_public(practitioner_id)))
    except NotFound:
        return render_error(404, f"未找到编号为 {practitioner_id} 的从业人员")
