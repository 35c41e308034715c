"""Flowglad's webhooks in the example app: the sandbox delivers them, signed, to the app's
endpoint, and the app's receivers keep the customer's billing activity, shown on a page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from .e2e_harness import LiveApp, pay_on_hosted_checkout, sign_up

if TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import Page


def test_paid_hosted_checkout_shows_up_in_billing_activity(live_app: LiveApp, page: Page) -> None:
    from playwright.sync_api import expect

    sign_up(page, live_app, "Grace Hopper", "grace@example.com")
    messages = page.get_by_test_id("billing-activity").get_by_test_id("activity-message")
    expect(messages).to_have_text(["Free - Free plan started"])
    page.get_by_test_id("checkout-pro_monthly").click()
    pay_on_hosted_checkout(page, live_app)
    page.wait_for_url(live_app("/billing?checkout=success"))
    # Newest first: the webhooks of the checkout were handled before the redirect.
    expect(messages).to_have_text(
        [
            "Free - Free plan replaced by your new plan",
            "Pro - Pro monthly plan started",
            "Free - Free plan started",
        ]
    )
    # Every delivery went through the app's real endpoint, verified and acknowledged.
    deliveries = live_app.sandbox.webhooks.deliveries
    assert [d.type for d in deliveries][-4:] == [
        "subscription.created",
        "subscription.canceled",
        "payment.succeeded",
        "purchase.completed",
    ]
    assert all(d.status == 200 for d in deliveries)
    assert json.loads(deliveries[-1].body)["customer"]["externalId"] is not None


def test_cancellation_is_logged_from_the_webhook(live_app: LiveApp, page: Page) -> None:
    from playwright.sync_api import expect

    sign_up(page, live_app, "Alan Kay", "alan@example.com")
    page.get_by_test_id("checkout-pro_monthly").click()
    pay_on_hosted_checkout(page, live_app)
    page.wait_for_url(live_app("/billing?checkout=success"))
    page.get_by_test_id("cancel-subscription").click()
    page.get_by_test_id("cancel-confirm-yes").click()
    expect(page.get_by_test_id("subscription-status")).to_have_text("Cancels at period end")
    # The React page changed the plan; the server page shows what the webhook logged.
    page.goto(live_app("/billing"))
    expect(
        page.get_by_test_id("billing-activity").locator(
            'li[data-kind="subscription.cancellation_scheduled"]'
        )
    ).to_contain_text("Pro - Pro monthly plan will end on")


def test_renewal_that_cannot_be_charged_logs_a_payment_failure(
    make_app: Callable[..., Flask],
) -> None:
    from saas_app.billing_activity import recent

    app = make_app()
    sandbox = app.config["FLOWGLAD_SANDBOX"]
    sandbox.put_customer_on_plan("42", "pro_monthly")
    with sandbox.transaction(write=True) as account:
        records = account.records
        for method in records.payment_methods:  # the card was removed
            records.payment_methods.remove(method)
        for sub in records.subscriptions:
            sub.record["defaultPaymentMethodId"] = None
            records.subscriptions.changed(sub)
    before = len(sandbox.webhooks.deliveries)
    sandbox.advance_billing_period("42")
    # No card, no billing run: the period is past due, and no payment was attempted
    # (subscriptions/billingPeriodHelpers.ts); the app hears of it from the subscription.
    assert [d.type for d in sandbox.webhooks.deliveries][before:] == ["subscription.updated"]
    with app.app_context():
        entries = [(row["kind"], row["message"]) for row in recent("42")]
    assert entries[0] == (
        "subscription.past_due",
        "Payment failed: Pro - Pro monthly plan is past due."
        " Update your card on the billing page.",
    )
    # Flowglad delivering everything again logs nothing twice.
    for delivery in sandbox.webhooks.deliveries:
        delivery.status = None
    assert len(sandbox.webhooks.redeliver()) == len(sandbox.webhooks.deliveries)
    assert all(d.delivered for d in sandbox.webhooks.deliveries)
    with app.app_context():
        assert [(row["kind"], row["message"]) for row in recent("42")] == entries
