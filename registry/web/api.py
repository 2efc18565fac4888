"""JSON API v1: read-only catalogue resources and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for

from registry.extensions import csrf
from registry.models.catalogue import ApprovalItem, Department, ServiceItem
from registry.policy import PUBLIC, require
from registry.services import catalogue
from registry.services.errors import NotFound
from registry.web.errors import render_error
from registry.web.openapi import openapi_document
from registry.web.params import page_args, service_filters

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # read-only (GET) endpoints; no cookies change anything here


def department_json(item: Department | None) -> dict | None:
    """A department as embedded in other resources and in the departments list."""
    if item is None:
        return None
    return {
        "code": item.code,
        "name": item.name,
        "short_name": item.short_name,
        "phone": item.phone,
        "complaint_phone": item.complaint_phone,
        "complaint_phone_is_fallback": item.complaint_phone_is_fallback,
    }


def approval_ref(item: ApprovalItem) -> dict:
    """A short reference to an approval item."""
    return {
        "code": item.code,
        "name": item.name,
        "url": url_for("api.show_approval_item", code=item.code),
    }


def service_json(item: ServiceItem) -> dict:
    """A service item as the API publishes it."""
    phone, fallback = item.effective_complaint_phone
    return {
        "code": item.code,
        "name": item.name,
        "abbreviations": item.abbreviations or [],
        "stages": [{"code": s.code, "name": s.name} for s in item.stages],
        "stage_note": item.stage_note,
        "legal_basis": item.legal_basis or [],
        "applicability": item.applicability,
        "time_limit_days": item.time_limit_days,
        "time_limit_unit": item.time_limit_unit,
        "time_limit_note": item.time_limit_note,
        "fee_regime": item.fee_regime,
        "fee_regime_note": item.fee_regime_note,
        "fee_basis": item.fee_basis,
        "may_self_prepare": item.may_self_prepare,
        "covered_by_regional_assessment": item.covered_by_regional_assessment,
        "department": {
            "code": item.department.code,
            "name": item.department.name,
            "complaint_phone": phone,
            "complaint_phone_is_fallback": fallback,
        }
        if item.department
        else None,
        "qualification_required": item.qualification_required,
        "approval_items": [approval_ref(a) for a in item.approval_items],
        "source_note": item.source_note,
        "validity": item.validity,
        "last_verified": item.last_verified.isoformat() if item.last_verified else None,
        "url": url_for("catalogue.show_service", code=item.code, _external=True),
    }


def approval_json(item: ApprovalItem) -> dict:
    """An approval item as the API publishes it."""
    return {
        "code": item.code,
        "name": item.name,
        "stages": [{"code": s.code, "name": s.name} for s in item.stages],
        "stage_note": item.stage_note,
        "department": department_json(item.department),
        "approving_body": item.approving_body,
        "legal_basis": item.legal_basis or [],
        "time_limit_days": item.time_limit_days,
        "time_limit_unit": item.time_limit_unit,
        "time_limit_note": item.time_limit_note,
        "commitment_approval": item.commitment_approval,
        "accept_with_deficiency": item.accept_with_deficiency,
        "applicability": item.applicability,
        "tianjin_note": item.tianjin_note,
        "service_items": [{"code": s.code, "name": s.name} for s in item.service_items],
        "source_note": item.source_note,
        "validity": item.validity,
    }


@bp.get("/services")
@require(PUBLIC)
def list_services():
    """Paginated service items, filtered as on the catalogue page."""
    page, per_page = page_args()
    result = catalogue.list_services(service_filters(), page=page, per_page=per_page)
    return jsonify(
        items=[service_json(i) for i in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@bp.get("/services/<code>")
@require(PUBLIC)
def show_service(code: str):
    """One service item."""
    try:
        return jsonify(service_json(catalogue.get_service(code)))
    except NotFound:
        return render_error(404, f"未找到编码为 {code} 的中介服务事项")


@bp.get("/approval-items")
@require(PUBLIC)
def list_approval_items():
    """All approval items (one page; the list is short)."""
    items = catalogue.list_approval_items()
    return jsonify(
        items=[approval_json(i) for i in items],
        total=len(items),
        page=1,
        per_page=max(len(items), 1),
    )


@bp.get("/approval-items/<code>")
@require(PUBLIC)
def show_approval_item(code: str):
    """One approval item."""
    try:
        return jsonify(approval_json(catalogue.get_approval_item(code)))
    except NotFound:
        return render_error(404, f"未找到编码为 {code} 的审批事项")


@bp.get("/departments")
@require(PUBLIC)
def list_departments():
    """All active departments."""
    items = catalogue.list_departments()
    return jsonify(
        items=[department_json(d) for d in items],
        total=len(items),
        page=1,
        per_page=max(len(items), 1),
    )


@bp.get("/openapi.json")
@require(PUBLIC)
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(openapi_document())


@bp.get("/search")
@require(PUBLIC)
def search():
    """Full-text search: {items: [{type, title, url, snippet}], total, page, per_page, facets}."""
    from registry.web.search import facet_labels, run_search

    request_, result = run_search()
    labels = facet_labels()
    return jsonify(
        items=[
            {
                "type": h.kind,
                "id": h.doc_id,
                "title": h.title,
                "url": h.url,
                "snippet": str(h.snippet),
            }
            for h in result.hits
        ],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        facets={
            facet: [
                {"value": v, "label": labels.get(facet, {}).get(v, v), "count": c}
                for v, c in counts.items()
            ]
            for facet, counts in result.facets.items()
        },
        notices=result.notices,
        suggestion=result.suggestion,
    )
