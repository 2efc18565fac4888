"""An award notice that stands up, in a real browser on a phone-sized screen: a losing bidder
reads the notice in Chinese (names with codes, Beijing time, the 公示期 and the draw explained),
files an objection through the form, 政务办 staff answer it from their queue (异议成立), and the
notice then reads 已撤销 with the answer, while the request returns to the owner's decision.

The award itself is made through the services (the bidding is tested in test_marketplace_flow);
everything the bidder and the staff member do goes through the pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from registry.pure.workdays import add_working_days
from tests.e2e.steps import checked, fact, flash, make_account, sign_in
from tests.test_award_objections import _awarded

pytestmark = pytest.mark.e2e


def test_e2e_award_objection_flow(live_server, phone_page):
    base, app = live_server.url, live_server.app
    case = _awarded(app, lambda role: make_account(app, role))
    staff = make_account(app, "staff")
    award_url = f"{base}/awards/{case['award_id']}"
    loser = case["losers"][0]
    loser_name, loser_uscc = case["names"][loser.username]
    winner_name, winner_uscc = case["names"][case["winner"].username]
    day = case["day"]
    until = add_working_days(day, 3)

    # The bidder reads the notice: names with codes, Beijing time, money, the 公示期.
    bidder = phone_page()
    sign_in(bidder, base, loser)
    bidder.goto(award_url)
    expect(bidder.get_by_role("heading", level=1)).to_have_text("中选公示")
    expect(fact(bidder, "中选机构")).to_have_text(f"{winner_name}({winner_uscc})")
    expect(fact(bidder, "中选金额")).to_have_text("¥39,950.50")
    expect(fact(bidder, "确定时间")).to_contain_text(f"{day:%Y-%m-%d}")
    expect(fact(bidder, "确定时间")).to_contain_text("北京时间")
    expect(fact(bidder, "公示期")).to_contain_text(f"至 {until:%Y-%m-%d}")
    expect(fact(bidder, "公示状态")).to_contain_text("公示中")
    candidates = bidder.locator("#candidates")
    expect(candidates).to_contain_text(f"{loser_name}({loser_uscc})")
    expect(bidder.get_by_role("main")).to_contain_text("消除取模偏差")
    checked(bidder)

    # The objection: an empty reason is refused in Chinese, then filed.
    bidder.get_by_role("link", name="对中选结果提出异议").click()
    bidder.wait_for_url("**/object")
    checked(bidder)
    bidder.get_by_role("button", name="提交异议").click()
    expect(bidder.get_by_role("main")).to_contain_text("请填写异议理由。")
    bidder.get_by_label("异议理由").fill("中选机构报价低于成本,且资质证书已过期。")
    bidder.get_by_label("证据说明(可选)").fill("资质证书编号 Q-2024-001,有效期至 2026-11-30")
    bidder.get_by_role("button", name="提交异议").click()
    bidder.wait_for_url(award_url)
    expect(flash(bidder)).to_contain_text("异议已提交")
    expect(fact(bidder, "公示状态")).to_contain_text("异议处理中")
    expect(bidder.get_by_role("table", name="异议")).to_contain_text(loser_name)

    # Staff answer it from their queue: 成立, with reasons.
    office = phone_page()
    sign_in(office, base, staff)
    office.goto(base + "/office/award-objections")
    checked(office)
    office.get_by_role("link", name="异议 #").first.click()
    office.wait_for_url("**/office/award-objections/*")
    expect(office.get_by_role("main")).to_contain_text("中选机构报价低于成本")
    checked(office)
    office.get_by_label("处理结论").select_option("成立")
    office.get_by_label("答复意见").fill("经核实,中选机构资质证书已于截止前过期。")
    office.get_by_role("button", name="提交答复").click()
    # A confirmation page first: 成立 withdraws the award, and the answer cannot be changed.
    expect(office.get_by_role("heading", level=1)).to_contain_text("请确认:答复异议")
    expect(office.get_by_role("alert")).to_contain_text("中选结果随之撤销")
    checked(office)
    office.get_by_role("button", name="确认答复").click()
    expect(flash(office)).to_contain_text("已答复")

    # The bidder sees the answer on the notice, and the award withdrawn.
    bidder.goto(award_url)
    expect(fact(bidder, "公示状态")).to_contain_text("已撤销")
    expect(bidder.locator("#withdrawn")).to_contain_text(
        "异议成立:经核实,中选机构资质证书已于截止前过期。"
    )
    expect(bidder.get_by_role("table", name="异议")).to_contain_text("异议成立")
    checked(bidder)
    bidder.goto(f"{base}/requests/{case['ref']}")
    expect(fact(bidder, "状态")).to_have_text("报名截止")
    expect(bidder.get_by_role("main")).to_contain_text("已撤销的中选结果")
