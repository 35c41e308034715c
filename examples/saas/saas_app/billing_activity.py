"""The customer's billing activity, kept from Flowglad's webhooks.

Flowglad's webhook says *which* record changed, not how (the event type is not in the
body), so the receivers read the record's current state and log what it means for the
customer: a plan started, switched or ended, a cancellation scheduled or withdrawn, a
one-time purchase and what it granted, a payment that failed. Each entry is keyed by the
webhook's id, so a redelivered webhook logs nothing new while a second change of the same
record (cancel, keep, cancel again) is logged each time; an update that says nothing new
(the same state as the last entry of that record) is not logged.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask

from flask_flowglad import WebhookEvent
from flask_flowglad.signals import payment_webhook, purchase_webhook, subscription_webhook

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


def record(external_id: str, subject_id: str, kind: str, message: str, event_id: str) -> None:
    """Log one entry for one webhook, unless it repeats the record's last entry."""
    db = get_db()
    last = db.execute(
        "SELECT kind, message FROM billing_events WHERE subject_id = ? ORDER BY id DESC LIMIT 1",
        (subject_id,),
    ).fetchone()
    if last is not None and (last["kind"], last["message"]) == (kind, message):
        return
    with db:
        db.execute(
            "INSERT OR IGNORE INTO billing_events"
            " (event_id, customer_external_id, subject_id, kind, message)"
            " VALUES (?, ?, ?, ?, ?)",
            (event_id, external_id, subject_id, kind, message),
        )


def last_kind(subject_id: str) -> str | None:
    row = (
        get_db()
        .execute(
            "SELECT kind FROM billing_events WHERE subject_id = ? ORDER BY id DESC LIMIT 1",
            (subject_id,),
        )
        .fetchone()
    )
    return None if row is None else str(row["kind"])


def recent(external_id: str, limit: int = 20) -> list[sqlite3.Row]:
    return (
        get_db()
        .execute(
            "SELECT kind, message, created_at FROM billing_events"
            " WHERE customer_external_id = ? ORDER BY id DESC LIMIT ?",
            (external_id, limit),
        )
        .fetchall()
    )


def for_current_customer(limit: int = 20) -> list[sqlite3.Row]:
    """The logged-in customer's activity, for the billing pages' templates."""
    customer = flowglad.current_customer()
    return [] if customer is None else recent(customer.external_id, limit)


def on_subscription(sender: Flask, event: WebhookEvent, **extra: Any) -> None:
    """Log what the subscription's state now means; Flowglad is asked, not the webhook."""
    if event.customer_external_id is not None:
        subscription = flowglad.client.get_subscription(event.object_id)["subscription"]
        log_subscription(event.customer_external_id, subscription, event.id)


def on_payment(sender: Flask, event: WebhookEvent, **extra: Any) -> None:
    """A payment changed: if it left a plan past due, say so."""
    if event.customer_external_id is None:
        return
    billing = flowglad.for_customer(event.customer_external_id).get_billing()
    for subscription in billing.raw.get("currentSubscriptions") or []:
        if subscription["status"] == "past_due":
            log_subscription(event.customer_external_id, subscription, event.id)


def on_purchase(sender: Flask, event: WebhookEvent, **extra: Any) -> None:
    """A one-time purchase: what was bought and what it granted (a plan's own purchase
    is told by its subscription)."""
    if event.customer_external_id is None:
        return
    billing = flowglad.for_customer(event.customer_external_id).get_billing()
    purchase = next(
        (p for p in billing.summary.one_time_purchases if p.id == event.object_id), None
    )
    if purchase is None:
        return
    granted = ", ".join(grant.name for grant in purchase.grants)
    message = f"Bought {purchase.name}" + (f": {granted} added" if granted else "")
    record(event.customer_external_id, purchase.id, "purchase.completed", message, event.id)


def log_subscription(external_id: str, subscription: dict[str, Any], event_id: str) -> None:
    status = subscription["status"]
    template = _SUBSCRIPTION_NEWS.get(status)
    if template is None:
        return
    replaces = (subscription.get("metadata") or {}).get("replacesSubscriptionId")
    if status == "canceled" and subscription.get("cancellationReason") == "upgraded_to_paid":
        template = "{name} plan replaced by your new plan"
    elif (
        status == "active"
        and last_kind(subscription["id"]) == "subscription.cancellation_scheduled"
    ):
        template = "{name} plan kept: the cancellation was withdrawn"
    elif status == "active" and replaces:
        template = "Switched to {name}: a new billing period started"
    message = template.format(
        name=subscription.get("name") or "Your",
        end=date(subscription.get("cancelScheduledAt") or subscription.get("canceledAt")),
    )
    record(external_id, subscription["id"], f"subscription.{status}", message, event_id)


def init_app(app: Flask) -> None:
    """Listen to this app's webhooks only (several apps may share the process)."""
    subscription_webhook.connect(on_subscription, sender=app)
    payment_webhook.connect(on_payment, sender=app)
    purchase_webhook.connect(on_purchase, sender=app)
