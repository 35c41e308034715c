"""The Flask-DebugToolbar panel on a server-rendered page: the request's Flowglad calls,
the billing it read, the feature checks with their answers."""

from __future__ import annotations

import re
from typing import Any

from cachelib import SimpleCache
from flask import Flask, render_template_string
from flask_debugtoolbar import DebugToolbarExtension
from flask_login import login_required

from flask_flowglad import current_billing
from flask_flowglad.sandbox import Sandbox

from ..support.telemetry import CUSTOMER, User, billed_app

PAGE = """<!doctype html><html><body>
<h1>Reports</h1>
{% if has_feature('advanced_analytics') %}<p>Advanced analytics</p>{% endif %}
{% if has_feature('free_seats') %}<p>Free seats</p>{% endif %}
</body></html>"""
PANEL = "flask_flowglad.debug_toolbar.FlowgladPanel"


def toolbar_app(flowglad_url: str, sandbox: Sandbox, **config: Any) -> Flask:
    app = billed_app(
        flowglad_url,
        sandbox,
        DEBUG_TB_PANELS=[PANEL],
        DEBUG_TB_INTERCEPT_REDIRECTS=False,
        **config,
    )
    app.debug = True
    DebugToolbarExtension(app)

    @app.get("/reports")
    @login_required
    def reports() -> str:
        return render_template_string(PAGE)

    @app.get("/quiet")
    def quiet() -> str:
        return "<!doctype html><html><body>nothing billed</body></html>"

    @app.get("/api/usage")
    @login_required
    def api_usage() -> dict[str, bool]:
        return {"pro": current_billing.check_feature_access("advanced_analytics")}

    return app


def _panel(html: str) -> str:
    match = re.search(r'id="flDebugFlowgladPanel-content".*?</div>\s*</div>', html, re.S)
    assert match is not None, "the panel is not on the page"
    return match.group(0)


def test_the_panel_lists_the_calls_the_billing_and_the_feature_checks(
    sandbox: Sandbox, flowglad_url: str
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    app = toolbar_app(flowglad_url, sandbox)
    with app.test_client(user=User(CUSTOMER)) as client:
        html = client.get("/reports").get_data(as_text=True)

    assert "Advanced analytics" in html and "Free seats" not in html
    panel = _panel(html)
    assert "customers.billing.read" in panel
    assert "/api/v1/customers/ada-lovelace-1815/billing" in panel  # in clear: development only
    assert re.search(r"<td>200</td>", panel)
    assert "advanced_analytics</td>\n      <td>granted" in panel
    assert "free_seats</td>\n      <td>refused" in panel
    telemetry = app.extensions["flowglad"].client.telemetry
    assert telemetry.customer_hash(CUSTOMER) in panel
    assert "Pro" in panel and "active" in panel  # the current subscription
    assert "1 call in" in html  # the toolbar's subtitle


def test_a_call_made_by_the_shared_caches_miss_shows_the_miss(
    sandbox: Sandbox, flowglad_url: str
) -> None:
    """The cache's answer comes after the call it made: the call's row still shows it."""
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    app = toolbar_app(flowglad_url, sandbox, FLOWGLAD_BILLING_CACHE=SimpleCache())
    with app.test_client(user=User(CUSTOMER)) as client:
        miss = _panel(client.get("/reports").get_data(as_text=True))
        hit = _panel(client.get("/reports").get_data(as_text=True))

    assert re.search(r"<td>GET</td>\s*<td>/api/v1/customers/[^<]+/billing</td>", miss)
    assert "<td>miss</td>" in miss
    assert "(not sent: the cache answered)" not in miss
    assert "(not sent: the cache answered)" in hit
    assert "<td>hit</td>" in hit


def test_a_page_that_bills_nothing_says_so_and_records_stop_with_the_request(
    sandbox: Sandbox, flowglad_url: str
) -> None:
    from flask_flowglad.telemetry import current_recording

    app = toolbar_app(flowglad_url, sandbox)
    with app.test_client() as client:
        html = client.get("/quiet").get_data(as_text=True)
        assert current_recording() is None

    panel = _panel(html)
    assert "This request made no call to Flowglad." in panel
    assert "No feature was checked." in panel
    assert "No customer&#39;s billing was read." in panel or "No customer's billing" in panel
