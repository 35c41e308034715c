"""The sandbox's data and the billing rules that change it.

Records are kept in the exact shape Flowglad's API returns them (camelCase dicts), so what a
test reads through the API is what the rules wrote. Bookkeeping Flowglad keeps elsewhere
(credit ledgers, scheduled adjustments) lives next to each subscription in :class:`Sub`.

Nothing here locks: the :class:`~flask_flowglad.sandbox.core.Sandbox` holds one lock around
every call into this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import SandboxError, bad_request, conflict, internal_error, not_found
from .ids import DAY_MS, Clock, add_interval, new_id
from .pricing import PricingModel, Record
from .webhooks import PAYMENT_EVENTS, Announcement, announce

#: Statuses of a subscription that still grants access (PROTOCOL §7.6).
CURRENT_STATUSES = frozenset(
    {"active", "past_due", "trialing", "cancellation_scheduled", "unpaid", "credit_trial"}
)
#: Card numbers the hosted checkout accepts or declines, like a payment processor's test cards.
DECLINED_CARD = "4000000000000002"
CHECKOUT_LIFETIME_MS = DAY_MS


class CardDeclined(SandboxError):
    """The test card for a failed payment was used; the checkout session stays open."""

    def __init__(self) -> None:
        super().__init__(402, "PAYMENT_FAILED", "Your card was declined.")


@dataclass
class Item:
    """A subscription item and the features its product grants."""

    record: Record
    features: list[Record]
    price: Record


@dataclass
class Sub:
    """A subscription record plus the ledgers behind its usage balances."""

    record: Record
    items: list[Item]
    billing_period_id: str
    #: meter id -> credits granted for the current period (expire at its end)
    period_credit: dict[str, int] = field(default_factory=dict)
    #: meter id -> credits granted once (carried over until used)
    carry_credit: dict[str, int] = field(default_factory=dict)
    #: meter id -> usage counted in the current period
    used: dict[str, int] = field(default_factory=dict)
    #: meter id -> property sets already counted this period (count_distinct_properties)
    distinct: dict[str, set[str]] = field(default_factory=dict)
    #: (price, quantity) pairs that replace the items at the end of the period
    pending: list[tuple[Record, int]] | None = None

    @property
    def id(self) -> str:
        value: str = self.record["id"]
        return value

    @property
    def is_current(self) -> bool:
        return self.record["status"] in CURRENT_STATUSES

    def total(self) -> int:
        return sum(i.record["unitPrice"] * i.record["quantity"] for i in self.items)


@dataclass
class UsageInput:
    """A usage event as the API receives it, already checked for shape."""

    subscription_id: str
    amount: int
    transaction_id: str
    identifier: tuple[
        str, str
    ]  # ("priceId" | "priceSlug" | "usageMeterId" | "usageMeterSlug", value)
    usage_date: int | None = None
    properties: dict[str, Any] | None = None


class State:
    """Every record of one sandbox, and the operations the API and the helpers share."""

    def __init__(self, pricing: PricingModel, organization_id: str, clock: Clock) -> None:
        self.pricing = pricing
        self.organization_id = organization_id
        self.clock = clock
        self.customers: dict[str, Record] = {}
        self.customer_ids_by_external: dict[str, str] = {}
        self.subs: dict[str, Sub] = {}
        self.usage_events: list[Record] = []
        self.usage_index: dict[tuple[str, str], Record] = {}
        self.claims: list[Record] = []
        self.invoices: list[tuple[Record, list[Record]]] = []
        self.purchases: list[Record] = []
        self.payment_methods: list[Record] = []
        self.checkout_sessions: dict[str, Record] = {}
        self._invoice_counter = 0
        self.outbox: list[Announcement] = []

    def _base(self, prefix: str) -> Record:
        now = self.clock.now()
        return {"id": new_id(prefix), "createdAt": now, "updatedAt": now, "livemode": False}

    def _touch(self, record: Record) -> None:
        record["updatedAt"] = self.clock.now()

    # customers --------------------------------------------------------------------------

    def find_customer(self, external_id: str) -> Record:
        """E1: archived customers are as good as gone."""
        cid = self.customer_ids_by_external.get(external_id)
        customer = self.customers.get(cid) if cid else None
        if customer is None or customer["archived"]:
            raise not_found(f"Customer with externalId {external_id} not found")
        return customer

    def create_customer(self, fields: Record) -> tuple[Record, Sub | None]:
        """E2: a new customer starts on the default plan, when the model has one."""
        external_id = fields["externalId"]
        if external_id in self.customer_ids_by_external:
            raise conflict(f"A customer with externalId {external_id} already exists")
        customer: Record = {
            **self._base("cust"),
            "organizationId": self.organization_id,
            "email": fields["email"],
            "name": fields["name"],
            "invoiceNumberBase": new_id("inv")[-8:].upper(),
            "archived": bool(fields.get("archived", False)),
            "logoURL": fields.get("logoURL"),
            "iconURL": fields.get("iconURL"),
            "domain": fields.get("domain"),
            "externalId": external_id,
            "userId": fields.get("userId"),
            "pricingModelId": self.pricing.id,
        }
        self.customers[customer["id"]] = customer
        self.customer_ids_by_external[external_id] = customer["id"]
        announce(self, "customer.created", customer["id"], customer["id"])
        default_price = self.pricing.default_price()
        sub = None
        if default_price is not None and default_price["type"] == "subscription":
            sub = self.create_subscription(customer, default_price, 1)
        return customer, sub

    def update_customer(self, external_id: str, fields: Record) -> Record:
        """E3: only the members Flowglad lets a secret key change."""
        customer = self.find_customer(external_id)
        for key in ("email", "name", "logoURL", "iconURL", "domain", "userId"):
            if key in fields:
                customer[key] = fields[key]
        self._touch(customer)
        announce(self, "customer.updated", customer["id"], customer["id"])
        return customer

    def archive_customer(self, external_id: str) -> Record:
        customer = self.find_customer(external_id)
        customer["archived"] = True
        self._touch(customer)
        announce(self, "customer.updated", customer["id"], customer["id"])
        return customer

    def customer_by_id(self, customer_id: str) -> Record:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise not_found(f"Customer {customer_id} not found")
        return customer

    def subs_of(self, customer_id: str) -> list[Sub]:
        return [s for s in self.subs.values() if s.record["customerId"] == customer_id]

    def default_payment_method(self, customer_id: str) -> Record | None:
        methods = [m for m in self.payment_methods if m["customerId"] == customer_id]
        return next((m for m in methods if m["default"]), methods[-1] if methods else None)

    # subscriptions ----------------------------------------------------------------------

    def get_sub(self, subscription_id: str) -> Sub:
        sub = self.subs.get(subscription_id)
        if sub is None:
            raise not_found(f"Subscription {subscription_id} not found")
        return sub

    def create_subscription(
        self,
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
        """Start a renewing subscription: first billing period, credits, first invoice."""
        if price["type"] != "subscription":
            raise bad_request(f"Price {price['id']} is not a subscription price")
        base = self._base("sub")
        now = base["createdAt"]
        if trial_end is None and price.get("trialPeriodDays"):
            trial_end = now + int(price["trialPeriodDays"]) * DAY_MS
        unit = interval or price["intervalUnit"]
        count = interval_count or price["intervalCount"]
        record: Record = {
            **base,
            "startDate": now,
            "customerId": customer["id"],
            "organizationId": self.organization_id,
            "status": "trialing" if trial_end and trial_end > now else "active",
            "defaultPaymentMethodId": payment_method_id,
            "backupPaymentMethodId": None,
            "trialEnd": trial_end,
            "currentBillingPeriodStart": now,
            "currentBillingPeriodEnd": add_interval(now, unit, count),
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
            "name": name or self._product_name(price),
            "renews": True,
            "pricingModelId": self.pricing.id,
            "scheduledAdjustmentAt": None,
            "current": True,
        }
        sub = Sub(record=record, items=[], billing_period_id=new_id("billing_period"))
        sub.items = [self._new_item(sub, price, quantity)]
        self._grant_credits(sub, sub.items)
        self.subs[sub.id] = sub
        announce(self, "subscription.created", sub.id, customer["id"])
        if record["status"] == "active":
            self._invoice_period(sub)
        return sub

    def _product_name(self, price: Record) -> str | None:
        product = self.pricing.products.get(price.get("productId") or "")
        return product["name"] if product else price.get("name")

    def _new_item(self, sub: Sub, price: Record, quantity: int) -> Item:
        base = self._base("si")
        record: Record = {
            **base,
            "subscriptionId": sub.id,
            "name": price.get("name") or self._product_name(price),
            "addedDate": base["createdAt"],
            "priceId": price["id"],
            "unitPrice": price["unitPrice"],
            "quantity": quantity,
            "metadata": None,
            "type": "static",
            "externalId": None,
            "expiredAt": None,
            "manuallyCreated": False,
            "pricingModelId": self.pricing.id,
        }
        features = []
        for feature in self.pricing.product_features.get(price.get("productId") or "", []):
            item_feature: Record = {
                **self._base("sub_feature"),
                "subscriptionItemId": record["id"],
                "featureId": feature["id"],
                "productFeatureId": None,
                "type": feature["type"],
                "amount": None,
                "usageMeterId": None,
                "renewalFrequency": None,
                "expiredAt": None,
                "detachedAt": None,
                "detachedReason": None,
                "manuallyCreated": False,
                "pricingModelId": self.pricing.id,
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
                item_feature.update(
                    amount=feature["amount"] * quantity, resourceId=feature["resourceId"]
                )
            features.append(item_feature)
        return Item(record=record, features=features, price=price)

    def _grant_credits(self, sub: Sub, items: list[Item]) -> None:
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

    def _invoice_period(
        self, sub: Sub, *, amount: int | None = None, memo: str | None = None
    ) -> None:
        """A paid period gets an invoice; without a payment method it stays open (past due)."""
        total = sub.total() if amount is None else amount
        if total <= 0:
            return
        record = sub.record
        method_id = record["defaultPaymentMethodId"] or (
            (self.default_payment_method(record["customerId"]) or {}).get("id")
        )
        status = "paid" if method_id else "open"
        invoice = self._invoice(
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
        lines = self.invoices[-1][1]
        if amount is None:
            for item in sub.items:
                lines.append(self._line(invoice["id"], item.price, item.record["quantity"]))
        else:
            line = self._line(invoice["id"], sub.items[0].price, 1)
            lines.append({**line, "price": total, "description": memo})
        if status == "open" and record["status"] == "active":
            record["status"] = "past_due"
        announce(self, f"payment.{PAYMENT_EVENTS[status]}", new_id("pym"), record["customerId"])

    def _invoice(
        self,
        customer_id: str,
        total: int,
        status: str,
        *,
        type_: str,
        subscription_id: str | None = None,
        billing_period: tuple[str, int, int] | None = None,
        purchase_id: str | None = None,
        memo: str | None = None,
    ) -> Record:
        customer = self.customer_by_id(customer_id)
        self._invoice_counter += 1
        base = self._base("inv")
        invoice: Record = {
            **base,
            "purchaseId": purchase_id,
            "invoiceNumber": f"{customer['invoiceNumberBase']}-{self._invoice_counter:04d}",
            "invoiceDate": base["createdAt"],
            "billingPeriodId": billing_period[0] if billing_period else None,
            "dueDate": base["createdAt"],
            "customerId": customer_id,
            "organizationId": self.organization_id,
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
            "currency": self.pricing.currency,
            "taxAmount": 0,
            "subtotal": total,
            "taxType": None,
            "taxCountry": None,
            "taxState": None,
            "taxRatePercentage": None,
            "applicationFee": None,
            "pricingModelId": self.pricing.id,
        }
        self.invoices.append((invoice, []))
        return invoice

    def _line(self, invoice_id: str, price: Record, quantity: int) -> Record:
        return {
            **self._base("ili"),
            "invoiceId": invoice_id,
            "quantity": quantity,
            "priceId": price["id"],
            "description": price.get("name"),
            "price": price["unitPrice"],
            "type": "static",
            "pricingModelId": self.pricing.id,
        }

    def cancel(self, sub: Sub, timing: str) -> Sub:
        """E8: at the period's end (``cancellation_scheduled``) or now (``canceled``)."""
        record = sub.record
        if record["status"] == "canceled":
            raise bad_request("Subscription is already canceled")
        sub.pending = None
        record["scheduledAdjustmentAt"] = None
        if timing == "immediately":
            self.end_subscription(sub, "customer_request")
        elif record["status"] != "cancellation_scheduled":
            record["status"] = "cancellation_scheduled"
            record["cancelScheduledAt"] = record["currentBillingPeriodEnd"]
            record["cancellationReason"] = "customer_request"
            announce(self, "subscription.updated", sub.id, record["customerId"])
        self._touch(record)
        return sub

    def end_subscription(
        self, sub: Sub, reason: str, at: int | None = None, replaced_by: str | None = None
    ) -> None:
        """Cancel now; the subscription's resource claims are released with it."""
        at = self.clock.now() if at is None else at
        record = sub.record
        record.update(
            status="canceled",
            canceledAt=at,
            cancellationReason=reason,
            replacedBySubscriptionId=replaced_by,
            current=False,
        )
        for claim in self.claims:
            if claim["subscriptionId"] == sub.id and claim["releasedAt"] is None:
                claim.update(releasedAt=at, releaseReason="subscription_canceled", updatedAt=at)
        self._touch(record)
        announce(self, "subscription.canceled", sub.id, record["customerId"])

    def uncancel(self, sub: Sub) -> Sub:
        """E9: only a scheduled cancellation can be taken back."""
        record = sub.record
        if record["status"] != "cancellation_scheduled":
            raise bad_request(
                f"Subscription {sub.id} is not scheduled for cancellation "
                f"(status: {record['status']})"
            )
        trial_end = record["trialEnd"]
        record["status"] = "trialing" if trial_end and trial_end > self.clock.now() else "active"
        record["cancelScheduledAt"] = None
        record["cancellationReason"] = None
        self._touch(record)
        announce(self, "subscription.updated", sub.id, record["customerId"])
        return sub

    def adjust(
        self, sub: Sub, timing: str, new_items: list[tuple[Record, int]], prorate: bool
    ) -> tuple[Sub, str, bool]:
        """E10: upgrades apply now, downgrades at the period's end (``auto`` timing)."""
        record = sub.record
        if record["status"] not in CURRENT_STATUSES:
            raise bad_request(
                f"Subscription {sub.id} is {record['status']} and cannot be adjusted"
            )
        if record["status"] == "cancellation_scheduled":
            raise bad_request(
                f"Subscription {sub.id} is scheduled for cancellation; uncancel it first"
            )
        for price, _ in new_items:
            if price["type"] != "subscription":
                raise bad_request(f"Price {price['id']} is not a subscription price")
        new_total = sum(p["unitPrice"] * q for p, q in new_items)
        old_total = sub.total()
        is_upgrade = new_total > old_total
        if timing == "auto":
            timing = "immediately" if is_upgrade else "at_end_of_current_billing_period"
        if timing == "immediately":
            self._replace_items(sub, new_items)
            sub.pending = None
            record["scheduledAdjustmentAt"] = None
            if prorate and new_total > old_total:
                start = record["currentBillingPeriodStart"]
                end = record["currentBillingPeriodEnd"]
                left = max(0.0, (end - self.clock.now()) / max(1, end - start))
                self._invoice_period(
                    sub,
                    amount=round((new_total - old_total) * left),
                    memo="Proration for the plan change",
                )
        else:
            sub.pending = list(new_items)
            record["scheduledAdjustmentAt"] = record["currentBillingPeriodEnd"]
        self._touch(record)
        announce(self, "subscription.updated", sub.id, record["customerId"])
        return sub, timing, is_upgrade

    def _replace_items(self, sub: Sub, new_items: list[tuple[Record, int]]) -> None:
        now = self.clock.now()
        for item in sub.items:
            item.record["expiredAt"] = now
            for f in item.features:
                f["expiredAt"] = now
        old_grants = dict(sub.period_credit)
        sub.items = [self._new_item(sub, price, quantity) for price, quantity in new_items]
        # A plan change within a period keeps the larger per-period grant: an upgrade
        # tops the balance up, a downgrade does not claw credits back.
        sub.period_credit = {}
        self._grant_credits(sub, sub.items)
        for meter, amount in old_grants.items():
            sub.period_credit[meter] = max(amount, sub.period_credit.get(meter, 0))
        first = new_items[0][0]
        sub.record.update(
            priceId=first["id"],
            isFreePlan=sum(p["unitPrice"] * q for p, q in new_items) == 0,
            interval=first["intervalUnit"],
            intervalCount=first["intervalCount"],
            name=self._product_name(first),
        )

    def advance(self, sub: Sub) -> Sub:
        """Move a subscription to its next billing period, applying what was scheduled."""
        record = sub.record
        if not record["renews"] or record["status"] not in CURRENT_STATUSES:
            return sub
        end = record["currentBillingPeriodEnd"]
        if record["status"] == "cancellation_scheduled":
            self.end_subscription(sub, record["cancellationReason"] or "customer_request", end)
            return sub
        if sub.pending:
            pending, sub.pending = sub.pending, None
            self._replace_items(sub, pending)
            sub.period_credit = {}
        record["scheduledAdjustmentAt"] = None
        record["currentBillingPeriodStart"] = end
        record["currentBillingPeriodEnd"] = add_interval(
            end, record["interval"], record["intervalCount"]
        )
        sub.billing_period_id = new_id("billing_period")
        if record["status"] == "trialing" and (record["trialEnd"] or 0) <= end:
            record["status"] = "active"
        # Unused per-period credits expire; usage beyond them eats one-off credits.
        for meter, used in sub.used.items():
            over = max(0, used - sub.period_credit.get(meter, 0))
            if over and meter in sub.carry_credit:
                sub.carry_credit[meter] = max(0, sub.carry_credit[meter] - over)
        sub.used = {}
        sub.distinct = {}
        sub.period_credit = {}
        for item in sub.items:
            for f in item.features:
                if (
                    f["type"] == "usage_credit_grant"
                    and f["renewalFrequency"] == "every_billing_period"
                ):
                    meter = f["usageMeterId"]
                    sub.period_credit[meter] = sub.period_credit.get(meter, 0) + f["amount"]
        if record["status"] in ("active", "past_due", "unpaid"):
            self._invoice_period(sub)
        self._touch(record)
        announce(self, "subscription.updated", sub.id, record["customerId"])
        return sub

    # usage --------------------------------------------------------------------------------

    def resolve_usage(self, event: UsageInput) -> tuple[Sub, Record, Record]:
        """Find the subscription, meter and price an event is about, without recording it."""
        sub = self.get_sub(event.subscription_id)
        kind, value = event.identifier
        meter: Record | None
        price: Record | None
        if kind in ("priceId", "priceSlug"):
            price = (
                self.pricing.prices.get(value)
                if kind == "priceId"
                else self.pricing.price_by_slug(value)
            )
            if price is None:
                raise not_found(f"Price {value} not found")
            if price["type"] != "usage":
                raise bad_request(f"Price {value} is not a usage price")
            meter = self.pricing.usage_meters[price["usageMeterId"]]
        else:
            meter = (
                self.pricing.usage_meters.get(value)
                if kind == "usageMeterId"
                else self.pricing.meter_by_slug(value)
            )
            if meter is None:
                raise not_found(f"Usage meter {value} not found")
            price = self.pricing.meter_default_price(meter["id"])
            if price is None:
                raise bad_request(f"Usage meter {value} has no usage price")
        existing = self.usage_index.get((event.transaction_id, meter["id"]))
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

    def record_usage(self, event: UsageInput) -> Record:
        """E11: a repeated transactionId returns the event recorded the first time."""
        sub, meter, price = self.resolve_usage(event)
        existing = self.usage_index.get((event.transaction_id, meter["id"]))
        if existing is not None:
            return existing
        base = self._base("usage_event")
        record: Record = {
            **base,
            "customerId": sub.record["customerId"],
            "subscriptionId": sub.id,
            "usageMeterId": meter["id"],
            "billingPeriodId": sub.billing_period_id,
            "amount": event.amount,
            "usageDate": event.usage_date if event.usage_date is not None else base["createdAt"],
            "transactionId": event.transaction_id,
            "priceId": price["id"],
            "properties": event.properties,
            "pricingModelId": self.pricing.id,
        }
        self.usage_events.append(record)
        self.usage_index[(event.transaction_id, meter["id"])] = record
        counted = event.amount
        if meter["aggregationType"] == "count_distinct_properties":
            key = json.dumps(event.properties, sort_keys=True)
            seen = sub.distinct.setdefault(meter["id"], set())
            counted = 0 if key in seen else 1
            seen.add(key)
        sub.used[meter["id"]] = sub.used.get(meter["id"], 0) + counted
        return record

    def balances(self, sub: Sub) -> list[Record]:
        """One balance per usage meter of the model: credits granted minus usage."""
        out = []
        for meter in self.pricing.usage_meters.values():
            mid = meter["id"]
            available = (
                sub.period_credit.get(mid, 0) + sub.carry_credit.get(mid, 0) - sub.used.get(mid, 0)
            )
            out.append({**meter, "availableBalance": available, "subscriptionId": sub.id})
        return out

    # resources ----------------------------------------------------------------------------

    def resource(self, *, slug: str | None = None, resource_id: str | None = None) -> Record:
        found = (
            self.pricing.resource_by_slug(slug)
            if slug is not None
            else self.pricing.resources.get(resource_id or "")
        )
        if found is None:
            raise not_found(f"Resource {slug or resource_id} not found")
        return found

    def active_claims(self, sub: Sub, resource_id: str | None = None) -> list[Record]:
        return [
            c
            for c in self.claims
            if c["subscriptionId"] == sub.id
            and c["releasedAt"] is None
            and (resource_id is None or c["resourceId"] == resource_id)
        ]

    def usage_of(self, sub: Sub, resource: Record) -> Record:
        capacity = sum(
            f["amount"]
            for item in sub.items
            for f in item.features
            if f["type"] == "resource" and f["resourceId"] == resource["id"]
        )
        claimed = len(self.active_claims(sub, resource["id"]))
        return {
            "resourceSlug": resource["slug"],
            "resourceId": resource["id"],
            "capacity": capacity,
            "claimed": claimed,
            "available": capacity - claimed,
        }

    def claim(
        self,
        sub: Sub,
        resource: Record,
        *,
        quantity: int | None = None,
        external_ids: list[str] | None = None,
        metadata: Record | None = None,
    ) -> tuple[list[Record], Record]:
        """E16: claims beyond capacity are refused; named claims are idempotent."""
        if not sub.is_current:
            raise bad_request(f"Subscription {sub.id} is {sub.record['status']}")
        active = self.active_claims(sub, resource["id"])
        result: list[Record] = []
        to_create: list[str | None] = []
        if external_ids is not None:
            for ext in dict.fromkeys(external_ids):
                existing = next((c for c in active if c["externalId"] == ext), None)
                if existing is not None:
                    result.append(existing)
                else:
                    to_create.append(ext)
        else:
            to_create = [None] * (quantity or 1)
        usage = self.usage_of(sub, resource)
        if len(to_create) > usage["available"]:
            raise bad_request(
                f"Insufficient capacity for resource {resource['slug']}: requested "
                f"{len(to_create)}, available {usage['available']} of {usage['capacity']}"
            )
        for external_id in to_create:
            base = self._base("resource_claim")
            claim: Record = {
                **base,
                "organizationId": self.organization_id,
                "resourceId": resource["id"],
                "subscriptionId": sub.id,
                "pricingModelId": self.pricing.id,
                "externalId": external_id,
                "claimedAt": base["createdAt"],
                "releasedAt": None,
                "releaseReason": None,
                "expiredAt": None,
                "metadata": metadata,
            }
            self.claims.append(claim)
            result.append(claim)
        return result, self.usage_of(sub, resource)

    def release(
        self,
        sub: Sub,
        resource: Record,
        *,
        quantity: int | None = None,
        external_ids: list[str] | None = None,
        claim_ids: list[str] | None = None,
    ) -> tuple[list[Record], Record]:
        """E17: anonymous claims oldest first, or the named / listed ones."""
        active = self.active_claims(sub, resource["id"])
        if quantity is not None:
            anonymous = [c for c in active if c["externalId"] is None]
            if len(anonymous) < quantity:
                raise bad_request(
                    f"Cannot release {quantity} anonymous claims of {resource['slug']}: "
                    f"only {len(anonymous)} exist"
                )
            chosen = anonymous[:quantity]
        elif external_ids is not None:
            chosen = [c for c in active if c["externalId"] in external_ids]
        else:
            chosen = [c for c in active if c["id"] in (claim_ids or [])]
        now = self.clock.now()
        for claim in chosen:
            claim.update(releasedAt=now, releaseReason="released", updatedAt=now)
        return chosen, self.usage_of(sub, resource)

    # checkout -----------------------------------------------------------------------------

    def create_checkout_session(self, body: Record) -> Record:
        """E6: a session to pay for a price, add a card, or activate a subscription."""
        kind = body["type"]
        customer_id = self.customer_ids_by_external.get(body["customerExternalId"])
        customer = self.customers.get(customer_id or "")
        price: Record | None = None
        target: str | None = body.get("targetSubscriptionId")
        if kind == "product":
            if "priceSlug" in body:
                if customer is None:
                    raise bad_request(
                        f"Customer with externalId {body['customerExternalId']} not found"
                    )
                price = self.pricing.price_by_slug(body["priceSlug"])
                if price is None:
                    raise bad_request(f"Price with slug {body['priceSlug']} not found")
            else:
                price = self.pricing.prices.get(body["priceId"])
                if customer is None or price is None:
                    # Flowglad fails here with an unhandled error, not a validation error.
                    raise internal_error()
            if price["type"] == "usage":
                raise bad_request("Usage prices cannot be bought through a checkout session")
        elif customer is None:
            raise internal_error()
        elif kind == "activate_subscription":
            sub = self.subs.get(target or "")
            if sub is None or sub.record["customerId"] != customer["id"]:
                raise bad_request(f"Subscription {target} does not belong to this customer")
            price = self.pricing.prices.get(sub.record["priceId"])
        elif target is not None and target not in self.subs:
            raise not_found(f"Subscription {target} not found")
        base = self._base("chckt_session")
        session: Record = {
            **base,
            "pricingModelId": self.pricing.id,
            "status": "open",
            "billingAddress": None,
            "priceId": price["id"] if price else None,
            "purchaseId": None,
            "invoiceId": None,
            "quantity": body.get("quantity", 1),
            "organizationId": self.organization_id,
            "customerName": customer["name"] if customer else None,
            "customerEmail": customer["email"] if customer else None,
            "customerId": customer["id"] if customer else None,
            "paymentMethodType": None,
            "discountId": None,
            "successUrl": body["successUrl"],
            "cancelUrl": body["cancelUrl"],
            "type": kind,
            "preserveBillingCycleAnchor": bool(body.get("preserveBillingCycleAnchor", False)),
            "outputMetadata": body.get("outputMetadata"),
            "outputName": body.get("outputName"),
            "targetSubscriptionId": target,
            "automaticallyUpdateSubscriptions": body.get("automaticallyUpdateSubscriptions"),
            "expires": base["createdAt"] + CHECKOUT_LIFETIME_MS,
        }
        self.checkout_sessions[session["id"]] = session
        return session

    def get_checkout_session(self, session_id: str) -> Record:
        session = self.checkout_sessions.get(session_id)
        if session is None:
            raise not_found(f"Checkout session {session_id} not found")
        if session["status"] == "open" and session["expires"] <= self.clock.now():
            session["status"] = "expired"
        return session

    def expire_checkout(self, session_id: str) -> Record:
        session = self.get_checkout_session(session_id)
        if session["status"] == "open":
            session["status"] = "expired"
            self._touch(session)
        return session

    def complete_checkout(
        self, session_id: str, *, card_number: str = "4242424242424242", name: str | None = None
    ) -> Record:
        """What paying on the hosted page does: card saved, then the session's effect."""
        session = self.get_checkout_session(session_id)
        if session["status"] != "open":
            raise bad_request(f"Checkout session {session_id} is {session['status']}")
        digits = "".join(ch for ch in card_number if ch.isdigit())
        if digits == DECLINED_CARD:
            announce(self, "payment.failed", new_id("pym"), session["customerId"])
            raise CardDeclined()
        if len(digits) < 12:
            raise bad_request("Card number is invalid")
        customer = self.customer_by_id(session["customerId"])
        method = self.add_payment_method(customer, digits[-4:], name=name)
        kind = session["type"]
        if kind == "product":
            price = self.pricing.prices[session["priceId"]]
            if price["type"] == "subscription":
                sub = self.create_subscription(
                    customer,
                    price,
                    session["quantity"],
                    name=session["outputName"],
                    metadata=session["outputMetadata"],
                    payment_method_id=method["id"],
                )
                if price["unitPrice"] > 0:
                    for other in self.subs_of(customer["id"]):
                        if other is not sub and other.is_current and other.record["isFreePlan"]:
                            self.end_subscription(other, "upgraded_to_paid", replaced_by=sub.id)
            else:
                purchase = self.purchase(
                    customer,
                    price,
                    session["quantity"],
                    name=session["outputName"],
                    metadata=session["outputMetadata"],
                )
                session["purchaseId"] = purchase["id"]
        elif kind == "add_payment_method":
            targets = []
            if session["targetSubscriptionId"]:
                targets.append(self.subs[session["targetSubscriptionId"]])
            if session["automaticallyUpdateSubscriptions"]:
                targets += [s for s in self.subs_of(customer["id"]) if s.is_current]
            for sub in targets:
                sub.record["defaultPaymentMethodId"] = method["id"]
                self._touch(sub.record)
                announce(self, "subscription.updated", sub.id, customer["id"])
        else:
            sub = self.subs[session["targetSubscriptionId"]]
            sub.record["defaultPaymentMethodId"] = method["id"]
            for invoice, _ in self.invoices:
                if invoice["subscriptionId"] == sub.id and invoice["status"] == "open":
                    invoice.update(status="paid")
                    self._touch(invoice)
                    announce(self, "payment.succeeded", new_id("pym"), customer["id"])
            if sub.record["status"] in ("incomplete", "past_due", "unpaid", "trialing"):
                was_trial = sub.record["status"] == "trialing"
                sub.record["status"] = "active"
                if was_trial:
                    sub.record["trialEnd"] = self.clock.now()
                    self._invoice_period(sub)
            self._touch(sub.record)
            announce(self, "subscription.updated", sub.id, customer["id"])
        session.update(status="succeeded", paymentMethodType="card")
        self._touch(session)
        return session

    def add_payment_method(self, customer: Record, last4: str, *, name: str | None) -> Record:
        """A new card becomes the customer's default one."""
        for other in self.payment_methods:
            if other["customerId"] == customer["id"]:
                other["default"] = False
        method: Record = {
            **self._base("pm"),
            "customerId": customer["id"],
            "pricingModelId": self.pricing.id,
            "billingDetails": {
                "name": name or customer["name"] or None,
                "email": customer["email"] or None,
                "address": {"country": "US"},
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
        self.payment_methods.append(method)
        return method

    def purchase(
        self,
        customer: Record,
        price: Record,
        quantity: int,
        *,
        name: str | None,
        metadata: Record | None,
    ) -> Record:
        """A paid one-time purchase and its invoice."""
        total = price["unitPrice"] * quantity
        base = self._base("prch")
        purchase: Record = {
            **base,
            "name": name or self._product_name(price) or "Purchase",
            "status": "paid",
            "customerId": customer["id"],
            "organizationId": self.organization_id,
            "billingCycleAnchor": None,
            "priceId": price["id"],
            "quantity": quantity,
            "priceType": "single_payment",
            "trialPeriodDays": None,
            "pricePerBillingCycle": None,
            "intervalUnit": None,
            "intervalCount": None,
            "firstInvoiceValue": total,
            "totalPurchaseValue": total,
            "bankPaymentOnly": False,
            "purchaseDate": base["createdAt"],
            "endDate": None,
            "proposal": None,
            "archived": False,
            "billingAddress": None,
            "metadata": metadata,
            "pricingModelId": self.pricing.id,
            "position": 0,
        }
        self.purchases.append(purchase)
        invoice = self._invoice(
            customer["id"], total, "paid", type_="purchase", purchase_id=purchase["id"]
        )
        self.invoices[-1][1].append(self._line(invoice["id"], price, quantity))
        announce(self, "payment.succeeded", new_id("pym"), customer["id"])
        announce(self, "purchase.completed", purchase["id"], customer["id"])
        return purchase

    # read models --------------------------------------------------------------------------
    # They share the stored records instead of copying them: the API serializes them under
    # the sandbox's lock at once, and the Sandbox's own helpers copy what they hand out.

    def sub_record(self, sub: Sub) -> Record:
        """The subscription as E7 returns it."""
        return {**sub.record, "current": sub.is_current}

    def sub_details(self, sub: Sub) -> Record:
        """SubscriptionDetails: record + items with their price + features and balances."""
        details = self.sub_record(sub)
        details["subscriptionItems"] = [{**i.record, "price": i.price} for i in sub.items]
        details["experimental"] = {
            "featureItems": [f for i in sub.items for f in i.features],
            "usageMeterBalances": self.balances(sub),
        }
        return details

    def billing(self, customer: Record, portal_url: str) -> Record:
        """E4, computed from the records: current subscriptions by PROTOCOL §7.6."""
        subs = self.subs_of(customer["id"])
        current = [
            s
            for s in subs
            if s.is_current and s.record["cancellationReason"] != "upgraded_to_paid"
        ]
        payload: Record = {
            "customer": customer,
            "subscriptions": [self.sub_details(s) for s in subs],
            "invoices": [
                {"invoice": inv, "invoiceLineItems": lines}
                for inv, lines in reversed(self.invoices)
                if inv["customerId"] == customer["id"]
            ],
            "paymentMethods": [
                m for m in self.payment_methods if m["customerId"] == customer["id"]
            ],
            "purchases": [p for p in self.purchases if p["customerId"] == customer["id"]],
            "currentSubscriptions": [self.sub_details(s) for s in current],
            "catalog": self.pricing.record,
            "pricingModel": self.pricing.record,
            "billingPortalUrl": portal_url,
        }
        if current:
            latest = max(
                current, key=lambda s: (s.record["createdAt"], s.record["updatedAt"], s.id)
            )
            payload["currentSubscription"] = self.sub_details(latest)
        return payload

    def item_records(self, sub: Sub) -> list[Record]:
        return [i.record for i in sub.items]
