"""The rest of Flowglad's server surface: bulk usage, archive, preview and undo of a plan
change, and checkout errors a developer can act on, against the in-process sandbox."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_flowglad import Flowglad
from flask_flowglad.errors import (
    FlowgladBadRequest,
    FlowgladServerError,
    IntervalChangeRefused,
    IntervalChangeRequiresCheckout,
    NoScheduledAdjustment,
    NotInPricingModel,
    PriceNotFound,
    SubscriptionNotOwned,
)
from flask_flowglad.protocol.answers import answer_for
from flask_flowglad.responses import api_error_from_response
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.service import UsageEvent

from .support.apps import User, make_app

SUCCESS = {"successUrl": "http://localhost/ok", "cancelUrl": "http://localhost/no"}


@pytest.fixture
def app(flowglad_sandbox: Sandbox) -> Flask:
    app = make_app(FLOWGLAD_SANDBOX=flowglad_sandbox, FLOWGLAD_SECRET_KEY=None)
    with pytest.warns(UserWarning, match="simulated"):
        app.extensions["test_flowglad"] = Flowglad(app)
    return app


def flowglad(app: Flask) -> Flowglad:
    extension: Flowglad = app.extensions["test_flowglad"]
    return extension


def writes(sandbox: Sandbox) -> list[str]:
    return [f"{c.method} {c.path}" for c in sandbox.calls if c.method != "GET"]


# -- bulk usage ----------------------------------------------------------------------


def test_bulk_usage_records_every_event_with_a_fixed_transaction_id(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    with app.app_context():
        customer = flowglad(app).for_customer("u1")
        customer.get_billing()
        answer = customer.create_usage_events(
            [
                UsageEvent(amount=3, usage_meter_slug="api_calls"),
                UsageEvent(amount=4, usage_meter_slug="api_calls", transaction_id="mine"),
            ]
        )
    assert [e["amount"] for e in answer["usageEvents"]] == [3, 4]
    sent = flowglad_sandbox.calls[-1].json["usageEvents"]
    assert sent[0]["transactionId"].startswith("txn_")
    assert sent[1]["transactionId"] == "mine"
    balance = flowglad_sandbox.billing("u1")["currentSubscription"]["experimental"]
    meters = {b["slug"]: b for b in balance["usageMeterBalances"]}
    assert meters["api_calls"]["availableBalance"] == 100 - 7


def test_bulk_usage_retried_after_a_5xx_sends_the_same_transaction_ids(
    flowglad_sandbox: Sandbox,
) -> None:
    app = make_app(
        FLOWGLAD_SANDBOX=flowglad_sandbox, FLOWGLAD_SECRET_KEY=None, FLOWGLAD_MAX_RETRIES=1
    )
    with pytest.warns(UserWarning, match="simulated"):
        extension = Flowglad(app)
    with app.app_context():
        customer = extension.for_customer("u1")
        customer.get_billing()
        flowglad_sandbox.fail_next(503, path="/usage-events/bulk", headers={"Retry-After": "0"})
        events = [UsageEvent(amount=2, usage_meter_slug="api_calls")] * 2
        customer.create_usage_events(events)
    bulk = [c for c in flowglad_sandbox.calls if c.path.endswith("/usage-events/bulk")]
    assert [c.status for c in bulk] == [503, 200]
    assert bulk[0].json == bulk[1].json
    ids = [e["transactionId"] for e in bulk[1].json["usageEvents"]]
    assert len(set(ids)) == 2  # one id per event, not one per batch


def test_bulk_usage_with_a_foreign_subscription_writes_nothing(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    flowglad_sandbox.create_customer("someone-else")
    theirs = flowglad_sandbox.billing("someone-else")["currentSubscription"]["id"]
    with app.app_context():
        customer = flowglad(app).for_customer("u1")
        customer.get_billing()
        before = writes(flowglad_sandbox)
        with pytest.raises(SubscriptionNotOwned):
            customer.create_usage_events(
                [
                    UsageEvent(amount=1, usage_meter_slug="api_calls"),
                    UsageEvent(amount=1, usage_meter_slug="api_calls", subscription_id=theirs),
                ]
            )
        with pytest.raises(NotInPricingModel):
            customer.create_usage_events([UsageEvent(amount=1, usage_meter_slug="nope")])
        with pytest.raises(PriceNotFound):
            customer.create_usage_events([UsageEvent(amount=1, price_slug="nope")])
        with pytest.raises(ValueError, match="names a usage meter or a usage price"):
            customer.create_usage_event(amount=1)
    assert writes(flowglad_sandbox) == before
    assert not flowglad_sandbox.records.usage_events


# -- archive -------------------------------------------------------------------------


def test_archiving_a_customer_makes_it_unknown_to_flowglad(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    with app.app_context():
        customer = flowglad(app).for_customer("u1")
        customer.get_billing()
        archived = customer.archive()
    assert archived["customer"]["archived"] is True
    assert writes(flowglad_sandbox)[-1] == "POST /api/v1/customers/u1/archive"
    response = flowglad_sandbox.handle(
        "GET", "/api/v1/customers/u1", headers={"Authorization": flowglad_sandbox.secret_key}
    )
    assert response[0] == 404


# -- preview and undo of plan changes ------------------------------------------------


def test_preview_adjust_through_the_react_route_changes_nothing(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    sub = flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    client = app.test_client(user=User("u1"))
    response = client.post(
        "/api/flowglad/subscriptions/preview-adjust",
        json={"priceSlug": "pro_monthly", "quantity": 2},
    )
    assert response.status_code == 200, response.json
    preview = response.json["data"]
    assert preview["canAdjust"] is True and preview["isUpgrade"] is True
    assert preview["prorationAmount"] > 0
    assert flowglad_sandbox.subscription(sub["id"])["priceId"] == sub["priceId"]
    assert writes(flowglad_sandbox)[-1].endswith("/preview-adjust")


def test_preview_adjust_of_another_customers_subscription_is_refused_unsent(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    theirs = flowglad_sandbox.put_customer_on_plan("u2", "pro_monthly")["id"]
    client = app.test_client(user=User("u1"))
    response = client.post(
        "/api/flowglad/subscriptions/preview-adjust",
        json={"subscriptionId": theirs, "priceSlug": "pro_yearly"},
    )
    assert response.status_code == 403
    assert not [w for w in writes(flowglad_sandbox) if "preview" in w]


def test_cancel_scheduled_adjustment_keeps_the_current_plan(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    sub = flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly", quantity=3)
    with app.app_context():
        customer = flowglad(app).for_customer("u1")
        with pytest.raises(NoScheduledAdjustment):
            customer.cancel_scheduled_adjustment()
        assert not [w for w in writes(flowglad_sandbox) if "scheduled" in w]
        down = customer.adjust_subscription(price_slug="pro_monthly", quantity=1)
        assert down["resolvedTiming"] == "at_end_of_current_billing_period"
        undone = customer.cancel_scheduled_adjustment()
        assert undone["canceledItemCount"] == 1
        # The write made the cached billing stale: the next read sees no pending change.
        current = customer.get_billing().current_subscription
        assert current is not None and current["scheduledAdjustmentAt"] is None
    flowglad_sandbox.advance_billing_period(sub["id"])
    assert flowglad_sandbox.subscription(sub["id"])["priceId"] == sub["priceId"]


def test_an_adjustment_to_another_interval_is_refused_unsent(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    """Flowglad would keep the monthly period and charge the yearly price each month."""
    sub = flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    with app.app_context():
        customer = flowglad(app).for_customer("u1")
        with pytest.raises(IntervalChangeRequiresCheckout, match="through checkout"):
            customer.adjust_subscription(price_slug="pro_yearly")
        preview = customer.preview_adjust_subscription(price_slug="pro_yearly")
        assert preview["canAdjust"] is False
    assert not [w for w in writes(flowglad_sandbox) if "adjust" in w]
    assert flowglad_sandbox.subscription(sub["id"])["priceId"] == sub["priceId"]


def test_start_interval_change_checks_out_first_then_ends_the_old_plan(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    monthly = flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    with app.app_context():
        customer = flowglad(app).for_customer("u1")
        answer = customer.start_interval_change(
            price_slug="pro_yearly", success_url="http://app.test/ok", cancel_url="http://x/no"
        )
    order = [w for w in writes(flowglad_sandbox) if "checkout" in w or "cancel" in w]
    assert order[-2:] == [
        "POST /api/v1/checkout-sessions",
        f"POST /api/v1/subscriptions/{monthly['id']}/cancel",
    ]
    session = answer["checkoutSession"]
    assert session["outputMetadata"] == {"replacesSubscriptionId": monthly["id"]}
    assert flowglad_sandbox.subscription(monthly["id"])["status"] == "canceled"
    flowglad_sandbox.complete_checkout(session["id"])
    current = flowglad_sandbox.billing("u1")["currentSubscription"]
    assert (current["interval"], current["status"]) == ("year", "active")


def test_start_interval_change_refused_changes_nothing(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    yearly = flowglad_sandbox.put_customer_on_plan("u1", "pro_yearly")
    with app.app_context():
        customer = flowglad(app).for_customer("u1")
        with pytest.raises(IntervalChangeRefused) as refused:
            customer.start_interval_change(
                price_slug="pro_monthly", success_url="http://a/ok", cancel_url="http://a/no"
            )
    assert refused.value.refusal == "shorter_interval"
    assert flowglad_sandbox.subscription(yearly["id"])["status"] == "active"
    assert not [w for w in writes(flowglad_sandbox) if "checkout" in w or "cancel" in w]


# -- checkout errors -----------------------------------------------------------------


def test_checkout_with_an_unknown_price_says_which_and_lists_the_real_ones(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    client = app.test_client(user=User("u1"))
    client.post("/api/flowglad/customers/billing", json={})
    before = len(flowglad_sandbox.calls)
    response = client.post(
        "/api/flowglad/checkout-sessions/create", json={**SUCCESS, "priceSlug": "no-such-price"}
    )
    assert response.status_code == 404
    error = response.json["error"]
    assert error["code"] == "price_not_found"
    assert 'slug "no-such-price" not found' in error["message"]
    assert "pro_monthly" in error["message"]
    # One billing read to check the price; no checkout post, no customer create after it.
    made = [f"{c.method} {c.path}" for c in flowglad_sandbox.calls[before:]]
    assert made == ["GET /api/v1/customers/u1/billing"]


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_flowglads_4xx_message_is_passed_on_trimmed_and_without_secrets(status: int) -> None:
    body = (
        '{"error": "Price with slug \\"no-such-price\\" not found for key'
        ' sk_test_abcdef123456   in pricing model", "code": "NOT_FOUND"}'
    )
    answer = answer_for(api_error_from_response(status, body), "checkout_session_create_failed")
    assert answer.message == (
        'Price with slug "no-such-price" not found for key sk_test_\u20263456 in pricing model'
    )
    long = api_error_from_response(status, '{"error": "' + "x" * 2000 + '"}')
    assert len(answer_for(long, "c").message) <= 300


def test_5xx_and_credential_failures_keep_their_generic_messages() -> None:
    server = answer_for(FlowgladServerError(500, None, "db password is hunter2"), "c")
    assert "hunter2" not in server.message
    auth = answer_for(api_error_from_response(401, "API key invalid: sk_test_x"), "c")
    assert (auth.status, auth.message) == (
        502,
        "Billing is not configured correctly on the server.",
    )
    empty = answer_for(FlowgladBadRequest(400, None, ""), "c")
    assert empty.message == "Billing rejected the request."


def test_upstream_400_reaches_the_browser_with_flowglads_message(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    flowglad_sandbox.fail_next(
        400,
        path="/checkout-sessions",
        body='{"error": "Quantity exceeds the limit", "code": "BAD_REQUEST", "request_id": "r"}',
    )
    response = app.test_client(user=User("u1")).post(
        "/api/flowglad/checkout-sessions/create", json={**SUCCESS, "priceSlug": "pro_monthly"}
    )
    assert response.status_code == 400
    assert response.json["error"]["message"] == "Quantity exceeds the limit"
    posts = [c for c in flowglad_sandbox.calls if c.path == "/api/v1/checkout-sessions"]
    assert len(posts) == 1  # a 400 for a known customer is never posted again
