"""What the browser flows share: making an account, signing in, and checking a page on a phone."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from axe_playwright_python.sync_playwright import Axe
from waitress.server import create_server

from registry.extensions import db
from registry.services import accounts

PHONE = {"viewport": {"width": 375, "height": 800}, "locale": "zh-CN"}


def make_account(app, role: str, department_code: str | None = None):
    """A user with a role, created through the accounts service; .password holds its password."""
    password = accounts.generate_password()
    with app.app_context():
        user = accounts.create_user(
            username=f"{role}-{uuid.uuid4().hex[:8]}",
            password=password,
            role=role,
            department_code=department_code,
            actor_name="e2e",
        )
        db.session.commit()
        return type("Account", (), {"id": user.id, "username": user.username, "password": password})


def assert_accessible(page) -> None:
    """No axe-core WCAG 2.x A/AA violations on the current page."""
    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            # Only violations are read: passes and inapplicable rules come back without their
            # nodes (a page's full results were megabytes of JSON to send back).
            "resultTypes": ["violations"],
        },
    )
    violations = results.response["violations"]
    assert violations == [], "\n".join(
        f"{v['id']}: {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in violations
    )


def assert_fits_phone(page) -> None:
    """No horizontal scrolling of the page at 375 px."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide on a 375px screen"


def checked(page) -> None:
    """No WCAG A/AA violations and no horizontal scrolling at 375 px."""
    assert_accessible(page)
    assert_fits_phone(page)


def sign_in(page, base: str, account) -> None:
    """Sign in through the login form."""
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(account.username)
    page.get_by_label("密码").fill(account.password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/my/pending")


def nav_link(page, name: str, **kwargs):
    """A link of the header menus, opening the folded phone menu (菜单) first."""
    menu = page.locator("details.site-menu")
    if page.locator("summary.menu-button").is_visible() and menu.get_attribute("open") is None:
        page.locator("summary.menu-button").click()
    return page.locator("header").get_by_role("link", name=name, **kwargs)


def flash(page):
    """The flash messages (role=status)."""
    return page.get_by_role("status")


def fact(page, term: str):
    """The <dd> describing a <dt> of a facts list."""
    return page.locator(f"dl div:has(> dt:text-is('{term}')) > dd").first


@contextmanager
def serving(app) -> Iterator[object]:
    """Serve app with Waitress, the server `registry serve` runs, on a free port of 127.0.0.1 until
    the block ends; yields an object with .url and .app.

    Waitress, not Werkzeug's development server: a browser that drops a connection while a static
    file is answered (a favicon's 304) made the development server leave the file to the garbage
    collector, whose ResourceWarning failed whichever test was running (CI at stop 23)."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="registry-e2e")
    stopping = threading.Event()

    def serve() -> None:
        # The loop, and then the closing of its sockets, in this one thread: closing them from
        # another thread while the loop selects on them raced (EBADF in select, CI at 38df7f7).
        while not stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        server.task_dispatcher.shutdown(timeout=5)
        for channel in list(server._map.values()):
            channel.handle_close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield type("Live", (), {"url": f"http://127.0.0.1:{server.effective_port}", "app": app})
    finally:
        stopping.set()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
