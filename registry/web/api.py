"""JSON API v1: read-only catalogue resources, a signed-in user's project roadmaps and the OpenAPI
document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for
from flask_cors import CORS
from flask_login import current_user

from registry.extensions import csrf
from registry.kernel import clock
from registry.models.catalogue import ApprovalItem, Department, ServiceItem
from registry.observability import REQUEST_ID_HEADER
from registry.policy import PUBLIC, require
from registry.pure import workdays
from registry.services import catalogue, credit, market, roadmaps
from registry.services import providers as provider_service
from registry.services.errors import NotFound
from registry.services.practitioners import public as people
from registry.web.errors import render_error
from registry.web.openapi import check_response, openapi_document
from registry.web.page_cache import cached_page
from registry.web.params import (
    code_arg,
    directory_filters,
    notice_filters,
    page_args,
    paged,
    service_filters,
)
from registry.web.urls import absolute, external_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # read-only (GET) endpoints; no cookies change anything here
# With OPENAPI_VALIDATE_RESPONSES on (the tests), every answer is checked against the document.
bp.after_request(check_response)


@bp.after_request
def _validators(response: Response) -> Response:
    """Every JSON answer has an ETag (the page cache gives its own to what it keeps), so that a
    client asking again with If-None-Match gets 304 without a body."""
    if request.method in ("GET", "HEAD") and response.status_code == 200 and response.is_json:
        if "ETag" not in response.headers:
            response.add_etag()
        return response.make_conditional(request)
    return response


# Any site's scripts may read the open data (the answer is the same for every origin, so the
# page cache keeps it with its header). No credentials: a signed-in resource (a roadmap) is for
# this site's own pages; a preflight may ask with the validators.
CORS(
    bp,
    origins="*",
    send_wildcard=True,
    vary_header=False,
    supports_credentials=False,
    methods=["GET", "HEAD", "OPTIONS"],
    allow_headers=["Accept", "If-None-Match", "If-Modified-Since", REQUEST_ID_HEADER],
    expose_headers=["ETag", "Last-Modified", REQUEST_ID_HEADER],
    max_age=86400,
)


def resource(rule: str):
    """A public GET resource: anyone may read it, and anonymous reads may be answered from the
    page cache (as the public pages are)."""

    def decorate(view):
        return bp.get(rule)(cached_page(require(PUBLIC)(view)))

    return decorate


def page_of(result, items: list) -> dict:
    """The paginated list envelope {items, total, page, per_page} of one page's `result`, its
    rows given as JSON `items`."""
    return {"items": items, "total": result.total, "page": result.page, "per_page": result.per_page}


def page_json(lister, to_json, *args, **filters):
    """One page of a list resource, the page the query string asks for:
    {items, total, page, per_page} of lister(*args, page=…, per_page=…, **filters)."""
    result = paged(lister, *args, **filters)
    return jsonify(page_of(result, [to_json(i) for i in result.items]))


def list_json(items: list, to_json):
    """A short list resource: all of it on page 1 unless per_page asks for less, in the
    envelope of the paged lists, so that a client paging until an empty page stops (page 2
    repeated page 1)."""
    page, per_page = page_args()
    if (request.args.get("per_page", type=int) or 0) < 1:  # not asked for (or unreadable): all
        per_page = max(len(items), 1)
    shown = items[(page - 1) * per_page : page * per_page]
    return jsonify(
        items=[to_json(i) for i in shown], total=len(items), page=page, per_page=per_page
    )


def one_json(to_json, getter, key: str, missing: str):
    """One resource by its key, or a 404 saying what was not found."""
    try:
        return jsonify(to_json(getter(key)))
    except NotFound:
        return render_error(404, missing)


def moment_json(value) -> str:
    """A stored moment as Beijing time, to the second (RFC 3339: 2026-11-18T10:00:00+08:00); one
    form for every time the API gives (some carried microseconds, some not)."""
    return clock.local(value).isoformat(timespec="seconds")


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
        "url": external_url("api.show_approval_item", code=item.code),
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
        "url": external_url("catalogue.show_service", code=item.code),
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


@resource("/services")
def list_services():
    """Paginated service items, filtered as on the catalogue page."""
    return page_json(catalogue.list_services, service_json, service_filters())


@resource("/services/<code>")
def show_service(code: str):
    """One service item."""
    return one_json(
        service_json, catalogue.get_service, code, f"未找到编码为 {code} 的中介服务事项"
    )


@resource("/approval-items")
def list_approval_items():
    """All approval items (one page; the list is short)."""
    return list_json(catalogue.list_approval_items(), approval_json)


@resource("/approval-items/<code>")
def show_approval_item(code: str):
    """One approval item."""
    return one_json(
        approval_json, catalogue.get_approval_item, code, f"未找到编码为 {code} 的审批事项"
    )


@resource("/departments")
def list_departments():
    """All active departments."""
    return list_json(catalogue.list_departments(), department_json)


def provider_json(provider, *, detail: bool = False) -> dict:
    """An active provider as the API publishes it (the list form, or the detail with more)."""
    data = {
        "uscc": provider.uscc,
        "name": provider.name,
        "region": provider.region,
        "grade": provider.grade,
        "offers": [
            {
                "service": {"code": o.service_item.code, "name": o.service_item.name},
                "committed_days": o.committed_days,
                "fee_quote": None if o.fee_quote is None else str(o.fee_quote),
                "fee_basis": o.fee_basis,
            }
            for o in provider.offers
            if o.is_active
        ],
        "url": external_url("providers.show_provider", uscc=provider.uscc),
    }
    if detail:
        today = provider_service.today()
        data.update(
            legal_representative=provider.legal_representative,
            address=provider.address,
            licence_scope=provider.licence_scope,
            qualifications=[
                {
                    "kind": q.kind,
                    "kind_note": q.kind_note,
                    "grade": q.grade,
                    "certificate_no": q.certificate_no,
                    "issuer": q.issuer,
                    "valid_from": q.valid_from.isoformat(),
                    "valid_to": q.valid_to.isoformat(),
                    "expired": q.valid_to < today,
                    # Added by a listed provider, not yet checked by the admins: not counted.
                    "pending_review": q.pending_review,
                }
                for q in provider.qualifications
            ],
            # Current staff holding a valid certificate, per type (no names).
            personnel=people.personnel_summary(provider, today),
        )
    return data


@resource("/providers")
def list_providers():
    """Paginated active providers, filtered as in the directory."""
    return page_json(provider_service.list_directory, provider_json, directory_filters())


@resource("/providers/<uscc>")
def show_provider(uscc: str):
    """One active provider; drafts and applications under review are not public (404)."""
    return one_json(
        lambda provider: provider_json(provider, detail=True),
        provider_service.get_public_provider,
        uscc,
        f"未找到统一社会信用代码为 {uscc[:18]} 的已入驻中介机构",
    )


def award_json(award, names: dict[str, str] | None = None, leader=False) -> dict:
    """An award notice as JSON (amounts as exact decimal strings, times in Beijing time): the
    draw's candidates with their names (`names`: code → name), the winning quote's 项目负责人
    masked (`leader`: from market.award_leaders; False: looked up here), the 公示期 and its
    state, the objections with their answers and, once withdrawn, why."""
    state = market.notice_state(award)
    if leader is False:
        leader = market.award_leader(award)
    withdrawal = award.withdrawal
    candidates = (award.draw_inputs or {}).get("candidates", [])
    return {
        "id": award.id,
        "request": award.request.ref,
        "project_code": award.request.project.code,
        "owner": award.request.project.enterprise.name,
        "service": award.request.service_item.code,
        "method": award.method,
        "winner": {"uscc": award.provider.uscc, "name": award.provider.name},
        "amount": None if award.amount is None else str(award.amount),
        "project_leader": None
        if leader is None
        else {"name": leader.name, "certificates": list(leader.certificates)},
        "awarded_at": moment_json(award.awarded_at),
        "round": award.round,
        "seed": award.seed,
        "algorithm": award.algorithm,
        "draw_inputs": award.draw_inputs,
        "candidates": [{"uscc": c, "name": (names or {}).get(c)} for c in candidates],
        "disclosure": {
            "until": state.until.isoformat() if state.until else None,
            "workdays": award.disclosure_workdays,
            "state": state.label,
        },
        "objections": [
            {
                "party": o.party,
                "name": o.party_name,
                "uscc": o.party_uscc,
                "submitted_at": moment_json(o.submitted_at),
                "answer_due": o.answer_due.isoformat(),
                "outcome": o.outcome,
                "answer": o.answer,
                "answered_at": moment_json(o.answered_at) if o.answered_at else None,
            }
            for o in award.objections
        ],
        "withdrawn": None
        if withdrawal is None
        else {"at": moment_json(withdrawal.withdrawn_at), "reason": withdrawal.reason},
        "is_demo": award.is_demo,
        "url": external_url("market.show_award", award_id=award.id),
        "verify_url": external_url("market.verify_award", award_id=award.id),
    }


@bp.get("/awards")
@require(PUBLIC)
def list_awards():
    """Award notices, newest first, with their candidates' names and the winners' 项目负责人
    (a few statements per page)."""
    result = paged(market.list_awards, service_code=code_arg("service"))
    names = market.candidate_names(result.items)
    leaders = market.award_leaders(result.items)
    return jsonify(page_of(result, [award_json(a, names, leaders[a.id]) for a in result.items]))


@bp.get("/awards/<int:award_id>")
@require(PUBLIC)
def show_award(award_id: int):
    """One award notice, as the list gives it (a client had to page through the list)."""
    try:
        award = market.get_award(award_id)
    except NotFound:
        return render_error(404, f"未找到编号为 {award_id} 的中选公示")
    names = market.candidate_names([award])
    return jsonify(award_json(award, names, market.award_leaders([award])[award.id]))


def _ended_early(repair) -> dict | None:
    """The 信用修复 that ended a blacklisting before its term: its number and day."""
    if repair is None:
        return None
    return {"number": repair.number, "day": clock.local_date(repair.published_at).isoformat()}


def notice_json(item, ended: dict | None = None) -> dict:
    """A published credit notice as JSON; `ended` the page's early endings (ended_early_of),
    else read for this one."""
    repair = credit.ended_early_by(item) if ended is None else ended.get(item.id)
    return {
        "number": item.number,
        "kind": item.kind,
        "title": item.title,
        "facts": item.facts,
        "basis": item.basis,
        "department": {"code": item.department.code, "name": item.department.name},
        "provider": {"uscc": item.provider_uscc, "name": item.provider_name},
        "term_until": item.term_until.isoformat() if item.term_until else None,
        "ended_early": _ended_early(repair),
        "published_at": moment_json(item.published_at),
        "disclosure_until": item.disclosure_until.isoformat(),
        "objection_until": item.objection_until.isoformat(),
        # The windows were counted over a year without an official holiday arrangement.
        "windows_provisional": workdays.spans_provisional(
            item.published_at, item.disclosure_until, item.objection_until
        ),
        "in_disclosure": credit.in_disclosure(item),
        "revises": item.revises.number if item.revises else None,
        "url": external_url("credit.show_notice", number=item.number),
    }


@resource("/notices")
def list_notices():
    """Published credit notices, newest first, filtered as on the notice board."""
    result = paged(credit.list_notices, notice_filters())
    ended = credit.ended_early_of(result.items)
    return jsonify(page_of(result, [notice_json(i, ended) for i in result.items]))


@resource("/notices/<number>")
def show_notice(number: str):
    """One published, current notice; a superseded number moves to its current revision (301),
    a draft's is 404, a revoked one 410 (its revocation and reason in the message)."""
    try:
        return jsonify(notice_json(credit.get_public_notice(number)))
    except credit.Revoked as revoked:
        return render_error(410, revoked.message)
    except credit.Superseded as moved:  # to the current revision, as the page does (it was 404)
        return redirect(url_for("api.show_notice", number=moved.current), 301)
    except NotFound:
        return render_error(404, f"未找到编号为 {number[:32]} 的信用公示")


@bp.get("/projects/<code>/roadmap")
@require("roadmaps.view")
def show_project_roadmap(code: str):
    """A project's roadmap for its enterprise, staff and admins (signed in; the session cookie).
    Anonymous callers get 401 from the guard; another enterprise's project is 404."""
    try:
        project = roadmaps.get_roadmap_for(current_user._get_current_object(), code)
    except NotFound:
        return render_error(404, f"未找到项目代码为 {code[:40]} 的项目")
    view = roadmaps.roadmap(
        project, today=market.today(), lead=current_app.config["DEADLINE_WARNING_DAYS"]
    )
    return jsonify(roadmaps.roadmap_json(view))


@resource("/")
def index():
    """The API's front door: every resource the OpenAPI document describes, with its address
    (a `{placeholder}` to fill where it takes one) and whether it needs a signed-in session, and
    the document's own address. Read from the document, so the two cannot disagree."""
    document = openapi_document()
    base = url_for("api.index").rstrip("/")
    resources = []
    for path, operations in document["paths"].items():
        operation = operations.get("get")
        if path == "/" or operation is None:
            continue
        resources.append(
            {
                "name": operation["operationId"],
                "title": operation["summary"],
                "url": absolute(base + path),
                "templated": "{" in path,
                "signed_in": bool(operation.get("security")),
            }
        )
    return jsonify(
        title=document["info"]["title"],
        version=document["info"]["version"],
        openapi=external_url("api.openapi"),
        resources=resources,
    )


@resource("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(openapi_document())


@bp.get("/search")
@require(PUBLIC)
def search():
    """Full-text search: {items: [{type, title, url, snippet}], total, page, per_page, facets};
    with grouped=1 also {groups: [{key, label, count, counts, items}]}, best group first."""
    from registry.web.search import facet_labels, grouped_requested, run_search

    grouped = grouped_requested()
    request_, result = run_search(grouped=grouped)
    labels = facet_labels()

    def hit_json(h) -> dict:
        return {
            "type": h.kind,
            "id": h.doc_id,
            "title": h.title,
            "url": absolute(h.url),
            "snippet": str(h.snippet),
        }

    extra = {}
    if grouped:
        extra["groups"] = [
            {
                "key": g.key,
                "label": g.label,
                "count": g.count,
                "counts": g.counts,
                "items": [hit_json(h) for h in g.hits],
            }
            for g in result.groups
        ]
    return jsonify(
        **page_of(result, [hit_json(h) for h in result.hits]),
        facets={
            facet: [
                {"value": v, "label": labels.get(facet, {}).get(v, v), "count": c}
                for v, c in counts.items()
            ]
            for facet, counts in result.facets.items()
        },
        notices=result.notices,
        suggestion=result.suggestion,
        **extra,
    )
