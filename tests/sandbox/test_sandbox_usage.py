"""Usage events: balances, credit resets, de-duplication by transactionId."""

from __future__ import annotations

from typing import Any

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import ApiClient


def _event(sub_id: str, txn: str, amount: int = 1, **identifier: str) -> dict[str, Any]:
    return {
        "usageEvent": {
            "subscriptionId": sub_id,
            "amount": amount,
            "transactionId": txn,
            **(identifier or {"usageMeterSlug": "api_calls"}),
        }
    }


def _balance(api: ApiClient, external_id: str = "user-1") -> int:
    response = api.get(f"/api/v1/customers/{external_id}/usage-balances")
    [balance] = response.json()["usageMeterBalances"]
    value: int = balance["availableBalance"]
    return value


def test_usage_lowers_the_balance_and_a_new_period_resets_the_credits(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub_id = api.create_customer()["subscription"]["id"]
    api.post("/api/v1/usage-events", json=_event(sub_id, "t1", 30))
    api.post("/api/v1/usage-events", json=_event(sub_id, "t2", 80))
    assert _balance(api) == -10
    current = api.billing()["currentSubscription"]
    assert current["experimental"]["usageMeterBalances"][0]["availableBalance"] == -10
    sandbox.advance_billing_period("user-1")
    assert _balance(api) == 100


def test_usage_event_with_same_transaction_id_is_recorded_once(api: ApiClient) -> None:
    sub_id = api.create_customer()["subscription"]["id"]
    first = api.post("/api/v1/usage-events", json=_event(sub_id, "txn-42", 5)).json()
    again = api.post("/api/v1/usage-events", json=_event(sub_id, "txn-42", 5)).json()
    assert again == first
    assert _balance(api) == 95


def test_same_transaction_id_for_another_subscription_is_409(
    api: ApiClient, sandbox: Sandbox
) -> None:
    first = api.create_customer("a")["subscription"]["id"]
    second = api.create_customer("b")["subscription"]["id"]
    api.post("/api/v1/usage-events", json=_event(first, "shared"))
    response = api.post("/api/v1/usage-events", json=_event(second, "shared"))
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT"


def test_event_records_meter_price_and_billing_period(api: ApiClient, sandbox: Sandbox) -> None:
    sub_id = api.create_customer()["subscription"]["id"]
    event = api.post(
        "/api/v1/usage-events", json=_event(sub_id, "t", 2, priceSlug="api_call_overage")
    ).json()["usageEvent"]
    meter = sandbox.pricing.meter_by_slug("api_calls")
    price = sandbox.pricing.price_by_slug("api_call_overage")
    assert meter is not None and price is not None
    assert (event["usageMeterId"], event["priceId"]) == (meter["id"], price["id"])
    assert event["billingPeriodId"] and event["usageDate"] >= event["createdAt"] - 1


def test_two_identifiers_or_zero_amount_are_400(api: ApiClient) -> None:
    sub_id = api.create_customer()["subscription"]["id"]
    both = _event(sub_id, "t", 1, usageMeterSlug="api_calls", priceSlug="api_call_overage")
    assert api.post("/api/v1/usage-events", json=both).status_code == 400
    assert api.post("/api/v1/usage-events", json=_event(sub_id, "t", 0)).status_code == 400


def test_usage_on_unknown_or_canceled_subscription_is_refused(
    api: ApiClient, sandbox: Sandbox
) -> None:
    api.create_customer()
    sub_id = sandbox.put_customer_on_plan("user-1", "pro_monthly")["id"]
    assert api.post("/api/v1/usage-events", json=_event("sub_nope", "t")).status_code == 404
    api.post(
        f"/api/v1/subscriptions/{sub_id}/cancel", json={"cancellation": {"timing": "immediately"}}
    )
    assert api.post("/api/v1/usage-events", json=_event(sub_id, "t")).status_code == 400


def test_bulk_usage_events_are_all_or_nothing(api: ApiClient) -> None:
    sub_id = api.create_customer()["subscription"]["id"]
    good = _event(sub_id, "b1", 10)["usageEvent"]
    bad = _event(sub_id, "b2", 10, usageMeterSlug="unknown")["usageEvent"]
    response = api.post("/api/v1/usage-events/bulk", json={"usageEvents": [good, bad]})
    assert response.status_code == 404
    assert _balance(api) == 100
    ok = api.post("/api/v1/usage-events/bulk", json={"usageEvents": [good, {**good}]})
    events = ok.json()["usageEvents"]
    assert len(events) == 2 and events[0]["id"] == events[1]["id"]
    assert _balance(api) == 90


def test_balances_for_a_foreign_subscription_are_404(api: ApiClient) -> None:
    api.create_customer("a")
    other = api.create_customer("b")["subscription"]["id"]
    response = api.get("/api/v1/customers/a/usage-balances", params={"subscriptionId": other})
    assert response.status_code == 404


def test_count_distinct_properties_meter_counts_each_property_set_once() -> None:
    pricing = {
        "usageMeters": [
            {
                "slug": "active_users",
                "aggregationType": "count_distinct_properties",
                "prices": [{"slug": "per_user", "unitPrice": 100}],
            }
        ],
        "products": [
            {"slug": "base", "default": True, "prices": [{"slug": "base", "unitPrice": 0}]}
        ],
    }
    sandbox = Sandbox(pricing)
    sandbox.create_customer("u")
    for user in ("ann", "bob", "ann"):
        sandbox.record_usage("u", "active_users", properties={"user": user})
    [balance] = sandbox.billing("u")["currentSubscription"]["experimental"]["usageMeterBalances"]
    assert balance["availableBalance"] == -2


def test_record_usage_helper_uses_the_current_subscription(sandbox: Sandbox) -> None:
    sandbox.put_customer_on_plan("user-1", "pro_monthly")
    event = sandbox.record_usage("user-1", "api_calls", 7, transaction_id="x")
    assert sandbox.record_usage("user-1", "api_calls", 7, transaction_id="x") == event
    current = sandbox.billing("user-1")["currentSubscription"]
    assert event["subscriptionId"] == current["id"]
    assert current["experimental"]["usageMeterBalances"][0]["availableBalance"] == 9993
