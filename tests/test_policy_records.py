"""The records matrix: whose project, engagement, quote and department record is whose — the page
or API answer, policy's yes/no rule and policy's query filter must agree for every party."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import select

from registry import policy
from registry.extensions import db
from registry.models import (
    CreditRecord,
    Engagement,
    EvaluationPeriod,
    Project,
    Provider,
    Quote,
    SelectionRequest,
    User,
)
from registry.services import credit, evaluations, market
from tests import factories

PARTIES = ("ent_a", "ent_b", "p1", "p2", "p3", "sthj", "sw", "staff", "admin")


@dataclass
class World:
    """Two enterprises' projects; a request on A's with quotes by p1 and p2, awarded to p1; p3
    offers only a 市水务局 (SW) item; a credit record and an evaluation period of SW."""

    users: dict[str, type]
    project_a: str
    project_b: str
    ref: str
    engagement_id: int
    record_number: str
    period_id: int
    provider_ids: dict[str, int]


def _user(made) -> User:
    return db.session.get(User, made.id)


@pytest.fixture
def world(app, make_user, frozen_clock) -> World:
    users = {name: make_user("enterprise") for name in ("ent_a", "ent_b")}
    users |= {name: make_user("provider") for name in ("p1", "p2", "p3")}
    users["sthj"] = make_user("regulator", department="STHJ")
    users["sw"] = make_user("regulator", department="SW")
    users["staff"], users["admin"] = make_user("staff"), make_user("admin")
    with app.app_context():
        project_a = factories.enterprise_with_project(_user(users["ent_a"])).code
        project_b = factories.enterprise_with_project(_user(users["ent_b"])).code
        providers = {
            "p1": factories.active_provider(["ZJ-03"], account=_user(users["p1"])),  # STHJ's item
            "p2": factories.active_provider(["ZJ-03"], account=_user(users["p2"])),
            "p3": factories.active_provider(["ZJ-04"], account=_user(users["p3"])),  # SW's item
        }
        provider_ids = {name: p.id for name, p in providers.items()}
        p3_uscc = providers["p3"].uscc
        ref = market.open_request(
            _user(users["ent_a"]),
            project_a,
            service_code="ZJ-03",
            method="竞价选取",
            deadline=factories.later(1),
        ).ref
        db.session.commit()
        for name, amount in (("p1", "40000"), ("p2", "50000")):
            market.submit_quote(
                _user(users[name]), ref, amount=amount, submission_key=uuid.uuid4().hex
            )
            db.session.commit()
    frozen_clock.advance(timedelta(hours=2))
    with app.app_context():
        award = market.decide(_user(users["ent_a"]), ref).award
        engagement_id = award.engagement.id
        record_number = credit.draft_record(
            _user(users["sw"]),
            provider_uscc=p3_uscc,
            kind="警示通报",
            title="未按时报送资料",
            facts="2026 年 8 月,该机构未按时报送水资源论证资料。",
            basis="《天津市节约用水条例》",
        ).number
        period_id = evaluations.open_period(_user(users["sw"])).id
        db.session.commit()
    return World(
        users, project_a, project_b, ref, engagement_id, record_number, period_id, provider_ids
    )


def _client(app, login, made):
    client = app.test_client()
    assert login(made, on=client).status_code == 302
    return client


def _url(app, endpoint: str, **values) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def _status(app, login, made, endpoint: str, **values) -> int:
    return _client(app, login, made).get(_url(app, endpoint, **values)).status_code


def _yes(rule, world: World) -> set[str]:
    """The parties for whom rule(user) answers yes."""
    return {name for name in PARTIES if rule(_user(world.users[name]))}


# --------------------------------------------------------------------------- projects


def test_policy_records_project_check_and_filter_agree(app, world):
    with app.app_context():
        projects = {
            p.code: p
            for p in db.session.scalars(
                select(Project).where(Project.code.in_((world.project_a, world.project_b)))
            )
        }
        a, b = projects[world.project_a], projects[world.project_b]
        assert _yes(lambda u: policy.can_see_project(u, a), world) == {"ent_a", "staff", "admin"}
        assert _yes(lambda u: policy.can_see_project(u, b), world) == {"ent_b", "staff", "admin"}
        assert _yes(lambda u: policy.owns_project(u, a), world) == {"ent_a"}
        for name in PARTIES:
            user = _user(world.users[name])
            seen = set(
                db.session.scalars(
                    select(Project.code).where(
                        policy.visible_projects(user), Project.code.in_(projects)
                    )
                )
            )
            checked = {code for code, p in projects.items() if policy.can_see_project(user, p)}
            assert seen == checked, name
            assert {p.code for p in market.projects_for(user)} & set(projects) == checked, name
        assert not policy.can_see_project(None, a)


def test_policy_records_project_pages(app, login, world):
    a, b = world.project_a, world.project_b
    ent_a, ent_b = world.users["ent_a"], world.users["ent_b"]
    assert _status(app, login, ent_a, "market.show_project", code=a) == 200
    assert _status(app, login, ent_a, "market.show_project", code=b) == 404
    assert _status(app, login, ent_b, "market.show_project", code=a) == 404
    assert _status(app, login, ent_b, "roadmaps.show_roadmap", code=a) == 404
    assert _status(app, login, ent_b, "roadmaps.show_checklist", code=a) == 404
    assert _status(app, login, ent_b, "api.show_project_roadmap", code=a) == 404
    assert _status(app, login, ent_a, "api.show_project_roadmap", code=a) == 200
    # 政务办 works on every project.
    assert _status(app, login, world.users["staff"], "roadmaps.show_roadmap", code=b) == 200
    assert _status(app, login, world.users["admin"], "api.show_project_roadmap", code=a) == 200
    mine = _client(app, login, ent_a).get(_url(app, "market.my_projects")).get_data(as_text=True)
    assert a in mine
    assert b not in mine


# --------------------------------------------------------------------------- sealed quotes


def test_policy_records_sealed_quotes_check_and_filter_agree(app, world):
    with app.app_context():
        request = db.session.scalar(
            select(SelectionRequest).where(SelectionRequest.ref == world.ref)
        )
        quotes = {
            q.provider_id: q
            for q in db.session.scalars(select(Quote).where(Quote.request_id == request.id))
        }
        own = {name: quotes[world.provider_ids[name]] for name in ("p1", "p2")}
        before, after = request.deadline - timedelta(minutes=1), request.deadline
        expected = {
            # Before the deadline a provider sees only its own quote; nobody else, admins
            # included, sees any.
            before: {"p1": {"p1"}, "p2": {"p2"}},
            # After it the project's owner, staff and admins see every quote; providers still
            # only their own; another enterprise and regulators nothing.
            after: {
                "p1": {"p1"},
                "p2": {"p2"},
                "ent_a": {"p1", "p2"},
                "staff": {"p1", "p2"},
                "admin": {"p1", "p2"},
            },
        }
        for now, table in expected.items():
            for name in PARTIES:
                user = _user(world.users[name])
                want = table.get(name, set())
                checked = {p for p, q in own.items() if policy.can_see_quote(user, q, now=now)}
                assert checked == want, (name, now)
                filtered = set(
                    db.session.scalars(
                        select(Quote.provider_id).where(
                            Quote.request_id == request.id,
                            policy.visible_quotes(user, request, now=now),
                        )
                    )
                )
                assert filtered == {world.provider_ids[p] for p in want}, (name, now)
                served = {q.provider_id for q in market.quotes_visible_to(user, request, now)}
                assert served == filtered, (name, now)
            assert not policy.can_see_quote(None, own["p1"], now=now)


def test_policy_records_another_enterprise_cannot_open_the_request(app, login, world):
    assert _status(app, login, world.users["ent_a"], "market.manage_request", ref=world.ref) == 200
    assert _status(app, login, world.users["ent_b"], "market.manage_request", ref=world.ref) == 404
    page = _client(app, login, world.users["ent_a"]).get(
        _url(app, "market.manage_request", ref=world.ref)
    )
    assert re.search(r"40,?000", page.get_data(as_text=True)), "the owner sees the opened quotes"


def test_policy_records_quote_stays_sealed_on_the_owners_page(app, login, world, frozen_clock):
    users = world.users
    with app.app_context():
        ref = market.open_request(
            _user(users["ent_a"]),
            world.project_a,
            service_code="ZJ-03",
            method="竞价选取",
            deadline=factories.later(1),
        ).ref
        db.session.commit()
        market.submit_quote(
            _user(users["p2"]), ref, amount="45678", submission_key=uuid.uuid4().hex
        )
        db.session.commit()
    owner = _client(app, login, users["ent_a"])
    url = _url(app, "market.manage_request", ref=ref)
    assert not re.search(r"45,?678", owner.get(url).get_data(as_text=True))
    frozen_clock.advance(timedelta(hours=2))  # past the deadline (and the idle timeout)
    owner = _client(app, login, users["ent_a"])
    assert re.search(r"45,?678", owner.get(url).get_data(as_text=True))


# --------------------------------------------------------------------------- engagements


def test_policy_records_engagement_check_and_filter_agree(app, world):
    with app.app_context():
        engagement = db.session.get(Engagement, world.engagement_id)
        assert _yes(lambda u: policy.owns_engagement(u, engagement), world) == {"ent_a"}
        assert _yes(lambda u: policy.provides_engagement(u, engagement), world) == {"p1"}
        assert _yes(lambda u: policy.can_see_engagement(u, engagement), world) == {
            "ent_a",
            "p1",
            "admin",
        }
        for rule, check in (
            (policy.owned_engagements, policy.owns_engagement),
            (policy.provided_engagements, policy.provides_engagement),
        ):
            for name in PARTIES:
                user = _user(world.users[name])
                found = set(
                    db.session.scalars(
                        select(Engagement.id).where(rule(user), Engagement.id == engagement.id)
                    )
                )
                assert found == ({engagement.id} if check(user, engagement) else set()), name


def test_policy_records_engagement_pages(app, login, world):
    ident = world.engagement_id
    users = world.users
    assert (
        _status(app, login, users["ent_a"], "engagements.show_engagement", engagement_id=ident)
        == 200
    )
    assert (
        _status(app, login, users["ent_b"], "engagements.show_engagement", engagement_id=ident)
        == 404
    )
    assert _status(app, login, users["p1"], "engagements.show_work", engagement_id=ident) == 200
    # The losing bidder and a provider that never bid: another provider's engagement is not found.
    assert _status(app, login, users["p2"], "engagements.show_work", engagement_id=ident) == 404
    assert _status(app, login, users["p3"], "engagements.show_work", engagement_id=ident) == 404
    listing = _client(app, login, users["ent_b"]).get(_url(app, "engagements.list_engagements"))
    assert world.ref not in listing.get_data(as_text=True)
    work = _client(app, login, users["p2"]).get(_url(app, "engagements.list_work"))
    assert world.ref not in work.get_data(as_text=True)
    assert world.ref in _client(app, login, users["p1"]).get(
        _url(app, "engagements.list_work")
    ).get_data(as_text=True)


# --------------------------------------------------------------------------- departments


def test_policy_records_regulator_department_check_and_filter_agree(app, world):
    with app.app_context():
        record = db.session.scalar(
            select(CreditRecord).where(CreditRecord.number == world.record_number)
        )
        period = db.session.get(EvaluationPeriod, world.period_id)
        sthj, sw = _user(world.users["sthj"]), _user(world.users["sw"])
        assert policy.regulator_department(sthj).code == "STHJ"
        assert policy.regulator_department(sw).code == "SW"
        assert _yes(lambda u: policy.regulator_department(u) is not None, world) == {"sthj", "sw"}
        for obj in (record, period):
            assert _yes(lambda u, obj=obj: policy.in_department(u, obj.department_id), world) == {
                "sw"
            }
        for name in PARTIES:
            user = _user(world.users[name])
            records = set(
                db.session.scalars(
                    select(CreditRecord.number).where(
                        policy.department_records(user, CreditRecord.department_id)
                    )
                )
            )
            periods = set(
                db.session.scalars(
                    select(EvaluationPeriod.id).where(
                        policy.department_records(user, EvaluationPeriod.department_id)
                    )
                )
            )
            mine = name == "sw"
            assert records == ({record.number} if mine else set()), name
            assert periods == ({period.id} if mine else set()), name


def test_policy_records_supervised_providers_check_and_filter_agree(app, world):
    with app.app_context():
        departments = {
            name: policy.regulator_department(_user(world.users[name])) for name in ("sthj", "sw")
        }
        ours = set(world.provider_ids.values())
        for name, department in departments.items():
            filtered = set(
                db.session.scalars(
                    select(Provider.id).where(
                        policy.supervised_providers(department.id), Provider.id.in_(ours)
                    )
                )
            )
            checked = {
                ident
                for ident in ours
                if policy.supervises(department.id, db.session.get(Provider, ident))
            }
            assert filtered == checked, name
        ids = world.provider_ids
        assert checked == {ids["p3"]}  # SW supervises the ZJ-04 provider only
        sthj = departments["sthj"]
        assert policy.supervises(sthj.id, db.session.get(Provider, ids["p1"]))
        assert not policy.supervises(sthj.id, db.session.get(Provider, ids["p3"]))
        # The regulator's pick list and the credit rule say the same.
        picked = {p.id for p in credit.supervised_providers(_user(world.users["sthj"]))}
        assert picked & ours == {ids["p1"], ids["p2"]}


def test_policy_records_regulator_pages(app, login, world):
    sthj, sw = world.users["sthj"], world.users["sw"]
    number, period = world.record_number, world.period_id
    assert _status(app, login, sw, "credit.manage_record", number=number) == 200
    assert _status(app, login, sthj, "credit.manage_record", number=number) == 404
    assert _status(app, login, sw, "evaluations.show_period", period_id=period) == 200
    assert _status(app, login, sthj, "evaluations.show_period", period_id=period) == 404
    listing = _client(app, login, sthj).get(_url(app, "credit.regulator_records"))
    assert number not in listing.get_data(as_text=True)
    assert number in _client(app, login, sw).get(_url(app, "credit.regulator_records")).get_data(
        as_text=True
    )


# --------------------------------------------------------------------------- one place


# Who compares roles: only the policy, the account model and the services that create accounts
# (the role a new account is given) or demo accounts.
ROLE_COMPARISON = re.compile(
    r"\.role_enum\s*(==|!=|\bin\b|\bnot in\b|\bis\b)|\.role\s*(==|!=)|\bRole\.(ADMIN|STAFF|"
    r"ENTERPRISE|PROVIDER|REGULATOR)\b|role\s*==\s*['\"]"
)
ALLOWED = {
    "registry/services/accounts.py",
    "registry/services/registration.py",
    "registry/services/demo.py",
}


def test_policy_records_nothing_else_compares_roles():
    root = Path(__file__).resolve().parent.parent
    files = [
        *root.glob("registry/services/**/*.py"),
        *root.glob("registry/web/**/*.py"),
        *root.glob("registry/search/**/*.py"),
        *root.glob("templates/**/*.html"),
    ]
    assert len(files) > 50
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in files
        if str(path.relative_to(root)) not in ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ROLE_COMPARISON.search(line)
    ]
    assert found == [], "role comparisons belong in registry/policy.py:\n" + "\n".join(found)
