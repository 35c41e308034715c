"""Usage events and the balances they draw down."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..account import Account
from ..errors import bad_request, conflict, not_found
from ..records import Record, Sub


@dataclass
class UsageInput:
    """A usage event as the API receives it, already checked for shape."""

    subscription_id: str
    amount: int
    transaction_id: str
    #: ("priceId" | "priceSlug" | "usageMeterId" | "usageMeterSlug", value)
    identifier: tuple[str, str]
    usage_date: int | None = None
    properties: dict[str, Any] | None = None


def _meter_and_price(account: Account, kind: str, value: str) -> tuple[Record, Record]:
    """The meter and usage price an identifier names; refusals worded as
    ``utils/usage/usageEventHelpers.ts`` words them."""
    pricing = account.pricing
    slugged = f"with slug {value} (not in customer's pricing model)"
    if kind in ("priceId", "priceSlug"):
        price = pricing.prices.get(value) if kind == "priceId" else pricing.price_by_slug(value)
        if price is None:
            raise not_found(f"Price not found: {value if kind == 'priceId' else slugged}")
        if price["type"] != "usage":
            reason = (
                "is not a usage price. Please provide a usage price id to create a usage event."
                if kind == "priceId"
                else "does not have a usage meter associated with it."
            )
            raise bad_request(f"Invalid priceId: Price {price['id']} {reason}")
        return pricing.usage_meters[price["usageMeterId"]], price
    meter = (
        pricing.usage_meters.get(value) if kind == "usageMeterId" else pricing.meter_by_slug(value)
    )
    if meter is None:
        where = f"{value} (not in customer's pricing model)"
        raise not_found(f"UsageMeter not found: {where if kind == 'usageMeterId' else slugged}")
    # Every meter has a default price: the pricing file gives it a no-charge one.
    default = pricing.meter_default_price(meter["id"])
    assert default is not None
    return meter, default


def resolve(account: Account, event: UsageInput) -> tuple[Sub, Record, Record]:
    """The subscription, meter and price an event is about, without recording it."""
    sub = account.get_sub(event.subscription_id)
    meter, price = _meter_and_price(account, *event.identifier)
    existing = account.records.usage_event(event.transaction_id, meter["id"])
    if existing is not None and existing["subscriptionId"] != sub.id:
        raise conflict(
            f"A usage event with transactionId {event.transaction_id} already exists "
            "for another subscription"
        )
    if existing is None and not sub.is_current:
        raise bad_request(f"Subscription {sub.id} is {sub.record['status']}")
    if meter["aggregationType"] == "count_distinct_properties" and not event.properties:
        raise bad_request("properties are required for a count_distinct_properties meter")
    return sub, meter, price


def record(account: Account, event: UsageInput) -> Record:
    """A repeated transactionId returns the event recorded the first time."""
    sub, meter, price = resolve(account, event)
    existing = account.records.usage_event(event.transaction_id, meter["id"])
    if existing is not None:
        return existing
    base = account.base("usage_event")
    recorded = account.records.usage_events.add(
        {
            **base,
            "customerId": sub.customer_id,
            "subscriptionId": sub.id,
            "usageMeterId": meter["id"],
            "billingPeriodId": sub.billing_period_id,
            "amount": event.amount,
            "usageDate": event.usage_date if event.usage_date is not None else base["createdAt"],
            "transactionId": event.transaction_id,
            "priceId": price["id"],
            "properties": event.properties,
            "pricingModelId": account.pricing.id,
        }
    )
    counted = event.amount
    if meter["aggregationType"] == "count_distinct_properties":
        key = json.dumps(event.properties, sort_keys=True)
        seen = sub.distinct.setdefault(meter["id"], set())
        counted = 0 if key in seen else 1
        seen.add(key)
    sub.used[meter["id"]] = sub.used.get(meter["id"], 0) + counted
    sub.ledger_meters.add(meter["id"])
    account.records.subscriptions.changed(sub)
    return recorded


def balances(account: Account, sub: Sub) -> list[Record]:
    """Credits granted minus usage, for each meter the subscription has ledger entries on.

    Flowglad sums ledger entries per meter (``selectUsageMeterBalancesForSubscriptions``
    in ``db/tableMethods/ledgerEntryMethods.ts``): a meter the plan grants nothing on and
    that saw no usage has no balance at all, not a zero one.
    """
    out = []
    for meter in account.pricing.usage_meters.values():
        mid = meter["id"]
        if mid not in sub.ledger_meters:
            continue
        available = (
            sub.period_credit.get(mid, 0) + sub.carry_credit.get(mid, 0) - sub.used.get(mid, 0)
        )
        out.append({**meter, "availableBalance": available, "subscriptionId": sub.id})
    return out


def settle(account: Account, sub: Sub) -> list[tuple[Record, int]]:
    """End of a period: usage beyond its credits takes one-off credits, then is billed.

    Returns (usage price, events) to bill, at each meter's default usage price, as the
    billing run's usage overages (``subscriptions/billingRunHelpers.ts``).
    """
    overage = []
    for meter, used in sub.used.items():
        over = max(0, used - sub.period_credit.get(meter, 0))
        taken = min(over, sub.carry_credit.get(meter, 0))
        if taken:
            sub.carry_credit[meter] -= taken
        price = account.pricing.meter_default_price(meter)
        if over > taken and price is not None:
            overage.append((price, over - taken))
    return overage
