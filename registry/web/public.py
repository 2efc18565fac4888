"""Home page, the site maps (for people and for crawlers), robots.txt and the favicon."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, render_template

from registry.policy import PUBLIC, declared_action, require
from registry.services import catalogue, credit, market
from registry.web.page_cache import cached_page
from registry.web.urls import external_url

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


# ---------------------------------------------------------------------- for crawlers and browsers

# Public pages that are forms or unbounded query spaces rather than content: not for crawlers.
# People's pages (/practitioners) are public but not for indexing (个人信息保护法: minimum
# exposure); they also say noindex and stay out of the sitemap.
NOT_FOR_CRAWLERS = (
    "/login",
    "/register",
    "/password/",
    "/search",
    "/healthz",
    "/metrics",
    "/practitioners",
)
# How long a browser keeps /favicon.ico (it has no versioned URL, so not a year and not
# immutable; the versioned url_for('static', filename='favicon.ico') in base.html is).
FAVICON_MAX_AGE = 30 * 24 * 3600


def _pattern(rule: str) -> str:
    """A route as a robots.txt pattern: each variable part a `*` (RFC 9309)."""
    return re.sub(r"<[^>]+>", "*", rule)


def private_prefixes() -> list[str]:
    """What robots.txt disallows, worked out from the routes so a new signed-in page is covered
    the day it is added: for every route the policy does not open to everyone, the shortest
    path prefix no public route shares (/admin/, /my/); where a public route shares all of its
    fixed part (/awards/<id>/object beside /awards/<id>), the route as a pattern."""
    public, private = [], []
    for rule in current_app.url_map.iter_rules():
        action = declared_action(current_app.view_functions.get(rule.endpoint), rule.endpoint)
        (public if action == PUBLIC else private).append(rule.rule)
    public_shapes = {_pattern(p) for p in public}
    found: set[str] = set()
    for path in private:
        fixed = path.split("<", 1)[0]
        segments = fixed.strip("/").split("/")
        for depth in range(1, len(segments) + 1):
            candidate = "/" + "/".join(segments[:depth])
            if depth < len(segments) or fixed.endswith("/"):
                candidate += "/"
            if not any(p.startswith(candidate.rstrip("/")) for p in public):
                found.add(candidate)
                break
        else:
            if _pattern(path) not in public_shapes:  # never block a public page's own shape
                found.add(_pattern(path))
    # Drop what another entry already covers (/admin/users under /admin/).
    return sorted(
        p for p in found if not any(o != p and "*" not in o and p.startswith(o) for o in found)
    )


@bp.get("/robots.txt")
@require(PUBLIC)
def robots_txt():
    """Crawlers: public pages allowed; signed-in areas, forms and search disallowed; the XML
    sitemap named by its absolute address (from SITE_URL)."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {prefix}" for prefix in [*private_prefixes(), *NOT_FOR_CRAWLERS]]
    lines += ["Allow: /", "", f"Sitemap: {external_url('public.sitemap_xml')}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@bp.get("/sitemap.xml")
@cached_page
@require(PUBLIC)
def sitemap_xml():
    """The sitemap for crawlers (sitemaps.org): the public lists, every service item and every
    approval item, as absolute addresses from SITE_URL."""
    lists = [
        "public.index",
        "public.sitemap",
        "public.guide",
        "catalogue.list_services",
        "catalogue.list_approval_items",
        "catalogue.list_departments",
        "providers.list_providers",
        "market.list_requests",
        "market.list_awards",
        "credit.list_notices",
    ]
    urls = [external_url(endpoint) for endpoint in lists]
    services = catalogue.list_services(catalogue.ServiceFilters(), per_page=10_000).items
    urls += [external_url("catalogue.show_service", code=s.code) for s in services]
    urls += [
        external_url("catalogue.show_approval_item", code=a.code)
        for a in catalogue.list_approval_items()
    ]
    body = render_template("public/sitemap.xml", urls=urls)
    return Response(body, mimetype="application/xml")


@bp.get("/favicon.ico")
@require(PUBLIC)
def favicon():
    """The site icon (static/favicon.ico) where browsers look for it without being told."""
    response = current_app.send_static_file("favicon.ico")
    response.cache_control.public = True
    response.cache_control.max_age = FAVICON_MAX_AGE
    return response
