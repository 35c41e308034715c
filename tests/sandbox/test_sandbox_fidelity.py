"""Rules the sandbox follows because Flowglad's own source does (``platform/flowglad-next``).

Each test names the source file whose rule it pins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flask_flowglad.sandbox import Sandbox, SandboxError

from .sandbox_helpers import SHARED_CONTRACT, ApiClient

#: Free plan granting nothing; Pro with analytics, credits and seats; a credit pack. The
#: browser test of Flowglad's own SDKs (tests/fidelity) runs on the same model.
PRICING = Path(__file__).resolve().parents[1] / "fidelity" / "pricing.json"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(PRICING)


@pytest.fixture
def api(sandbox: Sandbox) -> ApiClient:
    return ApiClient(sandbox, SHARED_CONTRACT)


def _free_sub(api: ApiClient) -> str:
    return str(api.create_customer()["subscription"]["id"])


def _pay(api: ApiClient, sandbox: Sandbox, slug: str, **fields: Any) -> dict[str, Any]:
    session = api.checkout(priceSlug=slug, **fields)["checkoutSession"]
    return sandbox.complete_checkout(session["id"])


def test_a_meter_without_grants_or_usage_has_no_balance(api: ApiClient) -> None:
    """db/tableMethods/ledgerEntryMethods.ts: selectUsageMeterBalancesForSubscriptions."""
    sub_id = _free_sub(api)
    billing = api.billing()
    assert billing["currentSubscription"]["experimental"]["usageMeterBalances"] == []
    balances = api.get("/api/v1/customers/user-1/usage-balances").json()
    assert balances == {"usageMeterBalances": []}
    event = {
        "subscriptionId": sub_id,
        "usageMeterSlug": "api_calls",
        "amount": 2,
        "transactionId": "t1",
    }
    assert api.post("/api/v1/usage-events", json={"usageEvent": event}).ok
    [balance] = api.get("/api/v1/customers/user-1/usage-balances").json()["usageMeterBalances"]
    assert (balance["slug"], balance["availableBalance"]) == ("api_calls", -2)


def test_resource_usages_list_only_granted_resources(api: ApiClient, sandbox: Sandbox) -> None:
    """server/routers/resourceClaimsRouter.ts: listResourceUsages."""
    sub_id = _free_sub(api)
    assert api.get(f"/api/v1/resource-claims/{sub_id}/usages").json() == []
    pro = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    usages = api.get(f"/api/v1/resource-claims/{pro['id']}/usages").json()
    assert [(u["usage"]["resourceSlug"], u["usage"]["capacity"]) for u in usages] == [("seats", 3)]


@pytest.mark.parametrize("timing", ["immediately", "at_end_of_current_billing_period"])
def test_the_default_free_plan_cannot_be_cancelled(api: ApiClient, timing: str) -> None:
    """subscriptions/cancelSubscription.ts: the isFreePlan checks of both cancel paths."""
    sub_id = _free_sub(api)
    response = api.post(
        f"/api/v1/subscriptions/{sub_id}/cancel", json={"cancellation": {"timing": timing}}
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Invalid subscription: Cannot cancel the default free plan. "
        "Please upgrade to a paid plan instead."
    )
    assert api.billing()["currentSubscription"]["status"] == "active"


def test_a_paid_subscription_checkout_records_a_subscription_purchase(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """utils/bookkeeping/checkoutSessions.ts: processPurchaseBookkeepingForCheckoutSession."""
    _free_sub(api)
    session = _pay(api, sandbox, "pro_monthly", quantity=2)
    [purchase] = api.billing()["purchases"]
    assert session["purchaseId"] == purchase["id"]
    assert purchase["priceType"] == "subscription"
    assert purchase["status"] == "paid"
    assert (purchase["pricePerBillingCycle"], purchase["intervalUnit"]) == (2000, "month")
    assert (purchase["firstInvoiceValue"], purchase["totalPurchaseValue"]) == (0, None)
    assert purchase["quantity"] == 1
    assert [i["invoice"]["type"] for i in api.billing()["invoices"]] == ["subscription"]


def test_the_newest_card_is_the_default_after_a_second_paid_checkout(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """utils/paymentMethodHelpers.ts: the most recently added payment method is the default."""
    _free_sub(api)
    _pay(api, sandbox, "pro_monthly")
    session = api.checkout(priceSlug="pack")["checkoutSession"]
    sandbox.complete_checkout(session["id"], card_number="5555 5555 5555 4444")
    methods = api.billing()["paymentMethods"]
    assert [(m["paymentMethodData"]["last4"], m["default"]) for m in methods] == [
        ("4242", False),
        ("4444", True),
    ]


def test_billing_lists_records_in_creation_order(api: ApiClient, sandbox: Sandbox) -> None:
    """utils/bookkeeping/customerBilling.ts: the queries behind billing have no ORDER BY."""
    _free_sub(api)
    _pay(api, sandbox, "pro_monthly")
    _pay(api, sandbox, "pack")
    billing = api.billing()
    assert [s["name"] for s in billing["subscriptions"]] == ["Free - Free", "Pro - Monthly"]
    assert [i["invoice"]["type"] for i in billing["invoices"]] == ["subscription", "purchase"]
    assert [p["priceType"] for p in billing["purchases"]] == ["subscription", "single_payment"]
    created = [i["invoice"]["createdAt"] for i in billing["invoices"]]
    assert created == sorted(created)


def test_feature_items_carry_their_product_feature_id(api: ApiClient, sandbox: Sandbox) -> None:
    """subscriptions/subscriptionItemFeatureHelpers.ts: productFeatureId: productFeature?.id."""
    _free_sub(api)
    pro = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    items = pro["experimental"]["featureItems"]
    ids = [f["productFeatureId"] for f in items]
    assert all(i and i.startswith("product_feature_") for i in ids)
    assert len(set(ids)) == len(ids) == 3
    again = sandbox.put_customer_on_plan("user-2", "pro_monthly")["experimental"]
    assert [f["productFeatureId"] for f in again["featureItems"]] == ids


def test_subscription_and_item_names(api: ApiClient, sandbox: Sandbox) -> None:
    """subscriptions/createSubscription/initializers.ts: names of subscriptions and items."""
    _free_sub(api)
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly", quantity=3)
    assert sub["name"] == "Pro - Monthly"
    assert sub["subscriptionItems"][0]["name"] == "Monthly x 3"


def test_members_flowglad_sends_as_null_are_present(api: ApiClient, sandbox: Sandbox) -> None:
    """Flowglad's select schemas send every column, null or not; none is left out."""
    _free_sub(api)
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    toggle = next(f for f in sub["experimental"]["featureItems"] if f["type"] == "toggle")
    for member in ("amount", "usageMeterId", "renewalFrequency", "resourceId", "expiredAt"):
        assert member in toggle and toggle[member] is None
    for member in ("trialEnd", "cancelScheduledAt", "canceledAt", "metadata"):
        assert member in sub and sub[member] is None
    billing = api.billing()
    assert billing["customer"]["billingAddress"] is None
    pro = next(p for p in billing["pricingModel"]["products"] if p["slug"] == "pro")
    analytics = next(f for f in pro["features"] if f["slug"] == "analytics")
    assert [analytics[k] for k in ("amount", "usageMeterId", "renewalFrequency")] == [None] * 3
    pack = next(p for p in billing["pricingModel"]["products"] if p["slug"] == "pack")
    assert pack["prices"][0]["usageMeterId"] is None
    assert pack["prices"][0]["usageEventsPerUnit"] is None
    [line] = billing["invoices"][0]["invoiceLineItems"]
    assert (line["ledgerAccountId"], line["ledgerAccountCredit"]) == (None, None)
    address = billing["paymentMethods"][0]["billingDetails"]["address"]
    assert address["line1"] is None and address["postal_code"] is None


def test_a_one_time_purchase_grants_its_first_credit_feature_once(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """utils/bookkeeping/processPaymentIntentStatusUpdated.ts: ledgerCommandForPaymentSucceeded."""
    sub_id = _free_sub(api)
    _pay(api, sandbox, "pack", quantity=2)
    billing = api.billing()
    [balance] = billing["currentSubscription"]["experimental"]["usageMeterBalances"]
    assert balance["availableBalance"] == 500  # the feature's amount, not times quantity
    assert billing["currentSubscription"]["id"] == sub_id
    features = {f["slug"] for f in billing["currentSubscription"]["experimental"]["featureItems"]}
    assert "analytics" not in features  # toggles belong to subscription items
    sandbox.advance_billing_period(sub_id)
    [balance] = api.billing()["currentSubscription"]["experimental"]["usageMeterBalances"]
    assert balance["availableBalance"] == 500  # never expires


def test_usage_beyond_credits_is_billed_at_the_period_end(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """subscriptions/billingRunHelpers.ts: usage overages become usage invoice lines."""
    _free_sub(api)
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    sandbox.record_usage("user-1", "api_calls", 130)
    sandbox.advance_billing_period(sub["id"])
    invoice = api.billing()["invoices"][-1]
    usage = [line for line in invoice["invoiceLineItems"] if line["type"] == "usage"]
    assert [(line["quantity"], line["price"]) for line in usage] == [(30, 5)]
    assert invoice["invoice"]["subtotal"] == 2000 + 30 * 5


def test_a_paid_plan_that_ends_falls_back_to_the_free_plan(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """subscriptions/cancelSubscription.ts: reassignDefaultSubscription."""
    _free_sub(api)
    _pay(api, sandbox, "pro_monthly")
    pro_id = api.billing()["currentSubscription"]["id"]
    cancel = {"cancellation": {"timing": "at_end_of_current_billing_period"}}
    assert api.post(f"/api/v1/subscriptions/{pro_id}/cancel", json=cancel).ok
    sandbox.advance_billing_period(pro_id)
    current = api.billing()["currentSubscription"]
    assert current["id"] != pro_id
    assert current["name"] == "Free Subscription"
    assert current["isFreePlan"] is True


def test_a_scheduled_adjustment_blocks_a_scheduled_cancel(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """subscriptions/cancelSubscription.ts: scheduleSubscriptionCancellation."""
    _free_sub(api)
    pro = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    down = {
        "adjustment": {
            "timing": "at_end_of_current_billing_period",
            "newSubscriptionItems": [{"priceSlug": "free"}],
        }
    }
    assert api.post(f"/api/v1/subscriptions/{pro['id']}/adjust", json=down).ok
    cancel = {"cancellation": {"timing": "at_end_of_current_billing_period"}}
    refused = api.post(f"/api/v1/subscriptions/{pro['id']}/cancel", json=cancel)
    assert refused.status_code == 400
    assert "scheduled adjustment is pending" in refused.json()["error"]


def test_uncancel_of_a_paid_plan_needs_a_payment_method(api: ApiClient, sandbox: Sandbox) -> None:
    """subscriptions/cancelSubscription.ts: uncancelSubscription's payment method check."""
    api.create_customer()
    created = api.post(
        "/api/v1/subscriptions",
        json={"customerExternalId": "user-1", "priceSlug": "pro_monthly"},
    ).json()["subscription"]
    cancel = {"cancellation": {"timing": "at_end_of_current_billing_period"}}
    assert api.post(f"/api/v1/subscriptions/{created['id']}/cancel", json=cancel).ok
    refused = api.post(f"/api/v1/subscriptions/{created['id']}/uncancel")
    assert refused.status_code == 400
    assert "without an active payment method" in refused.json()["error"]


def test_usage_for_an_unknown_meter_is_a_404(api: ApiClient) -> None:
    """Kept where the OpenAPI is silent: Flowglad's code answers NOT_FOUND."""
    sub_id = _free_sub(api)
    event = {
        "subscriptionId": sub_id,
        "usageMeterSlug": "nope",
        "amount": 1,
        "transactionId": "t1",
    }
    response = api.post("/api/v1/usage-events", json={"usageEvent": event})
    assert response.status_code == 404
    assert set(response.json()) == {"error", "code", "request_id"}


def test_a_paid_subscription_from_the_api_replaces_the_free_plan(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """subscriptions/createSubscription/workflow.ts: free plan ended, customer's card used."""
    free_id = _free_sub(api)
    _pay(api, sandbox, "pack")  # a one-time purchase leaves a card on file
    created = api.post(
        "/api/v1/subscriptions", json={"customerExternalId": "user-1", "priceSlug": "pro_monthly"}
    ).json()["subscription"]
    card = api.billing()["paymentMethods"][0]
    assert created["defaultPaymentMethodId"] == card["id"]
    free = api.get(f"/api/v1/subscriptions/{free_id}").json()["subscription"]
    assert (free["status"], free["cancellationReason"]) == ("canceled", "upgraded_to_paid")
    assert free["replacedBySubscriptionId"] == created["id"]
    assert [s["id"] for s in api.billing()["currentSubscriptions"]] == [created["id"]]


def test_one_current_subscription_per_customer_unless_the_organization_allows_more(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """subscriptions/createSubscription/helpers.ts: verifyCanCreateSubscription."""
    _free_sub(api)
    body = {"customerExternalId": "user-1", "priceSlug": "free"}
    second_free = api.post("/api/v1/subscriptions", json=body)
    assert second_free.status_code == 409
    assert "Only one free subscription is allowed" in second_free.json()["error"]
    sandbox.put_customer_on_plan("user-1", "pro_monthly")
    body = {"customerExternalId": "user-1", "priceSlug": "pro_yearly"}
    second_paid = api.post("/api/v1/subscriptions", json=body)
    assert second_paid.status_code == 409
    assert "already has an active subscription" in second_paid.json()["error"]

    lenient = Sandbox(PRICING, allow_multiple_subscriptions=True)
    lenient.put_customer_on_plan("user-1", "pro_monthly")
    lenient_api = ApiClient(lenient, SHARED_CONTRACT)
    assert lenient_api.post("/api/v1/subscriptions", json=body).ok
    assert len(lenient_api.billing()["currentSubscriptions"]) == 2


def test_the_hosted_checkout_sends_a_paying_customer_back_instead_of_a_second_plan(
    api: ApiClient, sandbox: Sandbox
) -> None:
    """app/checkout/guard.ts: shouldBlockCheckout (and the backend refuses it too)."""
    from flask import Flask

    app = Flask(__name__)
    app.register_blueprint(sandbox.pages_blueprint(), url_prefix="/flowglad-sandbox")
    _free_sub(api)
    _pay(api, sandbox, "pro_monthly")
    second = api.checkout(priceSlug="pro_yearly")["checkoutSession"]
    page = app.test_client().get(f"/flowglad-sandbox/checkout/{second['id']}")
    assert (page.status_code, page.headers["Location"]) == (303, second["successUrl"])
    with pytest.raises(SandboxError) as refused:
        sandbox.complete_checkout(second["id"])
    assert refused.value.status == 409
    one_time = api.checkout(priceSlug="pack")["checkoutSession"]
    assert app.test_client().get(f"/flowglad-sandbox/checkout/{one_time['id']}").status_code == 200


def test_unknown_price_slugs_are_named_as_flowglad_names_them(api: ApiClient) -> None:
    """utils/bookkeeping/createCheckoutSession.ts and server/routers/subscriptionsRouter.ts."""
    api.create_customer()
    body = {
        "checkoutSession": {
            "type": "product",
            "customerExternalId": "user-1",
            "priceSlug": "no-such-price",
            "successUrl": "http://localhost/ok",
            "cancelUrl": "http://localhost/no",
        }
    }
    checkout = api.post("/api/v1/checkout-sessions", json=body)
    assert checkout.status_code == 400
    assert checkout.json()["error"] == (
        'Invalid priceSlug: Price with slug "no-such-price" not found for customer\'s '
        "pricing model"
    )
    sub = {"customerExternalId": "user-1", "priceSlug": "no-such-price"}
    created = api.post("/api/v1/subscriptions", json=sub)
    assert created.status_code == 404
    assert created.json()["error"] == (
        'Price with slug "no-such-price" not found for this customer\'s pricing model'
    )
    usage = api.post(
        "/api/v1/subscriptions", json={"customerExternalId": "user-1", "priceSlug": "api_overage"}
    )
    assert usage.status_code == 400
    assert "is a usage price" in usage.json()["error"]


@pytest.mark.parametrize(
    ("identifier", "status", "message"),
    [
        (
            {"usageMeterSlug": "nope"},
            404,
            "UsageMeter not found: with slug nope (not in customer's pricing model)",
        ),
        (
            {"priceSlug": "nope"},
            404,
            "Price not found: with slug nope (not in customer's pricing model)",
        ),
        ({"priceSlug": "pro_monthly"}, 400, "does not have a usage meter associated with it."),
        ({"usageMeterId": "usage_meter_x"}, 404, "UsageMeter not found: usage_meter_x"),
    ],
)
def test_usage_refusals_are_worded_as_flowglad_words_them(
    api: ApiClient, identifier: dict[str, str], status: int, message: str
) -> None:
    """utils/usage/usageEventHelpers.ts and errors.ts (NotFoundError, ValidationError)."""
    sub_id = _free_sub(api)
    event = {"subscriptionId": sub_id, "amount": 1, "transactionId": "t1", **identifier}
    response = api.post("/api/v1/usage-events", json={"usageEvent": event})
    assert response.status_code == status
    assert message in response.json()["error"]
    missing = {**event, "subscriptionId": "sub_nope"}
    gone = api.post("/api/v1/usage-events", json={"usageEvent": missing})
    assert gone.json()["error"] == "Subscription not found: sub_nope"
