"""The sandbox's helpers for tests: what a person or time would do to Flowglad.

:class:`Helpers` is a base of :class:`~flask_flowglad.sandbox.Sandbox`; the HTTP test
controls (:mod:`~flask_flowglad.sandbox.controls`) call the same methods, so the two cannot
drift. Each helper is one transaction and returns copies of the records it names.
"""

from __future__ import annotations

import copy
from contextlib import AbstractContextManager
from typing import Any

from . import cards
from .account import Account
from .ids import new_id
from .pricing import PricingModel
from .records import Record, Sub
from .rules import checkout, customers, payments, periods, read_models, subscriptions, usage


class Helpers:
    """Test helpers over a sandbox's transactions (see :class:`Sandbox`)."""

    pricing: PricingModel

    # Provided by :class:`~flask_flowglad.sandbox.core.Sandbox`, the one class that mixes
    # these helpers in; declared here so the helpers type-check without importing it.

    def transaction(self, write: bool = False) -> AbstractContextManager[Account]:
        """The sandbox's transaction (``Sandbox.transaction``)."""
        raise NotImplementedError

    def pages_url(self) -> str:
        """Where the sandbox's hosted pages are served (``Sandbox.pages_url``)."""
        raise NotImplementedError

    def _forget_due(self) -> None:
        """Drop what the clock had scheduled (``Sandbox._forget_due``)."""
        raise NotImplementedError

    # customers and plans ----------------------------------------------------------------

    def create_customer(self, external_id: str, *, name: str = "", email: str = "") -> Record:
        """The customer with this external id, created (on the default plan) if missing."""
        with self.transaction(write=True) as account:
            customer = account.records.customer_by_external_id(external_id)
            if customer is None:
                fields = {"externalId": external_id, "name": name, "email": email}
                customer, _ = customers.create(account, fields)
            return copy.deepcopy(customer)

    def put_customer_on_plan(
        self,
        external_id: str,
        price_slug: str,
        *,
        quantity: int = 1,
        name: str = "",
        email: str = "",
    ) -> Record:
        """Make ``price_slug`` the customer's one current plan, as if they had paid for it.

        Other current subscriptions end (a free plan as ``upgraded_to_paid``), the test
        card is added when the price costs money. For a one-time price, a paid purchase is
        recorded instead. Returns the SubscriptionDetails (or the purchase).
        """
        price = self.pricing.price_by_slug(price_slug)
        if price is None or price["type"] == "usage":
            raise ValueError(f"no subscription or single-payment price with slug {price_slug!r}")
        with self.transaction(write=True) as account:
            self.create_customer(external_id, name=name, email=email)
            customer = account.find_customer(external_id)
            method = account.default_payment_method(customer["id"])
            if price["unitPrice"] > 0 and method is None:
                last4 = cards.digits(cards.TEST_CARD)[-4:]
                method = payments.add_payment_method(account, customer, last4, name=None)
            if price["type"] == "single_payment":
                bought = payments.purchase(
                    account, customer, price, quantity, name=None, metadata=None
                )
                return copy.deepcopy(bought)
            sub = _switch_plan(account, customer, price, quantity, method)
            return copy.deepcopy(read_models.sub_details(account, sub))

    def record_usage(
        self,
        external_id: str,
        slug: str,
        amount: int = 1,
        *,
        subscription_id: str | None = None,
        transaction_id: str | None = None,
        properties: Record | None = None,
    ) -> Record:
        """Record usage on a usage meter (or usage price) slug for the current subscription."""
        with self.transaction(write=True) as account:
            customer = account.find_customer(external_id)
            if subscription_id is None:
                sub = account.latest_current(customer["id"])
                if sub is None:
                    raise ValueError(f"customer {external_id!r} has no current subscription")
                subscription_id = sub.id
            kind = "usageMeterSlug" if self.pricing.meter_by_slug(slug) else "priceSlug"
            event = usage.UsageInput(
                subscription_id=subscription_id,
                amount=amount,
                transaction_id=transaction_id or new_id("txn"),
                identifier=(kind, slug),
                properties=properties,
            )
            return copy.deepcopy(usage.record(account, event))

    # checkout ---------------------------------------------------------------------------

    def complete_checkout(self, session_id: str, *, card_number: str = cards.TEST_CARD) -> Record:
        """Pay for a checkout session as a person on the hosted page would."""
        with self.transaction(write=True) as account:
            return copy.deepcopy(checkout.complete(account, session_id, card_number=card_number))

    def decline_checkout(self, session_id: str) -> Record:
        """Try to pay with the declined test card: the session stays open, nothing is paid."""
        with self.transaction(write=True) as account:
            try:
                checkout.complete(account, session_id, card_number=cards.DECLINED_CARD)
            except checkout.CardDeclined:
                pass
            return copy.deepcopy(checkout.get_session(account, session_id))

    def expire_checkout(self, session_id: str) -> Record:
        """Let a checkout session run out: it can no longer be paid."""
        with self.transaction(write=True) as account:
            return copy.deepcopy(checkout.expire(account, session_id))

    # time -------------------------------------------------------------------------------

    def now(self) -> int:
        """The sandbox's time, in epoch milliseconds (real time plus how far it was moved)."""
        with self.transaction() as account:
            return account.clock.now()

    def advance_time(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> dict[str, Any]:
        """Move the sandbox's time forward, and let happen what falls due meanwhile, in
        order: renewals (an invoice and a payment, credits granted again), trial ends,
        cancellations and plan changes scheduled for the end of a period, checkout sessions
        expiring, each announced by its webhook as Flowglad would.

        Returns the new time (``now``, epoch milliseconds) and the ids of what happened:
        ``renewed``, ``trialsEnded``, ``canceled``, ``planChanged``, ``expired``.
        """
        delta = round(((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000)
        if delta < 0:
            raise ValueError("the sandbox's time only moves forward")
        with self.transaction(write=True) as account:
            target = account.clock.now() + delta
            report = periods.run_until(account, target)
            periods.move_clock_to(account, target)
            self._forget_due()
            return {"now": account.clock.now(), **report}

    def advance_billing_period(self, target: str) -> list[Record]:
        """Move the sandbox's time to the end of a subscription's (by id) or a customer's
        (by external id: the latest of its current ones) billing period: what falls due
        by then happens (see :meth:`advance_time`). Returns the subscriptions' details."""
        with self.transaction(write=True) as account:
            if target in account.records.subscriptions:
                subs = [account.get_sub(target)]
            else:
                subs = account.current_subs(account.find_customer(target)["id"])
            for sub in subs:
                if sub.is_current and sub.record["status"] != "cancellation_scheduled":
                    periods.next_period_end(sub)  # refused before anything changes
            ends = [periods.sub_due(s) for s in subs]
            until = max((end for end in ends if end is not None), default=None)
            if until is not None:
                delta = max(0, until - account.clock.now())
                self.advance_time(seconds=delta / 1000)
            return copy.deepcopy([read_models.sub_details(account, s) for s in subs])

    # reading ----------------------------------------------------------------------------

    def billing(self, external_id: str) -> Record:
        """A customer's billing (what ``GET /customers/{externalId}/billing`` answers),
        without making an API call."""
        with self.transaction() as account:
            customer = account.find_customer(external_id)
            portal = f"{self.pages_url()}/portal/{customer['id']}"
            return copy.deepcopy(read_models.billing(account, customer, portal))

    def subscription(self, subscription_id: str) -> Record:
        """A subscription's details (items, features, balances)."""
        with self.transaction() as account:
            return copy.deepcopy(
                read_models.sub_details(account, account.get_sub(subscription_id))
            )

    def checkout_session(self, session_id: str) -> Record:
        with self.transaction() as account:
            return copy.deepcopy(checkout.get_session(account, session_id))


def _switch_plan(
    account: Account, customer: Record, price: Record, quantity: int, method: Record | None
) -> Sub:
    """The customer's one current plan becomes ``price``: other current plans end (a paid
    plan replaces an active free plan itself, as ``upgraded_to_paid``)."""
    current = account.current_subs(customer["id"])
    for sub in current:
        if sub.record["priceId"] == price["id"] and len(current) == 1:
            return sub
    ended = [
        sub
        for sub in current
        if not (
            price["unitPrice"] > 0
            and sub.record["isFreePlan"]
            and sub.record["status"] == "active"
        )
    ]
    for sub in ended:
        subscriptions.end(account, sub, "customer_request", reassign=False)
    new = subscriptions.create(
        account, customer, price, quantity, payment_method_id=method["id"] if method else None
    )
    for sub in ended:
        sub.record["replacedBySubscriptionId"] = new.id
        account.records.subscriptions.changed(sub)
    return new
