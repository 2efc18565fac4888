"""The search page and its JSON twin."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from registry.models.catalogue import FeeRegime
from registry.policy import PUBLIC, require
from registry.search.base import SearchRequest, SearchResult
from registry.search.documents import FACET_LABELS, KINDS
from registry.search.engine import get_engine
from registry.search.query import parse_query
from registry.services import catalogue
from registry.web.params import SEARCH_FILTERS, code_arg, link_args, page_args

bp = Blueprint("search", __name__)
FEE_VALUES = {f.value for f in FeeRegime} | {"待核实"}


def search_request() -> SearchRequest:
    """A SearchRequest from the query string (never raises)."""
    page, per_page = page_args()
    kind = request.args.get("type") or None
    fee = request.args.get("fee_regime") or None
    return SearchRequest(
        query=parse_query(request.args.get("q")),
        kind=kind if kind in KINDS else None,
        stage=code_arg("stage"),
        department=code_arg("department"),
        fee_regime=fee if fee in FEE_VALUES else None,
        page=page,
        per_page=per_page,
    )


def facet_labels() -> dict[str, dict[str, str]]:
    """Display names for facet values."""
    return {
        "type": {name: kind.label for name, kind in KINDS.items()},
        "stage": {s.code: s.name for s in catalogue.list_stages()},
        "department": {d.code: d.label for d in catalogue.list_departments(include_inactive=True)},
        "fee_regime": {},
    }


def run_search() -> tuple[SearchRequest, SearchResult]:
    """Parse the request and search."""
    search = search_request()
    return search, get_engine().search(search)


@bp.get("/search")
@require(PUBLIC)
def search_page():
    """Full-text search over the catalogue, with facets."""
    search, result = run_search()
    return render_template(
        "search/results.html",
        search=search,
        result=result,
        labels=facet_labels(),
        facet_names=FACET_LABELS,
        args=link_args(SEARCH_FILTERS),
    )
