"""The OpenAPI document (registry/web/openapi.yaml) is valid OpenAPI 3.0, follows the model enums,
and is enforced: with OPENAPI_VALIDATE_RESPONSES on, an API response the document does not
describe (an undocumented field, a wrong type or format, an undocumented status) fails loudly."""

from __future__ import annotations

import re

import pytest
from flask import jsonify
from openapi_spec_validator import validate

from registry.config import DEFAULTS
from registry.models.catalogue import FeeRegime
from registry.models.roadmap import DeadlineState
from registry.web import api
from registry.web.openapi import ResponseMismatch, openapi_document


@pytest.fixture
def app_config():
    """Every response in this module is checked against the document."""
    return {"OPENAPI_VALIDATE_RESPONSES": True}


def test_openapi_document_is_valid_openapi_3():
    document = openapi_document()
    assert document["openapi"].startswith("3.0.")
    validate(document)  # raises on any violation of the OpenAPI 3.0 schema


def test_openapi_enums_follow_the_models():
    schemas = openapi_document()["components"]["schemas"]
    fee = schemas["ServiceItem"]["properties"]["fee_regime"]["enum"]
    assert fee == [*(f.value for f in FeeRegime), None]
    state = schemas["RoadmapStep"]["properties"]["deadline_state"]["enum"]
    # DeadlineState's empty "on track" value is null in the API, never "".
    assert state == [*(s.value for s in DeadlineState if s.value), None]
    # Shared parts are plain copies: changing one leaves the other and the next caller alone.
    schemas["Stage"]["properties"].clear()
    assert openapi_document()["components"]["schemas"]["CodeName"]["properties"]


def test_openapi_served_document_is_the_data_file(client):
    assert client.get("/api/v1/openapi.json").get_json() == openapi_document()


def test_openapi_undocumented_field_fails(client, monkeypatch):
    real = api.service_json
    monkeypatch.setattr(api, "service_json", lambda item: {**real(item), "internal_id": 7})
    with pytest.raises(ResponseMismatch, match=r"GET /services/\{code\} → 200: .*'internal_id'"):
        client.get("/api/v1/services/ZJ-03")
    with pytest.raises(ResponseMismatch, match=r"items/0: .*'internal_id'"):
        client.get("/api/v1/services")


def test_openapi_wrong_type_or_format_fails(client, monkeypatch):
    real = api.service_json
    monkeypatch.setattr(api, "service_json", lambda item: {**real(item), "code": 3})
    with pytest.raises(ResponseMismatch, match="code: 3 is not of type 'string'"):
        client.get("/api/v1/services/ZJ-03")
    monkeypatch.setattr(api, "service_json", lambda item: {**real(item), "last_verified": "昨天"})
    with pytest.raises(ResponseMismatch, match="last_verified: '昨天' is not a 'date'"):
        client.get("/api/v1/services/ZJ-03")
    monkeypatch.setattr(api, "service_json", lambda item: {**real(item), "fee_regime": "面议"})
    with pytest.raises(ResponseMismatch, match="fee_regime: '面议' is not one of"):
        client.get("/api/v1/services/ZJ-03")


def test_openapi_undocumented_status_fails(client, monkeypatch):
    def gone(status, message):
        return jsonify(error={"code": "gone", "message": message}), 410

    monkeypatch.setattr(api, "render_error", gone)
    with pytest.raises(ResponseMismatch, match=r"GET /services/\{code\} → 410: not in the"):
        client.get("/api/v1/services/NOPE")


def test_openapi_documented_errors_pass(client):
    response = client.get("/api/v1/services/NOPE")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/projects/NOPE/roadmap").status_code == 401


def test_openapi_check_is_off_by_default(app, client, monkeypatch):
    assert DEFAULTS["OPENAPI_VALIDATE_RESPONSES"] is False  # a check for the tests, not production
    real = api.service_json
    monkeypatch.setattr(api, "service_json", lambda item: {**real(item), "internal_id": 7})
    app.config["OPENAPI_VALIDATE_RESPONSES"] = False
    assert client.get("/api/v1/services/ZJ-03").get_json()["internal_id"] == 7


def test_openapi_api_index_lists_every_resource_and_the_document(app, client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    index = response.get_json()
    site = app.config["SITE_URL"]
    assert index["openapi"] == f"{site}/api/v1/openapi.json"
    assert client.get(index["openapi"]).get_json() == openapi_document()
    # Absolute, as every link the API gives; compared below by their paths.
    assert all(r["url"].startswith(f"{site}/api/v1/") for r in index["resources"])
    urls = {r["url"].removeprefix(site): r for r in index["resources"]}
    # Every GET route of the API blueprint but the index itself is listed, by its address.
    routes = {
        re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.index"
    }
    assert set(urls) == routes
    assert urls["/api/v1/services"]["title"] == "中介服务事项列表"
    assert urls["/api/v1/services/{code}"]["templated"] is True
    assert urls["/api/v1/projects/{code}/roadmap"]["signed_in"] is True
    # Each address without a placeholder answers: public ones 200, the signed-in one 401.
    for url, resource in urls.items():
        if resource["templated"]:
            continue
        expected = 401 if resource["signed_in"] else 200
        assert client.get(url).status_code == expected, url
    assert client.get("/api/v1").status_code in (301, 308)
