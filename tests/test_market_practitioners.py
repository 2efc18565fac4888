"""People in the marketplace (issue 17): offers' key personnel, a request's required certificates,
the 项目负责人 and team a quote names (checked against the provider's valid practitioners on the
quote's day, sealed with the quote), the masked 项目负责人 on the award notice and its API, and
the engagement's 签字人."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Employment,
    Engagement,
    Notification,
    Practitioner,
    PractitionerCertificate,
    Provider,
    QuoteMember,
    User,
)
from registry.services import delivery, market, practitioners
from registry.services import providers as provider_service
from registry.services.errors import RegistryError
from registry.services.practitioners import history, standing
from tests import factories
from tests.conftest import post_form

EIA = "环境影响评价工程师"
COST = "注册造价工程师"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
_serial = iter(range(1, 10_000))


def _person(provider: Provider, name: str, *kinds: str, valid_to: date | None = None) -> int:
    """A practitioner employed at provider since last month, holding certificates of kinds
    (valid until valid_to, a year ahead by default); flushed, returns the id."""
    serial = next(_serial)
    person = Practitioner(name=name, id_digest=uuid.uuid4().hex * 2, id_tail=f"{serial:04d}")
    db.session.add(person)
    db.session.flush()
    db.session.add(
        Employment(
            practitioner_id=person.id,
            provider_id=provider.id,
            started_on=clock.today() - timedelta(days=30),
        )
    )
    for kind in kinds:
        certificate = PractitionerCertificate(
            practitioner_id=person.id,
            kind=kind,
            number=f"{kind[:2]}-{serial:06d}",
            number_key=f"N{serial:06d}{len(kind)}",
            issuer="生态环境部",
            valid_from=clock.today() - timedelta(days=400),
            valid_to=valid_to or clock.today() + timedelta(days=365),
        )
        db.session.add(certificate)
        history.record_certificate(certificate, None)  # on record from now, as the services do
    db.session.flush()
    return person.id


def _market(app, make_user, *, providers=2, method="随机抽取", **request_args) -> dict:
    """An owner's open ZJ-03 request and providers with accounts; ids and refs in a dict."""
    owner = make_user("enterprise")
    accounts = [make_user("provider") for _ in range(providers)]
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        made = [factories.active_provider(account=db.session.get(User, a.id)) for a in accounts]
        ref = market.open_request(
            user,
            project.code,
            service_code="ZJ-03",
            method=method,
            deadline=factories.later(72),
            **request_args,
        ).ref
        db.session.commit()
        return {"owner": owner, "accounts": accounts, "providers": [p.id for p in made], "ref": ref}


def _people(app, provider_id: int, *rows) -> list[int]:
    """Practitioners at the provider: rows of (name, kinds...)."""
    with app.app_context():
        provider = db.session.get(Provider, provider_id)
        ids = [_person(provider, name, *kinds) for name, *kinds in rows]
        db.session.commit()
        return ids


def _quote(app, account, ref, leader=None, members=(), **kwargs) -> int:
    with app.app_context():
        quote = market.submit_quote(
            db.session.get(User, account.id),
            ref,
            submission_key=uuid.uuid4().hex,
            leader_id=leader,
            member_ids=list(members),
            **kwargs,
        )
        db.session.commit()
        return quote.id


def _refused(app, account, ref, leader=None, members=()) -> str:
    with pytest.raises(RegistryError) as refused:
        _quote(app, account, ref, leader, members)
    return refused.value.message


# ---------------------------------------------------------------- the done-when line


def test_market_people_request_requiring_eia_accepts_only_quotes_naming_one(app, make_user):
    deal = _market(app, make_user, leader_certificate=EIA)
    account = deal["accounts"][0]
    cost_only, engineer, member = _people(
        app,
        deal["providers"][0],
        ("王造价", COST),
        ("张三明", EIA, COST),
        ("李四", COST),
    )
    assert "请指定项目负责人" in _refused(app, account, deal["ref"])
    message = _refused(app, account, deal["ref"], cost_only)
    assert f"本次选取要求项目负责人持有有效的{EIA}证书" in message
    assert "王*价" in message
    quote_id = _quote(app, account, deal["ref"], engineer, [member])
    with app.app_context():
        rows = db.session.scalars(
            select(QuoteMember).where(QuoteMember.quote_id == quote_id).order_by(QuoteMember.id)
        ).all()
        assert [(r.practitioner_id, r.role, r.certificate_kind) for r in rows] == [
            (engineer, "项目负责人", EIA),
            (engineer, "项目负责人", COST),
            (member, "成员", COST),
        ]
        assert rows[0].certificate_number.startswith("环境-")
        # Sealed evidence: the named people are never rewritten.
        rows[0].role = "成员"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()


def test_market_people_team_counts_and_the_service_items_types(app, make_user):
    with app.app_context():
        owner = make_user("enterprise")
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        db.session.commit()
        with pytest.raises(RegistryError, match="不适用于中介服务事项") as refused:
            market.open_request(
                user,
                project.code,
                service_code="ZJ-03",
                method="随机抽取",
                deadline=factories.later(72),
                team_certificates=f"{COST} ×1",
            )
        assert refused.value.field == "team_certificates"
        db.session.rollback()
    deal = _market(app, make_user, team_certificates=f"{EIA} ×2")
    leader, plain = _people(app, deal["providers"][0], ("张三明", EIA), ("李四", COST))
    # A provider with one such person cannot staff the request at all: refused before its team.
    message = _refused(app, deal["accounts"][0], deal["ref"], leader, [plain])
    assert f"持有效{EIA}证书的人员 1 名,少于要求的 2 名" in message
    _people(app, deal["providers"][0], ("王五", EIA))
    message = _refused(app, deal["accounts"][0], deal["ref"], leader, [plain])
    assert f"团队中至少 2 名持有有效{EIA}证书的人员,所列人员中只有 1 名" in message


def test_market_people_expired_certificate_refused(app, make_user):
    deal = _market(app, make_user)
    with app.app_context():
        provider = db.session.get(Provider, deal["providers"][0])
        lapsed = _person(provider, "赵六", EIA, valid_to=clock.today() - timedelta(days=1))
        db.session.commit()
    message = _refused(app, deal["accounts"][0], deal["ref"], lapsed)
    assert f"赵*在 {clock.today():%Y-%m-%d} 没有有效的执业资格证书(已过期或尚未生效)" in message
    # A request that requires nobody still takes a quote naming nobody.
    assert _quote(app, deal["accounts"][0], deal["ref"])


def test_market_people_person_employed_elsewhere_refused(app, make_user):
    deal = _market(app, make_user)
    (theirs,) = _people(app, deal["providers"][1], ("张三明", EIA))
    message = _refused(app, deal["accounts"][0], deal["ref"], theirs)
    assert "不是贵机构" in message
    assert "张三明" not in message


def test_market_people_same_person_named_by_two_providers_judged_at_the_decision(
    app, make_user, login
):
    """Quotes are sealed: the second provider naming a person the first already named is not
    told so at submission (that would reveal the first bid); at the decision both quotes are
    out, the reason recorded in the draw's inputs and shown on the verify page."""
    firms = _firms(app, make_user, 4)
    ref = _open(app, firms)
    accounts = firms["accounts"]
    moving, *others = (
        _people(app, pid, (name, EIA))[0]
        for pid, name in zip(firms["providers"], ["张三明", "李四光", "王五", "赵六"], strict=True)
    )
    _quote(app, accounts[0], ref, moving)
    # The next day the person moves to the second provider, which names them too: accepted.
    clock.advance(timedelta(days=1))
    with app.app_context():
        employment = db.session.scalar(
            select(Employment).where(Employment.practitioner_id == moving)
        )
        employment.ended_on = clock.today()
        db.session.add(
            Employment(
                practitioner_id=moving, provider_id=firms["providers"][1], started_on=clock.today()
            )
        )
        db.session.commit()
    _quote(app, accounts[1], ref, moving, [others[0]])
    # The first provider's own revision may name them no more (they left it).
    assert "不是贵机构" in _refused(app, accounts[0], ref, moving)
    for account, leader in zip(accounts[2:], others[1:], strict=True):
        _quote(app, account, ref, leader)
    with app.app_context():
        deadline = market.get_request(ref).deadline
    clock.freeze(deadline + timedelta(minutes=1))
    client = app.test_client()
    login(firms["owner"], on=client)
    page = post_form(client, f"/my/requests/{ref}/decide", {}).get_data(as_text=True)
    assert page.count("张*明同时被另一家机构的报价列明") == 2
    assert "张三明" not in page
    with app.app_context():
        uscc = {pid: db.session.get(Provider, pid).uscc for pid in firms["providers"]}
        award = market.decide(db.session.get(User, firms["owner"].id), ref).award
        db.session.commit()
        assert award.provider_id in firms["providers"][2:]
        inputs = award.draw_inputs
        assert inputs["candidates"] == sorted(uscc[p] for p in firms["providers"][2:])
        assert set(inputs["unstaffed"]) == {uscc[p] for p in firms["providers"][:2]}
        assert all("两家的报价均不能中选" in why for why in inputs["unstaffed"].values())
        check = market.verify_award(award)
        assert check["seed_matches"]
        assert check["candidates_match"]
        award_id = award.id
    verify = app.test_client().get(f"/awards/{award_id}/verify").get_data(as_text=True)
    assert "张*明同时被另一家机构的报价列明" in verify


# ---------------------------------------------------------------- pages and API


def test_market_people_award_notice_and_api_show_the_leader_masked(app, make_user, client):
    deal = _market(app, make_user, leader_certificate=EIA)
    first, second = deal["accounts"]
    (one,) = _people(app, deal["providers"][0], ("张三明", EIA))
    (two,) = _people(app, deal["providers"][1], ("欧阳小明", EIA))
    _quote(app, first, deal["ref"], one)
    _quote(app, second, deal["ref"], two)
    request_page = client.get(f"/requests/{deal['ref']}").get_data(as_text=True)
    assert f"项目负责人须持有效的{EIA}证书" in request_page
    with app.app_context():
        deadline = market.get_request(deal["ref"]).deadline
    clock.freeze(deadline + timedelta(minutes=1))
    with app.app_context():
        award = market.decide(db.session.get(User, deal["owner"].id), deal["ref"]).award
        db.session.commit()
        award_id, winner = award.id, award.provider_id
    masked = "张*明" if winner == deal["providers"][0] else "欧**明"
    page = client.get(f"/awards/{award_id}").get_data(as_text=True)
    assert f"{masked}({EIA})" in page
    api = client.get("/api/v1/awards").get_json()
    assert api["items"][0]["project_leader"] == {"name": masked, "certificates": [EIA]}
    # No public page shows a full name.
    pages = [page, request_page, client.get("/awards").get_data(as_text=True)]
    with app.app_context():
        for provider_id in deal["providers"]:
            uscc = db.session.get(Provider, provider_id).uscc
            pages.append(client.get(f"/providers/{uscc}").get_data(as_text=True))
    for text in pages:
        assert "张三明" not in text
        assert "欧阳小明" not in text


def test_market_people_offer_commits_no_more_than_the_provider_has(app, make_user, client):
    account = make_user("provider")
    with app.app_context():
        provider = factories.active_provider(account=db.session.get(User, account.id))
        _person(provider, "张三明", EIA)
        offer = provider.offers[0]
        data = {"committed_days": 10, "fee_quote": "50000"}
        with pytest.raises(RegistryError, match=r"承诺的环境影响评价工程师 2 人超过.*1 人"):
            provider_service.save_offer(
                provider,
                {**data, "personnel": f"{EIA} ×2"},
                actor=db.session.get(User, account.id),
                offer_id=offer.id,
            )
        with pytest.raises(RegistryError, match="不在执业资格证书类型列表中"):
            provider_service.save_offer(
                provider,
                {**data, "personnel": "高级工程师 1"},
                actor=db.session.get(User, account.id),
                offer_id=offer.id,
            )
        provider_service.save_offer(
            provider,
            {**data, "personnel": f"{EIA} 1"},
            actor=db.session.get(User, account.id),
            offer_id=offer.id,
        )
        db.session.commit()
        assert [(p.kind, p.count) for p in offer.personnel] == [(EIA, 1)]
        uscc = provider.uscc
    profile = client.get(f"/providers/{uscc}").get_data(as_text=True)
    assert f"{EIA} ×1" in profile
    assert "张三明" not in profile


def test_market_people_engagement_records_the_signatory(app, make_user, login):
    deal = _market(app, make_user, leader_certificate=EIA)
    first, second = deal["accounts"]
    one, helper = _people(app, deal["providers"][0], ("张三明", EIA), ("李四", EIA))
    (two,) = _people(app, deal["providers"][1], ("王五", EIA))
    _quote(app, first, deal["ref"], one, [helper])
    _quote(app, second, deal["ref"], two)
    with app.app_context():
        deadline = market.get_request(deal["ref"]).deadline
    clock.freeze(deadline + timedelta(minutes=1))
    with app.app_context():
        owner = db.session.get(User, deal["owner"].id)
        award = market.decide(owner, deal["ref"]).award
        engagement_id = award.engagement.id
        winner = first if award.provider_id == deal["providers"][0] else second
        named = (one, helper) if winner is first else (two,)
        stranger = two if winner is first else one
        delivery.record_contract(owner, engagement_id, clock.today())
        db.session.commit()
    with app.app_context():
        user = db.session.get(User, winner.id)
        pdf = FileStorage(stream=io.BytesIO(PDF), filename="成果.pdf")
        with pytest.raises(RegistryError, match="请选择成果签字人"):
            delivery.submit_result(user, engagement_id, pdf, "")
        with pytest.raises(RegistryError, match="签字人须为中选报价中列明"):
            delivery.submit_result(user, engagement_id, pdf, "", signatory_id=stranger)
        db.session.rollback()
        pdf = FileStorage(stream=io.BytesIO(PDF), filename="成果.pdf")
        delivery.submit_result(user, engagement_id, pdf, "", signatory_id=named[-1])
        db.session.commit()
        assert db.session.get(Engagement, engagement_id).signatory_id == named[-1]
        name = db.session.get(Practitioner, named[-1]).name
    client = app.test_client()
    login(deal["owner"], on=client)
    page = client.get(f"/my/engagements/{engagement_id}").get_data(as_text=True)
    assert "成果签字人" in page
    assert name not in page
    assert f"{name[0]}*" in page


# ---------------------------------------------------------------- who can staff a request


def _firms(app, make_user, count: int) -> dict:
    """An owner with a project and `count` active ZJ-03 providers with accounts, no request yet."""
    owner = make_user("enterprise")
    accounts = [make_user("provider") for _ in range(count)]
    with app.app_context():
        project = factories.enterprise_with_project(db.session.get(User, owner.id))
        made = [factories.active_provider(account=db.session.get(User, a.id)) for a in accounts]
        db.session.commit()
        return {
            "owner": owner,
            "accounts": accounts,
            "providers": [p.id for p in made],
            "project": project.code,
        }


def _open(app, firms, **request_args) -> str:
    with app.app_context():
        ref = market.open_request(
            db.session.get(User, firms["owner"].id),
            firms["project"],
            service_code="ZJ-03",
            method="随机抽取",
            deadline=factories.later(72),
            **request_args,
        ).ref
        db.session.commit()
        return ref


def _invited(app, account, ref) -> bool:
    with app.app_context():
        return any(
            ref in m
            for m in db.session.scalars(
                select(Notification.message).where(Notification.user_id == account.id)
            )
        )


def test_market_people_invitations_only_to_providers_who_can_staff(app, make_user, login):
    firms = _firms(app, make_user, 3)
    able, cost_only, none = firms["accounts"]
    _people(app, firms["providers"][0], ("张三明", EIA))
    _people(app, firms["providers"][1], ("王造价", COST))
    ref = _open(app, firms, leader_certificate=EIA)
    assert _invited(app, able, ref)
    assert not _invited(app, cost_only, ref)
    assert not _invited(app, none, ref)
    with app.app_context():
        request = market.get_request(ref)
        assert [p.id for p in market.eligible_providers(request)] == firms["providers"][:1]
    # The provider who cannot staff it sees the request, not open to it, and why.
    client = app.test_client()
    login(cost_only, on=client)
    page = client.get("/my/opportunities").get_data(as_text=True)
    assert "暂不能报名:人员不满足要求" in page
    assert ref in page
    assert f"没有持有效{EIA}证书、可担任项目负责人的人员" in page
    assert f"/my/requests/{ref}/quote" not in page
    message = _refused(app, cost_only, ref)
    assert f"贵机构不符合本次选取的报名条件:在职从业人员不满足人员要求(没有持有效{EIA}" in message
    # It may apply once it registers someone who can lead it.
    _people(app, firms["providers"][1], ("李四", EIA))
    page = client.get("/my/opportunities").get_data(as_text=True)
    assert "暂不能报名" not in page
    assert f"/my/requests/{ref}/quote" in page
    # A request without a requirement invites every provider offering the item, as before.
    plain = _open(app, firms)
    assert all(_invited(app, account, plain) for account in firms["accounts"])


def test_market_people_invitations_count_the_team_and_skip_expired(app, make_user):
    firms = _firms(app, make_user, 2)
    two, one = firms["accounts"]
    _people(app, firms["providers"][0], ("张三明", EIA), ("李四", EIA))
    with app.app_context():
        provider = db.session.get(Provider, firms["providers"][1])
        _person(provider, "王五", EIA)
        _person(provider, "赵六", EIA, valid_to=clock.today() - timedelta(days=1))
        db.session.commit()
    ref = _open(app, firms, team_certificates=f"{EIA} ×2")
    assert _invited(app, two, ref)
    assert not _invited(app, one, ref)


def test_market_people_decision_judges_the_leader_on_the_deadline_day(
    app, make_user, login, monkeypatch
):
    firms = _firms(app, make_user, 5)
    leaders = [
        _people(app, pid, (name, EIA))[0]
        for pid, name in zip(
            firms["providers"], ["张三明", "李四光", "王五", "赵六", "钱七"], strict=True
        )
    ]
    ref = _open(app, firms, leader_certificate=EIA)
    for account, leader in zip(firms["accounts"], leaders, strict=True):
        _quote(app, account, ref, leader)
    with app.app_context():
        deadline = market.get_request(ref).deadline
    # Since quoting, before the deadline day (teams are judged as of it): the first leader left,
    # the second's certificate was withdrawn, the third was blacklisted.
    clock.freeze(deadline - timedelta(days=1))
    with app.app_context():
        left = db.session.scalar(select(Employment).where(Employment.practitioner_id == leaders[0]))
        left.ended_on = clock.today()
        holder = db.session.get(Provider, firms["providers"][1])
        certificate = db.session.scalar(
            select(PractitionerCertificate).where(
                PractitionerCertificate.practitioner_id == leaders[1]
            )
        )
        practitioners.withdraw_certificate(
            holder,
            certificate.id,
            {"reason": "证书已被注册机关注销"},
            actor=db.session.get(User, firms["accounts"][1].id),
        )
        db.session.commit()
    clock.freeze(deadline + timedelta(minutes=1))
    real = standing.bar_reason
    monkeypatch.setattr(
        standing,
        "bar_reason",
        lambda person, on: (
            "从业人员 王* 已被列入黑名单" if person.id == leaders[2] else real(person, on)
        ),
    )
    client = app.test_client()
    login(firms["owner"], on=client)
    page = post_form(client, f"/my/requests/{ref}/decide", {}).get_data(as_text=True)
    assert "不能中选" in page
    assert "项目负责人张*明已不在该机构任职" in page
    assert f"项目负责人李*光已不再持有有效的{EIA}证书" in page
    assert "王* 已被列入黑名单" in page
    assert "张三明" not in page
    assert "2 家" in page
    assert "按报名截止日核对人员" in page
    with app.app_context():
        uscc = {pid: db.session.get(Provider, pid).uscc for pid in firms["providers"]}
        award = market.decide(db.session.get(User, firms["owner"].id), ref).award
        db.session.commit()
        assert award.provider_id in firms["providers"][3:]
        inputs = award.draw_inputs
        assert inputs["candidates"] == sorted(uscc[p] for p in firms["providers"][3:])
        assert set(inputs["unstaffed"]) == {uscc[p] for p in firms["providers"][:3]}
        check = market.verify_award(award)
        assert check["seed_matches"]
        assert check["winner_matches"]
        assert check["candidates_match"]
        award_id = award.id
    verify = app.test_client().get(f"/awards/{award_id}/verify").get_data(as_text=True)
    assert "不参与抽取" in verify
    assert "项目负责人张*明已不在该机构任职" in verify
    assert "按报名截止日核对人员" in verify


def test_market_people_decision_fails_when_too_few_teams_stand(app, make_user):
    firms = _firms(app, make_user, 2)
    leaders = [
        _people(app, pid, (name, EIA))[0]
        for pid, name in zip(firms["providers"], ["周一明", "吴二明"], strict=True)
    ]
    ref = _open(app, firms, leader_certificate=EIA)
    for account, leader in zip(firms["accounts"], leaders, strict=True):
        _quote(app, account, ref, leader)
    with app.app_context():
        deadline = market.get_request(ref).deadline
    clock.freeze(deadline - timedelta(days=1))  # the leader left before the deadline day
    with app.app_context():
        left = db.session.scalar(select(Employment).where(Employment.practitioner_id == leaders[0]))
        left.ended_on = clock.today()
        db.session.commit()
    clock.freeze(deadline + timedelta(minutes=1))
    with app.app_context():
        plan = market.plan_decision(db.session.get(User, firms["owner"].id), ref)
        assert plan.failure is not None
        assert [why for _n, _u, why in plan.unstaffed][0].startswith(
            "项目负责人周*明已不在该机构任职"
        )
        decision = market.decide(db.session.get(User, firms["owner"].id), ref)
        assert decision.award is None
