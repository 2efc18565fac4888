"""A new user, in a real browser on a phone-sized screen, finds 环境影响评价 and reads what it needs."""

from __future__ import annotations

import pytest

from tests.e2e.steps import assert_accessible, assert_fits_phone, nav_link

pytestmark = pytest.mark.e2e

CJK_FONTS = ("WenQuanYi", "Noto Sans CJK", "Noto Serif CJK", "Droid Sans Fallback", "AR PL")


def rendered_fonts(page, selector: str) -> list[str]:
    """The platform fonts chromium actually used to draw the element's text."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [f["familyName"] for f in fonts if f["glyphCount"] > 0]


def test_e2e_home_to_eia_item(live_server, page):
    page.goto(live_server.url + "/")
    assert page.title()
    assert_accessible(page)
    assert_fits_phone(page)
    assert any(name.startswith(CJK_FONTS) for name in rendered_fonts(page, "h1")), rendered_fonts(
        page, "h1"
    )

    nav_link(page, "服务事项清单").click()
    page.wait_for_url("**/services**")
    assert_accessible(page)
    assert_fits_phone(page)

    page.get_by_role("link", name="建设项目环境影响报告书/报告表编制").first.click()
    page.wait_for_url("**/services/ZJ-03")
    body = page.locator("main").inner_text()
    for expected in ("《环境影响评价法》", "市生态环境局", "市场调节价", "12345", "90"):
        assert expected in body, expected
    assert_accessible(page)
    assert_fits_phone(page)


def test_e2e_search_box_finds_eia(live_server, page):
    page.goto(live_server.url + "/")
    box = page.get_by_role("search").first.locator("input[name=q]")
    box.fill("环评")
    box.press("Enter")
    page.wait_for_load_state()
    assert "建设项目环境影响报告书/报告表编制" in page.locator("main").inner_text()
    assert_accessible(page)


@pytest.mark.parametrize(
    "path",
    [
        "/approval-items",
        "/approval-items/SP-05",
        "/departments",
        "/login",
        "/sitemap",
        "/no-such-page",
    ],
)
def test_e2e_other_pages_are_accessible(live_server, page, path):
    page.goto(live_server.url + path)
    assert page.locator("h1").count() == 1
    assert_accessible(page)
    assert_fits_phone(page)
