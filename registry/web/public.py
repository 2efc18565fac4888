"""Home page and site map."""

from __future__ import annotations

from flask import Blueprint, render_template

from registry.policy import PUBLIC, require
from registry.services import catalogue, credit, market
from registry.web.page_cache import cached_page

bp = Blueprint("public", __name__)

# Rows in each of the home page's lists (credit notices, award notices, open requests).
HOME_ROWS = 5


@bp.get("/")
@cached_page
@require(PUBLIC)
def index():
    """Home: search box, stages with their approval items, the latest credit and award notices,
    open selection requests and catalogue updates (a few of each, a constant statement count)."""
    stages = catalogue.list_stages()
    approvals = catalogue.list_approval_items()
    by_stage = {stage.code: [a for a in approvals if stage in a.stages] for stage in stages}
    return render_template(
        "public/index.html",
        stages=stages,
        by_stage=by_stage,
        recent=catalogue.recently_updated_services(),
        service_count=catalogue.list_services(catalogue.ServiceFilters(), per_page=1).total,
        notices=credit.latest_notices(HOME_ROWS),
        awards=market.latest_awards(HOME_ROWS),
        requests=market.open_requests(HOME_ROWS),
    )


@bp.get("/sitemap")
@cached_page
@require(PUBLIC)
def sitemap():
    """Human-readable site map (网站地图)."""
    return render_template(
        "public/sitemap.html",
        stages=catalogue.list_stages(),
        departments=catalogue.list_departments(),
    )


@bp.get("/guide")
@cached_page
@require(PUBLIC)
def guide():
    """How to join and how to choose an intermediary: each role's path, in plain words."""
    return render_template("public/guide.html")
