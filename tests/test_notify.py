"""Who is told about what: each event, driven through its own service, leaves a message in the
inbox of the people who act on it and, where they have a confirmed address and did not turn the
topic down, a mail in the outbox; the preferences page stores that choice."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.models import MailMessage, Notification, ProviderStatus, User
from registry.pure import workdays
from registry.services import (
    calendars,
    credit,
    delivery,
    evaluations,
    market,
    notify,
    providers,
    roadmaps,
)
from tests import factories
from tests.conftest import post_form

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SCORES = {"quality": "90", "timeliness": "80", "attitude": "95", "fee": "70", "conduct": "85"}


def _mailable(app, *users) -> None:
    """Give the accounts a confirmed address (the mail worker's precondition)."""
    with app.app_context():
        for made in users:
            user = db.session.get(User, made.id)
            user.email = f"{user.username}@example.cn"
            user.email_confirmed_at = clock.now()
        db.session.commit()


def _inbox(app, user) -> list[tuple[str, str, str, str]]:
    """(topic, kind, message, link) of the messages addressed to the user, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(Notification.topic, Notification.kind, Notification.message, Notification.link)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
        return [tuple(row) for row in rows]


def _kinds(app, user) -> list[str]:
    return [kind for _topic, kind, _message, _link in _inbox(app, user)]


def _mails(app, user) -> list[tuple[str, str, str]]:
    """(topic, to address, body) of the outbox mails to the user, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(MailMessage.topic, MailMessage.to_address, MailMessage.body)
            .where(MailMessage.user_id == user.id)
            .order_by(MailMessage.id)
        )
        return [tuple(row) for row in rows]


def _act(app, call, *args, **kwargs):
    """Run one service call as its own committed transaction; returns what it returned."""
    with app.app_context():
        value = call(*args, **kwargs)
        db.session.commit()
        return value


def _me(user) -> User:
    return db.session.get(User, user.id)


def _open(app, owner, **args) -> str:
    with app.app_context():
        project = factories.enterprise_with_project(_me(owner))
        ref = market.open_request(
            _me(owner),
            project.code,
            service_code="ZJ-03",
            method="竞价选取",
            deadline=factories.later(),
            **args,
        ).ref
        db.session.commit()
        return ref


def _quote(app, account, ref, amount) -> None:
    _act(
        app,
        lambda: market.submit_quote(
            _me(account), ref, amount=amount, submission_key=uuid.uuid4().hex
        ),
    )


def _decide(app, owner, ref):
    """Decide a minute after the deadline; (award id, engagement id), or None when it failed."""
    with app.app_context():
        clock.freeze(market.get_request(ref).deadline + timedelta(minutes=1))
        decision = market.decide(_me(owner), ref)
        db.session.commit()
        return (decision.award.id, decision.award.engagement.id) if decision.award else None


def test_notify_new_request_tells_the_providers_that_may_take_part(app, client, make_user, login):
    owner = make_user("enterprise")
    mailed, in_site_only, other_item, excluded = (make_user("provider") for _ in range(4))
    _mailable(app, mailed, in_site_only)
    with app.app_context():
        notify.set_preferences(_me(in_site_only), set(notify.TOPICS) - {"request"})
        for account in (mailed, in_site_only):
            factories.active_provider(account=_me(account))
        factories.active_provider(("ZJ-01",), account=_me(other_item))
        out = factories.active_provider(account=_me(excluded)).uscc
        db.session.commit()
    ref = _open(app, owner, exclusions=[(out, "与业主存在关联关系")])

    for account in (mailed, in_site_only):
        [(topic, kind, message, link)] = _inbox(app, account)
        assert (topic, kind, link) == ("request", "新选取需求", f"/my/requests/{ref}/quote")
        assert ref in message
        assert "报名截止" in message
    assert not _inbox(app, other_item)
    assert not _inbox(app, excluded)
    [(topic, address, body)] = _mails(app, mailed)
    assert topic == "request"
    assert address.startswith(mailed.username)
    assert f"/my/requests/{ref}/quote" in body
    assert not _mails(app, in_site_only)  # turned down: the inbox only

    login(mailed)
    page = client.get("/my/notifications").get_data(as_text=True)
    assert ref in page
    assert f'href="/my/requests/{ref}/quote"' in page
    assert 'href="/my/notifications/settings"' in page


def test_notify_award_tells_winner_and_losers_and_a_failure_tells_the_owner(app, make_user):
    owner = make_user("enterprise")
    winner, loser, absent = (make_user("provider") for _ in range(3))
    _mailable(app, owner, winner)
    with app.app_context():
        for account in (winner, loser, absent):
            factories.active_provider(account=_me(account))
        db.session.commit()
    ref = _open(app, owner)
    _quote(app, winner, ref, "40000")
    _quote(app, loser, ref, "50000")
    award_id, engagement_id = _decide(app, owner, ref)

    assert _inbox(app, winner)[-1][:2] == ("award", "中选")
    assert _inbox(app, winner)[-1][3] == f"/my/work/{engagement_id}"
    _topic, kind, message, link = _inbox(app, loser)[-1]
    assert (kind, link) == ("未中选", f"/awards/{award_id}")
    assert ref in message
    assert "未中选" in message
    assert _kinds(app, absent) == ["新选取需求"]  # did not apply: no result
    assert [m[0] for m in _mails(app, winner)] == ["request", "award"]

    failed = _open(app, owner)
    _quote(app, winner, failed, "40000")
    assert _decide(app, owner, failed) is None
    [(topic, kind, message, link)] = _inbox(app, owner)
    assert (topic, kind, link) == ("award", "选取失败", f"/my/requests/{failed}")
    assert failed in message
    # Said once each (it read "…本次选取失败,可重新发布。可修改后重新发布。").
    assert message.endswith("选取失败(流标):有效参与者不足 2 家。可修改后重新发布。")
    assert [m[0] for m in _mails(app, owner)] == ["award"]


def awarded_engagement(app, make_user):
    """An owner and two providers with confirmed addresses; a request both quote on, decided
    for the cheaper one. (owner, winner, loser, engagement id)."""
    owner, winner, loser = make_user("enterprise"), make_user("provider"), make_user("provider")
    _mailable(app, owner, winner)
    with app.app_context():
        for account in (winner, loser):
            factories.active_provider(account=_me(account))
        db.session.commit()
    ref = _open(app, owner)
    _quote(app, winner, ref, "40000")
    _quote(app, loser, ref, "50000")
    _award_id, eid = _decide(app, owner, ref)
    return owner, winner, loser, eid


def test_notify_delivery_steps_tell_the_other_party(app, make_user):
    owner, winner, loser, eid = awarded_engagement(app, make_user)
    today = clock.today()

    def result():
        return FileStorage(stream=io.BytesIO(PDF), filename="成果.pdf")

    _act(app, lambda: delivery.record_contract(_me(owner), eid, today, on=today))
    _act(app, lambda: delivery.submit_result(_me(winner), eid, result(), "初稿"))
    _act(app, lambda: delivery.return_result(_me(owner), eid, "缺少监测数据"))
    _act(app, lambda: delivery.submit_result(_me(winner), eid, result(), "补正稿"))
    _act(app, lambda: delivery.confirm_result(_me(owner), eid, today))
    _act(app, lambda: delivery.rate(_me(owner), eid, SCORES, "认真负责", today))

    work = [(t, k, link) for t, k, _m, link in _inbox(app, winner)][-4:]
    assert work == [
        ("engagement", "已签约", f"/my/work/{eid}"),
        ("result", "成果被退回", f"/my/work/{eid}"),
        ("result", "成果已确认", f"/my/work/{eid}"),
        ("rating", "收到评价", f"/my/work/{eid}"),
    ]
    assert "缺少监测数据" in _inbox(app, winner)[-3][2]
    owner_side = [(t, k, link) for t, k, _m, link in _inbox(app, owner)]
    assert owner_side == [("result", "成果待确认", f"/my/engagements/{eid}")] * 2
    assert [m[0] for m in _mails(app, winner)][-4:] == [
        "engagement",
        "result",
        "result",
        "rating",
    ]
    assert [m[0] for m in _mails(app, owner)] == ["result", "result"]
    assert not [k for k in _kinds(app, loser) if k not in {"新选取需求", "未中选"}]


def test_notify_credit_records_tell_the_provider(app, make_user):
    regulator, account = make_user("regulator", department="STHJ"), make_user("provider")
    _mailable(app, account)
    with app.app_context():
        uscc = factories.active_provider(account=_me(account)).uscc
        db.session.commit()
    content = {
        "kind": "警示通报",
        "title": "台账不规范",
        "facts": "台账缺页。",
        "basis": "有关规定。",
    }
    number = _act(
        app, lambda: credit.draft_record(_me(regulator), provider_uscc=uscc, **content).number
    )
    assert not _inbox(app, account)  # a draft is nobody's business yet
    _act(app, lambda: credit.publish_record(_me(regulator), number))
    revised = _act(
        app,
        lambda: (
            credit.revise_record(
                _me(regulator), number, reason="措辞更正", **{**content, "title": "台账记录不完整"}
            ).number
        ),
    )
    _act(app, lambda: credit.revoke_record(_me(regulator), revised, reason="已整改到位"))

    inbox = _inbox(app, account)
    assert [(t, k, link) for t, k, _m, link in inbox] == [
        ("credit", "信用记录公布", "/my/credit"),
        ("credit", "信用记录修订", "/my/credit"),
        ("credit", "信用记录撤销", "/my/credit"),
    ]
    assert number in inbox[0][2]
    # The last day counts, as the record's page says (含当日; "前" alone read as before it).
    assert "(含当日)前提出" in inbox[0][2]
    assert revised in inbox[1][2]
    assert "措辞更正" in inbox[1][2]
    assert "已整改到位" in inbox[2][2]
    assert [m[0] for m in _mails(app, account)] == ["credit"] * 3


def test_notify_evaluation_period_tells_supervised_providers(app, make_user):
    regulator = make_user("regulator", department="STHJ")
    supervised, elsewhere = make_user("provider"), make_user("provider")
    with app.app_context():
        uscc = factories.active_provider(account=_me(supervised)).uscc
        factories.active_provider(("ZJ-01",), account=_me(elsewhere))
        db.session.commit()
    period = _act(app, lambda: evaluations.open_period(_me(regulator)).id)
    _act(
        app,
        lambda: evaluations.enter_scores(
            _me(regulator),
            period,
            uscc,
            {"technical": 90, "compliance": 80, "effectiveness": 70, "service": 60},
            submit=True,
            submission_key=uuid.uuid4().hex,
        ),
    )
    _act(app, lambda: evaluations.close_period(_me(regulator), period, reason="提前结束测试"))
    _act(app, lambda: evaluations.publish_period(_me(regulator), period))

    inbox = _inbox(app, supervised)
    assert [(t, k, link) for t, k, _m, link in inbox] == [
        ("evaluation", "考评开启", "/my/provider"),
        ("evaluation", "考评公布", f"/providers/{uscc}"),
    ]
    assert "得分" in inbox[1][2]
    assert not _inbox(app, elsewhere)


def test_notify_provider_review_tells_admins_then_the_applicant(app, make_user):
    admin, applicant, second = make_user("admin"), make_user("provider"), make_user("provider")
    _mailable(app, admin)
    with app.app_context():
        ids = []
        for account in (applicant, second):
            provider = factories.active_provider(account=_me(account))
            provider.status = ProviderStatus.DRAFT.value
            ids.append(provider.id)
        db.session.commit()
    for account, ident in zip((applicant, second), ids, strict=True):
        _act(
            app,
            lambda a=account, i=ident: providers.submit_for_review(
                providers.get_provider(i), actor=_me(a), today=clock.today()
            ),
        )
    _act(
        app,
        lambda: providers.approve(
            providers.get_provider(ids[0]), actor=_me(admin), today=clock.today()
        ),
    )
    _act(
        app,
        lambda: providers.return_application(
            providers.get_provider(ids[1]), "营业执照扫描件不清晰。", actor=_me(admin)
        ),
    )

    assert [(t, k, link) for t, k, _m, link in _inbox(app, admin)] == [
        ("review", "入驻申请", f"/admin/providers/{ids[0]}"),
        ("review", "入驻申请", f"/admin/providers/{ids[1]}"),
    ]
    assert [m[0] for m in _mails(app, admin)] == ["review", "review"]
    assert [(t, k, link) for t, k, _m, link in _inbox(app, applicant)] == [
        ("review", "入驻通过", "/my/provider")
    ]
    [(_t, kind, message, _link)] = _inbox(app, second)
    assert kind == "入驻退回"
    # The reason's own full stop is not doubled by the sentence around it.
    assert "退回原因:营业执照扫描件不清晰。请补正后重新提交审核。" in message


def test_notify_roadmap_warnings_mail_the_project_people_once(app, make_user):
    owner, concierge, onlooker = make_user("enterprise"), make_user("staff"), make_user("staff")
    _mailable(app, owner, concierge, onlooker)
    with app.app_context():
        project = factories.enterprise_with_project(_me(owner))
        project.land_contract_date = date(2026, 3, 2)
        project.concierge_id = concierge.id
        roadmaps.create_roadmap(project, actor=_me(owner))
        code = project.code
        db.session.commit()
    first = _act(app, roadmaps.check_deadlines, date(2026, 3, 5), 3)
    again = _act(app, roadmaps.check_deadlines, date(2026, 3, 5), 3)
    raised = first["warning"] + first["overdue"]
    assert raised >= 1
    assert again["warning"] == again["overdue"] == 0

    for person in (owner, concierge):
        mails = _mails(app, person)
        assert [m[0] for m in mails] == ["roadmap"] * raised
        assert f"/projects/{code}/roadmap" in mails[0][2]
        assert not _inbox(app, person)  # the project's own notification is what the site shows
    assert not _mails(app, onlooker)  # staff not serving the project: the site only
    with app.app_context():
        assert roadmaps.unread_count(_me(owner)) == raised


def test_notify_a_moved_date_is_also_mailed(app, make_user, frozen_clock):
    open_year = workdays.package_years()[1] + 1
    frozen_clock.freeze(date(open_year - 1, 12, 29))
    regulator, account = make_user("regulator", department="STHJ"), make_user("provider")
    _mailable(app, account)
    with app.app_context():
        uscc = factories.active_provider(account=_me(account)).uscc
        item = credit.draft_record(
            _me(regulator),
            provider_uscc=uscc,
            kind="警示通报",
            title="测试",
            facts="事实。",
            basis="依据。",
        )
        credit.publish_record(_me(regulator), item.number)
        calendars.save_year(
            "test",
            open_year,
            holidays=[date(open_year, 1, d) for d in range(1, 9)],
            makeups=[],
            title="测试用虚构安排",
            number="测试〔0〕9号",
            notice_date=date(open_year - 1, 11, 1),
        )
        db.session.commit()
    topic, kind, message, link = _inbox(app, account)[-1]
    assert (topic, kind) == ("calendar", "日期调整")
    assert "异议截止日" in message
    assert [m[0] for m in _mails(app, account)] == ["credit", "calendar"]
    assert link in _mails(app, account)[-1][2]


def test_notify_settings_page_shows_topics_and_saves_the_choice(app, client, make_user, login):
    account = make_user("provider")
    login(account)
    page = client.get("/my/notifications/settings").get_data(as_text=True)
    assert "尚未登记邮箱" in page
    for topic in notify.TOPICS.values():
        assert topic.label in page
    assert page.count("同时发送邮件") > len(notify.TOPICS)
    assert 'value="credit" id="mailed-credit" checked' in page

    kept = set(notify.TOPICS) - {"credit", "evaluation"}
    response = post_form(client, "/my/notifications/settings", {"mailed": sorted(kept)})
    assert response.status_code == 302
    with app.app_context():
        chosen = {key: mailed for key, _t, mailed in notify.preferences(_me(account))}
    assert chosen == {key: key in kept for key in notify.TOPICS}
    page = client.get("/my/notifications/settings").get_data(as_text=True)
    assert 'value="credit" id="mailed-credit">' in page
    _mailable(app, account)
    page = client.get("/my/notifications/settings").get_data(as_text=True)
    assert f"{account.username}@example.cn" in page
    assert "已确认" in page


def test_notify_a_notice_and_its_mail_carry_the_moment_they_were_raised(app, make_user):
    """A tester (stop 31): the demo's 信用记录公布 notice read the time of the objection that
    followed (it was inserted by the next flush, whose moment the column default took)."""
    user = make_user("enterprise")
    _mailable(app, user)
    raised = clock.at(date(2026, 12, 1), 10)
    with app.app_context():
        with clock.frozen(raised):
            notify.notify(
                [db.session.get(User, user.id)], "award", "测试消息", link="/", kind="测试"
            )
        with clock.frozen(raised + timedelta(days=3)):
            db.session.commit()  # the INSERTs happen now
        notice = db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == "测试")
        ).one()
        assert notice.created_at == raised
        mail = db.session.scalars(select(MailMessage).where(MailMessage.user_id == user.id)).one()
        assert mail.created_at == raised
