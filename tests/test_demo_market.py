"""`registry seed --demo` builds a living, clearly marked marketplace, once, laid out from the day
it runs: seeded on any day it has open requests, work in progress, roadmaps due soon and late,
and credit notices in their 公示期."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from registry.demo import accounts as demo_accounts
from registry.demo import market as demo_market
from registry.demo import roadmaps as demo_roadmaps
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    Award,
    BehaviourEvent,
    CreditKind,
    CreditRecord,
    Engagement,
    Notification,
    OwnerRating,
    Practitioner,
    PractitionerCertificate,
    Project,
    Provider,
    Quote,
    RoadmapStep,
    SelectionRequest,
    User,
)
from registry.models.projects import ProjectCategory
from registry.pure import pii, workdays
from registry.services import accounts, credit, grades, market, practitioners, roadmaps
from registry.services.errors import RegistryError
from registry.services.practitioners import certificate_types
from tests.conftest import TEST_TODAY

# The days CI moves the clock to, and the standard one: the demo must look alive on each of them.
# The module is not marked `dates`: test_demo_market_seeded_on_any_day_is_alive_on_that_day seeds
# it on every one of these days in every run, so it need not run again under the later moved days.
# And a Saturday: seeded at a weekend, the demo's events still fall on working days.
SEED_DAYS = sorted({TEST_TODAY, date(2027, 6, 15), date(2031, 2, 10), date(2026, 12, 12)})


def _seed_demo() -> dict[str, int]:
    counts = {"accounts": len(demo_accounts.seed_demo_accounts())}
    counts.update(demo_market.seed_demo_market())
    db.session.commit()
    return counts


def test_demo_market_is_believable_marked_and_idempotent(app, client, runner):
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    assert "示例市场数据:中介机构 32 家" in first.output
    assert "信用公示 6 条" in first.output
    with app.app_context():
        providers = db.session.scalars(select(Provider)).all()
        assert len(providers) >= 30
        assert all(p.is_demo and p.name.endswith("(示例)") for p in providers)
        # The 所在区域 goes with the address (a 天津市河西区 firm read 外省市).
        for p in providers:
            expected = (
                ("滨海高新区", "滨海新区其他区域") if "滨海" in p.address else ("天津市其他区",)
            )
            assert p.region in expected, (p.address, p.region)
        offered = {o.service_item.code for p in providers for o in p.offers}
        assert len(offered) >= 20  # across the catalogue
        awards = db.session.scalars(select(Award)).all()
        assert len(awards) >= 5
        for award in awards:
            assert award.is_demo
            if award.seed:  # every draw re-runs to the published winner
                check = market.verify_award(award)
                assert check["winner_matches"], (award.id, check)
        assert db.session.scalar(select(func.count(OwnerRating.id))) >= 1
        # The newest award notice is still in its 公示期, and the demo provider's firm bid on it.
        newest = max(awards, key=lambda a: (a.awarded_at, a.id))
        assert market.notice_state(newest).label == "公示中"
        owner = db.session.scalar(select(User).where(User.username == "demo-enterprise"))
        assert newest.request.project.enterprise_id == owner.enterprise_id
        firm = db.session.scalar(
            select(Provider)
            .join(User, User.id == Provider.account_id)
            .where(User.username == "demo-provider")
        )
        bid = select(Quote.id).where(
            Quote.request_id == newest.request_id, Quote.provider_id == firm.id
        )
        assert db.session.scalar(bid) is not None
        # Grades come from the rules (demo regulators published a period), none are invented.
        graded = [p for p in providers if p.grade]
        assert graded
        for provider in graded:
            assert grades.compute(provider.id, market.today()).grade == provider.grade
        # Four projects under way (demo/roadmaps.py PLANS) and four with their permit (PERMITS).
        assert db.session.scalar(select(func.count(Project.id))) == 8
        open_requests = db.session.scalar(
            select(func.count(SelectionRequest.id)).where(SelectionRequest.status == "报名中")
        )
        assert open_requests >= 1
        records = db.session.scalars(select(CreditRecord)).all()
        notices = [r for r in records if r.practitioner_id is None]  # a person's is no notice
        assert all("示例" in n.title and n.provider.is_demo for n in records)
        # One of each story, through the credit services: a blacklisting with its term in force,
        # another ended by a 信用修复, a 警示通报 the firm objected to, answered (维持).
        assert {n.kind for n in notices} == {k.value for k in CreditKind} - {"通报批评"}
        repaired = next(n.provider_id for n in notices if n.kind == "信用修复")
        (in_force,) = [n for n in notices if n.kind == "列入黑名单" and n.provider_id != repaired]
        assert in_force.term_until > market.today()
        assert [p.id for p in providers if p.blacklisted_until] == [in_force.provider_id]
        warning = next(n for n in notices if n.kind == "警示通报")
        assert [o.outcome for o in warning.objections] == ["维持"]
        assert warning.provider.account_id is not None  # demo-provider sees it on /my/credit
        people = db.session.scalars(select(Practitioner)).all()
        assert people
        assert all(p.is_demo for p in people)
    again = runner.invoke(args=["seed", "--demo"])
    assert again.exit_code == 0
    assert "示例市场数据" not in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Provider.id))) == len(providers)
        assert db.session.scalar(select(func.count(CreditRecord.id))) == len(records)
        assert db.session.scalar(select(func.count(Practitioner.id))) == len(people)
    # What a visitor sees on a fresh install: the home page, the board, its feed and the API.
    home = client.get("/").get_data(as_text=True)
    assert "【警示通报】环评文件超期提交警示通报(示例)" in home
    assert "【信用修复】" in home
    for empty in ("暂无信用公示信息", "暂无中选公示", "暂无正在报名的选取公告"):
        assert empty not in home
    assert "列入黑名单" in client.get("/notices").get_data(as_text=True)
    assert client.get("/notices.xml").get_data(as_text=True).count("<entry>") == 6
    assert len(client.get("/api/v1/notices").get_json()["items"]) == 6


@pytest.mark.parametrize("day", SEED_DAYS, ids=str)
def test_demo_market_seeded_on_any_day_is_alive_on_that_day(app, day):
    with clock.frozen(day), app.app_context():
        counts = _seed_demo()
        assert counts["roadmaps"] == 4
        now, today = clock.now(), clock.today()
        open_requests = db.session.scalars(
            select(SelectionRequest).where(
                SelectionRequest.status == "报名中", SelectionRequest.deadline > now
            )
        ).all()
        assert open_requests
        # Numbered by the year they were published in (posted the day before: the year before,
        # when seeded on 1 January).
        assert all(r.ref.startswith(f"XQ-{clock.local(r.created_at):%Y}-") for r in open_requests)
        assert all(r.created_at <= now for r in db.session.scalars(select(SelectionRequest)))
        in_progress = db.session.scalars(
            select(Engagement).where(Engagement.status == "服务中")
        ).all()
        assert in_progress
        assert all(e.contract_date <= today for e in in_progress)
        projects = db.session.scalars(select(Project).where(Project.is_demo.is_(True))).all()
        assert len(projects) == 8
        lead = app.config["DEADLINE_WARNING_DAYS"]
        states = set()
        permits = {serial: (days, ago) for serial, *_, days, ago in demo_roadmaps.PERMITS}
        for project in projects:
            serial = project.code.rsplit("-", 1)[1]
            if serial in permits:  # the permit obtained that many days after the land contract
                permit = next(s for s in project.steps if s.key == "SP-15")
                days, ago = permits[serial]
                assert permit.status == "已完成"
                # Both dates moved back to a working day (at most over a holiday week).
                assert 0 <= (today - permit.finished_on).days - ago <= 10
                taken = (permit.finished_on - project.land_contract_date).days
                assert 0 <= taken - days <= 10
                target = ProjectCategory(project.category).target_days
                assert (taken > target) == (days > target)
                # Every applicable step finished, none after the permit.
                steps = [s for s in project.steps if s.status != "不适用"]
                assert all(s.status == "已完成" for s in steps)
                assert all(s.finished_on <= permit.finished_on for s in steps)
            assert project.code.startswith(f"{project.land_contract_date.year}-")
            assert project.land_contract_date < today
            view = roadmaps.roadmap(project, today=today, lead=lead)
            states |= {row.state.value for row in view.rows}
            for step in project.steps:  # nothing has happened after the day of seeding
                assert all(d is None or d <= today for d in (step.started_on, step.finished_on))
        assert {"到期预警", "超时"} <= states
        on_projects = select(Notification.kind).where(Notification.project_id.is_not(None))
        assert set(db.session.scalars(on_projects)) == {"到期预警", "超时"}
        notices = db.session.scalars(
            select(CreditRecord).where(CreditRecord.status == "已发布")
        ).all()
        assert notices
        # Today's records are in their 公示期 and open to objection; the older ones' dates are
        # laid out before the seeding day, the objection answered before it.
        last_workday = workdays.on_or_before_workday(today)
        fresh = [n for n in notices if clock.local_date(n.published_at) == last_workday]
        assert len(fresh) >= 3
        # A department publishes and answers on working days, in office hours (stop 29's list:
        # records fell on Sundays and carried the time of seeding).
        assert all(workdays.is_workday(clock.local_date(n.published_at)) for n in notices)
        assert all(clock.local(n.published_at).hour == 10 for n in notices)
        answered = [o.answered_at for n in notices for o in n.objections if o.answered_at]
        assert all(workdays.is_workday(clock.local_date(at)) for at in answered)
        # Selections close on working days (the open ones too).
        deadlines = [r.deadline for r in db.session.scalars(select(SelectionRequest))]
        assert all(workdays.is_workday(clock.local_date(d)) for d in deadlines)
        assert all(credit.in_disclosure(n) and credit.can_object(n) for n in fresh)
        assert all(n.published_at <= now for n in notices)
        assert all(o.answered_at <= now for n in notices for o in n.objections)


def test_demo_market_projects_have_roadmaps_with_warnings_overdue_and_notifications(app, runner):
    with app.app_context():
        counts = _seed_demo()
        today = clock.today()
        assert counts["roadmaps"] == 4
        permitted = {f"-{serial}" for serial, *_ in demo_roadmaps.PERMITS}
        projects = [
            p
            for p in db.session.scalars(select(Project).order_by(Project.code))
            if p.code[-7:] not in permitted
        ]
        assert len(projects) == 4
        assert {p.category for p in projects} == {c.value for c in ProjectCategory}
        assert all(p.is_demo and "示例" in p.name and p.land_contract_date for p in projects)
        assert all(p.concierge and p.concierge.username == "demo-staff" for p in projects)
        states = []
        for project in projects:
            view = roadmaps.roadmap(project, today=today, lead=3)
            statuses = {row.step.status for row in view.rows}
            assert "已完成" in statuses  # every demo project has moved
            assert statuses & {"办理中", "已提交"}
            states += [row.state.value for row in view.rows]
            done = [r.step for r in view.rows if r.step.status == "已完成"]
            assert all(s.started_on and s.finished_on <= today for s in done)
        assert "到期预警" in states
        assert "超时" in states
        complete = [p for p in projects if roadmaps.roadmap(p, today=today).total_days]
        assert len(complete) == 4
        # The project's notices; the demo's awards, credit records and evaluation periods also
        # told the demo providers' accounts (addressed to them).
        on_projects = Notification.project_id.is_not(None)
        kinds = set(db.session.scalars(select(Notification.kind).where(on_projects)))
        assert kinds == {"到期预警", "超时"}
        notes = db.session.scalar(select(func.count(Notification.id)).where(on_projects))
        steps = db.session.scalar(select(func.count(RoadmapStep.id)))
        owner = db.session.scalar(select(User).where(User.username == "demo-enterprise"))
        assert roadmaps.unread_count(owner) == notes
    again = runner.invoke(args=["seed", "--demo"])
    assert again.exit_code == 0, again.output
    assert "示例市场数据" not in again.output
    with app.app_context():
        assert demo_market.seed_demo_market()["roadmaps"] == 0
        assert db.session.scalar(select(func.count(Notification.id)).where(on_projects)) == notes
        assert db.session.scalar(select(func.count(RoadmapStep.id))) == steps


@pytest.mark.demo
def test_demo_market_roadmaps_show_on_the_staff_dashboard(app, client, login):
    with app.app_context():
        password = accounts.generate_password()
        accounts.set_password(accounts.find_user("demo-staff"), password)
        db.session.commit()
        late = db.session.scalar(select(Project).where(Project.code.endswith("-900102")))
        drawings = next(s for s in late.steps if s.key == "ZJ-16")
        code, days_late = late.code, (clock.today() - drawings.planned_finish).days
    staff = type("U", (), {"username": "demo-staff", "password": password})
    login(staff)
    html = client.get("/staff/deadlines?mine=1").get_data(as_text=True)
    assert code in html
    assert days_late >= 2
    assert f"超时 {days_late} 天" in html  # 施工图设计, weeks into a four-week job
    assert "到期预警(还有 1 个工作日)" in html  # 环评审批, planned for the next working day


def test_demo_market_people_fit_offers_one_hung_refused_one_person_recorded(app, client):
    with app.app_context():
        counts = _seed_demo()
        today = clock.today()
        assert counts["practitioners"] >= 64
        assert counts["hung_refused"] == counts["person_records"] == 1
        providers = db.session.scalars(select(Provider).where(Provider.is_demo.is_(True))).all()
        committed = 0
        for provider in providers:
            staff = [e.practitioner for e in practitioners.current_staff(provider)]
            assert len(staff) >= 2, provider.name
            fitting = certificate_types.for_services(o.service_item.code for o in provider.offers)
            for certificate in (c for p in staff for c in p.certificates):
                assert certificate.kind in fitting
                assert certificate.number.startswith("示例")
            strength = practitioners.strength(provider, today)
            for offer in provider.offers:
                for row in offer.personnel:
                    assert row.kind in certificate_types.for_services([offer.service_item.code])
                    assert row.count <= strength[row.kind]
                    committed += 1
        assert committed >= 20
        people = db.session.scalars(select(Practitioner)).all()
        assert all(p.is_demo and len(p.id_tail) == 4 for p in people)
        # One certificate ran out (check-deadlines flags it), one runs out within weeks.
        ends = [c.valid_to for c in db.session.scalars(select(PractitionerCertificate))]
        assert sum(d < today for d in ends) == 1
        assert sum(today <= d <= today + timedelta(days=30) for d in ends) == 1
        # The demo provider's firm tried another firm's 环评 engineer's certificate: refused.
        firm = db.session.scalar(
            select(Provider)
            .join(User, User.id == Provider.account_id)
            .where(User.username == "demo-provider")
        )
        # Both entered firms get the event (the holder's and the trying firm's), each on the day.
        events = db.session.scalars(select(BehaviourEvent)).all()
        assert {(e.kind, e.occurred_on) for e in events} == {("挂证嫌疑", today)}
        assert firm.id in {e.provider_id for e in events}
        assert len(events) == 2
        refused = select(AuditEntry).where(AuditEntry.action == "practitioner.certificate_refused")
        assert db.session.scalar(refused) is not None
        # The environment department's 通报批评 against a person, published and public.
        (record,) = db.session.scalars(
            select(CreditRecord).where(CreditRecord.practitioner_id.is_not(None))
        ).all()
        assert (record.kind, record.status, record.department.code) == (
            "通报批评",
            "已发布",
            "STHJ",
        )
        assert record.published_at < clock.now()
        person = record.practitioner
        name, masked, employer = person.name, pii.mask_name(person.name), record.provider.uscc
        pid, title = person.id, record.title
        # The open 环评 request wants a certified 项目负责人: the demo firm's engineer is accepted,
        # its newcomer without the certificate is refused.
        (wanting,) = db.session.scalars(
            select(SelectionRequest).where(SelectionRequest.leader_certificate.is_not(None))
        ).all()
        assert (wanting.status, wanting.leader_certificate) == ("报名中", "环境影响评价工程师")
        valid = practitioners.valid_practitioners(firm, today, "环境影响评价工程师")
        assert market.check_team(wanting, firm, valid[0].id, [], today)
        bare = next(
            e.practitioner
            for e in practitioners.current_staff(firm)
            if not e.practitioner.certificates
        )
        with pytest.raises(RegistryError):
            market.check_team(wanting, firm, bare.id, [], today)
    for page in (f"/practitioners/{pid}", f"/providers/{employer}"):
        html = client.get(page).get_data(as_text=True)
        assert title in html, page
        assert masked in html, page
        assert name not in html, page
