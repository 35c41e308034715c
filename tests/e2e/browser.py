"""The browser of the browser tests: Debian's Chromium driven by Playwright, a fresh page per
test, and a failed test's screenshot and console log kept.

Fixtures and a hook, registered by the conftest of each suite that imports them (``e2e`` and
``fidelity``): each suite gets its own browser, closed when the suite ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .e2e_harness import (
    BUILD_FRONTEND,
    BUNDLE,
    CHROMIUM_ARGS,
    INSTALL_CHROMIUM,
    INSTALL_PLAYWRIGHT,
    ConsoleLog,
    find_chromium,
    save_artifacts,
    unavailable,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell that a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# Package scope, not session: Playwright's sync API keeps an event loop running in the
# main thread, which must be gone before the rest of the suite (async views) runs.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(INSTALL_PLAYWRIGHT)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    path = find_chromium()
    if path is None:
        unavailable(INSTALL_CHROMIUM)
    browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def frontend_built() -> None:
    if not BUNDLE.is_file():
        unavailable(BUILD_FRONTEND)


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, frontend_built: None) -> Iterator[Page]:
    """A fresh browser context per test; on failure its screenshot and console are kept."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    console = ConsoleLog()
    console.attach(page)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        save_artifacts(request.node, page, console)
    context.close()
