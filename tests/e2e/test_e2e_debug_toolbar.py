"""The Flowglad panel of Flask-DebugToolbar, opened in Chromium as a developer opens it: the
page's calls to Flowglad, its feature checks and the billing it read. The screen is kept
in ``test-artifacts/debug-toolbar.png``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
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
            desktop.goto(f"{url}/login")
            assert desktop.get_by_text("Advanced analytics are on.").is_visible()
            desktop.locator("#flDebugFlowgladPanel a").click()
            panel = desktop.locator("#flDebugFlowgladPanel-content")
            panel.wait_for(state="visible")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            desktop.screenshot(path=str(ARTIFACTS / "debug-toolbar.png"))
            calls = panel.locator("table").first
            assert "customers.billing.read" in calls.inner_text()
            assert "/api/v1/customers/ada-lovelace-1815/billing" in calls.inner_text()
            checks = panel.locator("table").nth(1).inner_text()
            assert "advanced_analytics\tgranted" in checks
            assert "sso\trefused" in checks
            assert "Pro" in panel.inner_text()
