"""Browser fixtures: a real server on a free port and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import make_app
from tests.e2e.steps import PHONE, serving

# Debian's chromium-headless-shell: the same Blink as the full browser without its windowing
# layer, and what Playwright's own headless mode runs. The 27 browser tests on both databases took
# 72.1 s with it against 108.4 s with the full `chromium` (bench/browser_bench.py). The full
# browser is the fallback; REGISTRY_TEST_BROWSER names another binary.
CHROMIUM = (
    os.environ.get("REGISTRY_TEST_BROWSER")
    or shutil.which("chromium-headless-shell")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(tmp_path, golden):
    """The site served by a real WSGI server on 127.0.0.1, on a copy of the seeded SQLite file."""
    with serving(make_app(golden.sqlite_copy(tmp_path), tmp_path)) as live:
        yield live


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium (its headless shell), started once per test process (each test
    gets its own context, so no cookie or storage carries over); skipped with a reason where it is
    not installed."""
    if CHROMIUM is None:
        pytest.skip(
            "chromium is not installed (apt-get install chromium-headless-shell); .ci/run installs it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def phone_page(browser):
    """Opens pages at phone width (375 px), each in its own browser context (its own cookies, so
    several people can be signed in at once); every context is closed when the test ends."""
    contexts = []

    def open_page():
        contexts.append(browser.new_context(**PHONE))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(phone_page):
    """A fresh browser page at phone width (375 px)."""
    return phone_page()
