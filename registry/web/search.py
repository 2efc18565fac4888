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
from registry.web.params import (
    SEARCH_FILTERS,
    choice_arg,
    code_arg,
    link_args,
    page_args,
    past_last,
)

bp = Blueprint("search", __name__)
FEE_VALUES = {f.value for f in FeeRegime} | {"待核实"}


# Hits shown per group on the grouped search page (and in the API's `groups` when asked).
GROUP_SIZE = 5


def search_request(grouped: bool = False) -> SearchRequest:
    """A SearchRequest from the query string (never raises). `grouped`: also each result
    group's best hits, on the first page of an unfiltered-by-type search."""
    page, per_page = page_args()
    kind = choice_arg("type", KINDS)
    return SearchRequest(
        query=parse_query(request.args.get("q")),
        kind=kind,
        stage=code_arg("stage"),
        department=code_arg("department"),
        fee_regime=choice_arg("fee_regime", FEE_VALUES),
        page=page,
        per_page=per_page,
        group_size=GROUP_SIZE if grouped and kind is None and page == 1 else 0,
    )


def facet_labels() -> dict[str, dict[str, str]]:
    """Display names for facet values."""
    return {
        "type": {name: kind.label for name, kind in KINDS.items()},
        "stage": {s.code: s.name for s in catalogue.list_stages()},
        "department": {d.code: d.label for d in catalogue.list_departments(include_inactive=True)},
        "fee_regime": {},
    }


def grouped_requested() -> bool:
    """Whether an API caller asked for the groups (grouped=1)."""
    return request.args.get("grouped") in ("1", "true")


def run_search(grouped: bool = False) -> tuple[SearchRequest, SearchResult]:
    """Parse the request and search."""
    search = search_request(grouped)
    return search, get_engine().search(search)


@bp.get("/search")
@require(PUBLIC)
def search_page():
    """Full-text search over the catalogue, with facets: grouped by kind (服务事项, 审批事项, 中介机构,
    公告与公示, 监管部门) with counts and links to each kind's full list; `view=list` (or a type
    filter, or page 2 on) gives one list in relevance order with pagination."""
    search, result = run_search(grouped=request.args.get("view") != "list")
    if (last := past_last(result, SEARCH_FILTERS)) is not None:
        return last
    return render_template(
        "search/results.html",
        search=search,
        result=result,
        labels=facet_labels(),
        facet_names=FACET_LABELS,
        args=link_args(SEARCH_FILTERS),
    )
