"""Issue 14, item 8: the low security findings, each with the test that would have caught it —
links from a forged Host header, out-of-range dates and ids (500s), a password made of the user
name, and bidders named in the audit log before the deadline."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from registry.config import PROJECT_ROOT
from registry.services.accounts import check_password_policy
from registry.services.errors import RegistryError
from tests.test_credit import _published, _world
from tests.test_market import _after_deadline, _quote, _setup

SITE = "https://zwfw.example.gov.cn"
EVIL = {"Host": "evil.example"}
HUGE = "99999999999999999999"  # beyond 64 bits (the finding); ids are 32-bit on PostgreSQL


@pytest.mark.parametrize("app_config", [{"SITE_URL": SITE}])
def test_security_absolute_links_come_from_site_url_never_from_host(app, client, make_user):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    notice = f"{SITE}/notices/{number}"

    # An unknown Host is refused outright; SITE_URL's own host and localhost are served.
    for url in ("/notices.xml", "/notices.csv", "/api/v1/services", "/api/v1/providers"):
        refused = client.get(url, headers=EVIL)
        assert refused.status_code == 400, url
        assert "evil.example" not in refused.get_data(as_text=True)
    assert client.get("/notices.xml", headers={"Host": "zwfw.example.gov.cn"}).status_code == 200

    feed = client.get("/notices.xml").get_data(as_text=True)
    assert f'href="{notice}"' in feed
    assert f"<id>{SITE}/notices</id>" in feed
    assert "localhost" not in feed
    rows = list(csv.reader(io.StringIO(client.get("/notices.csv").data.decode("utf-8-sig"))))
    assert rows[1][rows[0].index("链接")] == notice
    assert client.get("/api/v1/services/ZJ-03").get_json()["url"] == f"{SITE}/services/ZJ-03"
    providers = client.get("/api/v1/providers").get_json()["items"]
    assert {p["url"] for p in providers} >= {f"{SITE}/providers/{world.uscc}"}


def test_security_no_url_is_built_from_the_request_host():
    """Absolute links go through registry.web.urls.external_url (SITE_URL), never url_for's
    _external, which takes the request's Host header."""
    sources = [
        *Path(PROJECT_ROOT, "registry").rglob("*.py"),
        *Path(PROJECT_ROOT).glob("templates/**/*.html"),
    ]
    offenders = [str(p) for p in sources if "_external=True" in p.read_text(encoding="utf-8")]
    assert offenders == []


@pytest.mark.parametrize(
    "url",
    [
        "/notices?date_from=0001-01-01",
        "/notices.csv?date_from=0001-01-01",
        "/notices.xlsx?date_to=9999-12-31",
        "/notices.xml?date_from=0001-01-01",
        "/api/v1/notices?date_from=0001-01-01",
    ],
)
def test_security_out_of_range_filter_dates_are_400_with_a_message(reader, url):
    answer = reader.get(url)
    assert answer.status_code == 400
    text = (
        answer.get_json()["error"]["message"] if "/api/" in url else answer.get_data(as_text=True)
    )
    assert "日期须在 2000-01-01 至 2100-12-31 之间" in text


def test_security_oversized_ids_are_404_for_everyone(app, client, make_user, login):
    for url in (f"/awards/{HUGE}", f"/awards/{2**31}/verify", f"/awards/{'9' * 5000}"):
        assert client.get(url).status_code == 404, url[:40]
    assert client.get(f"/awards/{2**31 - 1}").status_code == 404  # in range, just not there
    login(make_user("enterprise"))
    assert client.get(f"/my/engagements/{HUGE}").status_code == 404
    admin = app.test_client()
    login(make_user("admin"), on=admin)
    for url in (f"/admin/providers/{HUGE}", f"/admin/users/{HUGE}", f"/admin/mail/{HUGE}"):
        assert admin.get(url).status_code == 404, url


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("sec-policy215e", "Secpolicy215e123"),  # the finding: punctuation dropped, case changed
        ("sec-policy215e", "x!SEC.POLICY215E"),
        ("wang_fang", "Wangfang#2026"),
    ],
)
def test_security_password_may_not_contain_the_user_name_in_any_form(username, password):
    with pytest.raises(RegistryError, match="密码不能包含用户名"):
        check_password_policy(password, username=username)


def test_security_password_name_rule_ignores_names_too_short_to_matter():
    check_password_policy("Kx!ab93-Rqte", username="a.b")  # "ab" is not a name worth refusing
    check_password_policy("Kx!9w3-Rqte7", username="sec-policy215e")


def test_security_bidders_in_the_audit_log_are_sealed_until_the_deadline(
    app, client, make_user, login
):
    _owner, accounts, codes, ref, _ = _setup(app, make_user, providers=1)
    _quote(app, accounts[0], ref, "30000")
    login(make_user("admin"))

    page = client.get("/admin/audit?action=selection.quote").get_data(as_text=True)
    assert "报价信息在截止前密封" in page
    assert ref in page  # which request had a bid is not secret (its owner sees a count)
    assert codes[0] not in page
    assert accounts[0].username not in page

    _after_deadline(app, ref)
    login(make_user("admin"))  # the clock moved past the session's idle timeout
    page = client.get("/admin/audit?action=selection.quote").get_data(as_text=True)
    assert "报价信息在截止前密封" not in page
    assert codes[0] in page
    assert accounts[0].username in page
