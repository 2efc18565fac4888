"""Award notices that stand up: names with codes, one money format, the draw explained in Chinese
with its inputs, and a 公示期 during which the owner and the bidders object; staff answer, and an
upheld objection withdraws the award (kept, marked 已撤销) so the owner decides again."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    Award,
    AwardObjection,
    AwardWithdrawal,
    Notification,
    User,
)
from registry.pure.money import format_money
from registry.pure.workdays import add_working_days
from registry.services import delivery, market
from registry.services.errors import RegistryError
from tests import factories
from tests.conftest import post_form

AMOUNTS = ("142000", "39950.5", "61000")


def _awarded(app, make_user, *, method: str = "竞价选取") -> dict:
    """A request with three bidders (names known, quotes AMOUNTS) decided after its deadline;
    returns the ids and names the tests need."""
    owner = make_user("enterprise")
    accounts = [make_user("provider") for _ in AMOUNTS]
    with app.app_context():
        user = db.session.get(User, owner.id)
        project = factories.enterprise_with_project(user)
        names = {}
        for number, account in enumerate(accounts):
            provider = factories.active_provider(
                account=db.session.get(User, account.id), name=f"天津第{number}号环评咨询有限公司"
            )
            names[account.username] = (provider.name, provider.uscc)
        ref = market.open_request(
            user,
            project.code,
            service_code="ZJ-03",
            method=method,
            deadline=factories.later(2),
            price_min=Decimal("10000"),
            price_max=Decimal("200000"),
        ).ref
        db.session.commit()
        for account, amount in zip(accounts, AMOUNTS, strict=True):
            market.submit_quote(
                db.session.get(User, account.id),
                ref,
                amount=Decimal(amount),
                submission_key=account.username,
            )
            db.session.commit()
        clock.advance(timedelta(hours=3))
        award = market.decide(user, ref).award
        db.session.commit()
        winner = next(a for a in accounts if names[a.username][1] == award.provider.uscc)
        losers = [a for a in accounts if a is not winner]
        return {
            "award_id": award.id,
            "ref": ref,
            "owner": owner,
            "winner": winner,
            "losers": losers,
            "names": names,
            "enterprise": project.enterprise.name,
            "day": clock.today(),
        }


def _pending_count(page: str, label: str) -> int:
    """The count the landing page (待办事项) shows beside a label (暂无: 0)."""
    row = page.split(label, 1)[1].split("</li>", 1)[0]
    found = re.search(r'class="pending-count"><strong>(\d+)</strong>', row)
    assert found or "暂无" in row, row
    return int(found.group(1)) if found else 0


def test_award_objections_money_has_one_format():
    assert format_money(Decimal("142000")) == "¥142,000.00"
    assert format_money("39950.5") == "¥39,950.50"  # decimal text from stored draw inputs
    assert format_money(Decimal("0.05")) == "¥0.05"
    assert format_money(None) == "—"
    assert format_money(None, "不限") == "不限"


def test_award_objections_notice_reads_in_chinese(app, client, make_user):
    case = _awarded(app, make_user)
    page = client.get(f"/awards/{case['award_id']}").get_data(as_text=True)
    until = add_working_days(case["day"], 3)
    assert "<strong>公示中</strong>" in page
    assert f"至 <strong>{until:%Y-%m-%d}</strong>(3 个工作日" in page
    # The lowest valid quote won, shown in the one money format, with every bidder's name.
    assert "<dt>中选金额</dt><dd>¥39,950.50</dd>" in page
    # The explanation too (it read "最低价 39950.50 元" beside ¥39,950.50).
    assert "有效报价 3 家,最低价 ¥39,950.50" in page
    for name, uscc in case["names"].values():
        assert f"{name}(<code>{uscc}</code>)" in page
    assert "¥142,000.00" in page
    assert "¥61,000.00" in page
    assert "39950.5 元" not in page
    assert "+00:00" not in page
    # The draw in Chinese: the order, the seed's text as hashed, the steps and the re-run link.
    assert "按统一社会信用代码的字符编码升序排列,序号从 0 起" in page
    assert "消除取模偏差" in page
    with app.app_context():
        award = db.session.get(Award, case["award_id"])
        inputs = award.draw_inputs
    seed_text = re.search(r'<code class="wrap" id="seed-text">(.*?)</code>', page).group(1)
    assert inputs["request"] in seed_text
    assert all(c in seed_text for c in inputs["candidates"])
    assert f'href="/awards/{case["award_id"]}/verify"' in page
    listed = client.get("/awards").get_data(as_text=True)
    assert "¥39,950.50" in listed
    assert "公示中" in listed
    verify = client.get(f"/awards/{case['award_id']}/verify").get_data(as_text=True)
    winner_name, winner_uscc = case["names"][case["winner"].username]
    assert f"<dd>{winner_name}(<code>{winner_uscc}</code>)</dd>" in verify


def test_award_objections_bidder_objects_and_staff_reject(app, client, make_user, login):
    case = _awarded(app, make_user)
    award_id, loser = case["award_id"], case["losers"][0]
    staff = make_user("staff")
    login(loser)
    form = client.get(f"/awards/{award_id}/object")
    assert form.status_code == 200
    empty = post_form(client, f"/awards/{award_id}/object", {"reason": " "})
    assert "请填写异议理由。" in empty.get_data(as_text=True)
    filed = post_form(
        client,
        f"/awards/{award_id}/object",
        {"reason": "中选机构的资质证书已过期。", "evidence": "证书编号 Q123,有效期至 2026-11-30"},
    )
    assert filed.status_code == 302
    notice = client.get(f"/awards/{award_id}").get_data(as_text=True)
    loser_name, loser_uscc = case["names"][loser.username]
    assert "<strong>异议处理中</strong>" in notice
    assert f'{loser_name}<br><span class="code muted">{loser_uscc}</span>(报名机构)' in notice
    # The button is not offered again while the party's objection is open.
    assert "本方提出的异议正在处理" in notice
    assert f"/awards/{award_id}/object" not in notice
    again = post_form(client, f"/awards/{award_id}/object", {"reason": "再次提出"})
    assert "您已提出的异议尚在处理中" in again.get_data(as_text=True)
    with app.app_context():
        objection = db.session.scalars(select(AwardObjection)).one()
        objection_id = objection.id
        told = db.session.scalars(
            select(Notification).where(Notification.user_id == staff.id)
        ).all()
        assert any("提出异议" in n.message for n in told)
    # A provider that did not bid may not object.
    stranger = app.test_client()
    login(make_user("provider"), on=stranger)
    assert stranger.get(f"/awards/{award_id}/object").status_code == 403
    client = app.test_client()
    login(staff, on=client)
    pending = client.get("/my/pending").get_data(as_text=True)
    assert "待答复的中选结果异议" in pending
    assert _pending_count(pending, "待答复的中选结果异议") == 1
    queue = client.get("/office/award-objections").get_data(as_text=True)
    assert f"异议 #{objection_id}" in queue
    assert case["ref"] in queue
    url = f"/office/award-objections/{objection_id}"
    missing = post_form(client, url, {"outcome": "", "answer": "理由"})
    assert "请选择处理结论" in missing.get_data(as_text=True)
    rejection = {"outcome": "不成立", "answer": "经核实,证书已于截止前续期。"}
    # The answer is published on the notice for good: a confirmation page first.
    shown = post_form(client, url, rejection).get_data(as_text=True)
    assert f"请确认:答复异议 #{objection_id}" in shown
    assert "不成立的理由" in shown
    assert "确认后答复立即在中选公示上公开" in shown
    assert "中选结果随之撤销" not in shown
    with app.app_context():
        assert db.session.get(AwardObjection, objection_id).outcome is None
    answered = post_form(client, url, {**rejection, "confirmed": "1"})
    assert answered.status_code == 302
    twice = post_form(client, url, {"outcome": "成立", "answer": "改判", "confirmed": "1"})
    assert twice.status_code == 200  # answered: the page shows the answer, no form
    assert "提交答复" not in twice.get_data(as_text=True)
    notice = app.test_client().get(f"/awards/{award_id}").get_data(as_text=True)
    assert "异议不成立" in notice
    assert "经核实,证书已于截止前续期。" in notice
    pending = client.get("/my/pending").get_data(as_text=True)
    assert _pending_count(pending, "待答复的中选结果异议") == 0
    assert "<strong>公示中</strong>" in notice  # still within the 公示期, the award stands
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"award.object", "award.answer"} <= actions
        assert db.session.scalars(select(AwardWithdrawal)).first() is None
        assert db.session.get(AwardObjection, objection_id).outcome == "不成立"


def test_award_objections_upheld_withdraws_and_owner_decides_again(app, make_user, login):
    case = _awarded(app, make_user)
    staff = make_user("staff")
    with app.app_context():
        owner = db.session.get(User, case["owner"].id)
        objection = market.object_to_award(owner, case["award_id"], reason="报价计算有误。")
        assert objection.party == "业主"
        assert objection.party_name == case["enterprise"]
        db.session.commit()
        before = db.session.get(Award, case["award_id"])
        kept = (before.provider_id, before.amount, before.awarded_at)
        market.answer_objection(
            db.session.get(User, staff.id), objection.id, outcome="成立", answer="报价超出区间。"
        )
        db.session.commit()
        award = db.session.get(Award, case["award_id"])
        assert (award.provider_id, award.amount, award.awarded_at) == kept  # never edited
        assert award.withdrawal.reason == "异议成立:报价超出区间。"
        assert award.engagement.status == "已撤销"
        with pytest.raises(RegistryError, match="不能登记签约"):
            delivery.record_contract(owner, award.engagement.id, clock.today())
        db.session.rollback()
        request = market.get_request(case["ref"])
        assert request.status == "报名中"
        assert request.display_status == "报名截止"
        assert request.award is None
        assert any(e.provider_id == award.provider_id for e in request.exclusions)
        assert market.notice_state(award).label == "已撤销"
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"award.withdraw", "selection.reopen", "engagement.withdraw"} <= actions
        # The owner decides again: the next-lowest valid quote, a second round.
        again = market.decide(owner, case["ref"]).award
        db.session.commit()
        assert again.round == 2
        assert again.amount == Decimal("61000.00")
        assert market.get_request(case["ref"]).award.id == again.id
        assert market.notice_state(again).label == "公示中"
        second = again.id
    page = app.test_client().get(f"/awards/{case['award_id']}").get_data(as_text=True)
    assert "已撤销" in page
    assert "异议成立:报价超出区间。" in page
    assert f'href="/awards/{second}">新的中选公示' in page
    # The owner's page marks the withdrawn winner's quote: it no longer counts (a tester, stop 31).
    owner_client = app.test_client()
    login(case["owner"], on=owner_client)
    manage = owner_client.get(f"/my/requests/{case['ref']}").get_data(as_text=True)
    assert manage.count("已回避,不计入") == 1
    items = app.test_client().get("/api/v1/awards").get_json()["items"]
    withdrawn = next(i for i in items if i["id"] == case["award_id"])
    assert withdrawn["withdrawn"]["reason"] == "异议成立:报价超出区间。"
    assert withdrawn["objections"][0]["outcome"] == "成立"
    assert withdrawn["disclosure"]["state"] == "已撤销"
    assert {c["name"] for c in withdrawn["candidates"]} == {n for n, _ in case["names"].values()}
    # Search shows the request's standing award (round 2), not the withdrawn one; the home page
    # marks the withdrawn notice 已撤销.
    found = app.test_client().get(f"/api/v1/search?q={case['ref']}&type=award").get_json()
    assert [i["url"] for i in found["items"]] == [f"{app.config['SITE_URL']}/awards/{second}"]
    home = app.test_client().get("/").get_data(as_text=True)
    assert f'/awards/{case["award_id"]}">' in home
    row = home.split(f'/awards/{case["award_id"]}">', 1)[1].split("</li>", 1)[0]
    assert "已撤销" in row
    with app.app_context():
        reopen = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "selection.reopen")
        ).one()
        assert reopen.before["status"] == "已选定"
    # The oversight dashboard counts the standing award only: one award for the request.
    rows = list(csv.reader(io.StringIO(_text(app, "/stats/award-concentration.csv"))))
    assert [r[1:3] for r in rows if r[0].startswith("ZJ-03")] == [["1", "1"]]
    rows = list(csv.reader(io.StringIO(_text(app, "/stats/price-vs-band.csv"))))
    assert [r[1] for r in rows if r[0].startswith("ZJ-03")] == ["1"]


def _text(app, url: str) -> str:
    response = app.test_client().get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True).lstrip("\ufeff")


@pytest.mark.parametrize("app_config", [{"AWARD_OBJECTION_WORKDAYS": 1}])
def test_award_objections_close_with_the_disclosure_period(app, client, make_user):
    case = _awarded(app, make_user)
    until = add_working_days(case["day"], 1)
    with app.app_context():
        award = db.session.get(Award, case["award_id"])
        assert award.disclosure_workdays == 1
        assert market.notice_state(award).until == until
        clock.freeze(clock.at(until, 23, 0))
        assert market.notice_state(award).open_for_objection  # the last day counts
        clock.freeze(clock.at(until + timedelta(days=1), 9, 0))
        loser = db.session.get(User, case["losers"][0].id)
        with pytest.raises(RegistryError, match=f"公示期已于 {until:%Y-%m-%d} 届满"):
            market.object_to_award(loser, case["award_id"], reason="迟到的异议")
        db.session.rollback()
    page = client.get(f"/awards/{case['award_id']}").get_data(as_text=True)
    assert "<strong>公示期满</strong>" in page
    assert "对中选结果提出异议" not in page


def test_award_objections_are_final_once_answered(app, make_user):
    case = _awarded(app, make_user)
    staff = make_user("staff")
    with app.app_context():
        loser = db.session.get(User, case["losers"][0].id)
        objection = market.object_to_award(loser, case["award_id"], reason="程序有误")
        db.session.commit()
        with pytest.raises(Exception, match="final"):
            db.session.execute(
                text("UPDATE award_objections SET reason = 'x' WHERE id = :id"),
                {"id": objection.id},
            )
        db.session.rollback()
        market.answer_objection(
            db.session.get(User, staff.id), objection.id, outcome="成立", answer="属实"
        )
        db.session.commit()
        with pytest.raises(Exception, match="final"):
            db.session.execute(
                text("UPDATE award_objections SET outcome = '不成立' WHERE id = :id"),
                {"id": objection.id},
            )
        db.session.rollback()
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("DELETE FROM award_withdrawals"))
        db.session.rollback()
        assert db.session.get(AwardObjection, objection.id).outcome == "成立"


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SCORES = {"quality": "90", "timeliness": "80", "attitude": "95", "fee": "70", "conduct": "85"}


def _delivered(app, case) -> int:
    """The owner records the contract and the winner submits its result, at once (both allowed
    during the 公示期, at the owner's risk); returns the engagement id."""
    from werkzeug.datastructures import FileStorage

    with app.app_context():
        owner = db.session.get(User, case["owner"].id)
        engagement = db.session.get(Award, case["award_id"]).engagement
        delivery.record_contract(owner, engagement.id, clock.today())
        db.session.commit()
        delivery.submit_result(
            db.session.get(User, case["winner"].id),
            engagement.id,
            FileStorage(stream=io.BytesIO(PDF), filename="成果.pdf"),
            "",
        )
        db.session.commit()
        return engagement.id


def _object(app, case, account) -> int:
    with app.app_context():
        objection = market.object_to_award(
            db.session.get(User, account.id), case["award_id"], reason="报价计算有误。"
        )
        db.session.commit()
        return objection.id


def _messages(app, account) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Notification.message).where(Notification.user_id == account.id)
            )
        )


def test_award_objections_contested_work_waits_for_the_answer(app, make_user, login):
    """While an objection is open the owner cannot confirm the result (nor rate): both parties are
    told of the objection and their engagement pages say so; once it is rejected the work goes on."""
    case = _awarded(app, make_user)
    staff = make_user("staff")
    engagement_id = _delivered(app, case)
    objection_id = _object(app, case, case["losers"][0])
    for party in (case["owner"], case["winner"]):
        assert any("提出异议" in m and "答复前不能确认服务成果" in m for m in _messages(app, party))
    assert not any("对选取公告" in m for m in _messages(app, case["losers"][0]))
    owner_page = app.test_client()
    login(case["owner"], on=owner_page)
    page = owner_page.get(f"/my/engagements/{engagement_id}").get_data(as_text=True)
    assert "中选结果有异议正在处理" in page
    work_page = app.test_client()
    login(case["winner"], on=work_page)
    assert "中选结果有异议正在处理" in work_page.get(f"/my/work/{engagement_id}").get_data(
        as_text=True
    )
    with app.app_context():
        owner = db.session.get(User, case["owner"].id)
        with pytest.raises(RegistryError, match="答复前不能确认服务成果"):
            delivery.confirm_result(owner, engagement_id)
        db.session.rollback()
        market.answer_objection(
            db.session.get(User, staff.id), objection_id, outcome="不成立", answer="报价无误。"
        )
        db.session.commit()
        assert delivery.confirm_result(owner, engagement_id).status == "已确认"
        db.session.commit()
    page = owner_page.get(f"/my/engagements/{engagement_id}").get_data(as_text=True)
    assert "中选结果有异议正在处理" not in page


def test_award_objections_upheld_after_rating_takes_the_rating_out_of_the_grade(app, make_user):
    """Rated before anyone objected, then withdrawn by an upheld objection: the rating stays
    stored but no longer counts for the grade or the profile's chart, and the profile marks the
    award 已撤销 (it read as a standing win, with the rating counted)."""
    from registry.models import OwnerRating, Provider
    from registry.services.grades.compute import owner_averages

    case = _awarded(app, make_user)
    staff = make_user("staff")
    engagement_id = _delivered(app, case)
    with app.app_context():
        owner = db.session.get(User, case["owner"].id)
        delivery.confirm_result(owner, engagement_id)
        db.session.commit()
        delivery.rate(owner, engagement_id, SCORES, "", version=0)
        db.session.commit()
        provider = db.session.get(Award, case["award_id"]).provider
        day = clock.today()
        assert len(owner_averages(provider.id, day, day)) == 1
        assert len(delivery.provider_ratings(provider)) == 1
        uscc = provider.uscc
    assert "业主评价历史(共 1 次)" in app.test_client().get(f"/providers/{uscc}").get_data(
        as_text=True
    )
    objection_id = _object(app, case, case["losers"][0])
    with app.app_context():
        with pytest.raises(RegistryError, match="答复前不能评价"):
            delivery.rate(
                db.session.get(User, case["owner"].id),
                engagement_id,
                {**SCORES, "fee": "10"},
                "",
                version=1,
            )
        db.session.rollback()
        market.answer_objection(
            db.session.get(User, staff.id), objection_id, outcome="成立", answer="报价超出区间。"
        )
        db.session.commit()
        provider = db.session.scalar(select(Provider).where(Provider.uscc == uscc))
        assert db.session.scalars(select(OwnerRating)).one().quality == 90  # kept as given
        assert owner_averages(provider.id, day, day) == []
        assert delivery.provider_ratings(provider) == []
    profile = app.test_client().get(f"/providers/{uscc}").get_data(as_text=True)
    row = profile.split(f'/awards/{case["award_id"]}">', 1)[1].split("</li>", 1)[0]
    assert "已撤销(异议成立)" in row
    # The profile's rating history and chart leave it out as the grade does; the full list of
    # ratings keeps it, marked.
    assert "业主评价历史(共 1 次)" not in profile
    listed = app.test_client().get(f"/providers/{uscc}/ratings").get_data(as_text=True)
    assert "本评价不计入信用评级" in listed
