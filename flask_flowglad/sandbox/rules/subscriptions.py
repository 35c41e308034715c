"""Subscriptions: started, cancelled (now or at the end of the period), taken back, ended."""

from __future__ import annotations

from ..account import Account
from ..errors import bad_request, conflict
from ..ids import DAY_MS, add_interval, new_id
from ..records import TERMINAL_STATUSES, Record, Sub
from . import invoices, items


def period_end(start_ms: int, unit: str, count: int) -> int:
    """The end of a billing period that starts at ``start_ms``."""
    try:
        return add_interval(start_ms, unit, count)
    except (OverflowError, ValueError, OSError):
        raise bad_request("The billing period would end after the year 9999") from None


def create(
    account: Account,
    customer: Record,
    price: Record,
    quantity: int,
    *,
    name: str | None = None,
    metadata: Record | None = None,
    trial_end: int | None = None,
    payment_method_id: str | None = None,
    interval: str | None = None,
    interval_count: int | None = None,
) -> Sub:
    """Start a renewing subscription: first billing period, credits, first invoice.

    A trial's first billing period ends with the trial (``generateNextBillingPeriod`` in
    ``subscriptions/billingIntervalHelpers.ts``); it is charged when the trial ends.
    """
    if price["type"] != "subscription":
        raise bad_request(f"Price {price['id']} is not a subscription price")
    verify_can_subscribe(account, customer, price)
    base = account.base("sub")
    now = base["createdAt"]
    if trial_end is None and price.get("trialPeriodDays"):
        trial_end = now + int(price["trialPeriodDays"]) * DAY_MS
    trialing = bool(trial_end and trial_end > now)
    unit = interval or price["intervalUnit"]
    count = interval_count or price["intervalCount"]
    record: Record = {
        **base,
        "startDate": now,
        "customerId": customer["id"],
        "organizationId": account.organization_id,
        "status": "trialing" if trialing else "active",
        # maybeDefaultPaymentMethodForSubscription: the customer's default card.
        "defaultPaymentMethodId": payment_method_id
        or (account.default_payment_method(customer["id"]) or {}).get("id"),
        "backupPaymentMethodId": None,
        "trialEnd": trial_end,
        "currentBillingPeriodStart": now,
        "currentBillingPeriodEnd": trial_end if trialing else period_end(now, unit, count),
        "metadata": metadata,
        "canceledAt": None,
        "cancelScheduledAt": None,
        "cancellationReason": None,
        "replacedBySubscriptionId": None,
        "isFreePlan": price["unitPrice"] == 0,
        "doNotCharge": False,
        "priceId": price["id"],
        "runBillingAtPeriodStart": True,
        "interval": unit,
        "intervalCount": count,
        "billingCycleAnchorDate": now,
        "name": name or items.subscription_name(account, price),
        "renews": True,
        "pricingModelId": account.pricing.id,
        "scheduledAdjustmentAt": None,
        "current": True,
    }
    sub = Sub(record=record, items=[], billing_period_id=new_id("billing_period"))
    sub.items = [items.new_item(account, sub, price, quantity)]
    items.grant_credits(sub, sub.items)
    account.records.subscriptions.add(sub)
    account.announce("subscription.created", sub.id, customer["id"])
    if price["unitPrice"] != 0:
        _replace_free_plan(account, customer, sub)
    if record["status"] == "active":
        invoices.invoice_period(account, sub)
    return sub


def verify_can_subscribe(account: Account, customer: Record, price: Record) -> None:
    """One free plan per customer, and one current subscription unless the organization
    allows more (``verifyCanCreateSubscription`` in
    ``subscriptions/createSubscription/helpers.ts``); a paid plan's free plan does not
    count, as the paid plan replaces it."""
    current = account.current_subs(customer["id"])
    if price["unitPrice"] == 0:
        if any(s.record["isFreePlan"] for s in current):
            raise conflict(
                f"Subscription conflict: Customer {customer['id']} already has an active "
                "free subscription. Only one free subscription is allowed per customer. "
                "Please upgrade or cancel the existing free subscription before creating "
                "a new one."
            )
    else:
        replaced = _free_plan_to_replace(account, customer)
        current = [s for s in current if s is not replaced]
    if current and not account.allow_multiple_subscriptions:
        raise conflict(
            f"Subscription conflict: Customer {customer['id']} already has an active "
            "subscription. Please cancel the existing subscription before creating a new one."
        )


def _free_plan_to_replace(account: Account, customer: Record) -> Sub | None:
    free = [
        s
        for s in account.subs_of(customer["id"])
        if s.record["status"] == "active" and s.record["isFreePlan"]
    ]
    return max(free, key=lambda s: (s.record["createdAt"], s.id)) if free else None


def _replace_free_plan(account: Account, customer: Record, paid: Sub) -> None:
    """A paid plan ends the customer's active free plan as ``upgraded_to_paid``.

    ``subscriptions/createSubscription/workflow.ts``: the most recent active free
    subscription, for every way a paid subscription is created (API and checkout).
    """
    free = _free_plan_to_replace(account, customer)
    if free is not None and free is not paid:
        end(account, free, "upgraded_to_paid", replaced_by=paid.id)


def cancel(account: Account, sub: Sub, timing: str) -> Sub:
    """At the period's end (``cancellation_scheduled``) or now (``canceled``).

    As ``subscriptions/cancelSubscription.ts``: the default free plan cannot be
    cancelled (by either timing); an ended subscription is answered as it is
    (idempotent); a subscription with a scheduled adjustment cannot be cancelled.
    """
    record = sub.record
    if record["isFreePlan"]:
        raise bad_request(
            "Invalid subscription: Cannot cancel the default free plan. "
            "Please upgrade to a paid plan instead."
        )
    if record["status"] in TERMINAL_STATUSES:
        return sub
    if sub.pending:
        raise bad_request(
            "Invalid subscription: A scheduled adjustment is pending. Cancel the "
            "scheduled adjustment before canceling the subscription."
        )
    sub.pending = None
    record["scheduledAdjustmentAt"] = None
    if timing == "immediately":
        end(account, sub, "customer_request")
    elif record["status"] != "cancellation_scheduled":
        record["status"] = "cancellation_scheduled"
        record["cancelScheduledAt"] = record["currentBillingPeriodEnd"]
        record["cancellationReason"] = "customer_request"
        account.announce("subscription.updated", sub.id, record["customerId"])
    account.touch_sub(sub)
    return sub


def end(
    account: Account,
    sub: Sub,
    reason: str,
    at: int | None = None,
    replaced_by: str | None = None,
    *,
    reassign: bool = True,
) -> None:
    """Cancel now; the subscription's resource claims are released with it.

    ``reassign=False`` skips the fall back to the default plan, for a caller that puts
    the customer on another plan at once.
    """
    at = account.now() if at is None else at
    record = sub.record
    record.update(
        status="canceled",
        canceledAt=at,
        cancellationReason=reason,
        replacedBySubscriptionId=replaced_by,
        current=False,
    )
    claims = account.records.claims
    for claim in claims.of(sub.id):
        if claim["releasedAt"] is None:
            claim.update(releasedAt=at, releaseReason="subscription_canceled", updatedAt=at)
            claims.changed(claim)
    account.touch_sub(sub)
    account.announce("subscription.canceled", sub.id, record["customerId"])
    if reassign and reason != "upgraded_to_paid":
        _reassign_default_plan(account, sub)


def _reassign_default_plan(account: Account, ended: Sub) -> None:
    """Back on the default plan when a paid plan ends and nothing current is left.

    ``reassignDefaultSubscription`` in ``subscriptions/cancelSubscription.ts``: not for
    an ended free plan, not when another subscription is still current.
    """
    price = account.pricing.default_price()
    customer_id = ended.customer_id
    if ended.record["isFreePlan"] or price is None or price["type"] != "subscription":
        return
    if account.current_subs(customer_id):
        return
    customer = account.customer_by_id(customer_id)
    if customer["archived"]:
        return
    name = f"{items.product_name(account, price)} Subscription"
    create(account, customer, price, 1, name=name)


def uncancel(account: Account, sub: Sub) -> Sub:
    """A scheduled cancellation is taken back; anything else is answered as it is.

    ``uncancelSubscription`` in ``subscriptions/cancelSubscription.ts`` is idempotent:
    a subscription that is not scheduled to cancel (ended ones included) is unchanged.
    """
    record = sub.record
    if record["status"] != "cancellation_scheduled":
        return sub
    method = record["defaultPaymentMethodId"] or account.default_payment_method(
        record["customerId"]
    )
    if not record["isFreePlan"] and not record["doNotCharge"] and not method:
        # subscriptions/cancelSubscription.ts, uncancelSubscription
        raise bad_request(
            "Invalid paymentMethod: Cannot uncancel paid subscription without an active "
            "payment method. Please add a payment method first."
        )
    trial_end = record["trialEnd"]
    record["status"] = "trialing" if trial_end and trial_end > account.now() else "active"
    record["cancelScheduledAt"] = None
    record["cancellationReason"] = None
    account.touch_sub(sub)
    account.announce("subscription.updated", sub.id, record["customerId"])
    return sub


def checkout_blocked(account: Account, session: Record) -> bool:
    """The hosted checkout sends a customer with an active paid plan back instead of
    selling a second one (``shouldBlockCheckout`` in ``app/checkout/guard.ts``)."""
    price = account.pricing.prices.get(session.get("priceId") or "")
    if account.allow_multiple_subscriptions or price is None or price["type"] != "subscription":
        return False
    return any(
        s.record["status"] == "active" and not s.record["isFreePlan"]
        for s in account.subs_of(session["customerId"] or "")
    )
