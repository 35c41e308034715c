"""The sandbox's data and the billing rules that change it.

Records are kept in the exact shape Flowglad's API returns them (camelCase dicts), so what a
test reads through the API is what the rules wrote. Bookkeeping Flowglad keeps elsewhere
(credit ledgers, scheduled adjustments) lives next to each subscription in :class:`Sub`.

Nothing here locks: the :class:`~flask_flowglad.sandbox.core.Sandbox` holds one lock around
every call into this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .errors import SandboxError, bad_request, conflict, internal_error, not_found
from .ids import DAY_MS, Clock, add_interval, new_id
from .pricing import PricingModel, Record
from .webhooks import PAYMENT_EVENTS, Announcement, announce

#: Statuses of a subscription that still grants access (PROTOCOL §7.6).
CURRENT_STATUSES = frozenset(
    {"active", "past_due", "trialing", "cancellation_scheduled", "unpaid", "credit_trial"}
)
#: Statuses a subscription never leaves (``TERMINAL_SUBSCRIPTION_STATES``).
TERMINAL_STATUSES = frozenset({"canceled", "incomplete_expired"})
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
    #: meters with ledger entries (a grant or a usage): only these have a balance
    ledger_meters: set[str] = field(default_factory=set)
    #: meter id -> the id of the subscription's ledger account for it
    ledger_accounts: dict[str, str] = field(default_factory=dict)

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

    def __init__(
        self,
        pricing: PricingModel,
        organization_id: str,
        clock: Clock,
        *,
        allow_multiple_subscriptions: bool = False,
    ) -> None:
        self.pricing = pricing
        self.organization_id = organization_id
        self.clock = clock
        #: The organization's ``allowMultipleSubscriptionsPerCustomer`` (false by default).
        self.allow_multiple_subscriptions = allow_multiple_subscriptions
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
            "billingAddress": None,
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
            # NotFoundError('Subscription', id) in errors.ts
            raise not_found(f"Subscription not found: {subscription_id}")
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
        self._verify_can_subscribe(customer, price)
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
            # maybeDefaultPaymentMethodForSubscription: the customer's default card.
            "defaultPaymentMethodId": payment_method_id
            or (self.default_payment_method(customer["id"]) or {}).get("id"),
            "backupPaymentMethodId": None,
            "trialEnd": trial_end,
            "currentBillingPeriodStart": now,
            "currentBillingPeriodEnd": _period_end(now, unit, count),
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
            "name": name or self._subscription_name(price),
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
        if price["unitPrice"] != 0:
            self._replace_free_plan(customer, sub)
        if record["status"] == "active":
            self._invoice_period(sub)
        return sub

    def _verify_can_subscribe(self, customer: Record, price: Record) -> None:
        """One free plan per customer, and one current subscription unless the
        organization allows more (``verifyCanCreateSubscription`` in
        ``subscriptions/createSubscription/helpers.ts``); a paid plan's free plan does not
        count, as the paid plan replaces it."""
        current = [s for s in self.subs_of(customer["id"]) if s.is_current]
        if price["unitPrice"] == 0:
            if any(s.record["isFreePlan"] for s in current):
                raise conflict(
                    f"Subscription conflict: Customer {customer['id']} already has an active "
                    "free subscription. Only one free subscription is allowed per customer. "
                    "Please upgrade or cancel the existing free subscription before creating "
                    "a new one."
                )
        else:
            replaced = self._free_plan_to_replace(customer)
            current = [s for s in current if s is not replaced]
        if current and not self.allow_multiple_subscriptions:
            raise conflict(
                f"Subscription conflict: Customer {customer['id']} already has an active "
                "subscription. Please cancel the existing subscription before creating a new one."
            )

    def checkout_blocked(self, session: Record) -> bool:
        """The hosted checkout sends a customer with an active paid plan back instead of
        selling a second one (``shouldBlockCheckout`` in ``app/checkout/guard.ts``)."""
        price = self.pricing.prices.get(session.get("priceId") or "")
        if self.allow_multiple_subscriptions or price is None or price["type"] != "subscription":
            return False
        return any(
            s.record["status"] == "active" and not s.record["isFreePlan"]
            for s in self.subs_of(session["customerId"] or "")
        )

    def _free_plan_to_replace(self, customer: Record) -> Sub | None:
        free = [
            s
            for s in self.subs_of(customer["id"])
            if s.record["status"] == "active" and s.record["isFreePlan"]
        ]
        return max(free, key=lambda s: (s.record["createdAt"], s.id)) if free else None

    def _replace_free_plan(self, customer: Record, paid: Sub) -> None:
        """A paid plan ends the customer's active free plan as ``upgraded_to_paid``.

        ``subscriptions/createSubscription/workflow.ts``: the most recent active free
        subscription, for every way a paid subscription is created (API and checkout).
        """
        free = self._free_plan_to_replace(customer)
        if free is not None and free is not paid:
            self.end_subscription(free, "upgraded_to_paid", replaced_by=paid.id)

    def _product_name(self, price: Record) -> str | None:
        product = self.pricing.products.get(price.get("productId") or "")
        return product["name"] if product else price.get("name")

    def _subscription_name(self, price: Record) -> str | None:
        """``Product - Price``, as ``subscriptions/createSubscription/initializers.ts``."""
        product = self._product_name(price)
        return f"{product} - {price['name']}" if product and price.get("name") else product

    @staticmethod
    def _item_name(price: Record, product_name: str | None, quantity: int) -> str | None:
        """``Price x 3``, as ``subscriptions/createSubscription/initializers.ts``."""
        name = price.get("name") or product_name
        return f"{name} x {quantity}" if name and quantity > 1 else name

    def _new_item(
        self, sub: Sub, price: Record, quantity: int, *, name: str | None = None
    ) -> Item:
        base = self._base("si")
        record: Record = {
            **base,
            "subscriptionId": sub.id,
            "name": name or self._item_name(price, self._product_name(price), quantity),
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
                # subscriptions/subscriptionItemFeatureHelpers.ts: productFeature?.id
                "productFeatureId": self.pricing.product_feature_ids.get(
                    (price.get("productId") or "", feature["id"])
                ),
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
                sub.ledger_meters.add(f["usageMeterId"])

    def _invoice_period(
        self,
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
            lines.append({**line, "price": amount, "description": memo})
        billing_run_id = new_id("billing_run")
        for price, events, units in usage_lines:
            account = sub.ledger_accounts.setdefault(
                price["usageMeterId"], new_id("ledger_account")
            )
            line = self._line(invoice["id"], price, 1)
            line.update(
                quantity=int(units) if float(units).is_integer() else units,
                type="usage",
                description=price.get("name") or "",
                billingRunId=billing_run_id,
                ledgerAccountId=account,
                ledgerAccountCredit=events,
            )
            lines.append(line)
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
            "ledgerAccountId": None,
            "ledgerAccountCredit": None,
        }

    def cancel(self, sub: Sub, timing: str) -> Sub:
        """E8: at the period's end (``cancellation_scheduled``) or now (``canceled``).

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
            self.end_subscription(sub, "customer_request")
        elif record["status"] != "cancellation_scheduled":
            record["status"] = "cancellation_scheduled"
            record["cancelScheduledAt"] = record["currentBillingPeriodEnd"]
            record["cancellationReason"] = "customer_request"
            announce(self, "subscription.updated", sub.id, record["customerId"])
        self._touch(record)
        return sub

    def end_subscription(
        self,
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
        if reassign and reason != "upgraded_to_paid":
            self._reassign_default_plan(sub)

    def _reassign_default_plan(self, ended: Sub) -> None:
        """Back on the default plan when a paid plan ends and nothing current is left.

        ``reassignDefaultSubscription`` in ``subscriptions/cancelSubscription.ts``: not for
        an ended free plan, not when another subscription is still current.
        """
        price = self.pricing.default_price()
        customer_id = ended.record["customerId"]
        if ended.record["isFreePlan"] or price is None or price["type"] != "subscription":
            return
        if any(s.is_current for s in self.subs_of(customer_id)):
            return
        customer = self.customer_by_id(customer_id)
        if customer["archived"]:
            return
        name = f"{self._product_name(price)} Subscription"
        self.create_subscription(customer, price, 1, name=name)

    def uncancel(self, sub: Sub) -> Sub:
        """E9: a scheduled cancellation is taken back; anything else is answered as it is.

        ``uncancelSubscription`` in ``subscriptions/cancelSubscription.ts`` is idempotent:
        a subscription that is not scheduled to cancel (ended ones included) is unchanged.
        """
        record = sub.record
        if record["status"] != "cancellation_scheduled":
            return sub
        method = record["defaultPaymentMethodId"] or self.default_payment_method(
            record["customerId"]
        )
        if not record["isFreePlan"] and not record["doNotCharge"] and not method:
            # subscriptions/cancelSubscription.ts, uncancelSubscription
            raise bad_request(
                "Invalid paymentMethod: Cannot uncancel paid subscription without an active "
                "payment method. Please add a payment method first."
            )
        trial_end = record["trialEnd"]
        record["status"] = "trialing" if trial_end and trial_end > self.clock.now() else "active"
        record["cancelScheduledAt"] = None
        record["cancellationReason"] = None
        self._touch(record)
        announce(self, "subscription.updated", sub.id, record["customerId"])
        return sub

    def preview_adjust(
        self,
        sub: Sub,
        timing: str,
        new_items: list[tuple[Record, int]],
        prorate: bool,
        *,
        missing_price: str | None = None,
    ) -> Record:
        """What an adjustment would do, or why it cannot be made; changes nothing.

        The checks, their order and their reasons are ``calculateAdjustmentPreview``'s
        (``subscriptions/adjustSubscription.ts``); the answer is shaped as
        ``POST /subscriptions/{id}/preview-adjust`` returns it. Proration is the price
        difference over the part of the period left. ``missing_price`` is an item's price
        id or slug that names no price: refused once the subscription itself may change.
        """
        now = self.clock.now()
        record = sub.record

        def refused(reason: str) -> Record:
            return {"canAdjust": False, "previewGeneratedAt": now, "reason": reason}

        status = record["status"]
        if status in TERMINAL_STATUSES:
            return refused(f"Subscription is in terminal state: {status}")
        if status == "credit_trial":
            return refused("Credit trial subscriptions cannot be adjusted.")
        if not record["renews"]:
            return refused(
                f"Subscription {sub.id} is a non-renewing subscription. Non-renewing "
                "subscriptions cannot be adjusted."
            )
        if record["doNotCharge"]:
            return refused(
                "Cannot adjust doNotCharge subscriptions. Cancel and create a new "
                "subscription instead."
            )
        if record["isFreePlan"]:
            return refused(
                "Cannot adjust free plan subscriptions. Use createSubscription to upgrade "
                "from a free plan instead."
            )
        if sub.pending:
            return refused(
                "A scheduled adjustment is already pending. Cancel the scheduled "
                "adjustment before making a new one."
            )
        if status == "cancellation_scheduled":
            return refused(
                "A cancellation is scheduled. Uncancel the subscription before adjusting."
            )
        if missing_price is not None:
            return refused(f"Price not found: {missing_price}")
        for price, _ in new_items:
            if price["type"] != "subscription":
                return refused(
                    "Only recurring prices can be used in subscriptions. "
                    f"Price {price['id']} is of type {price['type']}"
                )
        for resource_id, capacity in self._capacities(new_items).items():
            claimed = len(self.active_claims(sub, resource_id))
            if claimed > capacity:
                return refused(
                    f"Cannot reduce capacity to {capacity}. {claimed} resources are "
                    f"currently claimed. Release {claimed - capacity} claims before downgrading."
                )
        old_total = sub.total()
        new_total = sum(p["unitPrice"] * q for p, q in new_items)
        is_upgrade = new_total > old_total
        resolved = timing
        if timing == "auto":
            resolved = "immediately" if is_upgrade else "at_end_of_current_billing_period"
        start, end = record["currentBillingPeriodStart"], record["currentBillingPeriodEnd"]
        effective = now if resolved == "immediately" else end
        through = min(1.0, max(0.0, (effective - start) / max(1, end - start)))
        if resolved != "immediately" and new_total > old_total:
            return refused(
                "EndOfCurrentBillingPeriod adjustments are only allowed for downgrades (zero "
                "or negative net charge). For upgrades or adjustments with a positive charge, "
                "use Immediately timing instead."
            )
        net = round((new_total - old_total) * (1 - through)) if resolved == "immediately" else 0
        method_id = record["defaultPaymentMethodId"] or record["backupPaymentMethodId"]
        if net > 0 and prorate and not method_id:
            return refused(
                "No payment method found for subscription. A payment method is required for "
                "immediate adjustments with proration."
            )
        preview: Record = {
            "canAdjust": True,
            "previewGeneratedAt": now,
            "prorationAmount": net if net > 0 and prorate else 0,
            "currentPlanTotal": old_total,
            "newPlanTotal": new_total,
            "resolvedTiming": resolved,
            "effectiveDate": effective,
            "isUpgrade": is_upgrade,
            "percentThroughBillingPeriod": through,
            "billingPeriodEnd": end,
            "currentSubscriptionItems": [
                _preview_item(i.record["name"], i.price, i.record["quantity"]) for i in sub.items
            ],
            "newSubscriptionItems": [
                _preview_item(p.get("name") or self._product_name(p), p, q) for p, q in new_items
            ],
        }
        method = next((m for m in self.payment_methods if m["id"] == method_id), None)
        if method is not None:
            preview["paymentMethod"] = {
                "id": method["id"],
                "type": method["type"],
                "last4": method["paymentMethodData"]["last4"],
                "brand": method["paymentMethodData"]["brand"],
            }
        return preview

    def _capacities(self, new_items: list[tuple[Record, int]]) -> dict[str, int]:
        """Resource id -> the capacity the new items' resource features would grant."""
        capacities: dict[str, int] = {}
        for price, quantity in new_items:
            for feature in self.pricing.product_features.get(price.get("productId") or "", []):
                if feature["type"] == "resource":
                    rid = feature["resourceId"]
                    capacities[rid] = capacities.get(rid, 0) + feature["amount"] * quantity
        return capacities

    def adjust(
        self,
        sub: Sub,
        timing: str,
        new_items: list[tuple[Record, int]],
        prorate: bool,
        *,
        missing_price: str | None = None,
    ) -> tuple[Sub, str, bool]:
        """E10: upgrades apply now, downgrades at the period's end (``auto`` timing).

        Refused as ``adjustSubscription`` refuses (``convertPreviewFailureToError``): an
        unknown price is a 404, a capacity conflict a 409, anything else a 400.
        """
        preview = self.preview_adjust(sub, timing, new_items, prorate, missing_price=missing_price)
        if not preview["canAdjust"]:
            reason = preview["reason"]
            if reason.startswith("Price not found"):
                raise not_found(reason)
            if reason.startswith("Cannot reduce capacity"):
                raise conflict(f"resource conflict: {reason}")
            raise bad_request(f"Invalid subscription: {reason}")
        record = sub.record
        if preview["resolvedTiming"] == "immediately":
            self._replace_items(sub, new_items)
            if preview["prorationAmount"] > 0:
                self._invoice_period(
                    sub,
                    amount=preview["prorationAmount"],
                    memo="Proration: Net charge adjustment",
                )
        else:
            sub.pending = list(new_items)
            record["scheduledAdjustmentAt"] = record["currentBillingPeriodEnd"]
        self._touch(record)
        announce(self, "subscription.updated", sub.id, record["customerId"])
        return sub, preview["resolvedTiming"], preview["isUpgrade"]

    def cancel_scheduled_adjustment(self, sub: Sub) -> int:
        """Drop a scheduled downgrade; how many scheduled items it had.

        ``cancelScheduledAdjustment`` in ``subscriptions/scheduledAdjustmentHelpers.ts``.
        """
        if not sub.pending:
            raise bad_request(
                f"Invalid subscription: Subscription {sub.id} does not have a scheduled "
                "adjustment to cancel."
            )
        count = len(sub.pending)
        sub.pending = None
        sub.record["scheduledAdjustmentAt"] = None
        self._touch(sub.record)
        announce(self, "subscription.updated", sub.id, sub.record["customerId"])
        return count

    def _replace_items(self, sub: Sub, new_items: list[tuple[Record, int]]) -> None:
        now = self.clock.now()
        for item in sub.items:
            item.record["expiredAt"] = now
            for f in item.features:
                f["expiredAt"] = now
        old_grants = dict(sub.period_credit)
        # subscriptions/adjustSubscription.ts names adjusted items after their price alone.
        sub.items = [
            self._new_item(
                sub, price, quantity, name=price.get("name") or self._product_name(price)
            )
            for price, quantity in new_items
        ]
        # A plan change within a period keeps the larger per-period grant: an upgrade
        # tops the balance up, a downgrade does not claw credits back.
        sub.period_credit = {}
        self._grant_credits(sub, sub.items)
        for meter, amount in old_grants.items():
            sub.period_credit[meter] = max(amount, sub.period_credit.get(meter, 0))
        # syncSubscriptionWithActiveItems (adjustSubscription.ts): the subscription takes
        # the name and price of its most expensive item.
        primary = max(sub.items, key=lambda i: i.record["unitPrice"] * i.record["quantity"])
        sub.record.update(
            priceId=primary.price["id"],
            isFreePlan=sum(p["unitPrice"] * q for p, q in new_items) == 0,
            interval=primary.price["intervalUnit"],
            intervalCount=primary.price["intervalCount"],
            name=primary.record["name"],
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
        unit, count = record["interval"], record["intervalCount"]
        if sub.pending:
            unit, count = sub.pending[0][0]["intervalUnit"], sub.pending[0][0]["intervalCount"]
        next_end = _period_end(end, unit, count)  # may refuse: before anything changes
        overage = self._settle_usage(sub)
        if sub.pending:
            pending, sub.pending = sub.pending, None
            self._replace_items(sub, pending)
        record["scheduledAdjustmentAt"] = None
        record["currentBillingPeriodStart"] = end
        record["currentBillingPeriodEnd"] = next_end
        sub.billing_period_id = new_id("billing_period")
        if record["status"] == "trialing" and (record["trialEnd"] or 0) <= end:
            record["status"] = "active"
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
            self._invoice_period(sub, overage=overage)
        self._touch(record)
        announce(self, "subscription.updated", sub.id, record["customerId"])
        return sub

    def _settle_usage(self, sub: Sub) -> list[tuple[Record, int]]:
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
            price = self.pricing.meter_default_price(meter)
            if over > taken and price is not None:
                overage.append((price, over - taken))
        return overage

    # usage --------------------------------------------------------------------------------

    def resolve_usage(self, event: UsageInput) -> tuple[Sub, Record, Record]:
        """Find the subscription, meter and price an event is about, without recording it.

        Refusals word it as ``utils/usage/usageEventHelpers.ts`` does.
        """
        sub = self.get_sub(event.subscription_id)
        kind, value = event.identifier
        meter: Record | None
        price: Record | None
        slugged = f"with slug {value} (not in customer's pricing model)"
        if kind in ("priceId", "priceSlug"):
            price = (
                self.pricing.prices.get(value)
                if kind == "priceId"
                else self.pricing.price_by_slug(value)
            )
            if price is None:
                raise not_found(f"Price not found: {value if kind == 'priceId' else slugged}")
            if price["type"] != "usage":
                reason = (
                    "is not a usage price. Please provide a usage price id to create a usage "
                    "event."
                    if kind == "priceId"
                    else "does not have a usage meter associated with it."
                )
                raise bad_request(f"Invalid priceId: Price {price['id']} {reason}")
            meter = self.pricing.usage_meters[price["usageMeterId"]]
        else:
            meter = (
                self.pricing.usage_meters.get(value)
                if kind == "usageMeterId"
                else self.pricing.meter_by_slug(value)
            )
            if meter is None:
                where = f"{value} (not in customer's pricing model)"
                raise not_found(
                    f"UsageMeter not found: {where if kind == 'usageMeterId' else slugged}"
                )
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
        sub.ledger_meters.add(meter["id"])
        return record

    def balances(self, sub: Sub) -> list[Record]:
        """Credits granted minus usage, for each meter the subscription has ledger entries on.

        Flowglad sums ledger entries per meter (``selectUsageMeterBalancesForSubscriptions``
        in ``db/tableMethods/ledgerEntryMethods.ts``): a meter the plan grants nothing on and
        that saw no usage has no balance at all, not a zero one.
        """
        out = []
        for meter in self.pricing.usage_meters.values():
            mid = meter["id"]
            if mid not in sub.ledger_meters:
                continue
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

    def granted_resources(self, sub: Sub) -> list[Record]:
        """Resources the subscription's items have resource features for, in model order.

        ``listResourceUsages`` (``server/routers/resourceClaimsRouter.ts``) lists only
        these: a plan without resource features has none.
        """
        granted = {
            f["resourceId"] for i in sub.items for f in i.features if f["type"] == "resource"
        }
        return [r for r in self.pricing.resources.values() if r["id"] in granted]

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
        requested = len(to_create) if external_ids is not None else (quantity or 1)
        usage = self.usage_of(sub, resource)
        # Capacity is checked before anything is allocated for the request.
        if requested > usage["available"]:
            raise bad_request(
                f"Insufficient capacity for resource {resource['slug']}: requested "
                f"{requested}, available {usage['available']} of {usage['capacity']}"
            )
        if external_ids is None:
            to_create = [None] * requested
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
                    # utils/bookkeeping/createCheckoutSession.ts
                    raise bad_request(
                        f'Invalid priceSlug: Price with slug "{body["priceSlug"]}" not found '
                        "for customer's pricing model"
                    )
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
        if self.checkout_blocked(session):
            raise conflict(
                f"Subscription conflict: Customer {session['customerId']} already has an "
                "active subscription. Please cancel the existing subscription before creating "
                "a new one."
            )
        digits = "".join(ch for ch in card_number if ch.isdigit())
        if digits == DECLINED_CARD:
            announce(self, "payment.failed", new_id("pym"), session["customerId"])
            raise CardDeclined()
        if not 12 <= len(digits) <= 19:
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
                purchase = self.purchase(
                    customer,
                    price,
                    1,
                    name=session["outputName"],
                    metadata=session["outputMetadata"],
                )
                session["purchaseId"] = purchase["id"]
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
        """A paid purchase: one-time (with its invoice and credits) or of a subscription.

        Flowglad records a Purchase for every product checkout, subscription prices
        included (``processPurchaseBookkeepingForCheckoutSession`` in
        ``utils/bookkeeping/checkoutSessions.ts``); a subscription's invoices belong to its
        billing periods, so only a one-time purchase gets an invoice of its own.
        """
        one_time = price["type"] == "single_payment"
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
            "pricingModelId": self.pricing.id,
            "position": 0,
        }
        self.purchases.append(purchase)
        if one_time:
            invoice = self._invoice(
                customer["id"], total, "paid", type_="purchase", purchase_id=purchase["id"]
            )
            self.invoices[-1][1].append(self._line(invoice["id"], price, quantity))
            self._grant_purchase_credits(customer, price)
            announce(self, "payment.succeeded", new_id("pym"), customer["id"])
        # A subscription's payment is its first period's invoice, announced with it.
        announce(self, "purchase.completed", purchase["id"], customer["id"])
        return purchase

    def _grant_purchase_credits(self, customer: Record, price: Record) -> None:
        """A paid one-time price grants its product's first usage credit feature, once.

        As ``ledgerCommandForPaymentSucceeded`` in
        ``utils/bookkeeping/processPaymentIntentStatusUpdated.ts``: the credits (the
        feature's amount, whatever the quantity) go to the customer's current subscription
        and never expire; without a current subscription nothing is granted. A one-time
        price's toggle and resource features grant nothing: features belong to
        subscription items.
        """
        features = self.pricing.product_features.get(price.get("productId") or "", [])
        grant = next((f for f in features if f["type"] == "usage_credit_grant"), None)
        current = [s for s in self.subs_of(customer["id"]) if s.is_current]
        if grant is None or not current:
            return
        sub = max(current, key=lambda s: (s.record["createdAt"], s.record["updatedAt"], s.id))
        meter = grant["usageMeterId"]
        sub.carry_credit[meter] = sub.carry_credit.get(meter, 0) + grant["amount"]
        sub.ledger_meters.add(meter)

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
            # Creation order, as the query in db/tableMethods/invoiceLineItemMethods.ts
            # (selectCustomerFacingInvoicesWithLineItems) has no ORDER BY; same for the
            # subscriptions, payment methods and purchases below.
            "invoices": [
                {"invoice": inv, "invoiceLineItems": lines}
                for inv, lines in self.invoices
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


def _period_end(start_ms: int, unit: str, count: int) -> int:
    try:
        return add_interval(start_ms, unit, count)
    except (OverflowError, ValueError, OSError):
        raise bad_request("The billing period would end after the year 9999") from None


def _preview_item(name: str | None, price: Record, quantity: int) -> Record:
    return {
        "name": name or "",
        "unitPrice": price["unitPrice"],
        "quantity": quantity,
        "priceId": price["id"],
    }
