"""Cards and purchases: what paying at checkout leaves behind."""

from __future__ import annotations

from .. import limits
from ..account import Account
from ..ids import new_id
from ..records import Record
from . import invoices, items


def add_payment_method(
    account: Account, customer: Record, last4: str, *, name: str | None
) -> Record:
    """A new card becomes the customer's default one (``utils/paymentMethodHelpers.ts``)."""
    methods = account.records.payment_methods
    for other in methods.of(customer["id"]):
        if other["default"]:
            other["default"] = False
            methods.changed(other)
    return methods.add(
        {
            **account.base("pm"),
            "customerId": customer["id"],
            "pricingModelId": account.pricing.id,
            "billingDetails": {
                "name": (name or customer["name"] or "")[: limits.MAX_ID] or None,
                "email": customer["email"] or None,
                "address": {
                    "line1": None,
                    "line2": None,
                    "city": None,
                    "state": None,
                    "postal_code": None,
                    "country": "US",
                },
            },
            "type": "card",
            "default": True,
            "paymentMethodData": {
                "brand": "visa",
                "last4": last4,
                "exp_month": 12,
                "exp_year": 2034,
            },
            "metadata": None,
        }
    )


def purchase(
    account: Account,
    customer: Record,
    price: Record,
    quantity: int,
    *,
    name: str | None,
    metadata: Record | None,
) -> Record:
    """A paid purchase: one-time (with its invoice and credits) or of a subscription.

    Flowglad records a Purchase for every product checkout, subscription prices
    included (``processPurchaseBookkeepingForCheckoutSession`` in
    ``utils/bookkeeping/checkoutSessions.ts``); a subscription's invoices belong to its
    billing periods, so only a one-time purchase gets an invoice of its own.
    """
    one_time = price["type"] == "single_payment"
    total = price["unitPrice"] * quantity
    base = account.base("prch")
    bought: Record = {
        **base,
        "name": name or items.product_name(account, price) or "Purchase",
        "status": "paid",
        "customerId": customer["id"],
        "organizationId": account.organization_id,
        "billingCycleAnchor": None,
        "priceId": price["id"],
        "quantity": quantity,
        "priceType": price["type"],
        "trialPeriodDays": None if one_time else (price.get("trialPeriodDays") or 0),
        "pricePerBillingCycle": None if one_time else price["unitPrice"],
        "intervalUnit": None if one_time else price["intervalUnit"],
        "intervalCount": None if one_time else price["intervalCount"],
        "firstInvoiceValue": total if one_time else 0,
        "totalPurchaseValue": total if one_time else None,
        "bankPaymentOnly": False,
        "purchaseDate": base["createdAt"],
        "endDate": None,
        "proposal": None,
        "archived": False,
        "billingAddress": None,
        "metadata": metadata,
        "pricingModelId": account.pricing.id,
        "position": 0,
    }
    account.records.purchases.add(bought)
    if one_time:
        invoice = invoices.new_invoice(
            account, customer["id"], total, "paid", type_="purchase", purchase_id=bought["id"]
        )
        invoice.lines.append(invoices.line(account, invoice.id, price, quantity))
        _grant_purchase_credits(account, customer, price)
        account.announce("payment.succeeded", new_id("pym"), customer["id"])
    # A subscription's payment is its first period's invoice, announced with it.
    account.announce("purchase.completed", bought["id"], customer["id"])
    return bought


def _grant_purchase_credits(account: Account, customer: Record, price: Record) -> None:
    """A paid one-time price grants its product's first usage credit feature, once.

    As ``ledgerCommandForPaymentSucceeded`` in
    ``utils/bookkeeping/processPaymentIntentStatusUpdated.ts``: the credits (the
    feature's amount, whatever the quantity) go to the customer's current subscription
    and never expire; without a current subscription nothing is granted. A one-time
    price's toggle and resource features grant nothing: features belong to
    subscription items.
    """
    features = account.pricing.product_features.get(price.get("productId") or "", [])
    grant = next((f for f in features if f["type"] == "usage_credit_grant"), None)
    sub = account.latest_current(customer["id"])
    if grant is None or sub is None:
        return
    meter = grant["usageMeterId"]
    sub.carry_credit[meter] = sub.carry_credit.get(meter, 0) + grant["amount"]
    sub.ledger_meters.add(meter)
    account.records.subscriptions.changed(sub)
