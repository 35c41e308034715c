"""The shapes the API answers with, computed from the records.

They share the stored records instead of copying them: the API serializes them inside the
transaction, and the sandbox's helpers copy what they hand out.
"""

from __future__ import annotations

from ..account import Account
from ..records import Record, Sub
from . import usage


def sub_record(sub: Sub) -> Record:
    """The subscription as ``GET /subscriptions/{id}`` returns it."""
    return {**sub.record, "current": sub.is_current}


def item_records(sub: Sub) -> list[Record]:
    return [i.record for i in sub.items]


def sub_details(account: Account, sub: Sub) -> Record:
    """SubscriptionDetails: record + items with their price + features and balances."""
    details = sub_record(sub)
    details["subscriptionItems"] = [{**i.record, "price": i.price} for i in sub.items]
    details["experimental"] = {
        "featureItems": [f for i in sub.items for f in i.features],
        "usageMeterBalances": usage.balances(account, sub),
    }
    return details


def billing(account: Account, customer: Record, portal_url: str) -> Record:
    """``GET /customers/{externalId}/billing``: current subscriptions as
    ``docs/protocol.md`` §7.6 defines them."""
    records = account.records
    subs = account.subs_of(customer["id"])
    current = [
        s for s in subs if s.is_current and s.record["cancellationReason"] != "upgraded_to_paid"
    ]
    payload: Record = {
        "customer": customer,
        "subscriptions": [sub_details(account, s) for s in subs],
        # Creation order, as the query in db/tableMethods/invoiceLineItemMethods.ts
        # (selectCustomerFacingInvoicesWithLineItems) has no ORDER BY; same for the
        # subscriptions, payment methods and purchases below.
        "invoices": [i.to_json() for i in records.invoices.of(customer["id"])],
        "paymentMethods": records.payment_methods.of(customer["id"]),
        "purchases": records.purchases.of(customer["id"]),
        "currentSubscriptions": [sub_details(account, s) for s in current],
        "catalog": account.pricing.record,
        "pricingModel": account.pricing.record,
        "billingPortalUrl": portal_url,
    }
    if current:
        latest = max(current, key=lambda s: (s.record["createdAt"], s.record["updatedAt"], s.id))
        payload["currentSubscription"] = sub_details(account, latest)
    return payload
