"""The protocol against the sandbox: a stateful Flowglad instead of canned answers.

The same routes as test_protocol.py, but each answer comes from billing state that
earlier actions changed, so whole flows (checkout, usage, cancel) are checked end to end
in process, with the upstream calls counted from the sandbox's own record.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from flask_flowglad import Flowglad
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.sandbox.rules import subscriptions

from .support.apps import User, make_app

URL = "/api/flowglad/"
SUCCESS = {"successUrl": "http://localhost/ok", "cancelUrl": "http://localhost/no"}


@pytest.fixture
def app(flowglad_sandbox: Sandbox) -> Flask:
    app = make_app(FLOWGLAD_SANDBOX=flowglad_sandbox, FLOWGLAD_SECRET_KEY=None)
    with pytest.warns(UserWarning, match="simulated"):
        Flowglad(app)
    return app


def post(app: Flask, key: str, body: Any = None, user: str | None = "u1") -> Any:
    client = app.test_client(user=User(user)) if user else app.test_client()
    response = client.post(URL + key, json=body if body is not None else {})
    return response


def data(app: Flask, key: str, body: Any = None, user: str = "u1") -> Any:
    response = post(app, key, body, user)
    assert response.status_code == 200, response.json
    return response.json["data"]


def paths(sandbox: Sandbox) -> list[str]:
    return [f"{call.method} {call.path}" for call in sandbox.calls]


def upgrade_to_pro(app: Flask, sandbox: Sandbox, user: str = "u1") -> str:
    checkout = data(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "pro_monthly"}, user)
    sandbox.complete_checkout(checkout["checkoutSession"]["id"])
    return str(checkout["checkoutSession"]["id"])


def test_first_billing_read_creates_the_customer_on_the_free_plan(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    billing = data(app, "customers/billing")
    assert billing["customer"]["externalId"] == "u1"
    assert billing["customer"]["email"] == "u1@example.com"
    free_price = next(
        price["id"]
        for product in billing["pricingModel"]["products"]
        for price in product["prices"]
        if price["slug"] == "free"
    )
    assert [s["priceId"] for s in billing["currentSubscriptions"]] == [free_price]
    assert paths(flowglad_sandbox) == [
        "GET /api/v1/customers/u1/billing",
        "POST /api/v1/customers",
        "GET /api/v1/customers/u1/billing",
    ]
    flowglad_sandbox.calls.clear()
    data(app, "customers/billing")
    assert paths(flowglad_sandbox) == ["GET /api/v1/customers/u1/billing"]


def test_checkout_on_the_hosted_page_unlocks_the_paid_feature(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    data(app, "customers/billing")
    before = data(app, "features/access")["features"]
    assert "advanced_analytics" not in [f["slug"] for f in before]
    checkout = data(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "pro_monthly"})
    url = urlsplit(checkout["url"])
    assert url.path.startswith("/flowglad-sandbox/")
    # The hosted page is served by the app itself; paying redirects to successUrl.
    page = app.test_client().get(url.path + ("?" + url.query if url.query else ""))
    assert page.status_code == 200 and b"<form" in page.data
    flowglad_sandbox.complete_checkout(checkout["checkoutSession"]["id"])
    after = data(app, "features/access")["features"]
    assert "advanced_analytics" in [f["slug"] for f in after]
    session = data(app, "checkout-sessions/retrieve", {"id": checkout["checkoutSession"]["id"]})
    assert session["checkoutSession"]["status"] == "succeeded"


def test_usage_events_lower_the_balance_and_are_recorded_once(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    start = data(app, "usage-meters/balances")["usageMeterBalances"]
    assert [b["slug"] for b in start] == ["api_calls"]
    event = {"usageMeterSlug": "api_calls", "amount": 3, "transactionId": "t-1"}
    first = data(app, "usage-events/create", event)["usageEvent"]
    again = data(app, "usage-events/create", event)["usageEvent"]
    assert first["id"] == again["id"]
    end = data(app, "usage-meters/balances")["usageMeterBalances"]
    assert end[0]["availableBalance"] == start[0]["availableBalance"] - 3


def test_cancel_then_uncancel(app: Flask, flowglad_sandbox: Sandbox) -> None:
    upgrade_to_pro(app, flowglad_sandbox)
    current = data(app, "subscriptions/list")["currentSubscription"]
    canceled = data(
        app,
        "subscriptions/cancel",
        {"id": current["id"], "cancellation": {"timing": "at_end_of_current_billing_period"}},
    )
    assert canceled["subscription"]["status"] == "cancellation_scheduled"
    restored = data(app, "subscriptions/uncancel", {"id": current["id"]})
    assert restored["subscription"]["status"] == "active"
    # Already active: the reference's no-op, with no upstream write.
    flowglad_sandbox.calls.clear()
    assert (
        data(app, "subscriptions/uncancel", {"id": current["id"]})["subscription"]["status"]
        == "active"
    )
    assert paths(flowglad_sandbox) == ["GET /api/v1/customers/u1/billing"]


def test_another_customers_subscription_is_403_and_nothing_is_written(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    theirs = data(app, "customers/billing", user="u2")["currentSubscriptions"][0]["id"]
    data(app, "customers/billing", user="u1")
    flowglad_sandbox.calls.clear()
    for key, body in [
        ("subscriptions/cancel", {"id": theirs, "cancellation": {"timing": "immediately"}}),
        ("subscriptions/adjust", {"subscriptionId": theirs, "priceSlug": "pro_monthly"}),
        ("usage-events/create", {"subscriptionId": theirs, "usageMeterSlug": "api_calls"}),
        ("resources/claim", {"subscriptionId": theirs, "resourceSlug": "seats", "quantity": 1}),
        (
            "checkout-sessions/create-add-payment-method",
            {**SUCCESS, "targetSubscriptionId": theirs},
        ),
    ]:
        response = post(app, key, body)
        assert response.status_code == 403, (key, response.json)
    assert all(call.method == "GET" for call in flowglad_sandbox.calls)
    assert flowglad_sandbox.billing("u2")["currentSubscriptions"][0]["status"] == "active"


def test_adjust_to_pro_and_list_invoices(app: Flask, flowglad_sandbox: Sandbox) -> None:
    upgrade_to_pro(app, flowglad_sandbox)
    current = data(app, "subscriptions/list")["currentSubscription"]
    flowglad_sandbox.advance_billing_period("u1")
    invoices = data(app, "invoices/list")["invoices"]
    assert invoices and all("invoice" in entry for entry in invoices)
    assert data(app, "invoices/list", {"limit": 1})["invoices"] == invoices[:1]
    adjusted = data(app, "subscriptions/adjust", {"priceSlug": "pro_monthly", "quantity": 2})
    assert adjusted["subscription"]["id"] == current["id"]
    assert adjusted["resolvedTiming"] in ("immediately", "at_end_of_current_billing_period")


def test_one_time_purchase_is_listed(app: Flask, flowglad_sandbox: Sandbox) -> None:
    checkout = data(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "report_pack"})
    flowglad_sandbox.complete_checkout(checkout["checkoutSession"]["id"])
    purchases = data(app, "purchases/list")["purchases"]
    assert [p["priceId"] for p in purchases] == [checkout["checkoutSession"]["priceId"]]
    methods = data(app, "payment-methods/list")
    assert methods["paymentMethods"] and methods["billingPortalUrl"]


def test_resources_claim_and_release_against_capacity(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    usages = data(app, "resources/usages")["resources"]
    assert [u["resourceSlug"] for u in usages] == ["seats"]
    capacity = usages[0]["capacity"]
    claimed = data(app, "resources/claim", {"resourceSlug": "seats", "externalId": "a@x.test"})
    assert claimed["usage"]["claimed"] == 1
    over = post(app, "resources/claim", {"resourceSlug": "seats", "quantity": capacity + 1})
    assert over.status_code == 400 and over.json["error"]["code"] == "claim_resource_failed"
    claims = data(app, "resources/claims", {"resourceSlug": "seats"})["claims"]
    assert [c["externalId"] for c in claims] == ["a@x.test"]
    one = data(app, "resources/usages/retrieve", {"resourceSlug": "seats"})
    assert one["usage"]["claimed"] == 1
    released = data(app, "resources/release", {"resourceSlug": "seats", "externalId": "a@x.test"})
    assert released["usage"]["claimed"] == 0


def test_customer_details_update_and_find_or_create(app: Flask, flowglad_sandbox: Sandbox) -> None:
    found = data(app, "customers/find-or-create")["customer"]
    assert found["externalId"] == "u1"
    updated = data(app, "customers/update", {"customer": {"name": "Renamed"}})
    assert updated["customer"]["name"] == "Renamed"
    details = data(app, "customerDetails")["customer"]
    assert details["name"] == "Renamed"
    assert details["createdAt"].endswith("Z") and details["createdAt"][10] == "T"


def test_subscriptions_create_free_and_refuse_paid(app: Flask, flowglad_sandbox: Sandbox) -> None:
    data(app, "customers/billing")
    refused = post(app, "subscriptions/create", {"priceSlug": "pro_monthly"})
    assert refused.status_code == 402
    # Flowglad allows one free plan per customer: the one the customer started on.
    assert post(app, "subscriptions/create", {"priceSlug": "free"}).status_code == 409
    with flowglad_sandbox.transaction(write=True) as account:
        [free] = account.records.subscriptions
        subscriptions.end(account, free, "customer_request", reassign=False)
    created = data(app, "subscriptions/create", {"priceSlug": "free"})
    assert created["subscription"]["status"] == "active"


def test_pricing_model_anonymous_and_signed_in(app: Flask, flowglad_sandbox: Sandbox) -> None:
    anonymous = app.test_client().post(URL + "pricing-models/retrieve", json={}).json["data"]
    assert anonymous["source"] == "default"
    slugs = {p["slug"] for p in anonymous["pricingModel"]["products"]}
    assert {"free", "pro", "report_pack"} <= slugs
    assert data(app, "pricing-models/retrieve")["source"] == "customer"


def test_logged_out_is_401_and_the_sandbox_sees_nothing(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    response = post(app, "customers/billing", user=None)
    assert response.status_code == 401
    assert flowglad_sandbox.calls == []


def test_outage_and_rate_limit_are_reported_clearly(app: Flask, flowglad_sandbox: Sandbox) -> None:
    data(app, "customers/billing")
    flowglad_sandbox.fail_next(503)
    assert post(app, "customers/billing").status_code == 502
    flowglad_sandbox.fail_next(429, headers={"Retry-After": "2"})
    limited = post(app, "customers/billing")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"


def test_success_url_gets_the_session_id_query_untouched(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    checkout = data(
        app,
        "checkout-sessions/create",
        {**SUCCESS, "successUrl": "http://localhost/ok?x=1", "priceSlug": "pro_monthly"},
    )
    assert parse_qs(urlsplit(checkout["checkoutSession"]["successUrl"]).query) == {"x": ["1"]}


def test_payment_method_and_activation_checkouts(app: Flask, flowglad_sandbox: Sandbox) -> None:
    subscription_id = data(app, "customers/billing")["currentSubscriptions"][0]["id"]
    for key in (
        "checkout-sessions/create-add-payment-method",
        "checkout-sessions/create-activate-subscription",
    ):
        created = data(app, key, {**SUCCESS, "targetSubscriptionId": subscription_id})
        session = created["checkoutSession"]
        assert created["url"] and session["status"] == "open"
        flowglad_sandbox.complete_checkout(session["id"])
        retrieved = data(app, "checkout-sessions/retrieve", {"id": session["id"]})
        assert retrieved["checkoutSession"]["status"] == "succeeded"
    assert data(app, "payment-methods/list")["paymentMethods"]


def test_every_action_is_exercised_against_the_sandbox() -> None:
    import ast
    from pathlib import Path

    from flask_flowglad.protocol.actions import ACTIONS

    source = ast.parse(Path(__file__).read_text())
    used = {
        node.value
        for node in ast.walk(source)
        if isinstance(node, ast.Constant) and node.value in ACTIONS
    }
    assert used == set(ACTIONS)


def test_preview_adjust_shows_the_upgrade_charge_before_it_is_made(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    upgrade_to_pro(app, flowglad_sandbox)
    preview = data(
        app, "subscriptions/preview-adjust", {"priceSlug": "pro_monthly", "quantity": 2}
    )
    assert (preview["canAdjust"], preview["resolvedTiming"]) == (True, "immediately")
    assert preview["prorationAmount"] > 0
    current = data(app, "subscriptions/list")["currentSubscription"]
    assert current["priceId"] == flowglad_sandbox.pricing.price_by_slug("pro_monthly")["id"]


def test_a_scheduled_downgrade_is_undone_from_the_browser(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly", quantity=2)
    nothing = post(app, "subscriptions/cancel-scheduled-adjustment")
    assert nothing.status_code == 409
    assert nothing.json["error"]["code"] == "no_scheduled_adjustment"
    down = data(app, "subscriptions/adjust", {"priceSlug": "pro_monthly", "quantity": 1})
    assert down["resolvedTiming"] == "at_end_of_current_billing_period"
    undone = data(app, "subscriptions/cancel-scheduled-adjustment")
    assert undone["canceledItemCount"] == 1
    current = data(app, "subscriptions/list")["currentSubscription"]
    assert current["scheduledAdjustmentAt"] is None
