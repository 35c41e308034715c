"""The billing payload (``GET /customers/{externalId}/billing``) computed from state, with the
status rules of ``docs/protocol.md`` §7.6."""

from __future__ import annotations

import itertools

from flask import Flask

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import SHARED_CONTRACT, ApiClient


def _toggles(subscription: dict[str, object]) -> set[str]:
    experimental = subscription["experimental"]
    assert isinstance(experimental, dict)
    return {f["slug"] for f in experimental["featureItems"] if f["type"] == "toggle"}


def test_free_plan_has_credits_and_no_paid_feature(api: ApiClient) -> None:
    api.create_customer()
    billing = api.billing()
    current = billing["currentSubscription"]
    assert [s["id"] for s in billing["currentSubscriptions"]] == [current["id"]]
    assert "advanced_analytics" not in _toggles(current)
    balances = {b["slug"]: b for b in current["experimental"]["usageMeterBalances"]}
    assert balances["api_calls"]["availableBalance"] == 100
    assert current["subscriptionItems"][0]["price"]["slug"] == "free"


def test_paid_plan_replaces_free_plan_which_stops_being_current(
    api: ApiClient, sandbox: Sandbox
) -> None:
    free_id = api.create_customer()["subscription"]["id"]
    session = api.checkout(priceSlug="pro_monthly")
    sandbox.complete_checkout(session["checkoutSession"]["id"])
    billing = api.billing()
    by_id = {s["id"]: s for s in billing["subscriptions"]}
    assert by_id[free_id]["status"] == "canceled"
    assert by_id[free_id]["cancellationReason"] == "upgraded_to_paid"
    assert by_id[free_id]["current"] is False
    assert [s["id"] for s in billing["currentSubscriptions"]] == [
        billing["currentSubscription"]["id"]
    ]
    assert by_id[free_id]["replacedBySubscriptionId"] == billing["currentSubscription"]["id"]
    assert "advanced_analytics" in _toggles(billing["currentSubscription"])


def test_current_subscription_is_the_most_recently_created_current_one() -> None:
    api = ApiClient(Sandbox(allow_multiple_subscriptions=True), SHARED_CONTRACT)
    api.create_customer()
    for slug in ("pro_yearly", "pro_monthly"):
        body = {"customerExternalId": "user-1", "priceSlug": slug}
        assert api.post("/api/v1/subscriptions", json=body).ok
    billing = api.billing()
    # The first paid plan ended the free one (upgraded_to_paid); both paid plans are current.
    assert len(billing["currentSubscriptions"]) == 2
    newest = max(billing["currentSubscriptions"], key=lambda s: s["createdAt"])
    assert billing["currentSubscription"]["id"] == newest["id"]
    assert billing["currentSubscription"]["subscriptionItems"][0]["price"]["slug"] == (
        "pro_monthly"
    )


def test_without_current_subscription_the_member_is_absent() -> None:
    # A pricing model without a default plan: nothing to fall back to after a cancel.
    model = {"products": [{"slug": "pro", "prices": [{"slug": "pro", "unitPrice": 900}]}]}
    sandbox = Sandbox(model)
    api = ApiClient(sandbox, SHARED_CONTRACT)
    assert "subscription" not in api.create_customer()
    sub_id = sandbox.put_customer_on_plan("user-1", "pro")["id"]
    cancel = {"cancellation": {"timing": "immediately"}}
    assert api.post(f"/api/v1/subscriptions/{sub_id}/cancel", json=cancel).ok
    billing = api.billing()
    assert "currentSubscription" not in billing
    assert billing["currentSubscriptions"] == []
    assert [s["status"] for s in billing["subscriptions"]] == ["canceled"]


def test_catalog_and_pricing_model_are_the_default_pricing_model(api: ApiClient) -> None:
    api.create_customer()
    billing = api.billing()
    default = api.get("/api/v1/pricing-models/default").json()["pricingModel"]
    assert billing["pricingModel"] == billing["catalog"] == default
    assert billing["customer"]["pricingModelId"] == default["id"]


def test_billing_portal_url_uses_the_current_request_host(
    api: ApiClient, sandbox: Sandbox, app: Flask
) -> None:
    customer_id = api.create_customer()["customer"]["id"]
    assert api.billing()["billingPortalUrl"] == (
        f"http://flowglad.sandbox/flowglad-sandbox/portal/{customer_id}"
    )
    with app.test_request_context(base_url="https://shop.example.com/"):
        assert api.billing()["billingPortalUrl"] == (
            f"https://shop.example.com/flowglad-sandbox/portal/{customer_id}"
        )


def test_explicit_pages_url_wins() -> None:
    sandbox = Sandbox(pages_url="http://127.0.0.1:9000/flowglad-sandbox/")
    customer_id = sandbox.create_customer("u")["id"]
    assert sandbox.billing("u")["billingPortalUrl"] == (
        f"http://127.0.0.1:9000/flowglad-sandbox/portal/{customer_id}"
    )


def test_invoices_are_created_for_paid_periods_only(api: ApiClient, sandbox: Sandbox) -> None:
    api.create_customer()
    sandbox.advance_billing_period("user-1")
    assert api.billing()["invoices"] == []
    sandbox.put_customer_on_plan("user-1", "pro_monthly")
    sandbox.advance_billing_period("user-1")
    invoices = api.billing()["invoices"]
    assert [i["invoice"]["status"] for i in invoices] == ["paid", "paid"]
    assert {i["invoice"]["subtotal"] for i in invoices} == {2000}
    numbers = [i["invoice"]["invoiceNumber"] for i in invoices]
    assert len(set(numbers)) == 2
    lines = list(itertools.chain.from_iterable(i["invoiceLineItems"] for i in invoices))
    assert {line["price"] for line in lines} == {2000}
