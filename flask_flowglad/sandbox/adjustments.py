"""Previewing a plan change and undoing a scheduled one, as Flowglad's API does them.

``POST /subscriptions/{id}/preview-adjust`` takes the body of ``/adjust`` and answers what
that call would do, changing nothing: ``canAdjust`` (false with a ``reason`` for anything
Flowglad would refuse), the proration charged now, both plan totals, the timing it
resolves to. ``POST /subscriptions/{id}/cancel-scheduled-adjustment`` drops a downgrade
scheduled for the end of the period. :class:`~.api.Api` routes both here.
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .state import CURRENT_STATUSES, State, Sub

Record = dict[str, Any]


def preview(
    state: State,
    subscription_id: str,
    timing: str,
    prorate: bool,
    items: list[tuple[Record, Record | None]],
) -> Record:
    """What ``/adjust`` would do with these checked items (each with its price, ``None``
    when no price has that id or slug), changing nothing."""
    now = state.clock.now()
    sub = state.subs.get(subscription_id)
    if sub is None:
        return _refused(now, f"Subscription not found: {subscription_id}")
    reason = _refusal(sub)
    if reason is not None:
        return _refused(now, reason)
    new_items: list[tuple[Record, int]] = []
    for item, price in items:
        if price is None:
            return _refused(
                now, f"Price not found: {item.get('priceSlug') or item.get('priceId')}"
            )
        if price["type"] != "subscription":
            return _refused(
                now,
                "Only recurring prices can be used in subscriptions."
                f" Price {price['id']} is of type {price['type']}",
            )
        new_items.append((price, int(item.get("quantity", 1))))
    record = sub.record
    old_total = sub.total()
    new_total = sum(price["unitPrice"] * quantity for price, quantity in new_items)
    is_upgrade = new_total > old_total
    if timing == "auto":
        timing = "immediately" if is_upgrade else "at_end_of_current_billing_period"
    if timing == "at_end_of_current_billing_period" and is_upgrade:
        return _refused(
            now,
            "EndOfCurrentBillingPeriod adjustments are only allowed for downgrades (zero or"
            " negative net charge). For upgrades or adjustments with a positive charge, use"
            " Immediately timing instead.",
        )
    start, end = record["currentBillingPeriodStart"], record["currentBillingPeriodEnd"]
    effective = now if timing == "immediately" else end
    through = min(1.0, max(0.0, (effective - start) / max(1, end - start)))
    # The same rule the sandbox's /adjust charges by: the price difference for the part of
    # the period that is left, and nothing for a change at the period's end.
    charge = round((new_total - old_total) * (1 - through)) if timing == "immediately" else 0
    proration = charge if charge > 0 and prorate else 0
    method = _payment_method(state, record)
    if proration > 0 and method is None:
        return _refused(
            now,
            "No payment method found for subscription. A payment method is required for"
            " immediate adjustments with proration.",
        )
    answer: Record = {
        "canAdjust": True,
        "previewGeneratedAt": now,
        "prorationAmount": proration,
        "currentPlanTotal": old_total,
        "newPlanTotal": new_total,
        "resolvedTiming": timing,
        "effectiveDate": effective,
        "isUpgrade": is_upgrade,
        "percentThroughBillingPeriod": through,
        "billingPeriodEnd": end,
        "currentSubscriptionItems": [
            _item(i.record.get("name"), i.record["unitPrice"], i.record["quantity"], i.price)
            for i in sub.items
        ],
        "newSubscriptionItems": [
            _item(price.get("name"), price["unitPrice"], quantity, price)
            for price, quantity in new_items
        ],
    }
    if method is not None:
        answer["paymentMethod"] = method
    return answer


def cancel_scheduled(state: State, subscription_id: str) -> Record:
    """Drop the items scheduled to replace the current ones at the period's end."""
    sub = state.get_sub(subscription_id)
    record = sub.record
    if record.get("scheduledAdjustmentAt") is None:
        raise bad_request(f"Subscription {sub.id} does not have a scheduled adjustment to cancel.")
    canceled = len(sub.pending or [])
    sub.pending = None
    record["scheduledAdjustmentAt"] = None
    record["updatedAt"] = state.clock.now()
    return {"subscription": state.sub_record(sub), "canceledItemCount": canceled}


def _refusal(sub: Sub) -> str | None:
    """Why Flowglad would refuse any change of this subscription, in its words."""
    record = sub.record
    status = record["status"]
    if status not in CURRENT_STATUSES:
        return f"Subscription is in terminal state: {status}"
    if status == "credit_trial":
        return "Credit trial subscriptions cannot be adjusted."
    if not record.get("renews", True):
        return (
            f"Subscription {sub.id} is a non-renewing subscription. Non-renewing"
            " subscriptions cannot be adjusted."
        )
    if record.get("doNotCharge"):
        return (
            "Cannot adjust doNotCharge subscriptions. Cancel and create a new subscription"
            " instead."
        )
    if record.get("isFreePlan"):
        return (
            "Cannot adjust free plan subscriptions. Use createSubscription to upgrade from a"
            " free plan instead."
        )
    if record.get("scheduledAdjustmentAt") is not None:
        return (
            "A scheduled adjustment is already pending. Cancel the scheduled adjustment"
            " before making a new one."
        )
    if status == "cancellation_scheduled":
        return "A cancellation is scheduled. Uncancel the subscription before adjusting."
    return None


def _refused(now: int, reason: str) -> Record:
    return {"canAdjust": False, "previewGeneratedAt": now, "reason": reason}


def _item(name: Any, unit_price: int, quantity: int, price: Record) -> Record:
    return {
        "name": name if isinstance(name, str) else str(price.get("name") or ""),
        "unitPrice": unit_price,
        "quantity": quantity,
        "priceId": price["id"],
    }


def _payment_method(state: State, subscription: Record) -> Record | None:
    """The card a prorated charge would go to, as the preview describes it."""
    wanted = subscription.get("defaultPaymentMethodId") or subscription.get(
        "backupPaymentMethodId"
    )
    for method in state.payment_methods:
        if method["id"] == wanted:
            data = method.get("paymentMethodData") or {}
            described = {"id": method["id"], "type": method["type"]}
            for key in ("last4", "brand"):
                if isinstance(data.get(key), str):
                    described[key] = data[key]
            return described
    return None
