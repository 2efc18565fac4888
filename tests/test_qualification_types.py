"""Qualification types from a controlled list (issue 16, item 6): the directory lists each type
once, a type off the list is refused, migration 0018 merges free-text variants and keeps what was
typed, requests keep matching, and the demo holds only listed types."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from flask_migrate import downgrade, stamp, upgrade
from sqlalchemy import func, select, text

from registry.extensions import db
from registry.models import Provider, Qualification, SelectionRequest, User
from registry.pure.qualification_names import normalise
from registry.services import market
from registry.services.errors import RegistryError
from registry.services.market.selection import candidate_for
from registry.services.providers import qualification_types
from tests import factories
from tests.conftest import post_form
from tests.test_providers import USCC_A, USCC_B, make_active, qualification_form, signed_in

EIA = "环境影响评价单位"
EIA_VARIANT = "环境影响评价单位(环评信用平台登记)"
MIGRATION = next(Path("migrations/versions").glob("*_qualification_types.py"))


def _migration():
    spec = importlib.util.spec_from_file_location("qualification_types_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _filter_options(page: str) -> list[tuple[str, str]]:
    select_html = re.search(r'<select id="qualification".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_html)


def test_normalise_strips_remarks_whitespace_and_full_width():
    assert normalise(EIA_VARIANT) == EIA
    assert normalise(" 环境影响评价单位 (环评信用平台登记) ") == EIA
    assert normalise("测绘资质【甲级】") == "测绘资质"
    assert normalise("ABC 资质") == "ABC资质"


def test_the_list_names_each_service_type_once_with_its_source_tag(app):
    with app.app_context():
        types = qualification_types.all_types()
        assert [t.name for t in types].count(qualification_types.OTHER) == 1
        assert all(t.source_note == "GK" and t.basis for t in types)
        assert qualification_types.for_services(["ZJ-03"]) == [EIA]
        assert qualification_types.canonical(EIA_VARIANT) == EIA
        assert qualification_types.canonical("随便写的资质") is None


def test_directory_filter_lists_two_variants_as_one_type_with_a_count(app, make_user):
    make_active(app, make_user("provider"), uscc=USCC_A, name="甲环评", kind=EIA_VARIANT)
    make_active(app, make_user("provider"), uscc=USCC_B, name="乙环评", kind=f" {EIA} ")
    client = app.test_client()
    options = _filter_options(client.get("/providers").get_data(as_text=True))
    assert [o for o in options if EIA in o[1]] == [(EIA, f"{EIA}(2)")]
    for query in (EIA, EIA_VARIANT):  # an old link with the variant still finds both
        body = client.get("/api/v1/providers", query_string={"qualification": query}).get_json()
        assert sorted(i["name"] for i in body["items"]) == ["乙环评", "甲环评"]
    detail = client.get(f"/api/v1/providers/{USCC_A}").get_json()
    assert [(q["kind"], q["kind_note"]) for q in detail["qualifications"]] == [(EIA, EIA_VARIANT)]
    profile = client.get(f"/providers/{USCC_A}").get_data(as_text=True)
    assert f"填报原文:{EIA_VARIANT}" in profile


def test_a_type_off_the_list_is_refused_in_chinese_and_其他_needs_a_description(
    app, make_user, login
):
    user, client = signed_in(app, make_user, login)
    post_form(
        client,
        "/my/provider/application",
        {
            "uscc": USCC_A,
            "name": "天津测试环评有限公司",
            "legal_representative": "王五",
            "address": "天津市滨海高新区",
            "region": "滨海高新区",
            "contact_name": "赵六",
            "contact_phone": "022-58001234",
            "licence_scope": "环境影响评价",
        },
    )
    form_page = client.get("/my/provider/qualifications/new").get_data(as_text=True)
    assert '<option value="其他">其他(请注明)</option>' in form_page
    assert f'<option value="{EIA}">{EIA}</option>' in form_page
    refused = post_form(
        client, "/my/provider/qualifications/new", qualification_form(kind="随便写的资质")
    )
    assert refused.status_code == 200
    assert "资质类别“随便写的资质”不在资质类型列表中" in refused.get_data(as_text=True)
    other = post_form(
        client,
        "/my/provider/qualifications/new",
        qualification_form(kind="其他", certificate_no="Q-2"),
    )
    assert "选择“其他”时,请在资质说明中写明证书上的资质名称" in other.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Qualification.id))) == 0
    post_form(
        client,
        "/my/provider/qualifications/new",
        qualification_form(kind="其他", kind_note="海洋环境影响评价资格", certificate_no="Q-3"),
    )
    post_form(
        client,
        "/my/provider/qualifications/new",
        qualification_form(kind=EIA, certificate_no="Q-4"),
    )
    with app.app_context():
        stored = db.session.execute(
            select(Qualification.kind, Qualification.kind_note).order_by(Qualification.id)
        ).all()
    assert [tuple(r) for r in stored] == [("其他", "海洋环境影响评价资格"), (EIA, None)]
    assert "其他(海洋环境影响评价资格)" in client.get("/my/provider").get_data(as_text=True)


def test_the_select_puts_the_types_of_the_offered_services_first(app, make_user, login):
    user, client = signed_in(app, make_user, login)
    make_active(app, user, services=("ZJ-11",))
    page = client.get("/my/provider/qualifications/new").get_data(as_text=True)
    first = re.search(r'<optgroup label="本机构服务事项对应的资质">(.*?)</optgroup>', page, re.S)
    assert re.findall(r'value="([^"]+)"', first.group(1)) == ["测绘资质"]


def _migrated_world(app, make_user) -> dict[str, int]:
    """Three providers whose qualifications hold (before the migration) free text."""
    ids = {}
    for uscc, name, typed in (
        (USCC_A, "甲", EIA_VARIANT),
        (USCC_B, "乙", " 环境影响评价单位 "),
        (factories.uscc(), "丙", "海洋测绘资格(自填)"),
    ):
        ids[typed] = make_active(app, make_user("provider"), uscc=uscc, name=name, kind=EIA)
    with app.app_context():
        db.session.remove()
        stamp()
        downgrade(revision=_migration().down_revision)
        for typed, provider_id in ids.items():
            db.session.execute(
                text("UPDATE qualifications SET kind = :kind WHERE provider_id = :id"),
                {"kind": typed, "id": provider_id},
            )
        db.session.commit()
        upgrade()
    return ids


def test_migration_merges_variants_and_keeps_the_typed_text(app, make_user):
    ids = _migrated_world(app, make_user)
    query = select(Qualification.provider_id, Qualification.kind, Qualification.kind_note)
    with app.app_context():
        rows = {r.provider_id: (r.kind, r.kind_note) for r in db.session.execute(query)}
        assert rows == {
            ids[EIA_VARIANT]: (EIA, EIA_VARIANT),
            ids[" 环境影响评价单位 "]: (EIA, " 环境影响评价单位 "),
            ids["海洋测绘资格(自填)"]: ("其他", "海洋测绘资格(自填)"),
        }
        db.session.remove()
        downgrade(revision=_migration().down_revision)
        kinds = dict(db.session.execute(text("SELECT provider_id, kind FROM qualifications")).all())
        assert kinds == {provider_id: typed for typed, provider_id in ids.items()}
        db.session.remove()
        upgrade()


def test_requests_match_the_canonical_type_after_the_merge(app, make_user):
    ids = _migrated_world(app, make_user)
    owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        today = market.today()
        providers = {p.id: p for p in db.session.scalars(select(Provider))}

        def matched(requirement: str | None) -> set[int]:
            request = SelectionRequest(
                qualification_requirement=requirement,
                service_item_id=providers[ids[EIA_VARIANT]].offers[0].service_item_id,
            )
            request.exclusions = []
            return {
                pid
                for pid, p in providers.items()
                if candidate_for(p, request, today).qualification_valid_until is not None
            }

        both = {ids[EIA_VARIANT], ids[" 环境影响评价单位 "]}
        assert matched(EIA) == both  # a new request names the canonical type
        assert matched(EIA_VARIANT) == both  # an old request with the variant text
        assert matched("环评信用平台登记") == both  # an old keyword matches the kept note
        assert matched("海洋测绘") == {ids["海洋测绘资格(自填)"]}
        assert matched("测绘资质") == set()
        assert matched(None) == set(providers)
        request = market.open_request(
            user,
            project.code,
            service_code="ZJ-03",
            method="随机抽取",
            deadline=factories.later(),
            qualification_requirement=EIA_VARIANT,
        )
        assert request.qualification_requirement == EIA
        assert {p.id for p in market.eligible_providers(request)} == both
        with pytest.raises(RegistryError, match="不在资质类型列表中"):
            market.open_request(
                user,
                project.code,
                service_code="ZJ-03",
                method="随机抽取",
                deadline=factories.later(),
                qualification_requirement="随便写的资质",
            )
        db.session.rollback()


@pytest.mark.demo
def test_the_demo_seeds_only_listed_types(app):
    with app.app_context():
        held = db.session.execute(select(Qualification.kind, Qualification.kind_note)).all()
        assert held
        listed = set(qualification_types.names()) - {qualification_types.OTHER}
        assert {kind for kind, _ in held} <= listed
        assert all(note is None for _, note in held)
        assert EIA in {kind for kind, _ in held}


def test_the_staff_review_names_offered_services_without_a_matching_type(app, make_user, login):
    provider_id = make_active(app, make_user("provider"), services=("ZJ-11", "ZJ-01"))
    admin = app.test_client()
    login(make_user("admin"), on=admin)
    page = admin.get(f"/admin/providers/{provider_id}").get_data(as_text=True)
    note = re.search(r'<div class="notice" role="note" id="uncovered-offers">.*?</div>', page, re.S)
    assert "ZJ-11" in note.group(0)
    assert "测绘资质" in note.group(0)
    assert "ZJ-01" not in note.group(0)  # 工程咨询单位资信 serves ZJ-01
