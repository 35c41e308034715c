"""``preview-adjust`` and ``cancel-scheduled-adjustment``: shapes by Flowglad's contract,
rules by Flowglad's own source (the same refusals, in the same words)."""

from __future__ import annotations

from sandbox_helpers import ApiClient

from flask_flowglad.sandbox import Sandbox


def _pro_monthly(api: ApiClient, sandbox: Sandbox) -> str:
    api.create_customer()
    details = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    return str(details["id"])


def _adjustment(slug: str, timing: str = "auto") -> dict[str, object]:
    return {"adjustment": {"timing": timing, "newSubscriptionItems": [{"priceSlug": slug}]}}


def test_preview_of_an_upgrade_prices_the_rest_of_the_period_and_changes_nothing(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub_id = _pro_monthly(api, sandbox)
    before = sandbox.subscription(sub_id)
    calls_before = len(sandbox.calls)
    preview = api.post(
        f"/api/v1/subscriptions/{sub_id}/preview-adjust", json=_adjustment("pro_yearly")
    )
    assert preview.status_code == 200
    body = preview.json()
    assert body["canAdjust"] is True
    assert body["isUpgrade"] is True
    assert body["resolvedTiming"] == "immediately"
    assert (body["currentPlanTotal"], body["newPlanTotal"]) == (2000, 20000)
    # Just started: nearly the whole difference is charged now.
    assert 17000 < body["prorationAmount"] <= 18000
    assert body["paymentMethod"]["last4"] == "4242"
    assert [i["priceId"] for i in body["newSubscriptionItems"]] == [
        sandbox.pricing.price_by_slug("pro_yearly")["id"]  # type: ignore[index]
    ]
    after = sandbox.subscription(sub_id)
    assert after["subscriptionItems"] == before["subscriptionItems"]
    assert len(sandbox.calls) == calls_before + 1
    assert not [inv for inv in api.billing()["invoices"] if "Proration" in str(inv)]


def test_preview_then_adjust_charge_the_same_proration(api: ApiClient, sandbox: Sandbox) -> None:
    sub_id = _pro_monthly(api, sandbox)
    preview = api.post(
        f"/api/v1/subscriptions/{sub_id}/preview-adjust", json=_adjustment("pro_yearly")
    )
    adjusted = api.post(f"/api/v1/subscriptions/{sub_id}/adjust", json=_adjustment("pro_yearly"))
    assert adjusted.status_code == 200
    invoices = api.billing()["invoices"]
    proration = [
        entry
        for entry in invoices
        if entry["invoice"].get("memo") == "Proration for the plan change"
    ]
    assert len(proration) == 1
    total = sum(line["price"] * line["quantity"] for line in proration[0]["invoiceLineItems"])
    assert abs(total - preview.json()["prorationAmount"]) <= 1


def test_preview_refuses_in_flowglads_words_without_an_error_status(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub_id = _pro_monthly(api, sandbox)
    unknown = api.post(f"/api/v1/subscriptions/{sub_id}/preview-adjust", json=_adjustment("nope"))
    assert unknown.status_code == 200
    assert unknown.json() == {
        "canAdjust": False,
        "previewGeneratedAt": unknown.json()["previewGeneratedAt"],
        "reason": "Price not found: nope",
    }
    upgrade_later = api.post(
        f"/api/v1/subscriptions/{sub_id}/preview-adjust",
        json=_adjustment("pro_yearly", "at_end_of_current_billing_period"),
    )
    assert upgrade_later.json()["canAdjust"] is False
    assert "only allowed for downgrades" in upgrade_later.json()["reason"]
    api.post(
        f"/api/v1/subscriptions/{sub_id}/cancel",
        json={"cancellation": {"timing": "at_end_of_current_billing_period"}},
    )
    scheduled = api.post(
        f"/api/v1/subscriptions/{sub_id}/preview-adjust", json=_adjustment("pro_yearly")
    )
    assert scheduled.json()["reason"].startswith("A cancellation is scheduled.")


def test_preview_with_a_malformed_body_is_a_validation_error(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sub_id = _pro_monthly(api, sandbox)
    response = api.post(f"/api/v1/subscriptions/{sub_id}/preview-adjust", json={"adjustment": {}})
    assert response.status_code == 400


def test_a_scheduled_downgrade_can_be_cancelled_once(api: ApiClient, sandbox: Sandbox) -> None:
    api.create_customer()
    sub_id = str(sandbox.put_customer_on_plan("user-1", "pro_yearly")["id"])
    down = api.post(f"/api/v1/subscriptions/{sub_id}/adjust", json=_adjustment("pro_monthly"))
    assert down.json()["resolvedTiming"] == "at_end_of_current_billing_period"
    assert sandbox.subscription(sub_id)["scheduledAdjustmentAt"] is not None
    undone = api.post(f"/api/v1/subscriptions/{sub_id}/cancel-scheduled-adjustment", json={})
    assert undone.status_code == 200
    assert undone.json()["canceledItemCount"] == 1
    assert undone.json()["subscription"]["scheduledAdjustmentAt"] is None
    sandbox.advance_billing_period(sub_id)
    after = sandbox.subscription(sub_id)
    assert after["priceId"] == sandbox.pricing.price_by_slug("pro_yearly")["id"]  # type: ignore[index]
    again = api.post(f"/api/v1/subscriptions/{sub_id}/cancel-scheduled-adjustment", json={})
    assert again.status_code == 400
    assert "does not have a scheduled adjustment" in again.json()["error"]
