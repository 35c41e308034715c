"""The Flowglad panel of Flask-DebugToolbar, opened in Chromium as a developer opens it: the
page's calls to Flowglad, its feature checks and the billing it read, a miss of the shared
billing cache then a hit. The screens are kept in ``test-artifacts/debug-toolbar*.png``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from cachelib import SimpleCache
from flask import redirect, render_template_string
from flask_debugtoolbar import DebugToolbarExtension
from flask_login import login_required, login_user
from werkzeug.wrappers import Response

from flask_flowglad.sandbox import Sandbox

from ..support.servers import serving
from ..support.telemetry import CUSTOMER, User, billed_app
from .e2e_harness import ARTIFACTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PAGE = """<!doctype html><html><head><title>Reports</title></head><body>
<h1>Reports</h1>
{% if has_feature('advanced_analytics') %}<p>Advanced analytics are on.</p>{% endif %}
{% if has_feature('sso') %}<p>Single sign-on</p>{% endif %}
</body></html>"""


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_the_panel_shows_the_pages_calls_checks_and_billing(desktop: Page) -> None:
    sandbox = Sandbox()
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    with serving(sandbox.wsgi_app) as flowglad_url:
        app = billed_app(
            flowglad_url,
            sandbox,
            DEBUG_TB_PANELS=["flask_flowglad.debug_toolbar.FlowgladPanel"],
            DEBUG_TB_INTERCEPT_REDIRECTS=False,
            FLOWGLAD_BILLING_CACHE=SimpleCache(),
        )
        app.debug = True
        DebugToolbarExtension(app)

        @app.get("/login")
        def login() -> Response:
            login_user(User(CUSTOMER))
            return redirect("/reports")

        @app.get("/reports")
        @login_required
        def reports() -> str:
            return render_template_string(PAGE)

        with serving(app) as url:
            desktop.goto(f"{url}/login")  # the billing read from Flowglad: a miss
            assert desktop.get_by_text("Advanced analytics are on.").is_visible()
            calls = _open_panel(desktop, "debug-toolbar.png")
            assert "customers.billing.read\tGET\t" in calls
            assert "/api/v1/customers/ada-lovelace-1815/billing\t200\t" in calls
            assert "\tmiss\t" in calls
            panel = desktop.locator("#flDebugFlowgladPanel-content")
            checks = panel.locator("table").nth(1).inner_text()
            assert "advanced_analytics\tgranted" in checks
            assert "sso\trefused" in checks
            assert "Pro" in panel.inner_text()

            desktop.goto(f"{url}/reports")  # answered by the shared cache: a hit
            calls = _open_panel(desktop, "debug-toolbar-hit.png")
            assert "customers.billing.read\t\t(not sent: the cache answered)\t" in calls
            assert "\thit\t" in calls
            assert "Pro" in desktop.locator("#flDebugFlowgladPanel-content").inner_text()


def _open_panel(page: Page, screenshot: str) -> str:
    """Open the Flowglad panel, keep the screen in ``screenshot``; the calls' table."""
    page.locator("#flDebugFlowgladPanel a").click()
    panel = page.locator("#flDebugFlowgladPanel-content")
    panel.wait_for(state="visible")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot))
    return panel.locator("table").first.inner_text()
