"""GET /api/v1/projects/<code>/roadmap: the roadmap as JSON for its enterprise, staff and admins;
401 JSON for anonymous callers, 403 for other roles, 404 for another enterprise's project."""

from __future__ import annotations

from datetime import date

import pytest

from registry.extensions import db
from registry.models import User
from registry.services import roadmaps
from tests import factories

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates


def _project(app, make_user, *, category="民营/外资"):
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user, category=category)
        project.land_contract_date = date(2026, 3, 2)
        roadmaps.create_roadmap(project, actor=user)
        db.session.commit()
        return owner, project.code


@pytest.mark.parametrize("role", ["owner", "staff", "admin"])
def test_roadmap_api_owner_staff_and_admin_get_the_roadmap(app, client, make_user, login, role):
    owner, code = _project(app, make_user)
    login(owner if role == "owner" else make_user(role))
    response = client.get(f"/api/v1/projects/{code}/roadmap")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code
    assert body["category"] == "民营/外资"
    assert body["target_days"] == 160
    assert body["land_contract_date"] == "2026-03-02"
    assert 0 < body["total_days"] <= 160
    assert body["margin_days"] == 160 - body["total_days"]
    steps = {s["key"]: s for s in body["steps"]}
    assert steps["SP-15"]["planned_finish"] == body["planned_finish"]
    assert steps["SP-05"]["depends_on"] == ["ZJ-03"]
    assert steps["SP-05"]["unit"] == "日"
    assert {"code": "ZJ-03", "name": steps["ZJ-03"]["services"][0]["name"]} in steps["ZJ-03"][
        "services"
    ]
    assert body["critical_path"][-1] == "SP-15"


def test_roadmap_api_answers_utf8_not_escapes(app, client, make_user, login):
    owner, code = _project(app, make_user)
    login(owner)
    raw = client.get(f"/api/v1/projects/{code}/roadmap").get_data()
    assert "环评审批".encode() in raw
    assert b"\\u" not in raw


def test_roadmap_api_another_enterprise_gets_404_json(app, client, make_user, login):
    _owner, code = _project(app, make_user)
    stranger, _own = _project(app, make_user)
    login(stranger)
    response = client.get(f"/api/v1/projects/{code}/roadmap")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    missing = client.get("/api/v1/projects/NO-SUCH-CODE/roadmap")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_roadmap_api_anonymous_gets_401_json_not_a_login_redirect(app, client, make_user):
    _owner, code = _project(app, make_user)
    response = client.get(f"/api/v1/projects/{code}/roadmap")
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized"
    assert error["message"] == "请先登录后再访问。"
    assert "Location" not in response.headers


@pytest.mark.parametrize("role", ["provider", "regulator"])
def test_roadmap_api_other_roles_get_403_json(app, client, make_user, login, role):
    _owner, code = _project(app, make_user)
    login(make_user(role))
    response = client.get(f"/api/v1/projects/{code}/roadmap")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_roadmap_api_is_documented_with_its_security(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/projects/{code}/roadmap"]["get"]
    assert operation["security"] == [{"sessionCookie": []}]
    assert set(operation["responses"]) == {"200", "304", "401", "403", "404"}
    assert document["components"]["securitySchemes"]["sessionCookie"]["in"] == "cookie"
    assert "target_days" in document["components"]["schemas"]["Roadmap"]["properties"]
