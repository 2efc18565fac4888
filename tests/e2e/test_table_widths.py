"""Wide tables stay readable (issue 16): the roadmap's step table and the staff project and
deadline tables, measured in chromium at a 1366 px laptop and a 375 px phone. At 1366 px no
column is cut (every cell inside its table's visible box, nothing to scroll sideways) and names
are not squeezed; at 375 px the table scrolls sideways inside its own wrapper (the page itself
never does) and names keep their width."""

from __future__ import annotations

from datetime import timedelta

import pytest

from registry.extensions import db
from registry.kernel import clock
from registry.models import Project, User
from registry.services import credit, roadmaps
from tests import factories
from tests.e2e.steps import make_account

pytestmark = pytest.mark.e2e

LAPTOP = {"viewport": {"width": 1366, "height": 768}, "locale": "zh-CN"}
PHONE = {"viewport": {"width": 375, "height": 800}, "locale": "zh-CN"}
# A name cell narrower than this many characters of its own font is "squeezed"; any other cell
# with text, narrower than CELL_CHARS (a tester's phone showed columns one character wide).
NAME_CHARS = 6
CELL_CHARS = 4

# For every table in a .table-wrap: the wrapper's and table's boxes, each cell that sticks out of
# the wrapper's visible box, and the narrowest row-header (name) cell in characters.
MEASURE = """() => [...document.querySelectorAll('.table-wrap')].map(wrap => {
  const box = wrap.getBoundingClientRect();
  const table = wrap.querySelector('table');
  const cells = [...table.querySelectorAll('th, td')];
  const outside = cells.filter(c => {
    const r = c.getBoundingClientRect();
    return r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1);
  }).map(c => c.textContent.trim().slice(0, 20));
  const names = [...table.querySelectorAll('tbody th[scope=row]')].map(th => {
    const size = parseFloat(getComputedStyle(th).fontSize);
    return th.getBoundingClientRect().width / size;
  });
  // Any cell with a few characters of text, in characters of its own font (one character a line
  // is what a phone showed before every cell kept a minimum width).
  const cellsWide = cells.filter(c => c.textContent.trim().length >= 4).map(c => {
    const size = parseFloat(getComputedStyle(c).fontSize);
    return c.getBoundingClientRect().width / size;
  });
  return {
    caption: (table.caption ? table.caption.textContent : '').trim().slice(0, 30),
    narrowestCell: cellsWide.length ? Math.min(...cellsWide) : null,
    scrolls: wrap.scrollWidth > wrap.clientWidth + 1,
    overflowX: getComputedStyle(wrap).overflowX,
    outside: outside,
    narrowest: names.length ? Math.min(...names) : null,
  };
})"""


# Public lists with tables (a credit notice published so that /notices has rows).
PUBLIC_LISTS = ("/notices", "/awards")


def _sign_in(page, base: str, account) -> None:
    """Sign in through the login form (wherever it lands afterwards)."""
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(account.username)
    page.get_by_label("密码").fill(account.password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def late_projects(live_server):
    """Two projects of a real enterprise, one of them months late, a staff account, and a
    published credit notice (its number)."""
    app = live_server.app
    owner = make_account(app, "enterprise")
    staff = make_account(app, "staff")
    regulator = make_account(app, "regulator", "STHJ")
    with app.app_context():
        user = db.session.get(User, owner.id)
        codes = []
        for land in (clock.today() - timedelta(days=200), clock.today() - timedelta(days=20)):
            project = factories.enterprise_with_project(user)
            project.name = "天津滨海高新区精密零部件智能制造厂房新建项目"
            project.land_contract_date = land
            roadmaps.create_roadmap(project, actor=user)
            codes.append(project.code)
        db.session.commit()
        assert db.session.query(Project).count() >= 2
        # A credit notice, so that /notices has rows (its title is the squeezed column), and a
        # blacklisting: its tag (黑名单(至 …)) did not wrap on /providers.
        firm = factories.active_provider(["ZJ-03"], name="天津滨海高新区示例环境咨询有限公司")
        basis = "《建设项目环境影响报告书(表)编制监督管理办法》"
        number = _publish(
            regulator,
            firm,
            "警示通报",
            "环境影响报告表编制质量存在重大缺陷予以警示通报",
            basis + "第二十六条",
        )
        term = clock.today() + timedelta(days=365)
        _publish(regulator, firm, "列入黑名单", "弄虚作假列入黑名单", basis + "第二十七条", term)
        db.session.commit()
    return staff, codes, number


def _publish(regulator, firm, kind: str, title: str, basis: str, term=None) -> str:
    """Draft and publish one credit record about `firm`; its number."""
    user = db.session.get(User, regulator.id)
    draft = credit.draft_record(
        user,
        provider_uscc=firm.uscc,
        kind=kind,
        title=title,
        facts="2026 年 8 月,该机构编制的报告表存在数据错误。",
        basis=basis,
        term_until=term,
    )
    return credit.publish_record(user, draft.number).number


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["1366px", "375px"])
def test_e2e_tables_readable_at_laptop_and_phone_width(live_server, browser, late_projects, size):
    staff, codes, _notice = late_projects
    context = browser.new_context(**size)
    try:
        page = context.new_page()
        _sign_in(page, live_server.url, staff)
        pages = (f"/projects/{codes[0]}/roadmap", "/staff/projects", "/staff/deadlines")
        for path in (*pages, *PUBLIC_LISTS):
            page.goto(live_server.url + path)
            tables = page.evaluate(MEASURE)
            assert tables, path
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= size["viewport"]["width"], f"{path}: the page scrolls sideways"
            for table in tables:
                where = f"{path} {table['caption']}"
                if table["narrowest"] is not None:
                    assert table["narrowest"] >= NAME_CHARS, f"{where}: names squeezed {table}"
                if table["narrowestCell"] is not None:
                    assert table["narrowestCell"] >= CELL_CHARS, f"{where}: squeezed {table}"
                if size is LAPTOP:
                    assert not table["scrolls"], f"{where}: a column is cut at 1366 px"
                    assert table["outside"] == [], f"{where}: cells outside the table's box"
                else:
                    assert table["overflowX"] in ("auto", "scroll"), where
    finally:
        context.close()


def test_e2e_a_printed_notice_keeps_its_footer_readable(live_server, browser, late_projects):
    """A credit notice printed for a file: the footer's source note was the screen's light grey
    (#e0e0e0) on white paper, 1.3:1 (a tester's finding, stop 30). In print it is black."""
    _staff, _codes, notice = late_projects
    context = browser.new_context(**LAPTOP)
    try:
        page = context.new_page()
        page.emulate_media(media="print")
        page.goto(f"{live_server.url}/notices/{notice}")
        colour = page.evaluate("getComputedStyle(document.querySelector('.footer-note')).color")
        assert colour == "rgb(0, 0, 0)"
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/providers", "/notices", "/awards"])
def test_e2e_public_lists_fit_a_phone_with_large_text(live_server, browser, late_projects, path):
    """A phone set to large text (200 %, as Android's largest font does): /providers became
    616 px wide at 375 px, its tags (黑名单(至 2027-12-08)) never wrapping (a tester, stop 30).
    The page itself must not scroll sideways; a table's wrapper may."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(live_server.url + path)
        page.evaluate(
            "document.documentElement.style.setProperty('font-size', '200%', 'important')"
        )
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["viewport"]["width"], f"{path}: {width} px wide"
    finally:
        context.close()
