"""Subscriptions: cancel, uncancel, adjust timing, renewals."""

from __future__ import annotations

from typing import Any

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import ApiClient

AT_END = {"cancellation": {"timing": "at_end_of_current_billing_period"}}
NOW = {"cancellation": {"timing": "immediately"}}


def _adjust(api: ApiClient, sub_id: str, slug: str, timing: str = "auto") -> Any:
    body = {"adjustment": {"timing": timing, "newSubscriptionItems": [{"priceSlug": slug}]}}
    response = api.post(f"/api/v1/subscriptions/{sub_id}/adjust", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_cancel_at_period_end_is_scheduled_then_applied_at_next_period(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    record = api.post(f"/api/v1/subscriptions/{sub['id']}/cancel", json=AT_END).json()
    assert record["subscription"]["status"] == "cancellation_scheduled"
    assert record["subscription"]["cancelScheduledAt"] == sub["currentBillingPeriodEnd"]
    assert record["subscription"]["current"] is True
    sandbox.advance_billing_period("user-1")
    after = api.get(f"/api/v1/subscriptions/{sub['id']}").json()["subscription"]
    assert after["status"] == "canceled"
    assert after["canceledAt"] == sub["currentBillingPeriodEnd"]
    assert after["current"] is False


def test_cancel_immediately_cancels_now(api: ApiClient, sandbox: Sandbox) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    record = api.post(f"/api/v1/subscriptions/{sub['id']}/cancel", json=NOW).json()
    assert record["subscription"]["status"] == "canceled"
    assert record["subscription"]["canceledAt"] is not None
    # cancelSubscription.ts: an ended subscription is answered as it is.
    again = api.post(f"/api/v1/subscriptions/{sub['id']}/cancel", json=NOW)
    assert again.status_code == 200
    assert again.json()["subscription"] == record["subscription"]


def test_uncancel_restores_a_scheduled_cancellation_only(api: ApiClient, sandbox: Sandbox) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    # uncancelSubscription is idempotent: nothing scheduled, nothing changed.
    unchanged = api.post(f"/api/v1/subscriptions/{sub['id']}/uncancel")
    assert unchanged.status_code == 200
    assert unchanged.json()["subscription"]["updatedAt"] == sub["updatedAt"]
    api.post(f"/api/v1/subscriptions/{sub['id']}/cancel", json=AT_END)
    restored = api.post(f"/api/v1/subscriptions/{sub['id']}/uncancel", json={}).json()
    assert restored["subscription"]["status"] == "active"
    assert restored["subscription"]["cancelScheduledAt"] is None
    sandbox.advance_billing_period("user-1")
    assert sandbox.subscription(sub["id"])["status"] == "active"


def test_upgrade_applies_immediately(api: ApiClient, sandbox: Sandbox) -> None:
    sub_id = sandbox.put_customer_on_plan("user-1", "pro_monthly")["id"]
    result = _adjust(api, sub_id, "pro_yearly")
    assert (result["resolvedTiming"], result["isUpgrade"]) == ("immediately", True)
    yearly = sandbox.pricing.price_by_slug("pro_yearly")
    assert yearly is not None
    assert [i["priceId"] for i in result["subscriptionItems"]] == [yearly["id"]]
    details = sandbox.subscription(sub_id)
    toggles = {f["slug"] for f in details["experimental"]["featureItems"]}
    assert "advanced_analytics" in toggles
    balance = details["experimental"]["usageMeterBalances"][0]["availableBalance"]
    assert balance == 10000
    proration = sandbox.billing("user-1")["invoices"][-1]
    assert proration["invoice"]["memo"] == "Proration: Net charge adjustment"
    assert 0 < proration["invoice"]["subtotal"] <= 20000 - 2000


def test_the_free_plan_is_not_adjusted_but_replaced(api: ApiClient) -> None:
    """subscriptions/adjustSubscription.ts: free plans upgrade through a new subscription."""
    sub_id = api.create_customer()["subscription"]["id"]
    body = {
        "adjustment": {"timing": "auto", "newSubscriptionItems": [{"priceSlug": "pro_monthly"}]}
    }
    refused = api.post(f"/api/v1/subscriptions/{sub_id}/adjust", json=body)
    assert refused.status_code == 400
    assert "Cannot adjust free plan subscriptions" in refused.json()["error"]


def test_downgrade_waits_for_the_end_of_the_period(api: ApiClient, sandbox: Sandbox) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    result = _adjust(api, sub["id"], "free")
    assert (result["resolvedTiming"], result["isUpgrade"]) == (
        "at_end_of_current_billing_period",
        False,
    )
    assert result["subscription"]["scheduledAdjustmentAt"] == sub["currentBillingPeriodEnd"]
    assert result["subscription"]["priceId"] == sub["priceId"]
    [renewed] = sandbox.advance_billing_period(sub["id"])
    assert renewed["subscriptionItems"][0]["price"]["slug"] == "free"
    assert renewed["scheduledAdjustmentAt"] is None
    assert renewed["experimental"]["usageMeterBalances"][0]["availableBalance"] == 100


def test_explicit_timing_overrides_auto(api: ApiClient, sandbox: Sandbox) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    result = _adjust(api, sub["id"], "free", timing="immediately")
    assert (result["resolvedTiming"], result["isUpgrade"]) == ("immediately", False)
    assert result["subscription"]["isFreePlan"] is True


def test_adjust_to_unknown_price_is_404_once_the_subscription_may_change(
    api: ApiClient, sandbox: Sandbox
) -> None:
    body = {"adjustment": {"timing": "auto", "newSubscriptionItems": [{"priceSlug": "gold"}]}}
    pro_id = sandbox.put_customer_on_plan("user-1", "pro_monthly")["id"]
    assert api.post(f"/api/v1/subscriptions/{pro_id}/adjust", json=body).status_code == 404
    # calculateAdjustmentPreview refuses a free plan before it looks at the prices.
    free_id = api.create_customer("user-2")["subscription"]["id"]
    refused = api.post(f"/api/v1/subscriptions/{free_id}/adjust", json=body)
    assert refused.status_code == 400
    assert "Cannot adjust free plan subscriptions" in refused.json()["error"]


def test_advancing_renews_the_period(sandbox: Sandbox) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    [renewed] = sandbox.advance_billing_period("user-1")
    assert renewed["currentBillingPeriodStart"] == sub["currentBillingPeriodEnd"]
    assert renewed["currentBillingPeriodEnd"] > renewed["currentBillingPeriodStart"]
    assert renewed["status"] == "active"


def test_paid_renewal_without_payment_method_is_past_due(api: ApiClient, sandbox: Sandbox) -> None:
    api.create_customer()
    body = {"customerExternalId": "user-1", "priceSlug": "pro_monthly"}
    sub = api.post("/api/v1/subscriptions", json=body).json()["subscription"]
    assert sub["status"] == "past_due"
    [renewed] = [s for s in sandbox.advance_billing_period("user-1") if s["id"] == sub["id"]]
    assert renewed["status"] == "past_due"
    assert {i["invoice"]["status"] for i in sandbox.billing("user-1")["invoices"]} == {"open"}


def test_created_subscription_can_be_retrieved(api: ApiClient) -> None:
    api.create_customer()
    body = {"customerExternalId": "user-1", "priceSlug": "pro_yearly", "name": "Team plan"}
    created = api.post("/api/v1/subscriptions", json=body).json()["subscription"]
    assert created["id"].startswith("sub_")
    assert (created["interval"], created["name"]) == ("year", "Team plan")
    fetched = api.get(f"/api/v1/subscriptions/{created['id']}").json()["subscription"]
    assert fetched == created


def test_a_trial_without_a_card_ends_past_due_and_uncharged() -> None:
    pricing = {
        "products": [
            {"slug": "free", "default": True, "prices": [{"slug": "free", "unitPrice": 0}]},
            {
                "slug": "team",
                "prices": [
                    {
                        "slug": "team_monthly",
                        "type": "subscription",
                        "unitPrice": 900,
                        "trialPeriodDays": 14,
                    }
                ],
            },
        ]
    }
    sandbox = Sandbox(pricing)
    sandbox.create_customer("u")
    api = ApiClient(sandbox, None)
    created = api.post(
        "/api/v1/subscriptions", json={"customerExternalId": "u", "priceSlug": "team_monthly"}
    ).json()["subscription"]
    assert created["status"] == "trialing" and created["trialEnd"] > created["createdAt"]
    # A trial's first billing period is the trial (billingIntervalHelpers.ts).
    assert created["currentBillingPeriodEnd"] == created["trialEnd"]
    assert sandbox.billing("u")["invoices"] == []
    [ended] = sandbox.advance_billing_period("u")
    # No card, so no billing run: past due, nothing invoiced (billingPeriodHelpers.ts).
    assert ended["status"] == "past_due"
    assert ended["currentBillingPeriodStart"] == created["trialEnd"]
    assert sandbox.billing("u")["invoices"] == []
