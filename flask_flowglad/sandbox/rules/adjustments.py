"""Plan changes: previewed, made now (upgrades, prorated) or at the end of the period
(downgrades), and taken back while still scheduled (``subscriptions/adjustSubscription.ts``,
``subscriptions/scheduledAdjustmentHelpers.ts``)."""

from __future__ import annotations

from ..account import Account
from ..errors import bad_request, conflict, not_found
from ..records import TERMINAL_STATUSES, Record, Sub
from . import invoices, items, resources

NewItems = list[tuple[Record, int]]


def _refusal(
    account: Account, sub: Sub, new_items: NewItems, missing_price: str | None
) -> str | None:
    """Why the subscription cannot be adjusted to ``new_items``, in
    ``calculateAdjustmentPreview``'s order; ``None`` when it can (timing aside)."""
    record = sub.record
    status = record["status"]
    if status in TERMINAL_STATUSES:
        return f"Subscription is in terminal state: {status}"
    if status == "credit_trial":
        return "Credit trial subscriptions cannot be adjusted."
    if not record["renews"]:
        return (
            f"Subscription {sub.id} is a non-renewing subscription. Non-renewing "
            "subscriptions cannot be adjusted."
        )
    if record["doNotCharge"]:
        return (
            "Cannot adjust doNotCharge subscriptions. Cancel and create a new "
            "subscription instead."
        )
    if record["isFreePlan"]:
        return (
            "Cannot adjust free plan subscriptions. Use createSubscription to upgrade "
            "from a free plan instead."
        )
    if sub.pending:
        return (
            "A scheduled adjustment is already pending. Cancel the scheduled "
            "adjustment before making a new one."
        )
    if status == "cancellation_scheduled":
        return "A cancellation is scheduled. Uncancel the subscription before adjusting."
    if missing_price is not None:
        return f"Price not found: {missing_price}"
    for price, _ in new_items:
        if price["type"] != "subscription":
            return (
                "Only recurring prices can be used in subscriptions. "
                f"Price {price['id']} is of type {price['type']}"
            )
    for resource_id, capacity in items.capacities(account, new_items).items():
        claimed = len(resources.active_claims(account, sub, resource_id))
        if claimed > capacity:
            return (
                f"Cannot reduce capacity to {capacity}. {claimed} resources are "
                f"currently claimed. Release {claimed - capacity} claims before downgrading."
            )
    return None


def preview(
    account: Account,
    sub: Sub,
    timing: str,
    new_items: NewItems,
    prorate: bool,
    *,
    missing_price: str | None = None,
) -> Record:
    """What an adjustment would do, or why it cannot be made; changes nothing.

    Shaped as ``POST /subscriptions/{id}/preview-adjust`` answers. Proration is the
    price difference over the part of the period left. ``missing_price`` is an item's
    price id or slug that names no price: refused once the subscription itself may change.
    """
    now = account.now()
    refusal = _refusal(account, sub, new_items, missing_price)
    if refusal is not None:
        return refused(now, refusal)
    record = sub.record
    old_total = sub.total()
    new_total = sum(p["unitPrice"] * q for p, q in new_items)
    is_upgrade = new_total > old_total
    resolved = timing
    if timing == "auto":
        resolved = "immediately" if is_upgrade else "at_end_of_current_billing_period"
    if resolved != "immediately" and is_upgrade:
        return refused(
            now,
            "EndOfCurrentBillingPeriod adjustments are only allowed for downgrades (zero "
            "or negative net charge). For upgrades or adjustments with a positive charge, "
            "use Immediately timing instead.",
        )
    start, end = record["currentBillingPeriodStart"], record["currentBillingPeriodEnd"]
    effective = now if resolved == "immediately" else end
    through = min(1.0, max(0.0, (effective - start) / max(1, end - start)))
    net = round((new_total - old_total) * (1 - through)) if resolved == "immediately" else 0
    method_id = record["defaultPaymentMethodId"] or record["backupPaymentMethodId"]
    if net > 0 and prorate and not method_id:
        return refused(
            now,
            "No payment method found for subscription. A payment method is required for "
            "immediate adjustments with proration.",
        )
    answer: Record = {
        "canAdjust": True,
        "previewGeneratedAt": now,
        "prorationAmount": net if net > 0 and prorate else 0,
        "currentPlanTotal": old_total,
        "newPlanTotal": new_total,
        "resolvedTiming": resolved,
        "effectiveDate": effective,
        "isUpgrade": is_upgrade,
        "percentThroughBillingPeriod": through,
        "billingPeriodEnd": end,
        "currentSubscriptionItems": [
            _preview_item(i.record["name"], i.price, i.record["quantity"]) for i in sub.items
        ],
        "newSubscriptionItems": [
            _preview_item(p.get("name") or items.product_name(account, p), p, q)
            for p, q in new_items
        ],
    }
    method = account.records.payment_methods.get(method_id or "")
    if method is not None:
        answer["paymentMethod"] = {
            "id": method["id"],
            "type": method["type"],
            "last4": method["paymentMethodData"]["last4"],
            "brand": method["paymentMethodData"]["brand"],
        }
    return answer


def refused(now: int, reason: str) -> Record:
    """A preview that says no, and why."""
    return {"canAdjust": False, "previewGeneratedAt": now, "reason": reason}


def _preview_item(name: str | None, price: Record, quantity: int) -> Record:
    return {
        "name": name or "",
        "unitPrice": price["unitPrice"],
        "quantity": quantity,
        "priceId": price["id"],
    }


def adjust(
    account: Account,
    sub: Sub,
    timing: str,
    new_items: NewItems,
    prorate: bool,
    *,
    missing_price: str | None = None,
) -> tuple[Sub, str, bool]:
    """Upgrades apply now, downgrades at the period's end (``auto`` timing).

    Refused as ``adjustSubscription`` refuses (``convertPreviewFailureToError``): an
    unknown price is a 404, a capacity conflict a 409, anything else a 400.
    """
    answer = preview(account, sub, timing, new_items, prorate, missing_price=missing_price)
    if not answer["canAdjust"]:
        reason = answer["reason"]
        if reason.startswith("Price not found"):
            raise not_found(reason)
        if reason.startswith("Cannot reduce capacity"):
            raise conflict(f"resource conflict: {reason}")
        raise bad_request(f"Invalid subscription: {reason}")
    record = sub.record
    if answer["resolvedTiming"] == "immediately":
        replace_items(account, sub, new_items)
        if answer["prorationAmount"] > 0:
            invoices.invoice_period(
                account,
                sub,
                amount=answer["prorationAmount"],
                memo="Proration: Net charge adjustment",
            )
    else:
        sub.pending = list(new_items)
        record["scheduledAdjustmentAt"] = record["currentBillingPeriodEnd"]
    account.touch_sub(sub)
    account.announce("subscription.updated", sub.id, record["customerId"])
    return sub, answer["resolvedTiming"], answer["isUpgrade"]


def cancel_scheduled(account: Account, sub: Sub) -> int:
    """Drop a scheduled downgrade; how many scheduled items it had
    (``cancelScheduledAdjustment`` in ``subscriptions/scheduledAdjustmentHelpers.ts``)."""
    if not sub.pending:
        raise bad_request(
            f"Invalid subscription: Subscription {sub.id} does not have a scheduled "
            "adjustment to cancel."
        )
    count = len(sub.pending)
    sub.pending = None
    sub.record["scheduledAdjustmentAt"] = None
    account.touch_sub(sub)
    account.announce("subscription.updated", sub.id, sub.customer_id)
    return count


def replace_items(account: Account, sub: Sub, new_items: NewItems) -> None:
    """The subscription's items become ``new_items`` now; the old ones expire."""
    now = account.now()
    for item in sub.items:
        item.record["expiredAt"] = now
        for f in item.features:
            f["expiredAt"] = now
    old_grants = dict(sub.period_credit)
    # subscriptions/adjustSubscription.ts names adjusted items after their price alone.
    sub.items = [
        items.new_item(
            account,
            sub,
            price,
            quantity,
            name=price.get("name") or items.product_name(account, price),
        )
        for price, quantity in new_items
    ]
    # A plan change within a period keeps the larger per-period grant: an upgrade
    # tops the balance up, a downgrade does not claw credits back.
    sub.period_credit = {}
    items.grant_credits(sub, sub.items)
    for meter, amount in old_grants.items():
        sub.period_credit[meter] = max(amount, sub.period_credit.get(meter, 0))
    # syncSubscriptionWithActiveItems (adjustSubscription.ts): the subscription takes
    # the name and price of its most expensive item.
    primary = max(sub.items, key=lambda i: i.record["unitPrice"] * i.record["quantity"])
    sub.record.update(
        priceId=primary.price["id"],
        isFreePlan=sum(p["unitPrice"] * q for p, q in new_items) == 0,
        interval=primary.price["intervalUnit"],
        intervalCount=primary.price["intervalCount"],
        name=primary.record["name"],
    )
    account.records.subscriptions.changed(sub)
