"""The oversight dashboard in a real browser: staff open /stats, read the marketplace's figures
and a 待核查线索 signal, and follow the signal to the request behind it; the public sees the
figures without the signals. axe (WCAG A/AA) and the 375 px phone width are checked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import checked, make_account, sign_in
from tests.test_stats import _marketplace

pytestmark = pytest.mark.e2e


def test_e2e_staff_trace_a_signal_to_its_requests(live_server, phone_page):
    base, app = live_server.url, live_server.app
    refs, names, _usccs = _marketplace(app, lambda role: make_account(app, role))
    staff = make_account(app, "staff")

    # The public: the figures, no signals.
    visitor = phone_page()
    visitor.goto(base + "/stats")
    expect(visitor.get_by_role("heading", name="运行监测", exact=True)).to_be_visible()
    methods = visitor.locator("#requests-by-method table")
    expect(methods.get_by_role("row", name="竞价选取")).to_contain_text("87.5%")
    expect(visitor.get_by_text("待核查线索")).to_have_count(0)
    checked(visitor)

    # Staff: the same figures, then the signals with their rules and requests.
    page = phone_page()
    sign_in(page, base, staff)
    page.goto(base + "/stats")
    expect(
        page.locator("#requests-by-method table").get_by_role("row", name="合计")
    ).to_contain_text("12.5%")
    expect(page.get_by_role("heading", name="待核查线索(仅政务办可见)")).to_be_visible()
    pairs = page.locator("#signal-co-bidding")
    expect(pairs).to_contain_text("不少于 3 次")
    row = pairs.get_by_role("row", name=names["A"])
    expect(row).to_contain_text(names["B"])
    checked(page)
    row.get_by_role("link", name=refs[1]).click()
    page.wait_for_url(f"**/requests/{refs[1]}")
    expect(page.get_by_role("heading", name=f"选取公告 {refs[1]}")).to_be_visible()
