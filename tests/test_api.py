"""JSON API v1: shapes, filters, UTF-8 Chinese, errors, and the OpenAPI document."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from openapi_spec_validator import validate

from registry.web.openapi import openapi_document

SERVICE_KEYS = {
    "code",
    "name",
    "stages",
    "legal_basis",
    "time_limit_days",
    "time_limit_unit",
    "fee_regime",
    "fee_basis",
    "may_self_prepare",
    "covered_by_regional_assessment",
    "department",
    "approval_items",
}


@pytest.fixture
def app_config():
    """Every response here is also checked against the OpenAPI document."""
    return {"OPENAPI_VALIDATE_RESPONSES": True}


def test_api_services_list_shape_and_pagination(client):
    body = client.get("/api/v1/services?per_page=5&page=2").get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    assert body["total"] == 26
    assert body["page"] == 2
    assert body["per_page"] == 5
    assert [i["code"] for i in body["items"]] == ["ZJ-06", "ZJ-07", "ZJ-08", "ZJ-09", "ZJ-10"]
    for item in body["items"]:
        assert set(item) >= SERVICE_KEYS


def test_api_service_detail(client):
    item = client.get("/api/v1/services/ZJ-03").get_json()
    assert item["name"] == "建设项目环境影响报告书/报告表编制"
    assert {
        "law": "环境影响评价法",
        "article": "第16、19、20条",
        "version": None,
        "note": None,
    } in item["legal_basis"]
    assert item["department"]["code"] == "STHJ"
    assert item["department"]["name"] == "天津市生态环境局"
    assert item["department"]["complaint_phone"] == "12345"
    assert item["fee_regime"] == "市场调节价"
    assert item["time_limit_unit"] in {"日", "工作日"}
    assert [s["code"] for s in item["stages"]] == ["1", "2"]
    assert any(a["code"] == "SP-05" for a in item["approval_items"])


def test_api_chinese_is_utf8_not_escaped(client):
    response = client.get("/api/v1/services/ZJ-03")
    assert response.mimetype == "application/json"
    raw = response.get_data()
    assert "环境影响评价法".encode() in raw
    assert b"\\u" not in raw


def test_api_filters_match_the_page(client):
    body = client.get("/api/v1/services?department=SW&per_page=100").get_json()
    assert body["total"] == len(body["items"]) > 0
    assert all(i["department"]["code"] == "SW" for i in body["items"])
    body = client.get("/api/v1/services?may_self_prepare=true").get_json()
    assert [i["code"] for i in body["items"]] == ["ZJ-01"]


def test_api_errors_are_json(client):
    response = client.get("/api/v1/services/NOPE")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert "NOPE" in response.get_json()["error"]["message"]
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert set(response.get_json()["error"]) == {"code", "message"}
    response = client.post("/api/v1/services")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    # It names what the address takes (a tester, stop 30: the Allow header was missing).
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    page = client.post("/services")
    assert page.status_code == 405
    assert "GET" in page.headers["Allow"]


def test_api_approval_items_and_departments(client):
    approvals = client.get("/api/v1/approval-items").get_json()
    assert approvals["total"] >= 15
    eia = client.get("/api/v1/approval-items/SP-05").get_json()
    assert any(s["code"] == "ZJ-03" for s in eia["service_items"])
    departments = client.get("/api/v1/departments").get_json()
    assert {"STHJ", "SW", "ZJW"} <= {d["code"] for d in departments["items"]}


def test_api_openapi_document_is_valid_and_complete(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    documented = set(document["paths"])
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            # /practitioners/<int:practitioner_id> is /practitioners/{practitioner_id} in OpenAPI.
            path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            assert path in documented, f"{rule.rule} is missing from openapi.json"


def test_api_hostile_parameters(client):
    for query in ("page=x", "per_page=100000", "q=%00%01"):
        response = client.get(f"/api/v1/services?{query}")
        assert response.status_code == 200, query
        assert response.get_json()["per_page"] <= 100
    response = client.get("/api/v1/services?stage=%27")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "筛选条件 stage=' 无法识别,请修改后重试。"


# A tester writing a client (stop 30): each of these came back 200 with every row, as if
# unfiltered — "72 practitioners at this firm" for a mistyped USCC, every provider for grade=Z.
UNREADABLE = [
    ("/practitioners?provider=91120116MA0000015", "provider=91120116MA0000015"),
    ("/practitioners?certificate=NOPE", "certificate=NOPE"),
    ("/providers?grade=Z", "grade=Z"),
    ("/providers?region=NOPE", "region=NOPE"),
    ("/services?fee_regime=xx", "fee_regime=xx"),
    ("/services?may_self_prepare=maybe", "may_self_prepare=maybe"),
    ("/notices?kind=NOPE", "kind=NOPE"),
    ("/notices?year=abc", "year=abc"),
    ("/notices?year=1999", "year=1999"),
    ("/notices?date_from=2026-13-45", "date_from=2026-13-45"),
    ("/notices?date_from=2026/12/01", "date_from=2026/12/01"),
    ("/notices?department=%FF", "department=%FF"),
    ("/search?q=%E7%8E%AF%E8%AF%84&type=NOPE", "type=NOPE"),
    ("/awards?service=%3Cb%3E", "service=<b>"),
]


@pytest.mark.parametrize(("path", "named"), UNREADABLE, ids=[u[1][:24] for u in UNREADABLE])
def test_api_refuses_a_filter_it_cannot_read_instead_of_answering_everything(client, path, named):
    response = client.get(f"/api/v1{path}")
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    message = response.get_json()["error"]["message"]
    assert message.startswith(f"筛选条件 {named} 无法识别")


def test_api_reads_every_listed_filter_value(client):
    """Every value the document lists for a query parameter is read, not refused."""
    document = openapi_document()
    listed = 0
    for path, operations in document["paths"].items():
        for parameter in operations["get"].get("parameters", []):
            enum = parameter.get("schema", {}).get("enum")
            if parameter.get("in") != "query" or not enum:
                continue
            for value in enum:
                query = {parameter["name"]: value, "q": "环评"}
                answer = client.get(f"/api/v1{path}", query_string=query)
                assert answer.status_code == 200, (path, parameter["name"], value)
                listed += 1
    assert listed > 20
    for path in (
        "/notices?year=2026&date_from=2026-01-01",
        "/practitioners?certificate=环境影响评价工程师",
    ):
        assert client.get(f"/api/v1{path}").status_code == 200, path


def test_pages_say_which_filter_they_did_not_use(client):
    """Pages keep answering (a person may have edited the address), and say what they dropped."""
    page = client.get("/providers?grade=Z").get_data(as_text=True)
    assert "信用等级“Z”无法识别;该条件未使用。" in page
    search = client.get("/search?q=环评&type=NOPE").get_data(as_text=True)
    assert "类型“NOPE”无法识别;该条件未使用。" in search
    assert "无法识别" not in client.get("/providers?grade=A").get_data(as_text=True)
    # What is echoed is plain text: no markup, no bidi override (a reviewer, stop 30).
    hostile = client.get("/providers?grade=%E2%80%AE%3Cb%3EZ").get_data(as_text=True)
    assert "\u202e" not in hostile
    assert "<b>Z" not in hostile


def test_filters_read_full_width_and_padded_values(client):
    """`year=２０２６` worked before the API refused unreadable values (int() reads full-width
    digits); a value with a space around it from a copied link is read too."""
    for path in ("/notices?year=２０２６", "/providers?grade=A%20", "/notices?year=%202026"):
        assert client.get(f"/api/v1{path}").status_code == 200, path


def test_feed_and_exports_refuse_a_filter_they_cannot_read(client):
    """Machine readers of the board outside /api: an unreadable filter was silently dropped,
    and every notice came back (a reviewer, stop 30)."""
    for path in ("/notices.xml", "/notices.csv", "/notices.xlsx"):
        refused = client.get(f"{path}?kind=NOPE")
        assert refused.status_code == 400, path
        assert "类别“NOPE”无法识别" in refused.get_data(as_text=True)
        assert client.get(f"{path}?kind=警示通报").status_code == 200, path


def test_api_keyword_filter_ignores_case_on_every_database(client):
    body = client.get("/api/v1/services?q=zj-03").get_json()
    assert [i["code"] for i in body["items"]] == ["ZJ-03"]


def test_api_short_lists_page_like_the_others(client):
    """A client paging until an empty page never stopped on /approval-items: every page was the
    whole list, labelled page 1 (a tester, stop 30)."""
    whole = client.get("/api/v1/approval-items").get_json()
    assert whole["page"] == 1
    assert len(whole["items"]) == whole["total"] >= 15
    codes, page = [], 1
    while True:
        body = client.get(f"/api/v1/approval-items?page={page}&per_page=7").get_json()
        assert (body["page"], body["per_page"], body["total"]) == (page, 7, whole["total"])
        if not body["items"]:
            break
        codes += [i["code"] for i in body["items"]]
        page += 1
    assert codes == [i["code"] for i in whole["items"]]
    past = client.get("/api/v1/departments?page=2").get_json()
    assert past["items"] == []
    assert past["total"] > 0


def test_api_every_link_is_absolute(app, client):
    """Services and providers linked absolutely, notices, awards, search hits and the index
    relatively (a tester, stop 30): every `url` is now SITE_URL's."""
    site = app.config["SITE_URL"]
    answers = [
        client.get("/api/v1/").get_json()["resources"],
        client.get("/api/v1/services/ZJ-03").get_json()["approval_items"],
        client.get("/api/v1/search?q=环评").get_json()["items"],
    ]
    links = [item["url"] for answer in answers for item in answer]
    assert len(links) > 10
    assert all(link.startswith(f"{site}/") for link in links), links


def test_api_times_are_given_to_the_second(app):
    """One notice's published_at carried microseconds, another's not (a tester, stop 30): a
    client parsing with a fixed pattern failed on one of them."""
    from registry.web.api import moment_json

    with app.app_context():
        moment = datetime(2026, 12, 8, 7, 27, 55, 406821, tzinfo=UTC)
        assert moment_json(moment) == "2026-12-08T15:27:55+08:00"


def test_api_code_filters_ignore_case(client):
    """`service=zj-03` found nothing, though /services/zj-03 opens ZJ-03 (a tester, stop 30): a
    code filter reads any case, on the API and the pages."""
    for path, lower, upper in (
        ("/services", "department=sthj", "department=STHJ"),
        ("/services", "approval_item=sp-05", "approval_item=SP-05"),
        ("/providers", "service=zj-03", "service=ZJ-03"),
        ("/notices", "department=sthj", "department=STHJ"),
    ):
        typed = client.get(f"/api/v1{path}?{lower}").get_json()
        stored = client.get(f"/api/v1{path}?{upper}").get_json()
        assert typed == stored, (path, lower)
    services = client.get("/api/v1/services?department=sthj").get_json()
    assert services["total"] > 0
    assert {i["department"]["code"] for i in services["items"]} == {"STHJ"}
    page = client.get("/services?department=sthj").get_data(as_text=True)
    assert f"<strong>{services['total']}</strong>" in page
    assert "无法识别" not in page


@pytest.mark.parametrize("path", ["/awards", "/search?q=环境影响评价", "/services", "/notices"])
def test_api_answers_carry_validators_and_a_304(client, path):
    """/awards and /search sent no ETag (a tester, stop 30); every JSON answer has one now, and
    asking again with it gives 304 without a body."""
    first = client.get(f"/api/v1{path}")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = client.get(f"/api/v1{path}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""


def test_api_is_readable_from_other_sites_without_credentials(client):
    """No CORS headers meant a browser script on another site could not read the open data (a
    tester, stop 30). Every API answer allows any origin, without credentials; a preflight may
    send the validators; a cached answer keeps the header."""
    origin = {"Origin": "https://data.example.org"}
    for _ in range(2):  # rendered, then from the page cache
        answer = client.get("/api/v1/services?per_page=1", headers=origin)
        assert answer.status_code == 200
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
        assert "Access-Control-Allow-Credentials" not in answer.headers
    preflight = client.options(
        "/api/v1/notices",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "if-none-match" in preflight.headers["Access-Control-Allow-Headers"].lower()
    # The site's own pages are not opened to other origins.
    assert "Access-Control-Allow-Origin" not in client.get("/services", headers=origin).headers
