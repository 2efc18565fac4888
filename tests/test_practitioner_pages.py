"""Practitioners in public (issue 17): a provider's personnel strength on its profile and in the
API, each person's masked page, the list and GET /api/v1/practitioners with their filters, people
found by search under their real name but shown masked, the audited unmasked view, and a sweep
that no public page or API answer shows a full name or certificate number."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.kernel import clock
from registry.models import AuditEntry, Provider, ProviderStatus, User
from registry.pure.pii import mask_name, mask_number, mask_personal
from registry.sanitize import public_html
from registry.services import practitioners
from tests.factories import active_provider

EIA = "环境影响评价工程师"
COST = "注册造价工程师"
SURVEY = "注册测绘师"


def id_number(serial: int) -> str:
    """A well-formed resident ID number (GB 11643 check character) for serial."""
    body = f"12011619800101{serial:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


# name, ID serial, firm (0 or 1), certificates (type, number, days still valid; < 0 expired)
PEOPLE = (
    ("龚向明", 21, 0, ((EIA, "HP-2021-0001", 400), (COST, "ZJ-7788-6655", 300))),
    ("欧阳小芳", 22, 0, ((EIA, "HP-2021-0002", 200), (COST, "ZJ-7788-6656", -3))),
    ("谭静", 23, 1, ((SURVEY, "CH-3300-0101", 500),)),
)


def _certificate(kind: str, number: str, days: int) -> dict:
    today = clock.today()
    return {
        "kind": kind,
        "number": number,
        "issuer": "主管部门",
        "valid_from": today - timedelta(days=800),
        "valid_to": today + timedelta(days=days),
    }


@pytest.fixture
def staffed(app, make_user):
    """Two active providers with accounts and the PEOPLE on their rosters (committed, so search
    has them): {"users", "firms" (USCCs), "ids" (name → practitioner id)}."""
    users = [make_user("provider") for _ in range(2)]
    with app.app_context():
        accounts = [db.session.get(User, u.id) for u in users]
        firms = [active_provider(("ZJ-03",), account=a) for a in accounts]
        db.session.commit()
        ids = {}
        for name, serial, firm, certificates in PEOPLE:
            data = {
                "name": name,
                "id_number": id_number(serial),
                "title": "工程师",
                "started_on": clock.today() - timedelta(days=60),
            }
            employment = practitioners.register_practitioner(
                firms[firm], data, actor=accounts[firm]
            )
            db.session.commit()
            person_id = employment.practitioner_id
            for kind, number, days in certificates:
                practitioners.add_certificate(
                    firms[firm], person_id, _certificate(kind, number, days), actor=accounts[firm]
                )
                db.session.commit()
            ids[name] = person_id
        usccs = [f.uscc for f in firms]
    return {"users": users, "firms": usccs, "ids": ids}


def _secrets() -> list[str]:
    """What no public answer may contain: full names and full certificate numbers."""
    found = [name for name, *_ in PEOPLE if len(name) >= 2]
    for *_, certificates in PEOPLE:
        found += [number for _, number, _ in certificates]
        found += [number.replace("-", "") for _, number, _ in certificates]
    return found


def _assert_masked(text: str, where: str) -> None:
    for secret in _secrets():
        assert secret not in text, f"{secret} shown by {where}"


# ---------------------------------------------------------------- the provider's profile


def test_practitioner_pages_profile_strength(app, client, staffed):
    first = staffed["firms"][0]
    page = client.get(f"/providers/{first}").get_data(as_text=True)
    assert "从业人员" in page
    # Both hold a valid EIA certificate; only 龚向明's cost certificate is still valid.
    assert f'<th scope="row">{EIA}</th>\n          <td>2 人</td>' in page
    assert f'<th scope="row">{COST}</th>\n          <td>1 人</td>' in page
    assert SURVEY not in page  # the other provider's person
    assert "龚*明" in page
    assert "欧**芳" in page
    _assert_masked(page, "the profile")
    detail = client.get(f"/api/v1/providers/{first}").get_json()
    assert detail["personnel"] == {EIA: 2, COST: 1}
    other = client.get(f"/api/v1/providers/{staffed['firms'][1]}").get_json()
    assert other["personnel"] == {SURVEY: 1}


# ---------------------------------------------------------------- the person's page and the list


def test_practitioner_pages_person_page_masked(app, client, staffed):
    person_id = staffed["ids"]["龚向明"]
    page = client.get(f"/practitioners/{person_id}").get_data(as_text=True)
    assert "龚*明" in page
    assert mask_number("HP-2021-0001") in page
    assert mask_number("ZJ-7788-6655") in page
    assert EIA in page
    assert COST in page
    with app.app_context():
        firm = db.session.scalar(select(Provider).where(Provider.uscc == staffed["firms"][0]))
        assert firm.name in page
    assert "信用记录" in page  # the person's credit records section
    _assert_masked(page, "the person's page")
    assert client.get("/practitioners/999999").status_code == 404


def test_practitioner_pages_person_of_a_firm_not_in_the_directory_is_not_public(
    app, client, staffed
):
    with app.app_context():
        firm = db.session.scalar(select(Provider).where(Provider.uscc == staffed["firms"][1]))
        firm.status = ProviderStatus.SUSPENDED.value
        db.session.commit()
    person_id = staffed["ids"]["谭静"]
    assert client.get(f"/practitioners/{person_id}").status_code == 404
    assert client.get(f"/api/v1/practitioners/{person_id}").status_code == 404
    listed = client.get("/api/v1/practitioners").get_json()
    assert person_id not in [p["id"] for p in listed["items"]]
    hits = client.get("/api/v1/search?q=" + quote(SURVEY) + "&type=practitioner").get_json()
    assert hits["total"] == 0


def test_practitioner_pages_list_and_api_filters(app, client, staffed):
    first, second = staffed["firms"]
    ids = staffed["ids"]
    everyone = client.get("/api/v1/practitioners").get_json()
    assert everyone["total"] == 3
    assert {"items", "total", "page", "per_page"} <= set(everyone)
    at_first = client.get(f"/api/v1/practitioners?provider={first}").get_json()
    assert sorted(p["id"] for p in at_first["items"]) == sorted([ids["龚向明"], ids["欧阳小芳"]])
    # An expired certificate does not count: only 龚向明 holds a valid cost certificate.
    cost = client.get("/api/v1/practitioners?certificate=" + quote(COST)).get_json()
    assert [p["id"] for p in cost["items"]] == [ids["龚向明"]]
    both = client.get(f"/api/v1/practitioners?provider={second}&certificate={quote(EIA)}")
    assert both.get_json()["total"] == 0
    survey = client.get(f"/api/v1/practitioners?provider={second}&certificate={quote(SURVEY)}")
    (person,) = survey.get_json()["items"]
    assert person["name"] == "谭*"
    assert person["provider"]["uscc"] == second
    assert person["certificates"][0]["number"] == mask_number("CH-3300-0101")
    paged = client.get("/api/v1/practitioners?per_page=2&page=2").get_json()
    assert (paged["total"], paged["page"], paged["per_page"], len(paged["items"])) == (3, 2, 2, 1)
    one = client.get(f"/api/v1/practitioners/{ids['欧阳小芳']}").get_json()
    assert one["name"] == "欧**芳"
    assert {c["kind"]: c["valid"] for c in one["certificates"]} == {EIA: True, COST: False}
    assert client.get("/api/v1/practitioners/999999").status_code == 404
    page = client.get(f"/practitioners?provider={first}&certificate={quote(EIA)}")
    text = page.get_data(as_text=True)
    assert "从业人员 <strong>2</strong> 人" in text
    assert "龚*明" in text
    assert "谭*" not in text


# ---------------------------------------------------------------- search


def _search(client, query: str, **args) -> dict:
    extra = "".join(f"&{k}={quote(str(v))}" for k, v in args.items())
    return client.get(f"/api/v1/search?q={quote(query)}{extra}").get_json()


def test_practitioner_pages_search_by_name_and_certificate(app, client, staffed):
    person_id = staffed["ids"]["龚向明"]
    by_name = _search(client, "龚向明")
    hit = next(h for h in by_name["items"] if h["type"] == "practitioner")
    assert hit["url"] == f"{app.config['SITE_URL']}/practitioners/{person_id}"
    assert hit["title"].startswith("龚*明")
    shown = json.dumps(by_name["items"], ensure_ascii=False)
    assert "龚向明" not in shown
    by_kind = _search(client, COST, type="practitioner")
    assert hit["url"] in [h["url"] for h in by_kind["items"]]
    _assert_masked(json.dumps(by_kind, ensure_ascii=False), "search by certificate type")
    grouped = _search(client, "龚向明", grouped=1)
    (group,) = [g for g in grouped["groups"] if g["key"] == "practitioner"]
    assert group["label"] == "从业人员"
    _assert_masked(json.dumps(grouped, ensure_ascii=False), "grouped search")
    page = client.get("/search?q=" + quote("龚向明")).get_data(as_text=True)
    assert "从业人员" in page
    assert "龚*明" in page
    # The row id is no public code (it was shown as one: 从业人员 · 1).
    assert f'从业人员 · <span class="code">{person_id}</span>' not in page
    # The page repeats the query typed (the full name, known to the searcher), nothing else.
    _assert_masked(page.replace("龚向明", ""), "the search page")
    # A homophone of the name is never corrected to the real name.
    sounds_alike = _search(client, "龚向名")
    assert "龚向明" not in json.dumps(sounds_alike, ensure_ascii=False)


def test_practitioner_pages_new_person_is_searchable_at_once(app, client, staffed):
    """A person registered and committed in one flush (no id before it) still enters search."""
    hits = _search(client, "欧阳小芳", type="practitioner")
    site = app.config["SITE_URL"]
    assert [h["url"] for h in hits["items"]] == [
        f"{site}/practitioners/{staffed['ids']['欧阳小芳']}"
    ]


# ---------------------------------------------------------------- the unmasked view


def _unmasked_views(app, person_id: int) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "practitioner.view_unmasked")
        ).all()
        db.session.expunge_all()
    return [r for r in rows if r.object_id == str(person_id)]


def test_practitioner_pages_unmasked_view_audited(app, make_user, login, staffed):
    person_id = staffed["ids"]["龚向明"]
    url = f"/office/practitioners/{person_id}"
    own_provider = staffed["users"][0]
    for user in (make_user("regulator"), make_user("staff"), make_user("admin"), own_provider):
        client = app.test_client()
        login(user, on=client)
        response = client.get(url)
        assert response.status_code == 200, user.role
        page = response.get_data(as_text=True)
        assert "龚向明" in page
        assert "HP-2021-0001" in page
        assert "已记入审计日志" in page
        assert id_number(21) not in page
        assert response.headers["Cache-Control"] == "no-store"
    viewers = [e.actor_id for e in _unmasked_views(app, person_id)]
    assert len(viewers) == 4
    assert own_provider.id in viewers


def test_practitioner_pages_unmasked_view_refused(app, client, make_user, login, staffed):
    person_id = staffed["ids"]["龚向明"]
    url = f"/office/practitioners/{person_id}"
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]
    other_provider = staffed["users"][1]  # the firm of 谭静, not of 龚向明
    for user in (other_provider, make_user("enterprise")):
        signed_in = app.test_client()
        login(user, on=signed_in)
        response = signed_in.get(url)
        assert response.status_code == 403, user.role
        _assert_masked(response.get_data(as_text=True), f"a refusal to {user.role}")
    assert _unmasked_views(app, person_id) == []
    with app.app_context():
        denied = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "practitioner.denied", AuditEntry.actor_id == other_provider.id
            )
        ).all()
        assert len(denied) == 1


# ---------------------------------------------------------------- the sweep


def test_practitioner_pages_no_public_answer_shows_a_full_name_or_number(app, client, staffed):
    first, second = staffed["firms"]
    urls = [
        "/practitioners",
        f"/practitioners?provider={first}",
        f"/practitioners?certificate={quote(EIA)}",
        "/providers",
        f"/providers/{first}",
        f"/providers/{second}",
        "/search?q=" + quote(EIA),
        "/search?q=" + quote("向明"),
        "/search?q=" + quote("小芳") + "&view=list",
        "/api/v1/practitioners",
        f"/api/v1/providers/{first}",
        f"/api/v1/providers/{second}",
        "/api/v1/search?grouped=1&q=" + quote(SURVEY),
        "/api/v1/search?q=" + quote("CH-3300"),
        "/api/v1/search?q=gongxiangming",
    ]
    urls += [f"/practitioners/{i}" for i in staffed["ids"].values()]
    urls += [f"/api/v1/practitioners/{i}" for i in staffed["ids"].values()]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_masked(response.get_data(as_text=True), url)
    assert mask_name("龚向明") == "龚*明"


def test_free_text_in_public_hides_contacts_ids_and_the_firms_people():
    """A rating comment named a 项目负责人 in full and a contact's mobile (a tester, stop 31)."""
    text = (
        "项目负责人赵志刚认真;联系人欧阳晓丽,电话 13812345678,座机 022-23456789,"
        "身份证 12010119900101123X,邮箱 zhao.zg@example.com;订单号 20261208000011112222。"
    )
    shown = mask_personal(text, ["赵志刚", "欧阳晓丽", "赵志", "李"])
    assert "赵*刚" in shown
    assert "欧**丽" in shown
    assert "138****5678" in shown
    assert "022-****6789" in shown
    assert "**************123X" in shown
    assert "z***@example.com" in shown
    assert "20261208000011112222" in shown  # a 20-digit order number is not an ID or a phone
    for whole in ("赵志刚", "欧阳晓丽", "13812345678", "23456789", "zhao.zg"):
        assert whole not in shown
    # Other ways people write a mobile (a reviewer, stop 31).
    for typed in ("+8613812345678", "138-1234-5678", "138 1234 5678", "１３８１２３４５６７８"):
        assert "****" in mask_personal(typed), typed


def test_free_text_masks_survive_the_simple_formatting():
    """The masks' asterisks were read as **bold** by the rich-text formatting of the page: the
    masking runs after it (sanitize.public_html)."""
    shown = str(public_html("<p>电话13812345678,联系人欧阳明</p>", ["欧阳明"]))
    assert "电话138****5678,联系人欧*明" in shown
    assert "<strong>" not in shown
