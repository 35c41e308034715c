"""Checkout sessions: made through the API, paid (or declined) on the hosted page."""

from __future__ import annotations

from .. import cards
from ..account import Account
from ..errors import SandboxError, bad_request, conflict, internal_error, not_found
from ..ids import DAY_MS, new_id
from ..records import Record
from . import invoices, payments, subscriptions

#: How long a checkout session can be paid.
CHECKOUT_LIFETIME_MS = DAY_MS


class CardDeclined(SandboxError):
    """The declined test card was used; the checkout session stays open."""

    def __init__(self) -> None:
        super().__init__(402, "PAYMENT_FAILED", "Your card was declined.")


def _product_price(account: Account, body: Record, customer: Record | None) -> Record:
    """The price a product checkout sells, refused as
    ``utils/bookkeeping/createCheckoutSession.ts`` refuses it."""
    if "priceSlug" in body:
        if customer is None:
            raise bad_request(f"Customer with externalId {body['customerExternalId']} not found")
        price = account.pricing.price_by_slug(body["priceSlug"])
        if price is None:
            raise bad_request(
                f'Invalid priceSlug: Price with slug "{body["priceSlug"]}" not found '
                "for customer's pricing model"
            )
    else:
        price = account.pricing.prices.get(body["priceId"])
        if customer is None or price is None:
            # Flowglad fails here with an unhandled error, not a validation error.
            raise internal_error()
    if price["type"] == "usage":
        raise bad_request("Usage prices cannot be bought through a checkout session")
    return price


def _session_price(account: Account, body: Record, customer: Record | None) -> Record | None:
    """The price of a session of any type, checking its target subscription."""
    kind = body["type"]
    target: str | None = body.get("targetSubscriptionId")
    if kind == "product":
        return _product_price(account, body, customer)
    if customer is None:
        raise internal_error()
    if kind == "activate_subscription":
        sub = account.records.subscriptions.get(target or "")
        if sub is None or sub.customer_id != customer["id"]:
            raise bad_request(f"Subscription {target} does not belong to this customer")
        return account.pricing.prices.get(sub.record["priceId"])
    if target is not None and target not in account.records.subscriptions:
        raise not_found(f"Subscription {target} not found")
    return None


def create_session(account: Account, body: Record) -> Record:
    """A session to pay for a price, add a card, or activate a subscription."""
    customer = account.records.customer_by_external_id(body["customerExternalId"])
    price = _session_price(account, body, customer)
    base = account.base("chckt_session")
    return account.records.checkout_sessions.add(
        {
            **base,
            "pricingModelId": account.pricing.id,
            "status": "open",
            "billingAddress": None,
            "priceId": price["id"] if price else None,
            "purchaseId": None,
            "invoiceId": None,
            "quantity": body.get("quantity", 1),
            "organizationId": account.organization_id,
            "customerName": customer["name"] if customer else None,
            "customerEmail": customer["email"] if customer else None,
            "customerId": customer["id"] if customer else None,
            "paymentMethodType": None,
            "discountId": None,
            "successUrl": body["successUrl"],
            "cancelUrl": body["cancelUrl"],
            "type": body["type"],
            "preserveBillingCycleAnchor": bool(body.get("preserveBillingCycleAnchor", False)),
            "outputMetadata": body.get("outputMetadata"),
            "outputName": body.get("outputName"),
            "targetSubscriptionId": body.get("targetSubscriptionId"),
            "automaticallyUpdateSubscriptions": body.get("automaticallyUpdateSubscriptions"),
            "expires": base["createdAt"] + CHECKOUT_LIFETIME_MS,
        }
    )


def get_session(account: Account, session_id: str) -> Record:
    session = account.records.checkout_sessions.get(session_id)
    if session is None:
        raise not_found(f"Checkout session {session_id} not found")
    return session


def expire(account: Account, session_id: str) -> Record:
    """The session can no longer be paid."""
    session = get_session(account, session_id)
    if session["status"] == "open":
        session["status"] = "expired"
        account.touch(account.records.checkout_sessions, session)
    return session


def complete(
    account: Account,
    session_id: str,
    *,
    card_number: str = cards.TEST_CARD,
    name: str | None = None,
) -> Record:
    """What paying on the hosted page does: card saved, then the session's effect."""
    session = get_session(account, session_id)
    if session["status"] != "open":
        raise bad_request(f"Checkout session {session_id} is {session['status']}")
    if subscriptions.checkout_blocked(account, session):
        raise conflict(
            f"Subscription conflict: Customer {session['customerId']} already has an "
            "active subscription. Please cancel the existing subscription before creating "
            "a new one."
        )
    number = cards.digits(card_number)
    if number == cards.digits(cards.DECLINED_CARD):
        account.announce("payment.failed", new_id("pym"), session["customerId"])
        raise CardDeclined()
    if not 12 <= len(number) <= 19:
        raise bad_request("Card number is invalid")
    customer = account.customer_by_id(session["customerId"])
    method = payments.add_payment_method(account, customer, number[-4:], name=name)
    if session["type"] == "product":
        _buy(account, session, customer, method)
    elif session["type"] == "add_payment_method":
        _use_card(account, session, customer, method)
    else:
        _activate(account, session, customer, method)
    session.update(status="succeeded", paymentMethodType="card")
    account.touch(account.records.checkout_sessions, session)
    return session


def _buy(account: Account, session: Record, customer: Record, method: Record) -> None:
    price = account.pricing.prices[session["priceId"]]
    quantity = session["quantity"]
    if price["type"] == "subscription":
        subscriptions.create(
            account,
            customer,
            price,
            quantity,
            name=session["outputName"],
            metadata=session["outputMetadata"],
            payment_method_id=method["id"],
        )
        quantity = 1
    bought = payments.purchase(
        account,
        customer,
        price,
        quantity,
        name=session["outputName"],
        metadata=session["outputMetadata"],
    )
    session["purchaseId"] = bought["id"]


def _use_card(account: Account, session: Record, customer: Record, method: Record) -> None:
    """An ``add_payment_method`` session: the card goes to the target subscription, or to
    every current one when asked."""
    targets = []
    if session["targetSubscriptionId"]:
        targets.append(account.get_sub(session["targetSubscriptionId"]))
    if session["automaticallyUpdateSubscriptions"]:
        targets += account.current_subs(customer["id"])
    for sub in targets:
        sub.record["defaultPaymentMethodId"] = method["id"]
        account.touch_sub(sub)
        account.announce("subscription.updated", sub.id, customer["id"])


def _activate(account: Account, session: Record, customer: Record, method: Record) -> None:
    """An ``activate_subscription`` session: the card pays what is owed and a trial ends."""
    sub = account.get_sub(session["targetSubscriptionId"])
    sub.record["defaultPaymentMethodId"] = method["id"]
    invoices.pay_open_invoices(account, sub)
    if sub.record["status"] in ("incomplete", "past_due", "unpaid", "trialing"):
        was_trial = sub.record["status"] == "trialing"
        sub.record["status"] = "active"
        if was_trial:
            # The trial ends now, and the first paid period starts with it.
            now = account.now()
            record = sub.record
            record.update(
                trialEnd=now,
                currentBillingPeriodStart=now,
                currentBillingPeriodEnd=subscriptions.period_end(
                    now, record["interval"], record["intervalCount"]
                ),
            )
            sub.billing_period_id = new_id("billing_period")
            invoices.invoice_period(account, sub)
    account.touch_sub(sub)
    account.announce("subscription.updated", sub.id, customer["id"])
