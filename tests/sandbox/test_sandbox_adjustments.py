"""Previewing a plan change and undoing a scheduled one (issue 13), by Flowglad's rules
(``calculateAdjustmentPreview`` in ``subscriptions/adjustSubscription.ts`` and
``cancelScheduledAdjustment`` in ``subscriptions/scheduledAdjustmentHelpers.ts``)."""

from __future__ import annotations

from typing import Any

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import ApiClient


def _body(slug: str, timing: str = "auto", **extra: Any) -> dict[str, Any]:
    items = [{"priceSlug": slug, "quantity": extra.pop("quantity", 1)}]
    return {"adjustment": {"timing": timing, "newSubscriptionItems": items, **extra}}


def _preview(api: ApiClient, sub_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/v1/subscriptions/{sub_id}/preview-adjust", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_preview_of_an_upgrade_shows_the_proration_and_changes_nothing(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    before = sandbox.billing("user-1")
    preview = _preview(api, sub["id"], _body("pro_yearly"))
    assert preview["canAdjust"] is True
    assert (preview["resolvedTiming"], preview["isUpgrade"]) == ("immediately", True)
    assert (preview["currentPlanTotal"], preview["newPlanTotal"]) == (2000, 20000)
    left = 1 - preview["percentThroughBillingPeriod"]
    assert abs(preview["prorationAmount"] - 18000 * left) <= 1
    assert preview["billingPeriodEnd"] == sub["currentBillingPeriodEnd"]
    assert preview["paymentMethod"]["last4"] == "4242"
    assert preview["currentSubscriptionItems"][0]["name"] == "Pro monthly"
    assert preview["newSubscriptionItems"][0]["unitPrice"] == 20000
    assert sandbox.billing("user-1")["invoices"] == before["invoices"]
    adjusted = api.post(f"/api/v1/subscriptions/{sub['id']}/adjust", json=_body("pro_yearly"))
    charged = sandbox.billing("user-1")["invoices"][-1]["invoice"]["subtotal"]
    assert adjusted.ok and abs(charged - preview["prorationAmount"]) <= 1


def test_preview_of_a_downgrade_takes_effect_at_the_period_end_without_charge(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_yearly")
    preview = _preview(api, sub["id"], _body("pro_monthly"))
    assert (preview["resolvedTiming"], preview["prorationAmount"]) == (
        "at_end_of_current_billing_period",
        0,
    )
    assert preview["effectiveDate"] == sub["currentBillingPeriodEnd"]


def test_preview_says_why_an_adjustment_cannot_be_made(api: ApiClient, sandbox: Sandbox) -> None:
    free_id = api.create_customer()["subscription"]["id"]
    refused = _preview(api, free_id, _body("pro_monthly"))
    assert refused["canAdjust"] is False
    assert refused["reason"].startswith("Cannot adjust free plan subscriptions")
    assert _preview(api, "sub_missing", _body("pro_monthly"))["reason"] == (
        "Subscription not found: sub_missing"
    )
    pro = sandbox.put_customer_on_plan("user-2", "pro_monthly")
    upgrade_later = _preview(
        api, pro["id"], _body("pro_yearly", "at_end_of_current_billing_period")
    )
    assert "only allowed for downgrades" in upgrade_later["reason"]
    one_time = _preview(api, pro["id"], _body("report_pack"))
    assert "Only recurring prices" in one_time["reason"]


def test_a_downgrade_below_claimed_seats_is_refused(api: ApiClient, sandbox: Sandbox) -> None:
    pro = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    claim = {"resourceSlug": "seats", "quantity": 3}
    assert api.post(f"/api/v1/resource-claims/{pro['id']}/claim", json=claim).ok
    preview = _preview(api, pro["id"], _body("free"))
    assert preview["reason"] == (
        "Cannot reduce capacity to 1. 3 resources are currently claimed. "
        "Release 2 claims before downgrading."
    )
    refused = api.post(f"/api/v1/subscriptions/{pro['id']}/adjust", json=_body("free"))
    assert refused.status_code == 409


def test_an_upgrade_without_a_payment_method_needs_one(api: ApiClient, sandbox: Sandbox) -> None:
    api.create_customer()
    created = api.post(
        "/api/v1/subscriptions", json={"customerExternalId": "user-1", "priceSlug": "pro_monthly"}
    ).json()["subscription"]
    preview = _preview(api, created["id"], _body("pro_yearly"))
    assert preview["reason"].startswith("No payment method found")
    unprorated = _preview(
        api, created["id"], _body("pro_yearly", prorateCurrentBillingPeriod=False)
    )
    assert (unprorated["canAdjust"], unprorated["prorationAmount"]) == (True, 0)


def test_cancel_scheduled_adjustment_keeps_the_current_plan(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    path = f"/api/v1/subscriptions/{sub['id']}"
    assert api.post(f"{path}/adjust", json=_body("free")).ok
    again = api.post(f"{path}/adjust", json=_body("free"))
    assert again.status_code == 400
    assert "already pending" in again.json()["error"]
    undone = api.post(f"{path}/cancel-scheduled-adjustment").json()
    assert undone["canceledItemCount"] == 1
    assert undone["subscription"]["scheduledAdjustmentAt"] is None
    [renewed] = sandbox.advance_billing_period(sub["id"])
    assert renewed["subscriptionItems"][0]["price"]["slug"] == "pro_monthly"
    nothing = api.post(f"{path}/cancel-scheduled-adjustment")
    assert nothing.status_code == 400
    assert "does not have a scheduled adjustment" in nothing.json()["error"]
    assert api.post("/api/v1/subscriptions/sub_x/cancel-scheduled-adjustment").status_code == 404


def test_an_unknown_price_is_refused_after_the_subscriptions_own_checks(
    api: ApiClient, sandbox: Sandbox
) -> None:
    pro = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    unknown = _preview(api, pro["id"], _body("nope"))
    assert unknown == {
        "canAdjust": False,
        "previewGeneratedAt": unknown["previewGeneratedAt"],
        "reason": "Price not found: nope",
    }
    adjusted = api.post(f"/api/v1/subscriptions/{pro['id']}/adjust", json=_body("nope"))
    assert adjusted.status_code == 404
    assert "Price not found: nope" in adjusted.json()["error"]
    cancel = {"cancellation": {"timing": "at_end_of_current_billing_period"}}
    assert api.post(f"/api/v1/subscriptions/{pro['id']}/cancel", json=cancel).ok
    scheduled = _preview(api, pro["id"], _body("nope"))
    assert scheduled["reason"].startswith("A cancellation is scheduled.")


def test_a_preview_with_a_malformed_body_is_a_validation_error(
    api: ApiClient, sandbox: Sandbox
) -> None:
    pro = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    path = f"/api/v1/subscriptions/{pro['id']}/preview-adjust"
    assert api.post(path, json={"adjustment": {}}).status_code == 400
