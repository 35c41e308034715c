"""Invoices: what a billing period, a plan change or a purchase charges, and its payment.

Payments are not records of the sandbox: each paid invoice announces a made-up payment id
(``pym_...``) in its ``payment.succeeded`` webhook, an invoice nobody could pay a
``payment.failed`` one.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..account import Account
from ..ids import new_id
from ..records import Invoice, Record, Sub

#: The payment event an invoice announces, by the invoice's status.
PAYMENT_EVENTS = {"paid": "payment.succeeded", "open": "payment.failed"}


def payment_method_id(account: Account, sub: Sub) -> str | None:
    """The card a subscription is charged on: its own, else the customer's default one."""
    record = sub.record
    found: str | None = record["defaultPaymentMethodId"] or (
        (account.default_payment_method(record["customerId"]) or {}).get("id")
    )
    return found


def invoice_period(
    account: Account,
    sub: Sub,
    *,
    amount: int | None = None,
    memo: str | None = None,
    overage: Sequence[tuple[Record, int]] = (),
) -> None:
    """A paid period gets an invoice; without a payment method it stays open (past due).

    ``overage`` is the usage beyond credits of the period that ended, as (usage price,
    events) pairs: billed as ``usage`` lines of ``events / usageEventsPerUnit`` units,
    like ``subscriptions/billingRunHelpers.ts`` does.
    """
    usage_lines = [
        (price, events, events / price["usageEventsPerUnit"])
        for price, events in overage
        if events
    ]
    usage_total = round(sum(price["unitPrice"] * units for price, _, units in usage_lines))
    total = (sub.total() if amount is None else amount) + usage_total
    if total <= 0:
        return
    record = sub.record
    status = "paid" if payment_method_id(account, sub) else "open"
    invoice = new_invoice(
        account,
        record["customerId"],
        total,
        status,
        type_="subscription",
        subscription_id=sub.id,
        billing_period=(
            sub.billing_period_id,
            record["currentBillingPeriodStart"],
            record["currentBillingPeriodEnd"],
        ),
        memo=memo,
    )
    if amount is None:
        invoice.lines += [
            line(account, invoice.id, i.price, i.record["quantity"]) for i in sub.items
        ]
    else:
        first = line(account, invoice.id, sub.items[0].price, 1)
        invoice.lines.append({**first, "price": amount, "description": memo})
    billing_run_id = new_id("billing_run")
    for price, events, units in usage_lines:
        ledger = sub.ledger_accounts.setdefault(price["usageMeterId"], new_id("ledger_account"))
        usage = line(account, invoice.id, price, 1)
        usage.update(
            quantity=int(units) if float(units).is_integer() else units,
            type="usage",
            description=price.get("name") or "",
            billingRunId=billing_run_id,
            ledgerAccountId=ledger,
            ledgerAccountCredit=events,
        )
        invoice.lines.append(usage)
    if status == "open" and record["status"] == "active":
        record["status"] = "past_due"
    account.records.subscriptions.changed(sub)
    account.announce(PAYMENT_EVENTS[status], new_id("pym"), record["customerId"])


def new_invoice(
    account: Account,
    customer_id: str,
    total: int,
    status: str,
    *,
    type_: str,
    subscription_id: str | None = None,
    billing_period: tuple[str, int, int] | None = None,
    purchase_id: str | None = None,
    memo: str | None = None,
) -> Invoice:
    """An invoice without lines, numbered after the customer's ``invoiceNumberBase``."""
    customer = account.customer_by_id(customer_id)
    meta = account.records.meta
    meta["invoiceCount"] += 1
    account.records.meta_changed()
    base = account.base("inv")
    record: Record = {
        **base,
        "purchaseId": purchase_id,
        "invoiceNumber": f"{customer['invoiceNumberBase']}-{meta['invoiceCount']:04d}",
        "invoiceDate": base["createdAt"],
        "billingPeriodId": billing_period[0] if billing_period else None,
        "dueDate": base["createdAt"],
        "customerId": customer_id,
        "organizationId": account.organization_id,
        "status": status,
        "subscriptionId": subscription_id,
        "billingRunId": None,
        "billingPeriodStartDate": billing_period[1] if billing_period else None,
        "billingPeriodEndDate": billing_period[2] if billing_period else None,
        "ownerMembershipId": None,
        "pdfURL": None,
        "receiptPdfURL": None,
        "memo": memo,
        "bankPaymentOnly": False,
        "type": type_,
        "currency": account.pricing.currency,
        "taxAmount": 0,
        "subtotal": total,
        "taxType": None,
        "taxCountry": None,
        "taxState": None,
        "taxRatePercentage": None,
        "applicationFee": None,
        "pricingModelId": account.pricing.id,
    }
    return account.records.invoices.add(Invoice(record, []))


def line(account: Account, invoice_id: str, price: Record, quantity: int) -> Record:
    """One static line of ``quantity`` units of ``price``."""
    return {
        **account.base("ili"),
        "invoiceId": invoice_id,
        "quantity": quantity,
        "priceId": price["id"],
        "description": price.get("name"),
        "price": price["unitPrice"],
        "type": "static",
        "pricingModelId": account.pricing.id,
        "ledgerAccountId": None,
        "ledgerAccountCredit": None,
    }


def pay_open_invoices(account: Account, sub: Sub) -> None:
    """A new card pays what the subscription owes: its open invoices become paid."""
    for invoice in account.records.invoices.of(sub.customer_id):
        record = invoice.record
        if record["subscriptionId"] == sub.id and record["status"] == "open":
            record["status"] = "paid"
            record["updatedAt"] = account.now()
            account.records.invoices.changed(invoice)
            account.announce("payment.succeeded", new_id("pym"), sub.customer_id)
