"""The header menu in chromium: folded behind 菜单 on a phone (375 px), so the header stays short
and the page starts near the top; it opens without JavaScript; at 1366 px every link shows as
before, with no button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import assert_accessible, assert_fits_phone, make_account, sign_in

pytestmark = pytest.mark.e2e

SITE_LINKS = (
    "首页",
    "服务事项清单",
    "审批事项",
    "监管部门",
    "中介机构",
    "选取公告",
    "中选公示",
    "信用公示",
)


def _header_height(page) -> float:
    return page.locator("header.site-header").bounding_box()["height"]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_e2e_header_menu_folds_on_a_phone_and_opens(live_server, browser, javascript):
    context = browser.new_context(
        viewport={"width": 375, "height": 800}, locale="zh-CN", java_script_enabled=javascript
    )
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        # A <summary>: keyboard-operable, announced as an expandable control named 菜单.
        button = page.locator("header summary", has_text="菜单")
        expect(button).to_be_visible()
        header = _header_height(page)
        assert header <= 130, f"the folded header takes {header}px of an 800px phone screen"
        for name in SITE_LINKS:
            expect(page.locator("header").get_by_role("link", name=name)).to_be_hidden()
        if javascript:
            assert_accessible(page)
        assert_fits_phone(page)

        button.click()
        for name in (*SITE_LINKS, "登录", "注册"):
            expect(page.locator("header").get_by_role("link", name=name)).to_be_visible()
        assert _header_height(page) > header
        if javascript:
            assert_accessible(page)
        assert_fits_phone(page)
        page.locator("header").get_by_role("link", name="中选公示").click()
        page.wait_for_url("**/awards")
        expect(button).to_be_visible()
        expect(page.locator("header").get_by_role("link", name="中选公示")).to_be_hidden()
    finally:
        context.close()


def test_e2e_header_menu_shows_every_link_on_a_desktop(live_server, browser):
    account = make_account(live_server.app, "enterprise")
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        page = context.new_page()
        sign_in(page, live_server.url, account)
        expect(page.locator("header summary", has_text="菜单")).to_be_hidden()
        header = page.locator("header")
        for name in (*SITE_LINKS, "我的项目", "服务项目", "待办", "通知"):
            expect(header.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(header.get_by_role("button", name="退出")).to_be_visible()
        # The site links in one row beside the brand, the user's links below, as before.
        tops = {round(header.get_by_role("link", name=n).bounding_box()["y"]) for n in SITE_LINKS}
        assert len(tops) == 1, tops
        assert _header_height(page) <= 160
        assert_accessible(page)
    finally:
        context.close()
