"""The sandbox's clock: moving it renews subscriptions, ends trials, carries out what was
scheduled for the end of a period and expires checkouts, each announced as Flowglad would
(``subscriptions/billingPeriodHelpers.ts``, ``trigger/attempt-cancel-scheduled-
subscriptions.ts``). Through the helpers, and over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import ApiClient

DAY_MS = 24 * 60 * 60 * 1000
TRIAL_PRICING: dict[str, Any] = {
    "products": [
        {"slug": "free", "default": True, "prices": [{"slug": "free", "unitPrice": 0}]},
        {
            "slug": "team",
            "name": "Team",
            "prices": [{"slug": "team", "unitPrice": 900, "trialPeriodDays": 14}],
        },
    ]
}


def announced_since(sandbox: Sandbox, before: int) -> list[str]:
    return [d.type for d in sandbox.webhooks.deliveries][before:]


@pytest.fixture
def hooked(sandbox: Sandbox) -> Sandbox:
    """The sandbox, delivering its webhooks to an app (so deliveries are recorded)."""
    from flask import Flask

    receiver = Flask(__name__)
    receiver.add_url_rule("/hook", "hook", lambda: "", methods=["POST"])
    sandbox.webhooks.deliver_to_app(receiver, "/hook", "whsec_" + "A" * 32)
    sandbox.receiver = receiver  # type: ignore[attr-defined]  # kept alive
    return sandbox


def test_a_renewal_charges_the_new_period_and_grants_its_credits_again(hooked: Sandbox) -> None:
    sub = hooked.put_customer_on_plan("u1", "pro_monthly")
    hooked.record_usage("u1", "api_calls", 100)
    before = len(hooked.webhooks.deliveries)
    moved = hooked.advance_time(days=40)  # one month, whichever it is, and some days
    assert moved["renewed"] == [sub["id"]]
    renewed = hooked.subscription(sub["id"])
    assert renewed["currentBillingPeriodStart"] == sub["currentBillingPeriodEnd"]
    [balance] = renewed["experimental"]["usageMeterBalances"]
    assert balance["availableBalance"] == 10_000
    first, second = [i["invoice"] for i in hooked.billing("u1")["invoices"]]
    assert (second["status"], second["subtotal"]) == ("paid", 2000)
    assert second["billingPeriodStartDate"] == sub["currentBillingPeriodEnd"]
    # Dated when the period began, not when the clock stopped.
    assert sub["currentBillingPeriodEnd"] <= second["createdAt"] < moved["now"] - 8 * DAY_MS
    assert announced_since(hooked, before) == ["payment.succeeded", "subscription.updated"]


def test_a_long_jump_renews_each_period_in_order(hooked: Sandbox) -> None:
    sub = hooked.put_customer_on_plan("u1", "pro_monthly")
    moved = hooked.advance_time(days=95)
    assert moved["renewed"] == [sub["id"]] * 3
    invoices = [i["invoice"] for i in hooked.billing("u1")["invoices"]]
    starts = [i["billingPeriodStartDate"] for i in invoices]
    assert starts == sorted(starts) and len(set(starts)) == 4
    for invoice in invoices:
        assert invoice["billingPeriodStartDate"] <= invoice["createdAt"]
        assert invoice["createdAt"] < invoice["billingPeriodEndDate"]


def test_a_trial_ends_with_a_charge_when_a_card_is_on_file() -> None:
    sandbox = Sandbox(TRIAL_PRICING)
    sub = sandbox.put_customer_on_plan("u1", "team")  # the test card is added
    assert sub["status"] == "trialing"
    assert sub["currentBillingPeriodEnd"] == sub["trialEnd"]
    assert sandbox.billing("u1")["invoices"] == []
    assert sandbox.advance_time(days=13)["trialsEnded"] == []
    assert sandbox.advance_time(days=2)["trialsEnded"] == [sub["id"]]
    ended = sandbox.subscription(sub["id"])
    assert ended["status"] == "active"
    [invoice] = [i["invoice"] for i in sandbox.billing("u1")["invoices"]]
    assert (invoice["subtotal"], invoice["billingPeriodStartDate"]) == (900, sub["trialEnd"])


def test_a_trial_without_a_card_ends_past_due_and_announces_no_payment(tmp_path: Any) -> None:
    sandbox = Sandbox(TRIAL_PRICING)
    from flask import Flask

    receiver = Flask(__name__)
    receiver.add_url_rule("/hook", "hook", lambda: "", methods=["POST"])
    sandbox.webhooks.deliver_to_app(receiver, "/hook", "whsec_" + "A" * 32)
    sandbox.create_customer("u1")
    api = ApiClient(sandbox, None)
    body = {"customerExternalId": "u1", "priceSlug": "team"}
    sub = api.post("/api/v1/subscriptions", json=body).json()["subscription"]
    before = len(sandbox.webhooks.deliveries)
    sandbox.advance_time(days=15)
    assert sandbox.subscription(sub["id"])["status"] == "past_due"
    assert announced_since(sandbox, before) == ["subscription.updated"]


def test_a_cancellation_at_the_period_end_ends_the_plan_then(
    hooked: Sandbox, api: ApiClient
) -> None:
    sub = hooked.put_customer_on_plan("u1", "pro_monthly")
    claim = {"resourceSlug": "seats", "quantity": 2}
    assert api.post(f"/api/v1/resource-claims/{sub['id']}/claim", json=claim).status_code == 200
    timing = {"cancellation": {"timing": "at_end_of_current_billing_period"}}
    api.post(f"/api/v1/subscriptions/{sub['id']}/cancel", json=timing)
    before = len(hooked.webhooks.deliveries)
    assert hooked.advance_time(days=20)["canceled"] == []
    assert hooked.subscription(sub["id"])["status"] == "cancellation_scheduled"
    assert hooked.advance_time(days=20)["canceled"] == [sub["id"]]
    ended = hooked.subscription(sub["id"])
    assert (ended["status"], ended["canceledAt"]) == ("canceled", sub["currentBillingPeriodEnd"])
    current = hooked.billing("u1")["currentSubscription"]
    assert (current["name"], current["status"]) == ("Free Subscription", "active")
    claims = api.get(f"/api/v1/resource-claims/{sub['id']}/claims").json()["claims"]
    assert claims == []
    assert announced_since(hooked, before) == ["subscription.canceled", "subscription.created"]


def test_a_scheduled_downgrade_takes_effect_at_the_period_end(
    hooked: Sandbox, api: ApiClient
) -> None:
    sub = hooked.put_customer_on_plan("u1", "pro_monthly", quantity=3)
    change = {
        "adjustment": {
            "timing": "at_end_of_current_billing_period",
            "newSubscriptionItems": [{"priceSlug": "pro_monthly", "quantity": 1}],
        }
    }
    assert api.post(f"/api/v1/subscriptions/{sub['id']}/adjust", json=change).status_code == 200
    assert hooked.subscription(sub["id"])["subscriptionItems"][0]["quantity"] == 3
    moved = hooked.advance_time(days=31)
    assert moved["planChanged"] == moved["renewed"] == [sub["id"]]
    after = hooked.subscription(sub["id"])
    assert [i["quantity"] for i in after["subscriptionItems"]] == [1]
    assert after["scheduledAdjustmentAt"] is None
    renewal = hooked.billing("u1")["invoices"][-1]["invoice"]
    assert renewal["subtotal"] == 2000


def test_checkout_sessions_expire_as_the_clock_passes_a_day(
    hooked: Sandbox, api: ApiClient
) -> None:
    api.create_customer("u1")
    session = api.checkout("u1", priceSlug="pro_monthly")["checkoutSession"]
    before = len(hooked.webhooks.deliveries)
    assert hooked.advance_time(hours=23)["expired"] == []
    assert hooked.advance_time(hours=2)["expired"] == [session["id"]]
    assert hooked.checkout_session(session["id"])["status"] == "expired"
    # Flowglad announces nothing when a checkout session expires.
    assert announced_since(hooked, before) == []


def test_advancing_a_billing_period_moves_the_clock_to_its_end(hooked: Sandbox) -> None:
    sub = hooked.put_customer_on_plan("u1", "pro_monthly")
    [renewed] = hooked.advance_billing_period("u1")
    assert renewed["currentBillingPeriodStart"] == sub["currentBillingPeriodEnd"]
    assert hooked.now() >= sub["currentBillingPeriodEnd"]


def test_time_only_moves_forward(sandbox: Sandbox) -> None:
    before = sandbox.now()
    with pytest.raises(ValueError, match="forward"):
        sandbox.advance_time(days=-1)
    assert before < sandbox.now() < before + 60_000


def test_the_clock_over_http(flowglad_sandbox: Sandbox, flowglad_sandbox_url: str) -> None:
    control = flowglad_sandbox_url + "/_sandbox/v1"
    key = {"Authorization": flowglad_sandbox.secret_key}
    sub = flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    now = requests.get(control + "/clock", headers=key, timeout=10).json()["now"]
    moved = requests.post(control + "/clock", json={"days": 31}, headers=key, timeout=10)
    assert moved.status_code == 200
    assert moved.json()["renewed"] == [sub["id"]]
    assert moved.json()["now"] >= now + 31 * DAY_MS
    for wrong in ({"days": -1}, {"days": "31"}, {}, {"days": 4000}):
        refused = requests.post(control + "/clock", json=wrong, headers=key, timeout=10)
        assert refused.status_code == 400, wrong
        assert refused.json()["code"] == "BAD_REQUEST"
    anonymous = requests.post(control + "/clock", json={"days": 1}, timeout=10)
    assert anonymous.status_code == 401
