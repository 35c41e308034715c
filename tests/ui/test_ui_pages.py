"""The billing pages (``FLOWGLAD_UI``) through Flask's test client, against the sandbox:
what each page shows, what each form does, and what no query string can fake."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cachelib import SimpleCache
from flask import Flask
from jinja2 import DictLoader

from flask_flowglad.sandbox import Sandbox

from ..support.apps import User
from .ui_app import BASE, csrf_of, make_ui_app


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def ui(sandbox: Sandbox) -> Flask:
    app, _ = make_ui_app(sandbox, FLOWGLAD_UI_SIGNUP_ENDPOINT="signup")

    @app.get("/signup")
    def signup() -> str:
        return "sign up here"

    return app


def client(app: Flask, user: str = "u1") -> Any:
    return app.test_client(user=User(user))


def post(browser: Any, path: str, page: str = "/billing/", **form: str) -> Any:
    """Post a kit form as a browser would: the token read from the page first."""
    token = csrf_of(browser.get(page).get_data(as_text=True))
    return browser.post(path, data={"csrf_token": token, **form})


def checkout_id(location: str) -> str:
    found = re.search(r"/checkout/([^/?]+)", location)
    assert found, location
    return found.group(1)


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# -- pricing ---------------------------------------------------------------------------


def test_pricing_for_an_anonymous_visitor_offers_sign_up_keeping_the_plan(ui: Flask) -> None:
    page = text(ui.test_client().get("/billing/pricing"))
    assert "Get started with Pro" in page and "$20.00" in page
    assert "/billing/checkout?price=pro_monthly" in page
    # The plan picked survives sign-up: sent there with next= back to the checkout.
    response = ui.test_client().get("/billing/checkout?price=pro_monthly")
    assert response.status_code == 303
    assert response.location == "/signup?next=/billing/checkout?price%3Dpro_monthly"


def test_yearly_toggle_shows_the_saving_and_yearly_prices(ui: Flask, sandbox: Sandbox) -> None:
    sandbox.create_customer("u1")
    page = text(client(ui).get("/billing/pricing?interval=year"))
    assert '$200.00</span> <span class="fg-muted">a year' in page
    assert "Save $40.00 a year" in page and "save up to 17%" in page
    assert 'data-testid="interval-year" aria-current="page"' in page


def test_pricing_marks_the_current_plan_and_offers_the_right_action(
    ui: Flask, sandbox: Sandbox
) -> None:
    sandbox.create_customer("u1")
    free = text(client(ui).get("/billing/pricing"))
    assert 'data-testid="current-free"' in free
    assert 'data-testid="checkout-pro_monthly"' in free  # the free customer upgrades
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    pro = text(client(ui).get("/billing/pricing"))
    assert 'data-testid="current-pro_monthly"' in pro
    assert 'data-testid="downgrade-free"' in pro  # back to free is a cancellation
    yearly = text(client(ui).get("/billing/pricing?interval=year"))
    assert 'data-testid="change-pro_yearly"' in yearly


# -- checkout and its return ------------------------------------------------------------


def test_checkout_then_return_shows_the_new_plan_at_once(ui: Flask, sandbox: Sandbox) -> None:
    sandbox.create_customer("u1")
    browser = client(ui)
    response = post(browser, "/billing/checkout", "/billing/pricing", price="pro_monthly")
    assert response.status_code == 303
    assert "/flowglad-sandbox/checkout/" in response.location
    sandbox.complete_checkout(checkout_id(response.location))
    back = browser.get("/billing/checkout/return", follow_redirects=True)
    page = text(back)
    assert "Payment received. You are on Pro." in page
    assert 'data-testid="plan-name">Pro<' in page and "Renews on" in page


def test_return_never_says_paid_because_of_the_query_string(ui: Flask, sandbox: Sandbox) -> None:
    sandbox.create_customer("u1")
    browser = client(ui)
    post(browser, "/billing/checkout", "/billing/pricing", price="pro_monthly")
    for query in ("", "?status=succeeded", "?checkout=success&paid=1"):
        page = text(browser.get("/billing/checkout/return" + query))
        assert "Payment not completed" in page and "Payment received" not in page
    # Nobody sent to checkout: the return page is the billing page, no message.
    page = text(
        client(ui, "u2").get("/billing/checkout/return?status=succeeded", follow_redirects=True)
    )
    assert "Payment received" not in page


def test_a_left_checkout_can_be_resumed_from_the_billing_page(ui: Flask, sandbox: Sandbox) -> None:
    sandbox.create_customer("u1")
    browser = client(ui)
    started = post(browser, "/billing/checkout", "/billing/pricing", price="pro_monthly")
    page = text(browser.get("/billing/checkout/return?left=1"))
    assert "You left the payment page: nothing was charged." in page
    assert started.location in page
    assert 'data-testid="pending-checkout"' in text(browser.get("/billing/"))


def test_one_time_purchase_is_listed_with_what_it_granted(ui: Flask, sandbox: Sandbox) -> None:
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    browser = client(ui)
    response = post(browser, "/billing/checkout", price="report_pack")
    sandbox.complete_checkout(checkout_id(response.location))
    page = text(browser.get("/billing/checkout/return", follow_redirects=True))
    assert "Payment received for Report pack." in page
    assert 'data-testid="purchase"> <strong>Report pack</strong>' in page


# -- plan changes -------------------------------------------------------------------------


def test_monthly_to_yearly_goes_through_checkout_and_gets_a_yearly_period(
    ui: Flask, sandbox: Sandbox
) -> None:
    monthly = sandbox.put_customer_on_plan("u1", "pro_monthly")
    browser = client(ui)
    preview = text(browser.get("/billing/change?price=pro_yearly"))
    next_year = datetime.now(timezone.utc) + timedelta(days=365)
    assert "$200.00" in preview and "renews on" in preview
    assert f"{next_year:%b} {next_year.day}, {next_year.year}" in preview.replace("\u00a0", " ")
    assert "is not refunded" in preview
    response = post(
        browser, "/billing/change", "/billing/change?price=pro_yearly", price="pro_yearly"
    )
    assert response.status_code == 303 and "/checkout/" in response.location
    assert sandbox.subscription(monthly["id"])["status"] == "canceled"
    sandbox.complete_checkout(checkout_id(response.location))
    browser.get("/billing/checkout/return")
    with ui.test_request_context():
        billing = Sandbox.billing(sandbox, "u1")
    from flask_flowglad.summary import summarize

    plan = summarize(billing).plan
    assert plan is not None and plan.price is not None
    assert plan.price.slug == "pro_yearly" and plan.interval is not None
    assert plan.interval.unit == "year"
    assert plan.renews_at is not None
    assert plan.renews_at - datetime.now(timezone.utc) > timedelta(days=360)
    page = text(browser.get("/billing/"))
    assert "a year" in page and str(next_year.year) in page


def test_adjusting_to_another_interval_is_refused_with_a_reason(
    ui: Flask, sandbox: Sandbox
) -> None:
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    browser = client(ui)
    adjust = browser.post("/api/flowglad/subscriptions/adjust", json={"priceSlug": "pro_yearly"})
    assert adjust.status_code == 409
    assert adjust.get_json()["error"]["code"] == "interval_change_requires_checkout"
    preview = browser.post(
        "/api/flowglad/subscriptions/preview-adjust", json={"priceSlug": "pro_yearly"}
    ).get_json()["data"]
    assert preview["canAdjust"] is False and "through checkout" in preview["reason"]
    assert not [c for c in sandbox.calls if "adjust" in c.path]


def test_yearly_to_monthly_is_refused_and_nothing_changes(ui: Flask, sandbox: Sandbox) -> None:
    yearly = sandbox.put_customer_on_plan("u1", "pro_yearly")
    browser = client(ui)
    page = text(browser.get("/billing/change?price=pro_monthly"))
    assert 'data-testid="change-refused"' in page and "cannot be shortened" in page
    response = post(browser, "/billing/change", price="pro_monthly")
    assert response.status_code == 303
    assert sandbox.subscription(yearly["id"])["status"] == "active"
    assert "cannot be shortened" in text(browser.get("/billing/"))


def test_cancel_at_the_period_end_after_a_confirmation_then_keep(
    ui: Flask, sandbox: Sandbox
) -> None:
    sub = sandbox.put_customer_on_plan("u1", "pro_monthly")
    browser = client(ui)
    confirm = text(browser.get("/billing/cancel"))
    assert 'value="at_end_of_current_billing_period" checked' in confirm
    post(browser, "/billing/cancel", "/billing/cancel")
    assert sandbox.subscription(sub["id"])["status"] == "cancellation_scheduled"
    page = text(browser.get("/billing/"))
    assert "Ends on" in page and 'data-testid="uncancel"' in page
    post(browser, "/billing/uncancel")
    assert sandbox.subscription(sub["id"])["status"] == "active"
    assert "Renews on" in text(browser.get("/billing/"))


def test_usage_bar_moves_after_usage(ui: Flask, sandbox: Sandbox) -> None:
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    assert "0 of 10,000 used" in text(client(ui).get("/billing/"))
    sandbox.record_usage("u1", "api_calls", 2500)
    page = text(client(ui).get("/billing/"))
    assert "2,500 of 10,000 used" in page and "width: 25%" in page and "resets on" in page


def test_pages_served_from_the_shared_cache_read_the_same(sandbox: Sandbox) -> None:
    # The second read of each page is a sealed cache entry (answered without parsing the
    # whole payload for feature checks): the summary must be read from it all the same.
    app, _ = make_ui_app(sandbox, FLOWGLAD_BILLING_CACHE=SimpleCache())
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    pages = [
        re.sub(r'name="csrf_token" value="[^"]+"', "", text(client(app).get("/billing/")))
        for _ in range(2)
    ]
    assert pages[0] == pages[1]
    assert "Renews on" in pages[1] and "0 of 10,000 used" in pages[1]
    reads = [c for c in sandbox.calls if c.path.endswith("/customers/u1/billing")]
    assert len(reads) == 1


# -- CSRF ----------------------------------------------------------------------------------


def test_a_forged_post_is_refused(ui: Flask, sandbox: Sandbox) -> None:
    sub = sandbox.put_customer_on_plan("u1", "pro_monthly")
    browser = client(ui)
    browser.get("/billing/")
    for data in ({}, {"csrf_token": "forged"}):
        response = browser.post("/billing/cancel", data=data)
        assert response.status_code == 400
    assert sandbox.subscription(sub["id"])["status"] == "active"


def test_with_flask_wtf_the_kit_uses_its_token_and_is_not_exempt(sandbox: Sandbox) -> None:
    from flask_wtf.csrf import CSRFProtect

    app, _ = make_ui_app(sandbox)
    CSRFProtect(app)
    sub = sandbox.put_customer_on_plan("u1", "pro_monthly")
    browser = client(app)
    assert browser.post("/billing/cancel", data={"csrf_token": "forged"}).status_code == 400
    assert sandbox.subscription(sub["id"])["status"] == "active"
    assert post(browser, "/billing/cancel", "/billing/cancel").status_code == 303
    assert sandbox.subscription(sub["id"])["status"] == "cancellation_scheduled"


# -- layout, htmx, overrides --------------------------------------------------------------


def test_pages_extend_the_apps_layout_and_its_block(sandbox: Sandbox) -> None:
    app, _ = make_ui_app(
        sandbox, FLOWGLAD_UI_BASE_TEMPLATE="shop/layout.html", FLOWGLAD_UI_CONTENT_BLOCK="body"
    )
    app.jinja_loader = DictLoader(  # type: ignore[assignment]
        {"shop/layout.html": "<nav>SHOP NAV</nav><div>{% block body %}{% endblock %}</div>"}
    )
    sandbox.create_customer("u1")
    page = text(client(app).get("/billing/"))
    assert page.startswith("<nav>SHOP NAV</nav><div>") and 'id="flowglad-main"' in page


def test_an_apps_template_overrides_the_kits(sandbox: Sandbox) -> None:
    app, _ = make_ui_app(sandbox)
    app.jinja_loader = DictLoader(  # type: ignore[assignment]
        {"base.html": BASE, "flowglad/cancel.html": "our own cancel page for {{ plan.name }}"}
    )
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    assert text(client(app).get("/billing/cancel")) == "our own cancel page for Pro"


def test_htmx_gets_the_page_alone_with_its_messages(ui: Flask, sandbox: Sandbox) -> None:
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    browser = client(ui)
    page = text(browser.get("/billing/", headers={"HX-Request": "true"}))
    assert "<header>" not in page and page.startswith("<title>Billing</title>")
    assert 'id="flowglad-main"' in page and "autofocus" in page
    token = csrf_of(page)
    done = browser.post(
        "/billing/cancel",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
        follow_redirects=True,
    )
    assert 'role="status"' in text(done) and "will end on" in text(done)


def test_htmx_leaving_for_the_hosted_checkout_loads_the_whole_page(
    ui: Flask, sandbox: Sandbox
) -> None:
    sandbox.create_customer("u1")
    browser = client(ui)
    token = csrf_of(text(browser.get("/billing/pricing")))
    response = browser.post(
        "/billing/checkout",
        data={"csrf_token": token, "price": "pro_monthly"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "/flowglad-sandbox/checkout/" in response.headers["HX-Redirect"]


def test_an_outage_renders_in_the_apps_layout(ui: Flask, sandbox: Sandbox) -> None:
    sandbox.create_customer("u1")
    sandbox.fail_next(503, times=10)
    response = client(ui).get("/billing/")
    assert response.status_code == 503
    page = text(response)
    assert "<header>" in page and "Billing is unavailable" in page


def test_billing_unavailable_from_an_apps_view_renders_in_its_layout(
    ui: Flask, sandbox: Sandbox
) -> None:
    from flask_flowglad import feature_required

    @ui.get("/reports")
    @feature_required("advanced_analytics")
    def reports() -> str:
        return "reports"

    sandbox.create_customer("u1")
    sandbox.fail_next(503, times=10)
    response = client(ui).get("/reports")
    assert response.status_code == 503
    assert "<header>" in text(response) and "Billing is unavailable" in text(response)


def test_react_routes_can_be_turned_off(sandbox: Sandbox) -> None:
    app, _ = make_ui_app(sandbox, FLOWGLAD_REACT_ROUTES=False)
    sandbox.create_customer("u1")
    response = client(app).post("/api/flowglad/customers/billing", json={})
    assert response.status_code == 404 and not response.is_json
    assert client(app).get("/billing/").status_code == 200


def test_money_and_dates_follow_flask_babels_locale(sandbox: Sandbox) -> None:
    from flask_babel import Babel

    app, _ = make_ui_app(sandbox)
    Babel(app, locale_selector=lambda: "de_DE")
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    page = client(app).get("/billing/").get_data(as_text=True)
    assert "20,00\u00a0$" in page


def test_filters_format_money_and_dates_in_any_template(ui: Flask) -> None:
    from flask import render_template_string

    from flask_flowglad.summary import Money

    with ui.test_request_context():
        out = render_template_string(
            "{{ money | flowglad_money }} {{ when | flowglad_date }}",
            money=Money(123456, "USD"),
            when=datetime(2027, 1, 7, 12, tzinfo=timezone.utc),
        )
    assert out == "$1,234.56 Jan\u00a07,\u00a02027"
