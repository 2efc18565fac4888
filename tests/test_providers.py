"""Provider entry (入驻): application, qualifications, offers, review, directory, profile, API,
search, the expired-qualification check, and a provider's reach limited to its own rows."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    Award,
    BehaviourEvent,
    Engagement,
    Enterprise,
    Offer,
    OwnerRating,
    Project,
    Provider,
    ProviderStatus,
    Qualification,
    SelectionRequest,
    User,
)
from registry.pure.uscc import make_uscc
from registry.services import catalogue
from registry.services import providers as service
from registry.services.errors import RegistryError
from registry.web.charts import line_chart
from tests.conftest import post_form

# About dates: run under both moved clocks (conftest.py, `make test-dates`).
pytestmark = pytest.mark.dates

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
USCC_A = make_uscc("91120116MA05JQ1X")
USCC_B = make_uscc("91120116MA06KR2Y")
VERSION_RE = re.compile(
    r'name="(?:\w+-)?version" type="hidden" value="(\d+)"|value="(\d+)" name="(?:\w+-)?version"'
)


def future() -> date:
    """A qualification expiry a year after the (frozen) today."""
    return clock.today() + timedelta(days=365)


def application(**changes) -> dict:
    data = {
        "uscc": USCC_A,
        "name": "天津滨海新恒海信环境科技有限公司",
        "legal_representative": "王五",
        "address": "天津市滨海高新区华苑产业区海泰发展六道6号",
        "region": "滨海高新区",
        "contact_name": "赵六",
        "contact_phone": "022-58001234",
        "licence_scope": "环境影响评价;环保技术咨询",
    }
    data.update(changes)
    return data


def qualification_form(**changes) -> dict:
    data = {
        "kind": "工程咨询单位资信",
        "grade": "甲级",
        "certificate_no": "GZ-2024-0001",
        "issuer": "中国工程咨询协会",
        "valid_from": "2024-01-01",
        "valid_to": future().isoformat(),
    }
    data.update(changes)
    return data


def offer_form(**changes) -> dict:
    data = {
        "service_item": "ZJ-03",
        "committed_days": "15",
        "fee_quote": "50000",
        "fee_basis": "",
        "promise": "<p>按时交付<script>alert(1)</script></p>",
    }
    data.update(changes)
    return data


def page_version(client, url: str = "/my/provider/application") -> str:
    match = VERSION_RE.search(client.get(url).get_data(as_text=True))
    assert match, "no version field on the page"
    return next(g for g in match.groups() if g)


def signed_in(app, make_user, login):
    """A provider account and its own signed-in client."""
    user = make_user("provider")
    client = app.test_client()
    assert login(user, on=client).status_code == 302
    return user, client


def make_active(
    app,
    user,
    *,
    uscc: str = USCC_A,
    name: str | None = None,
    region: str = "滨海高新区",
    services=("ZJ-03",),
    grade: str | None = None,
    kind: str = "工程咨询单位资信",
    valid_to: date | None = None,
) -> int:
    """An approved provider built through the services (application → review → active)."""
    with app.app_context():
        account = db.session.get(User, user.id)
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        if admin is None:
            from registry.services import accounts

            admin = accounts.create_user(
                username="review-admin",
                password=accounts.generate_password(),
                role="admin",
                actor_name="test",
            )
        provider = service.create_application(
            application(uscc=uscc, name=name or f"天津{uscc[-6:]}咨询有限公司", region=region),
            actor=account,
        )
        service.add_qualification(
            provider,
            {
                "kind": kind,
                "grade": "甲级",
                "certificate_no": f"C-{uscc[-8:]}",
                "issuer": "天津市住房和城乡建设委员会",
                "valid_from": date(2020, 1, 1),
                "valid_to": valid_to or future(),
            },
            actor=account,
        )
        for code in services:
            service.save_offer(
                provider,
                {"service_item": code, "committed_days": 20, "fee_quote": "30000"},
                actor=account,
            )
        service.submit_for_review(provider, actor=account, today=date(2020, 6, 1))
        service.approve(provider, actor=admin, today=date(2020, 6, 1))
        provider.grade = grade
        db.session.commit()
        return provider.id


def stored(app, uscc: str = USCC_A) -> Provider | None:
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.uscc == uscc))
        if provider is not None:
            db.session.expunge(provider)
        return provider


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# ---------------------------------------------------------------------- the whole flow


def test_providers_entry_flow_through_the_forms(app, make_user, login):
    user, client = signed_in(app, make_user, login)
    page = client.get("/my/provider").get_data(as_text=True)
    assert "填写入驻申请" in page

    response = post_form(client, "/my/provider/application", application())
    assert response.status_code == 302
    page = client.get("/my/provider").get_data(as_text=True)
    assert "入驻状态:<span" in page
    assert "草稿" in page
    assert "至少一项在有效期内的资质、至少一项服务承诺" in page

    # Submitting too early is refused with what is missing.
    post_form(client, "/my/provider/submit", {"version": page_version(client)})
    assert "提交审核前请补充" in client.get("/my/provider").get_data(as_text=True)
    assert stored(app).status == "草稿"

    response = post_form(
        client,
        "/my/provider/qualifications/new",
        {**qualification_form(), "scan": (io.BytesIO(PDF), "证书.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    response = post_form(client, "/my/provider/offers/new", offer_form())
    assert response.status_code == 302
    page = client.get("/my/provider").get_data(as_text=True)
    assert "工程咨询单位资信" in page
    assert "15 个工作日" in page
    assert "¥50,000.00" in page
    assert "<script>" not in page
    assert "按时交付" in page
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.uscc == USCC_A))
        assert provider.account_id == user.id
        assert provider.qualifications[0].scan.content_type == "application/pdf"
        assert provider.offers[0].fee_quote == Decimal("50000.00")
        assert provider.offers[0].promise == "<p>按时交付</p>"
        qualification_id = provider.qualifications[0].id
    scan = client.get(f"/my/provider/qualifications/{qualification_id}/scan")
    assert scan.status_code == 200
    assert scan.data == PDF
    assert "attachment" in scan.headers["Content-Disposition"]
    scan.close()

    response = post_form(client, "/my/provider/submit", {"version": page_version(client)})
    assert response.status_code == 302
    assert "申请正在审核中" in client.get("/my/provider").get_data(as_text=True)
    # Not public while under review.
    assert "新恒海信" not in client.get("/providers").get_data(as_text=True)
    assert client.get(f"/providers/{USCC_A}").status_code == 404
    assert client.get(f"/api/v1/providers/{USCC_A}").status_code == 404

    admin = app.test_client()
    login(make_user("admin"), on=admin)
    queue = admin.get("/admin/providers").get_data(as_text=True)
    assert "天津滨海新恒海信环境科技有限公司" in queue
    provider_id = stored(app).id
    review = admin.get(f"/admin/providers/{provider_id}").get_data(as_text=True)
    assert "通过入驻申请" in review
    assert "GZ-2024-0001" in review
    version = page_version(admin, f"/admin/providers/{provider_id}")
    scan = admin.get(f"/admin/providers/{provider_id}/qualifications/{qualification_id}/scan")
    assert scan.data == PDF
    scan.close()
    response = post_form(
        admin, f"/admin/providers/{provider_id}/approve", {"approve-version": version}
    )
    assert response.status_code == 302
    assert stored(app).status == "已入驻"

    directory = client.get("/providers").get_data(as_text=True)
    assert "天津滨海新恒海信环境科技有限公司" in directory
    profile = client.get(f"/providers/{USCC_A}").get_data(as_text=True)
    assert "15 个工作日" in profile
    assert "¥50,000.00" in profile
    assert "GZ-2024-0001" in profile
    assert "暂无信用记录" in profile
    service_page = client.get("/services/ZJ-03").get_data(as_text=True)
    assert f'href="/providers/{USCC_A}"' in service_page
    assert "暂无已入驻的中介机构提供该服务" in client.get("/services/ZJ-01").get_data(as_text=True)
    assert ">中介机构</a>" in client.get("/").get_data(as_text=True)

    actions = audit_actions(app)
    for action in (
        "provider.create",
        "qualification.add",
        "offer.create",
        "provider.submit",
        "provider.approve",
    ):
        assert action in actions


def test_providers_invalid_uscc_is_explained_and_stores_nothing(app, make_user, login):
    _user, client = signed_in(app, make_user, login)
    wrong = USCC_A[:-1] + ("0" if USCC_A[-1] != "0" else "1")
    page = post_form(client, "/my/provider/application", application(uscc=wrong))
    assert page.status_code == 200
    text_ = page.get_data(as_text=True)
    assert "校验码(第 18 位)不正确" in text_
    # The summary names the field once (it read "统一社会信用代码:统一社会信用代码校验码…").
    assert "统一社会信用代码:统一社会信用代码" not in text_
    assert "天津滨海新恒海信环境科技有限公司" in text_  # what was typed is still there
    page = post_form(client, "/my/provider/application", application(uscc="123"))
    assert "应为 18 位" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Provider.id))) == 0


def test_providers_upload_type_and_size_are_checked_and_data_kept(app, make_user, login):
    _user, client = signed_in(app, make_user, login)
    post_form(client, "/my/provider/application", application())
    fake = post_form(
        client,
        "/my/provider/qualifications/new",
        {**qualification_form(), "scan": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "证书.pdf")},
        content_type="multipart/form-data",
    )
    assert fake.status_code == 200
    page = fake.get_data(as_text=True)
    assert "只接受 PDF、PNG 或 JPG 文件" in page
    assert 'value="GZ-2024-0001"' in page
    assert 'value="中国工程咨询协会"' in page

    # A small limit keeps the request under the size the test client spools to a temp file.
    app.config["UPLOAD_MAX_BYTES"] = 100 * 1024
    big = post_form(
        client,
        "/my/provider/qualifications/new",
        {**qualification_form(), "scan": (io.BytesIO(PDF + b"0" * (100 * 1024)), "大.pdf")},
        content_type="multipart/form-data",
    )
    assert big.status_code == 200
    assert "文件超过" in big.get_data(as_text=True)

    bad_dates = post_form(
        client,
        "/my/provider/qualifications/new",
        qualification_form(valid_from="2025-05-01", valid_to="2025-04-30"),
    )
    assert "有效期止不能早于有效期起" in bad_dates.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Qualification.id))) == 0
        assert db.session.scalar(text("SELECT count(*) FROM uploads")) == 0


def test_providers_offer_rules(app, make_user, login):
    _user, client = signed_in(app, make_user, login)
    post_form(client, "/my/provider/application", application())
    cases = [
        (offer_form(committed_days="0"), "承诺办理时限须为 1–3650 个工作日"),
        (offer_form(fee_quote="", fee_basis=""), "请填写报价,或在“收费依据”中说明收费方式"),
        (offer_form(fee_quote="-5"), "报价不能为负数"),
        (offer_form(fee_quote="abc"), "报价须为数字"),
        (offer_form(fee_quote="NaN"), "报价须为数字"),
        (offer_form(fee_quote="0.001"), "报价最多保留两位小数"),
        (offer_form(fee_quote="1e10"), "报价不能超过 9,999,999,999.99 元"),
        (offer_form(service_item="NOPE"), "请选择有效的中介服务事项"),
    ]
    for data, message in cases:
        page = post_form(client, "/my/provider/offers/new", data).get_data(as_text=True)
        assert message in page, message
    with app.app_context():
        assert db.session.scalar(select(func.count(Offer.id))) == 0
    # A fee basis alone is enough; the same item twice is refused.
    ok = post_form(
        client, "/my/provider/offers/new", offer_form(fee_quote="", fee_basis="按面积计费")
    )
    assert ok.status_code == 302
    again = post_form(client, "/my/provider/offers/new", offer_form())
    assert "已为该事项登记过服务承诺" in again.get_data(as_text=True)


# ---------------------------------------------------------------------- review and key changes


def test_providers_returned_with_reason_is_shown_to_the_provider(app, make_user, login):
    user, client = signed_in(app, make_user, login)
    post_form(client, "/my/provider/application", application())
    post_form(client, "/my/provider/qualifications/new", qualification_form())
    post_form(client, "/my/provider/offers/new", offer_form())
    post_form(client, "/my/provider/submit", {"version": page_version(client)})
    provider_id = stored(app).id

    admin = app.test_client()
    login(make_user("admin"), on=admin)
    version = page_version(admin, f"/admin/providers/{provider_id}")
    empty = post_form(
        admin,
        f"/admin/providers/{provider_id}/return",
        {"return-version": version, "return-reason": "  "},
    )
    assert "请填写退回原因" in empty.get_data(as_text=True)
    assert stored(app).status == "待审核"
    post_form(
        admin,
        f"/admin/providers/{provider_id}/return",
        {"return-version": version, "return-reason": "资质证书扫描件不清晰,请重新上传。"},
    )
    assert stored(app).status == "已退回"

    page = client.get("/my/provider").get_data(as_text=True)
    assert "已退回" in page
    assert "退回原因" in page
    assert "资质证书扫描件不清晰,请重新上传。" in page
    # Fix and resubmit.
    response = post_form(client, "/my/provider/submit", {"version": page_version(client)})
    assert response.status_code == 302
    assert stored(app).status == "待审核"
    assert "provider.return" in audit_actions(app)


def test_providers_review_of_a_changed_application_is_refused(app, make_user, login):
    _user, client = signed_in(app, make_user, login)
    post_form(client, "/my/provider/application", application())
    post_form(client, "/my/provider/qualifications/new", qualification_form())
    post_form(client, "/my/provider/offers/new", offer_form())
    post_form(client, "/my/provider/submit", {"version": page_version(client)})
    provider_id = stored(app).id
    admin = app.test_client()
    login(make_user("admin"), on=admin)
    seen = page_version(admin, f"/admin/providers/{provider_id}")
    # The applicant adds an offer while the reviewer is reading the older page.
    post_form(client, "/my/provider/offers/new", offer_form(service_item="ZJ-01"))
    response = post_form(
        admin,
        f"/admin/providers/{provider_id}/approve",
        {"approve-version": seen},
        follow_redirects=True,
    )
    assert "本次操作未生效" in response.get_data(as_text=True)
    assert stored(app).status == "待审核"
    fresh = page_version(admin, f"/admin/providers/{provider_id}")
    assert fresh != seen
    post_form(admin, f"/admin/providers/{provider_id}/approve", {"approve-version": fresh})
    assert stored(app).status == "已入驻"


def test_providers_key_change_sends_active_provider_back_to_review(app, make_user, login):
    user, client = signed_in(app, make_user, login)
    make_active(app, user, name="天津恒海信咨询有限公司")
    assert "天津恒海信咨询有限公司" in client.get("/providers").get_data(as_text=True)

    # Address and contact are not key facts: still listed.
    response = post_form(
        client,
        "/my/provider/application",
        {
            **application(name="天津恒海信咨询有限公司", address="天津市滨海高新区新址1号"),
            "version": page_version(client),
        },
    )
    assert response.status_code == 302
    assert stored(app).status == "已入驻"
    assert client.get(f"/providers/{USCC_A}").status_code == 200

    response = post_form(
        client,
        "/my/provider/application",
        {
            **application(name="天津恒海信工程咨询有限公司", address="天津市滨海高新区新址1号"),
            "version": page_version(client),
        },
    )
    assert response.status_code == 302
    assert stored(app).status == "待审核"
    page = client.get("/my/provider", follow_redirects=True).get_data(as_text=True)
    assert "待审核" in page
    assert "不在中介机构名录中显示" in page
    assert "恒海信" not in client.get("/providers").get_data(as_text=True)
    assert client.get(f"/providers/{USCC_A}").status_code == 404
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "provider.back_to_review")
        )
        assert "机构名称" in entry.detail


def test_providers_a_listed_provider_adding_or_removing_a_qualification_stays_listed(
    app, make_user, login
):
    """A tester (stop 31): adding a renewed certificate sent a listed firm back to 待审核, out of
    the directory, with its quotes out of the draw. A qualification it adds waits for the
    admins' check on its own (待核验, not counted meanwhile); one it removes stops counting."""
    user = make_user("provider")
    provider_id = make_active(app, user, valid_to=clock.today() + timedelta(days=20))
    renewed = {
        "kind": "工程咨询单位资信",
        "grade": "甲级",
        "certificate_no": "C-RENEWED-2027",
        "issuer": "天津市住房和城乡建设委员会",
        "valid_from": clock.today(),
        "valid_to": clock.today() + timedelta(days=1000),
    }
    with app.app_context():
        provider = db.session.get(Provider, provider_id)
        account = db.session.get(User, user.id)
        added = service.add_qualification(provider, renewed, actor=account)
        db.session.commit()
        added_id = added.id
        assert provider.status == ProviderStatus.ACTIVE.value
        assert added.pending_review
        # Not counted until checked: the old certificate's end is still the provider's.
        assert service.qualification_valid_until(provider, clock.today()) == (
            clock.today() + timedelta(days=20)
        )
    assert client_get(app, f"/providers/{USCC_A}").status_code == 200
    admin = make_user("admin")
    office = app.test_client()
    login(admin, on=office)
    queue = office.get("/admin/providers").get_data(as_text=True)
    assert "C-RENEWED-2027" in queue
    review_page = office.get(f"/admin/providers/{provider_id}").get_data(as_text=True)
    assert "待核验的新增资质" in review_page
    url = f"/admin/providers/{provider_id}/qualifications/{added_id}"
    refused = post_form(office, f"{url}/reject", {"reason": ""})
    assert "请填写不予通过的原因" in office.get(refused.headers["Location"]).get_data(as_text=True)
    assert post_form(office, f"{url}/accept").status_code == 302
    with app.app_context():
        provider = db.session.get(Provider, provider_id)
        assert provider.status == ProviderStatus.ACTIVE.value
        assert service.qualification_valid_until(provider, clock.today()) == (
            clock.today() + timedelta(days=1000)
        )
        service.remove_qualification(
            provider, provider.qualifications[0].id, actor=db.session.get(User, user.id)
        )
        db.session.commit()
        assert provider.status == ProviderStatus.ACTIVE.value
        assert [q.certificate_no for q in provider.qualifications] == ["C-RENEWED-2027"]
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert "qualification.accept" in actions
        assert "provider.back_to_review" not in actions
    told = client_of(app, login, user).get("/my/notifications").get_data(as_text=True)
    assert "C-RENEWED-2027)已核验通过" in told


def test_providers_an_added_qualification_the_admins_refuse_is_removed_with_a_reason(
    app, make_user, login
):
    user = make_user("provider")
    provider_id = make_active(app, user)
    with app.app_context():
        provider = db.session.get(Provider, provider_id)
        added = service.add_qualification(
            provider,
            {
                "kind": "工程咨询单位资信",
                "certificate_no": "C-DOUBTFUL",
                "issuer": "某发证机关",
                "valid_from": clock.today(),
                "valid_to": clock.today() + timedelta(days=300),
            },
            actor=db.session.get(User, user.id),
        )
        db.session.commit()
        added_id = added.id
    admin = make_user("admin")
    office = app.test_client()
    login(admin, on=office)
    url = f"/admin/providers/{provider_id}/qualifications/{added_id}/reject"
    assert post_form(office, url, {"reason": "扫描件与证书编号不符。"}).status_code == 302
    with app.app_context():
        provider = db.session.get(Provider, provider_id)
        assert "C-DOUBTFUL" not in [q.certificate_no for q in provider.qualifications]
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "qualification.reject")
        ).one()
        assert entry.detail == "扫描件与证书编号不符。"
        assert entry.before["certificate_no"] == "C-DOUBTFUL"
    told = client_of(app, login, user).get("/my/notifications").get_data(as_text=True)
    assert "未通过核验:扫描件与证书编号不符" in told


def test_providers_a_qualification_awaiting_the_check_counts_nowhere(app, make_user):
    """A reviewer (stop 31): a listed provider's new, unchecked qualification already met a
    request's 资质要求 in the draw and the directory's filter. It counts once accepted."""
    from registry.models import SelectionRequest
    from registry.services.market.selection import candidate_for

    user = make_user("provider")
    provider_id = make_active(app, user)
    today = clock.today()
    with app.app_context():
        provider = db.session.get(Provider, provider_id)
        added = service.add_qualification(
            provider,
            {
                "kind": "测绘资质",
                "grade": "乙级",
                "certificate_no": "CH-PENDING-1",
                "issuer": "天津市规划和自然资源局",
                "valid_from": today - timedelta(days=10),
                "valid_to": today + timedelta(days=700),
            },
            actor=db.session.get(User, user.id),
        )
        db.session.commit()
        request = SelectionRequest(
            qualification_requirement="测绘资质",
            service_item_id=provider.offers[0].service_item_id,
        )
        request.exclusions = []

        def found() -> tuple[bool, bool]:
            in_draw = candidate_for(provider, request, today).qualification_valid_until
            listed = service.list_directory(
                service.DirectoryFilters(qualification="测绘资质", on=today)
            ).items
            return in_draw is not None, provider in listed

        assert found() == (False, False)
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        service.accept_qualification(provider, added.id, actor=admin)
        db.session.commit()
        assert found() == (True, True)


def client_get(app, url: str):
    return app.test_client().get(url)


def client_of(app, login, user):
    client = app.test_client()
    login(user, on=client)
    return client


def test_providers_stale_edit_shows_a_message_not_an_error(app, make_user, login):
    user, client = signed_in(app, make_user, login)
    post_form(client, "/my/provider/application", application())
    old = page_version(client)
    first = post_form(
        client, "/my/provider/application", {**application(contact_name="甲"), "version": old}
    )
    assert first.status_code == 302
    second = post_form(
        client, "/my/provider/application", {**application(contact_name="乙"), "version": old}
    )
    assert second.status_code == 200
    assert "本次操作未生效" in second.get_data(as_text=True)
    assert stored(app).contact_name == "甲"

    # The real race: the row changed between loading and flushing (version_id_col catches it).
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.uscc == USCC_A))
        account = db.session.get(User, user.id)
        loaded = provider.version
        db.session.execute(text("UPDATE providers SET version = version + 1"))
        with pytest.raises(RegistryError, match="本次操作未生效"):
            service.update_application(
                provider, application(contact_name="丙"), actor=account, version=loaded
            )
        db.session.rollback()
    assert stored(app).contact_name == "甲"


def test_providers_cannot_touch_another_providers_rows(app, make_user, login):
    owner = make_user("provider")
    make_active(app, owner)
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.uscc == USCC_A))
        offer_id, qualification_id = provider.offers[0].id, provider.qualifications[0].id
    _intruder, client = signed_in(app, make_user, login)
    post_form(client, "/my/provider/application", application(uscc=USCC_B, name="另一家机构"))

    assert client.get(f"/my/provider/offers/{offer_id}/edit").status_code == 404
    assert (
        post_form(
            client, f"/my/provider/offers/{offer_id}/edit", offer_form(committed_days="1")
        ).status_code
        == 404
    )
    assert post_form(client, f"/my/provider/offers/{offer_id}/deactivate").status_code == 404
    assert (
        post_form(client, f"/my/provider/qualifications/{qualification_id}/remove").status_code
        == 404
    )
    assert client.get(f"/my/provider/qualifications/{qualification_id}/scan").status_code == 404
    # The owner's data is untouched, and the attempts are in the audit log.
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.uscc == USCC_A))
        assert provider.offers[0].committed_days == 20
        assert provider.offers[0].is_active
        assert len(provider.qualifications) == 1
        assert provider.status == "已入驻"
        denied = db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "provider.denied")
        )
        assert denied >= 4
    # A provider account cannot reach the admin review either.
    assert client.get("/admin/providers").status_code == 403


def test_providers_offer_changes_keep_active_provider_listed_and_reindexed(app, make_user, login):
    user, client = signed_in(app, make_user, login)
    make_active(app, user, name="天津恒海信咨询有限公司")
    post_form(client, "/my/provider/offers/new", offer_form(service_item="ZJ-01"))
    assert stored(app).status == "已入驻"
    hits = client.get("/api/v1/search?q=恒海信&type=provider").get_json()["items"]
    assert [h["id"] for h in hits] == [f"provider:{USCC_A}"]
    with app.app_context():
        zj01 = catalogue.get_service("ZJ-01")
        offer = db.session.scalar(select(Offer).where(Offer.service_item_id == zj01.id))
        offer_id, name = offer.id, zj01.name
    found = client.get(f"/api/v1/search?q={name}&type=provider").get_json()
    assert f"provider:{USCC_A}" in [h["id"] for h in found["items"]]
    post_form(client, f"/my/provider/offers/{offer_id}/deactivate")
    assert "ZJ-01" not in [
        o["service"]["code"] for o in client.get(f"/api/v1/providers/{USCC_A}").get_json()["offers"]
    ]
    runner = app.test_cli_runner()
    assert runner.invoke(args=["reindex", "--verify"]).exit_code == 0


# ---------------------------------------------------------------------- deadlines and eligibility


def test_providers_check_deadlines_is_idempotent(app, make_user, runner):
    today = clock.today()
    expired_owner, fresh_owner, applicant = (make_user("provider") for _ in range(3))
    make_active(app, expired_owner, uscc=USCC_A, valid_to=today - timedelta(days=1))
    make_active(app, fresh_owner, uscc=USCC_B)
    with app.app_context():
        account = db.session.get(User, applicant.id)
        draft = service.create_application(
            application(uscc=make_uscc("91120116MA07LT3W"), name="草稿机构"), actor=account
        )
        service.add_qualification(
            draft,
            {**qualification_form(), "valid_from": date(2020, 1, 1), "valid_to": date(2021, 1, 1)},
            actor=account,
        )
        db.session.commit()

    first = runner.invoke(args=["check-deadlines"])
    assert first.exit_code == 0, first.output
    assert "资质有效期:已过期资质 2 项,本次新标记 2 项,记录行为事件 1 条" in first.output
    second = runner.invoke(args=["check-deadlines"])
    assert second.exit_code == 0, second.output
    assert "本次新标记 0 项,记录行为事件 0 条" in second.output

    with app.app_context():
        events = db.session.scalars(select(BehaviourEvent)).all()
        assert len(events) == 1
        assert events[0].kind == "资质过期"
        expired = db.session.scalar(select(Provider).where(Provider.uscc == USCC_A))
        assert events[0].provider_id == expired.id
        assert events[0].source == (
            f"qualification:{expired.qualifications[0].id}:{expired.qualifications[0].valid_to}"
        )
        assert expired.qualifications[0].expired_flagged_at is not None
        # An expired qualification takes the offer out of selection, not out of the directory.
        item = catalogue.get_service("ZJ-03")
        assert service.eligible_offer(expired, item, today) is None
        fresh = db.session.scalar(select(Provider).where(Provider.uscc == USCC_B))
        assert service.eligible_offer(fresh, item, today).provider_id == fresh.id
        assert [p.uscc for p in service.eligible_providers(item, today)] == [USCC_B]
        assert service.qualification_valid_until(fresh, today) == future()
        # Blacklisting also takes a provider out of selection.
        fresh.blacklisted_until = today + timedelta(days=30)
        assert service.eligible_offer(fresh, item, today) is None
        db.session.rollback()
    client = app.test_client()
    profile = client.get(f"/providers/{USCC_A}").get_data(as_text=True)
    assert "已过期" in profile
    assert "暂不参与选取" in profile
    assert "资质已过期,暂不参与选取" in client.get("/services/ZJ-03").get_data(as_text=True)


# ---------------------------------------------------------------------- directory, profile, API


def test_providers_directory_filters_and_pagination(app, make_user):
    make_active(
        app,
        make_user("provider"),
        uscc=USCC_A,
        name="甲咨询",
        services=("ZJ-03",),
        region="滨海高新区",
        grade="AA",
        kind="工程咨询单位资信",
    )
    make_active(
        app,
        make_user("provider"),
        uscc=USCC_B,
        name="乙勘察",
        services=("ZJ-01", "ZJ-03"),
        region="外省市",
        grade=None,
        kind="工程勘察资质",
    )
    client = app.test_client()

    def names(query: str) -> list[str]:
        body = client.get(f"/api/v1/providers?{query}").get_json()
        return sorted(i["name"] for i in body["items"])

    assert names("") == ["乙勘察", "甲咨询"]
    assert names("service=ZJ-01") == ["乙勘察"]
    assert names("service=ZJ-03") == ["乙勘察", "甲咨询"]
    assert names("region=外省市") == ["乙勘察"]
    assert names("grade=AA") == ["甲咨询"]
    assert names("grade=none") == ["乙勘察"]
    assert names("qualification=工程勘察资质") == ["乙勘察"]
    # An unknown value is refused, not ignored (it answered every provider, stop 30).
    assert client.get("/api/v1/providers?region=不存在的区域").status_code == 400
    page = client.get("/providers?grade=AA").get_data(as_text=True)
    assert "甲咨询" in page
    assert "乙勘察" not in page
    assert "符合条件的中介机构 <strong>1</strong> 家" in page
    paged = client.get("/providers?per_page=1&page=2").get_data(as_text=True)
    assert "第 2 页,共 2 页" in paged
    body = client.get("/api/v1/providers?per_page=1").get_json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (2, 1, 1, 1)


def _rating_history(app, provider_id: int) -> int:
    """Two delivered engagements with owner ratings; returns the award id of the first."""
    with app.app_context():
        enterprise = Enterprise(uscc=make_uscc("91120116MA08MU4H"), name="天津示范制造有限公司")
        project = Project(
            code="2026-120116-47-01-000001",
            name="新建厂房",
            category="民营/外资",
            location="滨海高新区",
            enterprise=enterprise,
        )
        item = catalogue.get_service("ZJ-03")
        first_award = None
        for number, (score, when) in enumerate(
            ((80, datetime(2025, 3, 1, 4, tzinfo=UTC)), (95, datetime(2025, 9, 1, 4, tzinfo=UTC)))
        ):
            request = SelectionRequest(
                ref=f"XQ-2025-{number:04d}",
                project=project,
                service_item=item,
                method="随机抽取",
                deadline=when - timedelta(days=30),
            )
            award = Award(request=request, provider_id=provider_id, method="随机抽取")
            engagement = Engagement(award=award, committed_days=20, status="已确认")
            db.session.add_all([request, award, engagement])
            db.session.flush()
            db.session.add(
                OwnerRating(
                    engagement=engagement,
                    provider_id=provider_id,
                    quality=score,
                    timeliness=score,
                    attitude=score,
                    fee=score,
                    conduct=score,
                    created_at=when,
                )
            )
            first_award = first_award or award.id
        db.session.commit()
        return first_award


def test_providers_profile_shows_offers_qualifications_chart_and_table(app, make_user):
    provider_id = make_active(app, make_user("provider"), name="天津<b>恒海信</b>咨询有限公司")
    award_id = _rating_history(app, provider_id)
    page = app.test_client().get(f"/providers/{USCC_A}").get_data(as_text=True)
    assert "20 个工作日" in page
    assert "¥30,000.00" in page
    assert f"C-{USCC_A[-8:]}" in page
    assert "天津市住房和城乡建设委员会" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg
    assert (
        '<title id="rating-chart-title">天津&lt;b&gt;恒海信&lt;/b&gt;咨询有限公司业主评价历史'
        in svg
    )
    assert "评价日期" in svg
    assert "平均分" in svg
    assert "<b>" not in page  # the name is escaped everywhere
    # The same data as a table.
    table = page[page.index('id="ratings-caption"') :]
    assert "2025-03-01" in table
    assert "2025-09-01" in table
    assert "80.0" in table
    assert "95.0" in table
    assert f'href="/awards/{award_id}"' in page
    assert "暂无信用记录" in page


def test_providers_api_shape_and_only_active_are_public(app, make_user, login):
    make_active(app, make_user("provider"), grade="A")
    _user, client = signed_in(app, make_user, login)
    post_form(client, "/my/provider/application", application(uscc=USCC_B, name="草稿机构"))
    body = client.get("/api/v1/providers").get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    assert body["total"] == 1
    item = body["items"][0]
    assert {"uscc", "name", "region", "grade", "offers"} <= set(item)
    assert item["uscc"] == USCC_A
    assert item["grade"] == "A"
    assert item["offers"] == [
        {
            "service": {"code": "ZJ-03", "name": "建设项目环境影响报告书/报告表编制"},
            "committed_days": 20,
            "fee_quote": "30000.00",
            "fee_basis": None,
        }
    ]
    detail = client.get(f"/api/v1/providers/{USCC_A}").get_json()
    assert detail["qualifications"][0]["expired"] is False
    assert detail["licence_scope"] == "环境影响评价;环保技术咨询"
    missing = client.get(f"/api/v1/providers/{USCC_B}")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    assert b"\\u" not in client.get("/api/v1/providers").get_data()


def test_providers_search_finds_approved_by_partial_name_not_pending(app, make_user, login):
    make_active(app, make_user("provider"), name="天津滨海新恒海信环境科技有限公司")
    _user, client = signed_in(app, make_user, login)
    post_form(
        client, "/my/provider/application", application(uscc=USCC_B, name="天津恒海信待审机构")
    )
    post_form(client, "/my/provider/qualifications/new", qualification_form())
    post_form(client, "/my/provider/offers/new", offer_form())
    post_form(client, "/my/provider/submit", {"version": page_version(client)})
    assert stored(app, USCC_B).status == "待审核"

    body = client.get("/api/v1/search?q=恒海信").get_json()
    ids = [h["id"] for h in body["items"]]
    assert f"provider:{USCC_A}" in ids
    assert f"provider:{USCC_B}" not in ids
    page = client.get("/search?q=恒海信").get_data(as_text=True)
    assert "中介机构" in page
    assert f'href="/providers/{USCC_A}"' in page
    # Facets come from the offered service (环评: stages 1 and 2, department STHJ).
    filtered = client.get("/api/v1/search?q=恒海信&department=STHJ&type=provider").get_json()
    assert [h["id"] for h in filtered["items"]] == [f"provider:{USCC_A}"]


def test_providers_charts_escape_and_describe():
    svg = str(line_chart([("a<b", 50), ("2025", 120)], title='<x>&"', x_label="日", y_label="分"))
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert '<title id="chart-title">&lt;x&gt;&amp;&#34;</title>' in svg
    assert "a&lt;b" in svg
    assert "<x>" not in svg
    assert 'aria-labelledby="chart-title chart-desc"' in svg
    assert str(line_chart([], title="t", x_label="x", y_label="y")) == ""
    # Out-of-range values are drawn at the edge, never outside the plot.
    assert 'cy="16"' in svg
