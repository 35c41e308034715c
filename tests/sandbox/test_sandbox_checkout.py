"""Checkout sessions and the hosted checkout and portal pages (through Flask's test client)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from flask_flowglad.sandbox import Sandbox, SandboxError
from flask_flowglad.sandbox.rules import checkout

from .sandbox_helpers import ApiClient


def _page_path(url: str) -> str:
    return urlsplit(url).path


def _session_in_app(api: ApiClient, app: Flask, **fields: str) -> dict[str, Any]:
    """Create the session while a request of the user's app is active, like the extension."""
    with app.test_request_context(base_url="http://localhost/"):
        return api.checkout(**fields)


def test_checkout_url_points_at_the_hosted_page_of_the_app(api: ApiClient, app: Flask) -> None:
    api.create_customer()
    data = _session_in_app(api, app, priceSlug="pro_monthly")
    session = data["checkoutSession"]
    assert data["url"] == f"http://localhost/flowglad-sandbox/checkout/{session['id']}"
    assert session["status"] == "open"
    assert session["expires"] > session["createdAt"]


def test_paying_on_hosted_checkout_creates_subscription_and_redirects(
    api: ApiClient, app: Flask, sandbox: Sandbox
) -> None:
    api.create_customer()
    data = _session_in_app(api, app, priceSlug="pro_monthly")
    client = app.test_client()
    page = client.get(_page_path(str(data["url"])))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Pro" in html and "$20.00" in html and "<script" not in html
    assert "http" not in html.split("</style>")[0].split("<style>")[1]  # no external assets
    paid = client.post(
        _page_path(str(data["url"])), data={"card_number": "4242 4242 4242 4242", "name": "Ada"}
    )
    assert paid.status_code == 303
    assert paid.headers["Location"] == "http://localhost/success"
    billing = api.billing()
    current = billing["currentSubscription"]
    assert current["subscriptionItems"][0]["price"]["slug"] == "pro_monthly"
    assert current["defaultPaymentMethodId"] == billing["paymentMethods"][0]["id"]
    assert billing["paymentMethods"][0]["default"] is True
    session = api.get(f"/api/v1/checkout-sessions/{data['checkoutSession']['id']}").json()
    assert session["checkoutSession"]["status"] == "succeeded"


def test_declined_card_keeps_the_session_open(api: ApiClient, app: Flask) -> None:
    api.create_customer()
    data = _session_in_app(api, app, priceSlug="pro_monthly")
    response = app.test_client().post(
        _page_path(str(data["url"])), data={"card_number": "4000 0000 0000 0002"}
    )
    assert response.status_code == 402
    assert "declined" in response.get_data(as_text=True)
    session_id = data["checkoutSession"]["id"]
    assert (
        api.get(f"/api/v1/checkout-sessions/{session_id}").json()["checkoutSession"]["status"]
        == "open"
    )
    assert api.billing()["currentSubscription"]["isFreePlan"] is True


def test_cancel_on_hosted_checkout_goes_to_cancel_url(api: ApiClient, app: Flask) -> None:
    api.create_customer()
    data = _session_in_app(api, app, priceSlug="pro_monthly")
    client = app.test_client()
    page = client.get(_page_path(str(data["url"]))).get_data(as_text=True)
    assert 'href="' + str(data["checkoutSession"]["id"]) + '/cancel"' in page
    response = client.get(_page_path(str(data["url"])) + "/cancel")
    assert response.status_code == 303
    assert response.headers["Location"] == "http://localhost/cancel"


def test_paid_session_cannot_be_paid_twice(api: ApiClient, sandbox: Sandbox) -> None:
    api.create_customer()
    session_id = api.checkout(priceSlug="pro_monthly")["checkoutSession"]["id"]
    sandbox.complete_checkout(session_id)
    with pytest.raises(SandboxError, match="succeeded"):
        sandbox.complete_checkout(session_id)
    assert len(api.billing()["currentSubscriptions"]) == 1


def test_expired_session_cannot_be_paid(api: ApiClient, app: Flask, sandbox: Sandbox) -> None:
    api.create_customer()
    data = _session_in_app(api, app, priceSlug="pro_monthly")
    session_id = str(data["checkoutSession"]["id"])
    sandbox.expire_checkout(session_id)
    response = app.test_client().post(_page_path(str(data["url"])), data={"card_number": "4242"})
    assert response.status_code == 400
    assert (
        api.get(f"/api/v1/checkout-sessions/{session_id}").json()["checkoutSession"]["status"]
        == "expired"
    )


def test_sessions_expire_after_a_day() -> None:
    now = [1_700_000_000_000]
    sandbox = Sandbox(clock=lambda: now[0])
    sandbox.create_customer("u")
    with sandbox.transaction(write=True) as account:
        session = checkout.create_session(
            account,
            {
                "type": "product",
                "customerExternalId": "u",
                "priceSlug": "pro_monthly",
                "successUrl": "http://x/s",
                "cancelUrl": "http://x/c",
            },
        )
    now[0] += 25 * 60 * 60 * 1000
    assert sandbox.checkout_session(session["id"])["status"] == "expired"


def test_one_time_purchase_records_purchase_and_invoice(api: ApiClient, sandbox: Sandbox) -> None:
    api.create_customer()
    data = api.checkout(priceSlug="report_pack", quantity=2)
    session = sandbox.complete_checkout(data["checkoutSession"]["id"])
    billing = api.billing()
    [purchase] = billing["purchases"]
    assert purchase["id"] == session["purchaseId"]
    assert (purchase["status"], purchase["quantity"], purchase["totalPurchaseValue"]) == (
        "paid",
        2,
        9800,
    )
    [invoice] = billing["invoices"]
    assert (invoice["invoice"]["type"], invoice["invoice"]["purchaseId"]) == (
        "purchase",
        purchase["id"],
    )
    assert billing["currentSubscription"]["isFreePlan"] is True


def test_add_payment_method_session_makes_the_new_card_default(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    old_method = sub["defaultPaymentMethodId"]
    data = api.checkout(type="add_payment_method", targetSubscriptionId=sub["id"])
    assert data["checkoutSession"]["priceId"] is None
    sandbox.complete_checkout(data["checkoutSession"]["id"], card_number="5555555555554444")
    billing = api.billing()
    methods = {m["id"]: m for m in billing["paymentMethods"]}
    new = next(m for m in methods.values() if m["default"])
    assert new["id"] != old_method and new["paymentMethodData"]["last4"] == "4444"
    assert methods[old_method]["default"] is False
    assert billing["currentSubscription"]["defaultPaymentMethodId"] == new["id"]


def test_activate_subscription_session_activates_a_past_due_subscription(
    api: ApiClient, sandbox: Sandbox
) -> None:
    api.create_customer()
    body = {"customerExternalId": "user-1", "priceSlug": "pro_monthly"}
    sub = api.post("/api/v1/subscriptions", json=body).json()["subscription"]
    assert sub["status"] == "past_due"
    data = api.checkout(type="activate_subscription", targetSubscriptionId=sub["id"])
    assert data["checkoutSession"]["priceId"] == sub["priceId"]
    sandbox.complete_checkout(data["checkoutSession"]["id"])
    after = sandbox.subscription(sub["id"])
    assert after["status"] == "active" and after["defaultPaymentMethodId"]
    assert {i["invoice"]["status"] for i in sandbox.billing("user-1")["invoices"]} == {"paid"}


def test_activate_someone_elses_subscription_is_400(api: ApiClient) -> None:
    api.create_customer("a")
    other = api.create_customer("b")["subscription"]["id"]
    body = {
        "checkoutSession": {
            "type": "activate_subscription",
            "customerExternalId": "a",
            "targetSubscriptionId": other,
            "successUrl": "http://x/s",
            "cancelUrl": "http://x/c",
        }
    }
    assert api.post("/api/v1/checkout-sessions", json=body).status_code == 400


def test_checkout_for_unknown_customer_fails_like_flowglad(
    api: ApiClient, sandbox: Sandbox
) -> None:
    body = {
        "checkoutSession": {
            "type": "product",
            "customerExternalId": "ghost",
            "successUrl": "http://x/s",
            "cancelUrl": "http://x/c",
        }
    }
    by_slug = api.post(
        "/api/v1/checkout-sessions",
        json={"checkoutSession": {**body["checkoutSession"], "priceSlug": "pro_monthly"}},
    )
    assert by_slug.status_code == 400
    price = sandbox.pricing.price_by_slug("pro_monthly")
    assert price is not None
    by_id = api.post(
        "/api/v1/checkout-sessions",
        json={"checkoutSession": {**body["checkoutSession"], "priceId": price["id"]}},
    )
    assert by_id.status_code == 500
    assert by_id.json()["error"] == "Internal server error"


def test_portal_lists_subscriptions_and_cancels_at_period_end(
    api: ApiClient, app: Flask, sandbox: Sandbox
) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    with app.test_request_context(base_url="http://localhost/"):
        portal_url = api.billing()["billingPortalUrl"]
    client = app.test_client()
    page = client.get(_page_path(portal_url)).get_data(as_text=True)
    assert sub["id"] in page and "Cancel at period end" in page
    assert "4242" in page
    response = client.post(
        _page_path(portal_url) + f"/subscriptions/{sub['id']}/cancel",
        data={"timing": "at_end_of_current_billing_period"},
    )
    assert response.status_code == 303
    assert _page_path(response.headers["Location"]) == _page_path(portal_url)
    assert sandbox.subscription(sub["id"])["status"] == "cancellation_scheduled"
    client.post(_page_path(portal_url) + f"/subscriptions/{sub['id']}/uncancel")
    assert sandbox.subscription(sub["id"])["status"] == "active"


def test_portal_of_unknown_customer_is_404(app: Flask) -> None:
    assert app.test_client().get("/flowglad-sandbox/portal/cust_nope").status_code == 404
    assert app.test_client().get("/flowglad-sandbox/checkout/nope").status_code == 404


def test_pages_follow_the_prefix_they_are_mounted_under(sandbox: Sandbox) -> None:
    app = Flask(__name__)
    app.register_blueprint(sandbox.pages_blueprint(), url_prefix="/billing-sandbox")
    sandbox.create_customer("u")
    with app.test_request_context(base_url="http://shop.test/"):
        assert sandbox.billing("u")["billingPortalUrl"].startswith(
            "http://shop.test/billing-sandbox/portal/"
        )
