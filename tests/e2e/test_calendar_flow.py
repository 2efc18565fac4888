"""The working-day calendar in a real browser: an admin enters a (SYNTHETIC) arrangement for the
first year the calendar package does not ship, a form error first, then the year; the owner of
a running service sees its due date marked 暂定 before and moved, with a notification, after.
axe (WCAG A/AA) and the 375 px phone width are checked on every page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from registry.kernel import clock
from registry.pure import workdays
from tests.e2e.steps import checked, flash, make_account, sign_in
from tests.test_calendar import _award_in_progress

pytestmark = pytest.mark.e2e

YEAR = workdays.package_years()[1] + 1


def test_e2e_calendar_flow(live_server, phone_page, frozen_clock):
    base, app = live_server.url, live_server.app
    frozen_clock.freeze(date(YEAR - 1, 12, 14))

    def make_user(role: str):
        return make_account(app, role)

    owner, _winner, engagement_id = _award_in_progress(
        app, make_user, contract=date(YEAR - 1, 12, 14), committed_days=20
    )
    provisional_due = workdays.add_working_days(date(YEAR - 1, 12, 14), 20)

    # The owner sees the due date as provisional.
    owner_page = phone_page()
    sign_in(owner_page, base, owner)
    owner_page.goto(f"{base}/my/engagements/{engagement_id}")
    checked(owner_page)
    expect(owner_page.get_by_text("(暂定)").first).to_be_visible()

    # The admin opens the calendar, makes a mistake, then enters the year.
    admin = make_account(app, "admin")
    page = phone_page()
    sign_in(page, base, admin)
    page.goto(base + "/admin/calendar")
    checked(page)
    page.get_by_role("link", name=f"录入 {YEAR} 年安排").click()
    checked(page)
    page.get_by_label("通知标题").fill("测试用虚构安排")
    page.get_by_label("通知文号").fill("测试〔0〕8号")
    page.get_by_label("通知发布日期").fill((clock.today() - timedelta(days=3)).isoformat())
    holidays = [f"{YEAR}-01-01", f"{YEAR}-01-04 至 {YEAR}-01-08"]
    page.get_by_label("放假日期").fill("\n".join(holidays))
    weekday = date(YEAR, 1, 13)
    while weekday.weekday() >= 5:
        weekday += timedelta(days=1)
    page.get_by_label("调休上班日期").fill(weekday.isoformat())
    page.get_by_role("button", name="保存并重新计算相关日期").click()
    expect(page.get_by_text("调休上班日须为周六或周日").first).to_be_visible()
    checked(page)
    page.get_by_label("调休上班日期").fill("")
    page.get_by_role("button", name="保存并重新计算相关日期").click()
    # A made-up arrangement without most statutory days: named before it is saved.
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"请确认:保存 {YEAR} 年放假安排")
    expect(page.get_by_role("main")).to_contain_text("以下法定节假日将成为工作日")
    checked(page)
    page.get_by_role("button", name="确认保存").click()
    expect(flash(page)).to_contain_text(f"已保存 {YEAR} 年放假安排")
    expect(page.get_by_role("row", name=str(YEAR))).to_contain_text("官方安排(已录入)")

    # The owner's due date moved (no longer provisional) and they were told old → new.
    moved = workdays.add_working_days(date(YEAR - 1, 12, 14), 20)
    assert moved > provisional_due
    owner_page.goto(f"{base}/my/engagements/{engagement_id}")
    expect(owner_page.get_by_text(moved.isoformat()).first).to_be_visible()
    owner_page.goto(base + "/my/notifications")
    checked(owner_page)
    expect(
        owner_page.get_by_text(f"{provisional_due.isoformat()} → {moved.isoformat()}")
    ).to_be_visible()
