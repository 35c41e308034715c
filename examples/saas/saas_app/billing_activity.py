"""The customer's billing activity, kept from Flowglad's webhooks.

Flowglad's webhook says *which* record changed, not how (the event type is not in the
body), so the receivers read the record's current state and log what it means for the
customer: a plan started or ended, a cancellation scheduled, a payment that failed. Each
entry is keyed by the record and its state, so a redelivered webhook logs nothing new.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask

from flask_flowglad import WebhookEvent
from flask_flowglad.signals import payment_webhook, subscription_webhook

from .db import get_db
from .extensions import flowglad
from .formatting import date

#: What each subscription status means to the customer; other statuses log nothing.
_SUBSCRIPTION_NEWS = {
    "active": "{name} plan started",
    "trialing": "{name} trial started",
    "cancellation_scheduled": "{name} plan will end on {end}",
    "canceled": "{name} plan ended",
    "past_due": "Payment failed: {name} plan is past due. Update your card on the billing page.",
}


def record(external_id: str, subject_id: str, kind: str, message: str) -> None:
    """Log one entry, once."""
    db = get_db()
    with db:
        db.execute(
            "INSERT OR IGNORE INTO billing_activity"
            " (customer_external_id, subject_id, kind, message) VALUES (?, ?, ?, ?)",
            (external_id, subject_id, kind, message),
        )


def recent(external_id: str, limit: int = 20) -> list[sqlite3.Row]:
    return (
        get_db()
        .execute(
            "SELECT kind, message, created_at FROM billing_activity"
            " WHERE customer_external_id = ? ORDER BY id DESC LIMIT ?",
            (external_id, limit),
        )
        .fetchall()
    )


def on_subscription(sender: Flask, event: WebhookEvent, **extra: Any) -> None:
    """Log what the subscription's state now means; Flowglad is asked, not the webhook."""
    if event.customer_external_id is not None:
        subscription = flowglad.client.get_subscription(event.object_id)["subscription"]
        log_subscription(event.customer_external_id, subscription)


def on_payment(sender: Flask, event: WebhookEvent, **extra: Any) -> None:
    """A payment changed: if it left a plan past due, say so."""
    if event.customer_external_id is None:
        return
    billing = flowglad.for_customer(event.customer_external_id).get_billing()
    for subscription in billing.raw.get("currentSubscriptions") or []:
        if subscription["status"] == "past_due":
            log_subscription(event.customer_external_id, subscription)


def log_subscription(external_id: str, subscription: dict[str, Any]) -> None:
    status = subscription["status"]
    template = _SUBSCRIPTION_NEWS.get(status)
    if template is None:
        return
    if status == "canceled" and subscription.get("cancellationReason") == "upgraded_to_paid":
        template = "{name} plan replaced by your new plan"
    message = template.format(
        name=subscription.get("name") or "Your",
        end=date(subscription.get("cancelScheduledAt") or subscription.get("canceledAt")),
    )
    record(external_id, subscription["id"], f"subscription.{status}", message)


def init_app(app: Flask) -> None:
    """Listen to this app's webhooks only (several apps may share the process)."""
    subscription_webhook.connect(on_subscription, sender=app)
    payment_webhook.connect(on_payment, sender=app)
