"""Public catalogue pages show what the seed files say, in Chinese, with government-site norms."""

from __future__ import annotations

import html
import re

import pytest
import yaml

from registry.config import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "seeds" / "catalogue"


def _rows(name: str) -> list[dict]:
    return yaml.safe_load((SEEDS / name).read_text(encoding="utf-8"))


DEPARTMENTS = {d["code"]: d for d in _rows("departments.yaml")}


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_catalogue_eia_item_shows_what_an_enterprise_needs(client):
    page = _text(client.get("/services/ZJ-03"))
    assert "建设项目环境影响报告书/报告表编制" in page
    assert "《环境影响评价法》" in page
    assert "市生态环境局" in page
    assert "市场调节价" in page
    assert "12345" in page  # complaint phone (the hotline fallback, marked as such)
    assert "日" in page
    assert "90" in page
    assert "S · 已核原文" in page  # source tags stay visible, as badges
    assert "S-2nd · 二手来源" in page


@pytest.mark.parametrize("row", _rows("service_items.yaml"), ids=lambda r: r["code"])
def test_catalogue_every_item_page_matches_its_seed(reader, row):
    response = reader.get(f"/services/{row['code']}")
    assert response.status_code == 200
    page = _text(response)
    assert row["name"] in page
    for entry in row["legal_basis"]:
        assert f"《{entry['law']}》" in page or entry["law"] in page
    department = DEPARTMENTS[row["department"]]
    assert department["name"] in page
    assert (row["fee_regime"] or "待核实") in page
    if row["time_limit_days"] is not None:
        assert f"{row['time_limit_days']}" in page
        assert row["time_limit_unit"] in page
    # every source tag as its badge; the note's text too when it says more than the tags
    tokens = set(re.split(r"[;;::\[\],,、/()()\s]+", row["source_note"])) - {""}
    labels = {"S": "已核原文", "S-2nd": "二手来源", "GK": "常识待核实"}
    for tag in tokens & labels.keys():
        assert f"{tag} · {labels[tag]}" in page
    if tokens - labels.keys():
        assert row["source_note"] in page
    else:  # a bare "S;S-2nd" is not printed again after its badges (stop 29)
        badges = "".join(f"{tag} · {labels[tag]}" for tag in labels if tag in tokens)
        assert f"{badges}{row['source_note']}" not in page.replace(" ", "")


def test_catalogue_self_prepare_and_regional_assessment_are_prominent(client):
    page = _text(client.get("/services/ZJ-01"))
    assert "企业自主编制,不得强制委托" in page
    page = _text(client.get("/services/ZJ-08"))
    assert "区域评估" in page


def test_catalogue_list_paginates(client):
    first = _text(client.get("/services?per_page=10"))
    third = _text(client.get("/services?per_page=10&page=3"))
    assert "ZJ-01" in first
    assert "ZJ-11" not in first
    assert "ZJ-21" in third
    assert "ZJ-01" not in third
    assert "共收录中介服务事项 26 项" in re.sub(r"<[^>]+>", "", first)
    # The title says which page a screen reader is on (page 1 says nothing extra).
    assert "<title>中介服务事项清单 - " in first
    assert "<title>中介服务事项清单(第 3 页) - " in third


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("stage=4", ["ZJ-26", "ZJ-05"], ["ZJ-01", "ZJ-03"]),
        ("department=SW", ["ZJ-04", "ZJ-06"], ["ZJ-03", "ZJ-14"]),
        ("fee_regime=unknown", ["ZJ-17"], ["ZJ-03"]),
        ("approval_item=SP-05", ["ZJ-03"], ["ZJ-04"]),
        ("may_self_prepare=1", ["ZJ-01"], ["ZJ-03"]),
        ("q=环评", ["ZJ-03"], ["ZJ-04"]),
        ("q=环境影响", ["ZJ-03"], ["ZJ-14"]),
    ],
)
def test_catalogue_filters(reader, query, present, absent):
    page = _text(reader.get(f"/services?{query}&per_page=100"))
    codes = set(re.findall(r"ZJ-\d\d", page))
    assert set(present) <= codes, page[:400]
    assert not (set(absent) & codes)


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-5",
        "per_page=0",
        "stage=<script>",
        "fee_regime=%00",
        "q=%25%25%5F",
        "q=" + "环" * 600,
        "may_self_prepare=maybe",
        "department=' OR 1=1 --",
    ],
)
def test_catalogue_hostile_query_strings_never_break(reader, query):
    response = reader.get(f"/services?{query}")
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True).split("</header>")[-1]


def test_catalogue_approval_item_lists_the_services_it_needs(client):
    page = _text(client.get("/approval-items/SP-05"))
    assert "环评审批" in page
    assert "ZJ-03" in page
    assert "建设项目环境影响报告书/报告表编制" in page
    listing = _text(client.get("/approval-items"))
    for row in _rows("approval_items.yaml"):
        assert row["name"] in listing


def test_catalogue_departments_page(client):
    page = _text(client.get("/departments"))
    for row in DEPARTMENTS.values():
        assert row["name"] in page
    assert 'id="STHJ"' in page


def test_catalogue_home_shows_stages_search_and_notices(app, client, make_user):
    from tests.test_flat_pages import _awards
    from tests.test_roadmap_queries import _statements

    with _statements(app) as empty:
        page = _text(client.get("/"))
    for stage in ("立项用地规划许可", "工程建设规划许可", "施工许可", "竣工验收"):
        assert stage in page
    assert 'name="q"' in page
    assert "160" in page
    assert "60" in page
    assert "210" in page
    for empty_list in ("暂无信用公示信息", "暂无中选公示", "暂无正在报名的选取公告"):
        assert empty_list in page
    for full_list in ('href="/notices"', 'href="/awards"', 'href="/requests"'):
        assert full_list in page
    # Award notices appear with their winner, a few of them, read with the list's statements.
    _awards(app, make_user, 7)
    with _statements(app) as some:
        page = _text(client.get("/"))
    assert "暂无中选公示" not in page
    assert page.count('href="/awards/') == 5
    assert len(some) == len(empty)


def test_catalogue_government_meta_and_footer(client):
    page = _text(client.get("/services/ZJ-03"))
    for name in ("SiteName", "ColumnName", "ArticleTitle", "PubDate"):
        assert re.search(rf'<meta name="{name}" content="[^"]+"', page), name
    pub = re.search(r'<meta name="PubDate" content="([^"]+)"', page).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", pub)
    assert "主办单位" in page
    assert "网站地图" in page
    assert 'lang="zh-CN"' in page


def test_catalogue_not_found_pages_are_chinese(client):
    response = client.get("/services/NOPE-1")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
    assert client.get("/no/such/page").status_code == 404


def test_catalogue_server_error_page_is_chinese(app, client):
    @app.get("/boom")
    def boom():  # pragma: no cover - route exists only to fail
        raise RuntimeError("kaboom")

    boom.required_action = "public"
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "系统繁忙" in body
    assert "kaboom" not in body


def test_catalogue_retired_item_leaves_the_list_but_keeps_its_page(app, client):
    from registry.extensions import db
    from registry.services import catalogue

    with app.app_context():
        catalogue.retire_service_item(catalogue.get_service("ZJ-25"), actor=None, reason="测试废止")
        db.session.commit()
    assert "ZJ-25" not in _text(client.get("/services?per_page=100"))
    page = _text(client.get("/services/ZJ-25"))
    assert "已废止" in page


@pytest.mark.parametrize(
    "url",
    [
        "/services?endpoint=x",
        "/services?per_page=1&_method=POST",
        "/services?_external=1&per_page=5",
        "/search?q=环评&endpoint=x",
        "/search?q=报告&_method=POST",
        "/search?q=报告&_anchor=x",
    ],
)
def test_catalogue_url_builder_keywords_in_the_query_string_are_ignored(reader, url):
    response = reader.get(url)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "http://" not in body.split("<main", 1)[1].split("</main>", 1)[0]


def test_catalogue_pages_a_page_past_the_last_goes_to_the_last(client):
    """/services?page=99 read "第 99 / 2 页" beside an empty list; it goes to the last page, the
    filters kept."""
    first = client.get("/services?per_page=10")
    last = int(re.search(r"共 (\d+) 页", first.get_data(as_text=True)).group(1))
    response = client.get("/services?per_page=10&page=99")
    assert response.status_code == 302
    assert f"page={last}" in response.headers["Location"]
    assert "per_page=10" in response.headers["Location"]
    assert client.get("/notices?page=999").status_code == 200  # nothing to page: as it was
    # Unknown keys, url_for's own among them, are dropped, not passed on (they raised a 500).
    for extra in ("endpoint=x", "_method=X", "_scheme=http", "_external=1", "junk=" + "A" * 500):
        hostile = client.get(f"/services?per_page=10&page=99&{extra}")
        assert hostile.status_code == 302, extra
        assert hostile.headers["Location"] == f"/services?per_page=10&page={last}"


def test_catalogue_search_page_past_the_last_goes_to_the_last(client):
    """A tester's finding (stop 29): /search?q=环评&page=2 read 共找到 18 条结果 above 没有找到
    与“环评”相关的内容. It goes to the last page, the query kept."""
    response = client.get("/search?q=%E7%8E%AF%E8%AF%84&view=list&page=99")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/search?q=%E7%8E%AF%E8%AF%84&view=list&page=")
    page = client.get(location).get_data(as_text=True)
    assert "没有找到" not in page
    assert "ZJ-03" in page or "环评" in page


def test_catalogue_code_in_another_case_leads_to_the_item(reader):
    """A tester's finding (stop 29): /services/zj-03 and /api/v1/services/zj-03 were 404 while
    search read zj03 as ZJ-03. The page moves to the item's own address; the API answers."""
    for typed, own in (
        ("/services/zj-03", "/services/ZJ-03"),
        ("/approval-items/sp-05", "/approval-items/SP-05"),
    ):
        response = reader.get(typed)
        assert response.status_code == 301
        assert response.headers["Location"].endswith(own)
    assert reader.get("/api/v1/services/zj-03").get_json()["code"] == "ZJ-03"
    assert reader.get("/api/v1/approval-items/Sp-05").get_json()["code"] == "SP-05"
    assert reader.get("/services/zj-99").status_code == 404


@pytest.mark.demo
def test_catalogue_item_lists_a_blacklisted_firm_after_every_other(app, client):
    """A tester's finding (stop 29): on 水保 (ZJ-05) a blacklisted firm stood above a clean one
    of the same credit score. A firm blacklisted today is listed last, whatever its score."""
    from registry.extensions import db
    from registry.kernel import clock
    from registry.models import ServiceItem
    from registry.services import providers

    mixed = {}  # code → (clean names, blacklisted names) where both are listed
    with app.app_context():
        for item in db.session.query(ServiceItem).order_by(ServiceItem.code):
            offers, _ = providers.listed_offers(item)
            flags = [o.provider.is_blacklisted(clock.today()) for o in offers]
            assert flags == sorted(flags), (item.code, [o.provider.name for o in offers])
            if any(flags) and not all(flags):
                names = [o.provider.name for o in offers]
                mixed[item.code] = (
                    [n for n, f in zip(names, flags, strict=True) if not f],
                    names[flags.index(True)],
                )
    assert mixed  # the demo has a blacklisted firm beside clean ones
    for code, (clean, first_blacklisted) in mixed.items():
        page = _text(client.get(f"/services/{code}"))
        after = page[page.index(first_blacklisted) :]
        assert not [name for name in clean if name in after], code
