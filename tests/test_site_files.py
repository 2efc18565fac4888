"""What crawlers and browsers ask for besides pages: the site maps (网站地图 and sitemap.xml),
robots.txt, the favicon, and content types named with one charset."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from registry.policy import PUBLIC, declared_action
from tests.test_policy_matrix import build_url

SITE = "https://zwfw.example.gov.cn"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class Robots:
    """robots.txt read as RFC 9309 says (urllib.robotparser knows no `*`): the longest matching
    rule decides, Allow winning a tie."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, str]] = []
        self.sitemaps: list[str] = []
        for line in text.splitlines():
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name in ("allow", "disallow") and value:
                self.rules.append((name == "allow", value))
            elif name == "sitemap":
                self.sitemaps.append(value)

    @staticmethod
    def _matches(pattern: str, path: str) -> bool:
        anchored = pattern.endswith("$")
        body = re.escape(pattern.rstrip("$")).replace(r"\*", ".*")
        return re.match(body + ("$" if anchored else ""), path) is not None

    def can_fetch(self, path: str) -> bool:
        matching = [(len(p), allow) for allow, p in self.rules if self._matches(p, path)]
        return max(matching, default=(0, True))[1] if matching else True


def _robots(client) -> Robots:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = response.get_data(as_text=True)
    assert text.startswith("User-agent: *\n")
    return Robots(text)


def test_site_map_page_links_the_market_and_notice_boards(reader):
    page = reader.get("/sitemap").get_data(as_text=True)
    for label, href in (
        ("选取公告", "/requests"),
        ("中选公示", "/awards"),
        ("信用公示", "/notices"),
    ):
        assert re.search(rf'<a href="{href}">{label}</a>', page), label
    assert '<a href="/api/v1/">' in page


@pytest.mark.parametrize("app_config", [{"SITE_URL": SITE}])
def test_site_robots_disallow_every_signed_in_route_and_point_at_the_sitemap(app, client):
    robots = _robots(client)
    assert robots.sitemaps == [f"{SITE}/sitemap.xml"]
    user_ids = {"admin": 1, "provider": 1}
    private, public = [], []
    for rule in app.url_map.iter_rules():
        action = declared_action(app.view_functions[rule.endpoint], rule.endpoint)
        (public if action == PUBLIC else private).append(build_url(app, rule, user_ids))
    assert len(private) > 80
    for path in private:
        assert not robots.can_fetch(path), f"robots.txt lets crawlers into {path}"
    for path in ("/staff/deadlines", "/admin/", "/my/projects", "/account", "/regulator/credit"):
        assert not robots.can_fetch(path)
    # Every public page is open to crawlers but forms, the unbounded search space and people's
    # pages (not indexed: 个人信息保护法).
    closed = ("/login", "/register", "/password/", "/search", "/healthz", "/metrics")
    closed += ("/practitioners",)
    for path in public:
        if not path.startswith(closed):
            assert robots.can_fetch(path), f"robots.txt keeps crawlers out of {path}"
    for path in ("/", "/services/ZJ-03", "/awards", "/notices", "/sitemap.xml", "/api/v1/"):
        assert robots.can_fetch(path), path
    assert not robots.can_fetch("/search?q=环评")
    assert not robots.can_fetch("/login")
    assert not robots.can_fetch("/practitioners/1")


@pytest.mark.parametrize("app_config", [{"SITE_URL": SITE}])
def test_site_sitemap_xml_lists_boards_and_every_catalogue_entry(app, client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = ElementTree.fromstring(response.data)  # noqa: S314 - our own sitemap
    locations = [loc.text for loc in root.iter(f"{SITEMAP_NS}loc")]
    assert len(locations) == len(set(locations))
    for path in ("/", "/requests", "/awards", "/notices", "/services", "/providers"):
        assert f"{SITE}{path}" in locations, path
    assert f"{SITE}/services/ZJ-03" in locations
    assert f"{SITE}/approval-items/SP-05" in locations
    with app.app_context():
        from registry.services import catalogue

        services = catalogue.list_services(catalogue.ServiceFilters(), per_page=10_000).total
        approvals = len(catalogue.list_approval_items())
    assert sum("/services/" in url for url in locations) == services
    assert sum("/approval-items/" in url for url in locations) == approvals
    # Every address is answered.
    for url in locations:
        path = url.removeprefix(SITE)
        assert client.get(path).status_code == 200, path


def test_site_favicon_is_served_with_long_caching(reader):
    response = reader.get("/favicon.ico")
    try:
        assert response.status_code == 200
        assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO header with one image
        assert response.cache_control.public
        assert response.cache_control.max_age >= 7 * 24 * 3600
    finally:
        response.close()
    page = reader.get("/").get_data(as_text=True)
    link = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert link, "no icon link in the page head"
    versioned = reader.get(link.group(1))
    try:
        assert versioned.status_code == 200
        assert "immutable" in versioned.headers["Cache-Control"]
    finally:
        versioned.close()


def test_site_csv_and_text_answers_name_the_charset_once(reader):
    csv = reader.get("/notices.csv")
    assert csv.status_code == 200
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    refused = reader.get("/services", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "text/plain; charset=utf-8"
