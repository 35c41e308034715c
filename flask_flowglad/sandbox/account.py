"""One fake Flowglad organization: what every billing rule reads and changes.

An :class:`Account` holds the records, the pricing model, the clock and the organization's
settings, and collects the events the rules announce. The rules
(:mod:`flask_flowglad.sandbox.rules`) are functions of an account; the sandbox gives them
one inside a transaction (:mod:`~flask_flowglad.sandbox.transactions`), writes what they
changed, then delivers what they announced.
"""

from __future__ import annotations

from .errors import not_found
from .ids import Clock, new_id
from .pricing import PricingModel
from .records import Announcement, Record, Records, Sub, Table


class Account:
    """The records of one sandbox and the lookups every rule shares."""

    def __init__(
        self,
        records: Records,
        pricing: PricingModel,
        clock: Clock,
        *,
        organization_id: str,
        allow_multiple_subscriptions: bool = False,
    ) -> None:
        self.records = records
        self.pricing = pricing
        self.clock = clock
        self.organization_id = organization_id
        #: The organization's ``allowMultipleSubscriptionsPerCustomer`` (false by default).
        self.allow_multiple_subscriptions = allow_multiple_subscriptions
        #: Events announced by the current transaction, delivered once it is written.
        self.outbox: list[Announcement] = []

    # making and changing records ------------------------------------------------------

    def now(self) -> int:
        return self.clock.now()

    def base(self, prefix: str) -> Record:
        """The members every new record starts with."""
        now = self.clock.now()
        return {"id": new_id(prefix), "createdAt": now, "updatedAt": now, "livemode": False}

    def touch(self, table: Table[Record], record: Record) -> None:
        """``record`` (a row of ``table``) changed now."""
        record["updatedAt"] = self.clock.now()
        table.changed(record)

    def touch_sub(self, sub: Sub) -> None:
        """The subscription's record changed now."""
        sub.record["updatedAt"] = self.clock.now()
        self.records.subscriptions.changed(sub)

    def announce(self, event_type: str, object_id: str, customer_id: str) -> None:
        """Queue the webhook ``event_type`` about ``object_id``, as Flowglad emits it."""
        customer = self.records.customers.get(customer_id) or {}
        payload: Record = {
            "id": object_id,
            "object": event_type.split(".", 1)[0],
            "customer": {"id": customer_id, "externalId": customer.get("externalId")},
            "pricingModelId": self.pricing.id,
        }
        self.outbox.append(Announcement(event_type, payload))

    # lookups ----------------------------------------------------------------------------

    def find_customer(self, external_id: str) -> Record:
        """By external id; an archived customer is as good as gone."""
        customer = self.records.customer_by_external_id(external_id)
        if customer is None or customer["archived"]:
            raise not_found(f"Customer with externalId {external_id} not found")
        return customer

    def customer_by_id(self, customer_id: str) -> Record:
        customer = self.records.customers.get(customer_id)
        if customer is None:
            raise not_found(f"Customer {customer_id} not found")
        return customer

    def get_sub(self, subscription_id: str) -> Sub:
        sub = self.records.subscriptions.get(subscription_id)
        if sub is None:
            # NotFoundError('Subscription', id) in errors.ts
            raise not_found(f"Subscription not found: {subscription_id}")
        return sub

    def subs_of(self, customer_id: str) -> list[Sub]:
        return self.records.subscriptions.of(customer_id)

    def current_subs(self, customer_id: str) -> list[Sub]:
        return [s for s in self.subs_of(customer_id) if s.is_current]

    def latest_current(self, customer_id: str) -> Sub | None:
        """The customer's newest current subscription (the one billing calls current)."""
        current = self.current_subs(customer_id)
        return max(current, key=_creation_order) if current else None

    def default_payment_method(self, customer_id: str) -> Record | None:
        methods = self.records.payment_methods.of(customer_id)
        return next((m for m in methods if m["default"]), methods[-1] if methods else None)


def _creation_order(sub: Sub) -> tuple[int, int, str]:
    return (sub.record["createdAt"], sub.record["updatedAt"], sub.id)
