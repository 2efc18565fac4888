"""Public catalogue pages: service items, approval items, departments."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for

from registry.models.catalogue import FeeRegime
from registry.policy import PUBLIC, require
from registry.services import catalogue, providers
from registry.services.errors import NotFound
from registry.web.page_cache import cached_page
from registry.web.params import CATALOGUE_FILTERS, filtered_list, service_filters
from registry.web.unit_of_work import UnitOfWork

bp = Blueprint("catalogue", __name__)
work = UnitOfWork()


@bp.get("/services")
@cached_page
@require(PUBLIC)
def list_services():
    """The catalogue list with filters and pagination."""
    return filtered_list(
        "catalogue/list_services.html",
        catalogue.list_services,
        service_filters(),
        CATALOGUE_FILTERS,
        stages=catalogue.list_stages(),
        departments=catalogue.list_departments(),
        approval_items=catalogue.list_approval_items(),
        fee_regimes=[f.value for f in FeeRegime],
    )


# Entries addressed by their code: one typed in another case (zj-03) moves to the entry's own
# address (ZJ-03); it was a 404 while search read zj03 as ZJ-03 (a tester, stop 29).
_BY_CODE = {
    "catalogue.show_service": catalogue.get_service,
    "catalogue.show_approval_item": catalogue.get_approval_item,
}


@bp.url_value_preprocessor
def _own_address(endpoint: str | None, values: dict | None) -> None:
    getter, code = _BY_CODE.get(endpoint or ""), (values or {}).get("code", "")
    if getter is None or code == code.upper():
        return  # the codes are upper case (an entry in lower case is still found by the view)
    try:
        item = getter(code)
    except NotFound:
        return  # the view answers 404
    if item.code != code:
        abort(redirect(url_for(endpoint, code=item.code), 301))


@bp.get("/services/<code>")
@cached_page
@require(PUBLIC)
def show_service(code: str):
    """A service item with everything an enterprise must know up front."""
    item = work.found(catalogue.get_service, code)
    offers, offer_count = providers.listed_offers(item)
    return render_template(
        "catalogue/show_service.html",
        item=item,
        offers=offers,
        offer_count=offer_count,
        today=providers.today(),
    )


@bp.get("/approval-items")
@cached_page
@require(PUBLIC)
def list_approval_items():
    """Approval items grouped by stage."""
    stages = catalogue.list_stages()
    items = catalogue.list_approval_items()
    return render_template(
        "catalogue/list_approval_items.html",
        stages=stages,
        by_stage={s.code: [i for i in items if s in i.stages] for s in stages},
    )


@bp.get("/approval-items/<code>")
@cached_page
@require(PUBLIC)
def show_approval_item(code: str):
    """An approval item and the intermediary services it needs."""
    item = work.found(catalogue.get_approval_item, code)
    return render_template("catalogue/show_approval_item.html", item=item)


@bp.get("/departments")
@cached_page
@require(PUBLIC)
def list_departments():
    """Departments with phones and the service items each supervises."""
    departments = catalogue.list_departments()
    services = catalogue.list_services(catalogue.ServiceFilters(), per_page=1000).items
    return render_template(
        "catalogue/list_departments.html",
        departments=departments,
        services_by_department={
            d.id: [s for s in services if s.department_id == d.id] for d in departments
        },
    )
