"""What waits for each role: the review queue's waiting time, and the page each role lands on
after signing in (its pending work, counted, with links)."""

from __future__ import annotations

import re
from datetime import timedelta

from registry.extensions import db
from registry.kernel import clock
from registry.models import ProviderStatus
from tests import factories


def _text(html: str) -> str:
    """A page's text with tags dropped and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _pending_provider(name: str, submitted_at):
    """A provider application waiting for review since `submitted_at` (flushed)."""
    provider = factories.active_provider(name=name)
    provider.status = ProviderStatus.PENDING.value
    provider.submitted_at = submitted_at
    db.session.flush()
    return provider


def test_pending_review_queue_shows_days_waited_oldest_first(app, make_user, login, client):
    today = clock.today()
    with app.app_context():
        # Beijing dates: 23:30 yesterday is one day ago, 00:10 today is today.
        _pending_provider(
            "天津乙等待一天环境科技有限公司", clock.at(today - timedelta(days=1), 23, 30)
        )
        _pending_provider(
            "天津甲等待十二天环境科技有限公司", clock.at(today - timedelta(days=12), 9)
        )
        _pending_provider("天津丙今天提交环境科技有限公司", clock.at(today, 0, 10))
        db.session.commit()
    login(make_user("admin"))
    page = client.get("/admin/providers").get_data(as_text=True)
    assert "已等待" in page
    rows = [_text(row) for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", page, re.S)]
    assert [row.split()[0] for row in rows] == [
        "天津甲等待十二天环境科技有限公司",
        "天津乙等待一天环境科技有限公司",
        "天津丙今天提交环境科技有限公司",
    ]
    assert "12 天" in rows[0]
    assert "1 天" in rows[1]
    assert "今天提交" in rows[2]


# ---------------------------------------------------------------------- the landing page


def _landing(app, login, user):
    """Sign in without `next` on a fresh client; returns (where it landed, the client)."""
    client = app.test_client()
    response = login(user, on=client)
    assert response.status_code == 302
    return response.headers["Location"], client


def _counts(client) -> dict[str, str]:
    """The pending page's rows: kind → the count shown ("暂无" for none)."""
    page = client.get("/my/pending").get_data(as_text=True)
    rows = re.findall(
        r'data-kind="([^"]+)">\s*<a href="[^"]*">\s*<span class="pending-label">[^<]*</span>\s*'
        r'<span class="pending-count">(?:<strong>)?([^<]+)',
        page,
    )
    return dict(rows)


def test_pending_enterprise_and_providers_land_on_their_work(app, make_user, login):
    from registry.models import User
    from registry.services import delivery, market
    from tests.test_market import _after_deadline, _quote, _setup

    owner, accounts, _codes, ref, _project = _setup(app, make_user, providers=3)
    _quote(app, accounts[0], ref, "52000")
    _quote(app, accounts[1], ref, "48000")
    _quote(app, accounts[1], ref, "47000")  # a revision: still one bidder

    where, client = _landing(app, login, owner)
    assert where == "/my/pending"
    before = _counts(client)
    assert before["requests.to_decide"] == "暂无"
    assert before["quotes.received"] == "暂无"  # sealed until the deadline, even the number
    page = client.get("/my/pending").get_data(as_text=True)
    assert "待办事项" in page
    assert '<a href="/my/projects">' in page
    assert _counts(_landing(app, login, accounts[2])[1])["requests.to_quote"] == "1"
    assert _counts(_landing(app, login, accounts[0])[1])["requests.to_quote"] == "暂无"

    _after_deadline(app, ref)
    after = _counts(_landing(app, login, owner)[1])
    assert after["requests.to_decide"] == "1"
    assert after["quotes.received"] == "2"
    assert _counts(_landing(app, login, accounts[2])[1])["requests.to_quote"] == "暂无"

    with app.app_context():
        award = market.decide(db.session.get(User, owner.id), ref).award
        engagement_id, winner = award.engagement.id, award.provider.account_id
        db.session.commit()
    decided = _counts(_landing(app, login, owner)[1])
    assert decided["requests.to_decide"] == "暂无"
    assert decided["engagements.to_sign"] == "1"
    with app.app_context():
        delivery.record_contract(db.session.get(User, owner.id), engagement_id, clock.today())
        db.session.commit()
    winner_account = next(a for a in accounts if a.id == winner)
    where, provider_client = _landing(app, login, winner_account)
    assert where == "/my/pending"
    assert _counts(provider_client)["engagements.to_deliver"] == "1"


def test_pending_regulator_sees_open_periods_and_objections_of_its_department(
    app, make_user, login
):
    from registry.models import User
    from registry.services import credit, evaluations
    from tests.test_credit import _published, _world

    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    with app.app_context():
        evaluations.open_period(db.session.get(User, world.sthj.id))
        credit.object_to_record(db.session.get(User, world.account.id), number, reason="数据有误")
        db.session.commit()
    where, client = _landing(app, login, world.sthj)
    assert where == "/my/pending"
    counts = _counts(client)
    assert counts == {
        "periods.to_fill": "1",
        "objections.to_answer": "1",
        "practitioner.conflicts": "暂无",
    }
    # Another department's regulator has neither.
    other = _counts(_landing(app, login, world.sw)[1])
    assert other == {
        "periods.to_fill": "暂无",
        "objections.to_answer": "暂无",
        "practitioner.conflicts": "暂无",
    }


def test_pending_office_sees_steps_due_and_admin_the_review_queue(app, make_user, login):
    from registry.models import User
    from registry.models.roadmap import DeadlineState
    from registry.services import roadmaps

    owner, staff_user = make_user("enterprise"), make_user("staff")
    today = clock.today()
    with app.app_context():
        user = db.session.get(User, owner.id)
        factories.enterprise_with_project(user)
        # Land signed 120 days ago and nothing done since: early steps are late, some due soon.
        roadmaps.register_project(
            user,
            code="2026-120116-47-03-000901",
            name="新建研发楼项目",
            category="民营/外资",
            location="天津滨海高新区",
            land_contract_date=today - timedelta(days=120),
        )
        _pending_provider("天津待审核环境科技有限公司", clock.at(today - timedelta(days=4), 10))
        db.session.commit()
        # What the staff deadline dashboard counts for the same day and lead.
        board = roadmaps.read_filter(
            {}, today=today, lead=app.config["DEADLINE_WARNING_DAYS"], mine=False, choices=[]
        )
        totals = roadmaps.alert_page(board, db.session.get(User, staff_user.id)).totals
    due = sum(totals.values())
    overdue = totals[DeadlineState.OVERDUE]
    assert overdue > 0

    where, staff = _landing(app, login, staff_user)
    assert where == "/my/pending"
    assert _counts(staff) == {
        "award_objections.to_answer": "暂无",
        "practitioner.conflicts": "暂无",
        "steps.due": str(due),
    }
    assert f"其中已超时 {overdue} 项" in staff.get("/my/pending").get_data(as_text=True)
    admin_counts = _counts(_landing(app, login, make_user("admin"))[1])
    assert admin_counts == {
        "providers.to_review": "1",
        "award_objections.to_answer": "暂无",
        "practitioner.conflicts": "暂无",
        "steps.due": str(due),
    }
    owner_counts = _counts(_landing(app, login, owner)[1])
    assert owner_counts["steps.due"] == str(due)
    # Another enterprise sees none of it.
    assert _counts(_landing(app, login, make_user("enterprise"))[1])["steps.due"] == "暂无"
    # A safe `next` still wins over the landing page.
    client = app.test_client()
    response = login(make_user("admin"), next_url="/admin/audit", on=client)
    assert response.headers["Location"] == "/admin/audit"


def test_pending_provider_sees_documents_near_their_end(app, make_user, login):
    """A tester (stop 31): the firm's 待办 said 没有 while a qualification neared its end (and a
    credit record was open to objection). Both are counted now."""
    from registry.models import User

    account = make_user("provider")
    soon = clock.today() + timedelta(days=app.config["EXPIRY_NOTICE_DAYS"] - 1)
    with app.app_context():
        factories.active_provider(account=db.session.get(User, account.id), valid_to=soon)
        db.session.commit()
    counts = _counts(_landing(app, login, account)[1])
    assert counts["qualifications.expiring"] == "1"
    assert counts["certificates.expiring"] == "暂无"
    assert counts["credit.to_object"] == "暂无"
