"""Subscription items: what a price and its product's features become inside a
subscription, and the usage credits they grant."""

from __future__ import annotations

from ..account import Account
from ..records import Item, Record, Sub


def product_name(account: Account, price: Record) -> str | None:
    product = account.pricing.products.get(price.get("productId") or "")
    return product["name"] if product else price.get("name")


def subscription_name(account: Account, price: Record) -> str | None:
    """``Product - Price``, as ``subscriptions/createSubscription/initializers.ts``."""
    product = product_name(account, price)
    return f"{product} - {price['name']}" if product and price.get("name") else product


def item_name(price: Record, product: str | None, quantity: int) -> str | None:
    """``Price x 3``, as ``subscriptions/createSubscription/initializers.ts``."""
    name = price.get("name") or product
    return f"{name} x {quantity}" if name and quantity > 1 else name


def new_item(
    account: Account, sub: Sub, price: Record, quantity: int, *, name: str | None = None
) -> Item:
    """An item of ``quantity`` units of ``price``, with its product's features."""
    base = account.base("si")
    record: Record = {
        **base,
        "subscriptionId": sub.id,
        "name": name or item_name(price, product_name(account, price), quantity),
        "addedDate": base["createdAt"],
        "priceId": price["id"],
        "unitPrice": price["unitPrice"],
        "quantity": quantity,
        "metadata": None,
        "type": "static",
        "externalId": None,
        "expiredAt": None,
        "manuallyCreated": False,
        "pricingModelId": account.pricing.id,
    }
    product_id = price.get("productId") or ""
    features = [
        _item_feature(account, record["id"], product_id, feature, quantity)
        for feature in account.pricing.product_features.get(product_id, [])
    ]
    return Item(record=record, features=features, price=price)


def _item_feature(
    account: Account, item_id: str, product_id: str, feature: Record, quantity: int
) -> Record:
    """A product feature as a subscription item feature
    (``subscriptions/subscriptionItemFeatureHelpers.ts``)."""
    item_feature: Record = {
        **account.base("sub_feature"),
        "subscriptionItemId": item_id,
        "featureId": feature["id"],
        # subscriptions/subscriptionItemFeatureHelpers.ts: productFeature?.id
        "productFeatureId": account.pricing.product_feature_ids.get((product_id, feature["id"])),
        "type": feature["type"],
        "amount": None,
        "usageMeterId": None,
        "renewalFrequency": None,
        "expiredAt": None,
        "detachedAt": None,
        "detachedReason": None,
        "manuallyCreated": False,
        "pricingModelId": account.pricing.id,
        "resourceId": None,
        "name": feature["name"],
        "slug": feature["slug"],
    }
    if feature["type"] == "usage_credit_grant":
        item_feature.update(
            amount=feature["amount"] * quantity,
            usageMeterId=feature["usageMeterId"],
            renewalFrequency=feature["renewalFrequency"],
        )
    elif feature["type"] == "resource":
        item_feature.update(amount=feature["amount"] * quantity, resourceId=feature["resourceId"])
    return item_feature


def grant_credits(sub: Sub, items: list[Item]) -> None:
    """Credits that new items bring: per-period grants and one-off grants."""
    for item in items:
        for f in item.features:
            if f["type"] != "usage_credit_grant":
                continue
            ledger = (
                sub.period_credit
                if f["renewalFrequency"] == "every_billing_period"
                else sub.carry_credit
            )
            ledger[f["usageMeterId"]] = ledger.get(f["usageMeterId"], 0) + f["amount"]
            sub.ledger_meters.add(f["usageMeterId"])


def grant_period_credits(sub: Sub) -> None:
    """A new billing period: the per-period grants start again, unused ones expire
    (``db/ledgerManager/billingPeriodTransitionLedgerCommand``)."""
    sub.period_credit = {}
    for item in sub.items:
        for f in item.features:
            if f["type"] == "usage_credit_grant" and f["renewalFrequency"] == (
                "every_billing_period"
            ):
                meter = f["usageMeterId"]
                sub.period_credit[meter] = sub.period_credit.get(meter, 0) + f["amount"]


def capacities(account: Account, new_items: list[tuple[Record, int]]) -> dict[str, int]:
    """Resource id -> the capacity the items' resource features would grant."""
    granted: dict[str, int] = {}
    for price, quantity in new_items:
        for feature in account.pricing.product_features.get(price.get("productId") or "", []):
            if feature["type"] == "resource":
                rid = feature["resourceId"]
                granted[rid] = granted.get(rid, 0) + feature["amount"] * quantity
    return granted
