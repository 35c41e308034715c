"""A customer's billing, as Flowglad's billing endpoint returns it, with the helpers apps ask.

The payload is kept unchanged (:attr:`BillingSnapshot.raw`) so it can be passed to the
React SDK as is; the helpers read it the way Flowglad's own helpers do, with one deliberate
difference explained in :meth:`BillingSnapshot.check_feature_access`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from .errors import InvalidUpstreamAnswer
from .summary import BillingSummary, Plan, Usage, summarize
from .summary import as_object as _as_object
from .summary import as_objects as _as_objects
from .telemetry.recording import feature_checked

JSONObject = dict[str, Any]


class BillingSnapshot:
    """One read of a customer's billing."""

    __slots__ = ("_pending", "_pending_source", "_summary", "raw")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        #: The billing payload exactly as Flowglad returned it.
        self.raw: JSONObject = dict(raw)
        self._summary: BillingSummary | None = None
        #: Reads the customer's usage recorded in the outbox and not yet sent.
        self._pending_source: Callable[[], Mapping[str, int]] | None = None
        self._pending: dict[str, int] | None = None

    @classmethod
    def from_payload(cls, payload: object) -> BillingSnapshot:
        """A snapshot of Flowglad's answer, which must at least name the customer: an
        answer without it (``{}`` from a proxy) is an outage, never an empty billing."""
        problem = billing_shape_problem(payload)
        if problem is not None:
            raise InvalidUpstreamAnswer(
                200, None, f"Flowglad's billing answer is unusable: {problem}.", None, None
            )
        assert isinstance(payload, dict)
        return cls(payload)

    def __repr__(self) -> str:
        customer = self.customer.get("externalId") if self.customer else None
        return f"<BillingSnapshot customer={customer!r}>"

    @property
    def is_anonymous(self) -> bool:
        """``False``: this is a customer's billing (see :class:`AnonymousBilling`)."""
        return False

    @property
    def summary(self) -> BillingSummary:
        """The billing as typed records: the plan, products, usage, purchases, invoices
        and payment methods, with aware dates and :class:`~flask_flowglad.summary.Money`.
        Read from :attr:`raw` the first time it is asked for. With a usage outbox, the
        usage counts what was recorded and not yet sent, as :meth:`check_usage_balance`
        does: the app's own pages never show a balance its metered views would refuse."""
        if self._summary is None:
            summary = summarize(self.raw)
            if self._pending_source is not None:
                summary = replace(
                    summary, usage=tuple(map(self._usage_minus_pending, summary.usage))
                )
            self._summary = summary
        return self._summary

    def _usage_minus_pending(self, usage: Usage) -> Usage:
        pending = self.pending_usage(usage.slug)
        if not pending:
            return usage
        return replace(usage, available=usage.available - pending, used=usage.used + pending)

    @property
    def plan(self) -> Plan | None:
        """The current plan (``billing.plan.name``, ``.status_text``, ``.renews_at``), or
        ``None`` without a current subscription."""
        return self.summary.plan

    @property
    def customer(self) -> JSONObject:
        """The Flowglad customer record (``id``, ``externalId``, ``email``, ...)."""
        return _as_object(self.raw.get("customer"))

    @property
    def subscriptions(self) -> list[JSONObject]:
        """Every subscription of the customer, current or not."""
        return _as_objects(self.raw.get("subscriptions"))

    @property
    def current_subscriptions(self) -> list[JSONObject]:
        """The subscriptions in force now (active, trialing, cancellation scheduled)."""
        return _as_objects(self.raw.get("currentSubscriptions"))

    @property
    def current_subscription(self) -> JSONObject | None:
        """The most recently created current subscription, as Flowglad picks it."""
        value = self.raw.get("currentSubscription")
        return value if isinstance(value, dict) else None

    @property
    def pricing_model(self) -> JSONObject:
        """The pricing model the customer is on: products, prices, usage meters."""
        return _as_object(self.raw.get("pricingModel"))

    @property
    def invoices(self) -> list[JSONObject]:
        """Invoice entries, each ``{"invoice": {...}, "invoiceLineItems": [...]}``."""
        return [
            entry
            for entry in _as_objects(self.raw.get("invoices"))
            if isinstance(entry.get("invoice"), dict)
        ]

    @property
    def purchases(self) -> list[JSONObject]:
        """One-time and subscription purchases, whatever their status."""
        return _as_objects(self.raw.get("purchases"))

    @property
    def payment_methods(self) -> list[JSONObject]:
        """The customer's saved payment methods."""
        return _as_objects(self.raw.get("paymentMethods"))

    @property
    def billing_portal_url(self) -> str | None:
        """Flowglad's hosted page where the customer manages cards and invoices."""
        value = self.raw.get("billingPortalUrl")
        return value if isinstance(value, str) else None

    @property
    def prices(self) -> list[JSONObject]:
        """Every price of the pricing model: the products' and the usage meters'."""
        return [
            price
            for owner in (*self._products, *self._usage_meters)
            for price in _as_objects(owner.get("prices"))
        ]

    @property
    def usage_meters(self) -> list[JSONObject]:
        """The usage meters of the pricing model."""
        return self._usage_meters

    @property
    def _products(self) -> list[JSONObject]:
        return _as_objects(self.pricing_model.get("products"))

    @property
    def _usage_meters(self) -> list[JSONObject]:
        return _as_objects(self.pricing_model.get("usageMeters"))

    def find_subscription(self, subscription_id: str) -> JSONObject | None:
        """The customer's subscription with this id, current or not; ``None`` if not theirs."""
        return next((s for s in self.subscriptions if s.get("id") == subscription_id), None)

    def find_current_subscription(self, subscription_id: str) -> JSONObject | None:
        """The customer's *current* subscription with this id, or ``None``."""
        return next(
            (s for s in self.current_subscriptions if s.get("id") == subscription_id), None
        )

    def find_price(
        self, *, price_id: str | None = None, price_slug: str | None = None
    ) -> JSONObject | None:
        """A price of the pricing model by id or slug: what the customer may be charged."""
        for price in self.prices:
            if price_id is not None and price.get("id") == price_id:
                return price
            if price_id is None and price_slug is not None and price.get("slug") == price_slug:
                return price
        return None

    def find_usage_meter(
        self, *, meter_id: str | None = None, slug: str | None = None
    ) -> JSONObject | None:
        """A usage meter of the pricing model by id or slug."""
        for meter in self._usage_meters:
            if meter_id is not None and meter.get("id") == meter_id:
                return meter
            if meter_id is None and slug is not None and meter.get("slug") == slug:
                return meter
        return None

    def find_payment_method(self, payment_method_id: str) -> JSONObject | None:
        """One of the customer's own payment methods, or ``None``."""
        return next((m for m in self.payment_methods if m.get("id") == payment_method_id), None)

    def granted_features(self, subscription_id: str | None = None) -> list[JSONObject]:
        """The toggle features granted, one item per slug: by any current subscription,
        or by the one named. The one reading of feature access, shared by
        :meth:`check_feature_access`, ``@feature_required`` and the ``features/access``
        route, so they can never disagree."""
        granted: dict[Any, JSONObject] = {}
        for subscription in self._subscriptions_for(subscription_id):
            for item in feature_items(subscription):
                if item.get("type") == "toggle" and isinstance(item.get("slug"), str):
                    granted.setdefault(item["slug"], item)
        return list(granted.values())

    def check_feature_access(self, feature_slug: str, subscription_id: str | None = None) -> bool:
        """Whether a toggle feature is granted.

        Without ``subscription_id``, a feature granted by **any** current subscription
        counts. Flowglad's JavaScript helper looks at the first current subscription only;
        since that list is not ordered, a customer with a base plan and an add-on could be
        refused a feature they pay for. With ``subscription_id``, only that current
        subscription is consulted, as Flowglad does.
        """
        granted = any(
            item["slug"] == feature_slug for item in self.granted_features(subscription_id)
        )
        feature_checked(feature_slug, granted, self)
        return granted

    def check_usage_balance(
        self, usage_meter_slug: str, subscription_id: str | None = None
    ) -> JSONObject | None:
        """The whole balance record of a usage meter, or ``None`` without one.

        Without ``subscription_id``, the first current subscription that has the meter
        answers (consistent with :meth:`check_feature_access`).

        With a usage outbox (``FLOWGLAD_USAGE_OUTBOX``), usage recorded and not yet sent
        counts: ``availableBalance`` is Flowglad's minus the pending amount, which the
        record carries as ``pendingUsage``, so a metered view can refuse at zero before
        any worker has sent anything. :meth:`usage_meter_balances` (what the React SDK is
        sent) keeps Flowglad's own figures.
        """
        for subscription in self._subscriptions_for(subscription_id):
            balances = _index_by_slug(subscription_usage_balances(subscription))
            if usage_meter_slug in balances:
                return self._minus_pending(balances[usage_meter_slug])
        return None

    @property
    def counts_pending_usage(self) -> bool:
        """Whether usage recorded in the outbox and not yet sent counts in its balances."""
        return self._pending_source is not None

    def count_pending_usage(self, source: Callable[[], Mapping[str, int]]) -> None:
        """Count the usage ``source`` returns (``{"meter:<slug>" | "price:<slug>":
        amount}``, read once, when a balance is first asked) in :meth:`check_usage_balance`."""
        self._pending_source = source
        self._pending = None
        self._summary = None

    def add_pending_usage(self, meter_key: str, amount: int) -> None:
        """Usage just recorded in this request, counted without reading the outbox again."""
        if self._pending is not None:
            self._pending[meter_key] = self._pending.get(meter_key, 0) + amount
            self._summary = None

    def pending_usage(self, usage_meter_slug: str) -> int:
        """Usage of the meter recorded in the outbox and not yet sent (its usage prices'
        included); 0 without an outbox."""
        if self._pending_source is None:
            return 0
        if self._pending is None:
            self._pending = dict(self._pending_source())
        total = self._pending.get(f"meter:{usage_meter_slug}", 0)
        for price_slug in self.usage_price_slugs(usage_meter_slug):
            total += self._pending.get(f"price:{price_slug}", 0)
        return total

    def usage_price_slugs(self, usage_meter_slug: str) -> tuple[str, ...]:
        """The slugs of a usage meter's prices: usage recorded on them counts on the meter."""
        meter = self.find_usage_meter(slug=usage_meter_slug)
        prices = _as_objects(meter.get("prices")) if meter else []
        return tuple(p["slug"] for p in prices if isinstance(p.get("slug"), str))

    def _minus_pending(self, balance: JSONObject) -> JSONObject:
        if self._pending_source is None:
            return balance
        pending = self.pending_usage(str(balance.get("slug")))
        available = balance.get("availableBalance")
        adjusted = {**balance, "pendingUsage": pending}
        if isinstance(available, (int, float)) and not isinstance(available, bool):
            adjusted["availableBalance"] = available - pending
        return adjusted

    def usage_meter_balances(self, subscription_id: str | None = None) -> list[JSONObject]:
        """The balances of every current subscription, or of the one named."""
        return [
            balance
            for subscription in self._subscriptions_for(subscription_id)
            for balance in subscription_usage_balances(subscription)
        ]

    def get_product(self, product_slug: str) -> JSONObject | None:
        """The product of the customer's pricing model with this slug."""
        return _index_by_slug(self._products).get(product_slug)

    def get_price(self, price_slug: str) -> JSONObject | None:
        """A product price with this slug; usage prices live on meters and are not included."""
        prices = (
            price for product in self._products for price in _as_objects(product.get("prices"))
        )
        return _index_by_slug(prices).get(price_slug)

    def has_purchased(self, product_slug: str) -> bool:
        """Whether any purchase is of one of the product's prices, whatever its status."""
        product = self.get_product(product_slug)
        if product is None:
            return False
        price_ids = {price.get("id") for price in _as_objects(product.get("prices"))}
        return any(purchase.get("priceId") in price_ids for purchase in self.purchases)

    def _subscriptions_for(self, subscription_id: str | None) -> list[JSONObject]:
        if subscription_id is None:
            return self.current_subscriptions
        found = self.find_current_subscription(subscription_id)
        return [found] if found is not None else []


class AnonymousBilling(BillingSnapshot):
    """The billing of a visitor who is not logged in: every check answers ``False``, ``None``
    or an empty list.

    ``current_billing`` is one for anonymous visitors, as flask-login's ``current_user`` is
    an anonymous user: views and templates ask the same questions with no ``None`` check.
    It is falsy, so ``if current_billing:`` reads "someone is billed".
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__({})

    def __repr__(self) -> str:
        return "<AnonymousBilling>"

    def __bool__(self) -> bool:
        return False

    @property
    def is_anonymous(self) -> bool:
        """``True``: nobody is logged in."""
        return True


#: Members of a billing answer that, when present, are lists of objects.
_OBJECT_LISTS = (
    "subscriptions",
    "currentSubscriptions",
    "invoices",
    "purchases",
    "paymentMethods",
)
#: Members of a subscription (or of its ``experimental`` object) that are lists of objects.
_SUBSCRIPTION_LISTS = ("subscriptionItems", "featureItems", "usageMeterBalances")


def billing_shape_problem(payload: object) -> str | None:
    """What makes a billing answer unusable, or ``None``.

    Unknown members are welcome (a newer Flowglad); a known member of the wrong kind
    (``"subscriptions": "x"``, a feature item that is a number) is not: it is read as an
    outage, not as a customer who has nothing.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("customer"), dict):
        return "no customer"
    for name in _OBJECT_LISTS:
        if name in payload and not _is_object_list(payload[name]):
            return f"{name} is not a list of objects"
    if any(not isinstance(entry.get("invoice"), dict) for entry in payload.get("invoices", ())):
        return "an invoice entry has no invoice"
    for subscription in (
        *payload.get("subscriptions", ()),
        *payload.get("currentSubscriptions", ()),
    ):
        experimental = subscription.get("experimental", {})
        if not isinstance(experimental, dict):
            return "a subscription's experimental member is not an object"
        for owner in (subscription, experimental):
            for name in _SUBSCRIPTION_LISTS:
                if owner.get(name) is not None and not _is_object_list(owner[name]):
                    return f"a subscription's {name} is not a list of objects"
    if "pricingModel" in payload:
        return pricing_model_problem(payload["pricingModel"])
    return None


def pricing_model_problem(model: object) -> str | None:
    """What makes a pricing model unusable, or ``None``."""
    if not isinstance(model, dict):
        return "the pricing model is not an object"
    for name in ("products", "usageMeters"):
        if model.get(name) is not None and not _is_object_list(model[name]):
            return f"the pricing model's {name} is not a list of objects"
    owners = [*(model.get("products") or ()), *(model.get("usageMeters") or ())]
    for owner in owners:
        if owner.get("prices") is not None and not _is_object_list(owner["prices"]):
            return "a product's prices is not a list of objects"
    return None


def _is_object_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def feature_items(subscription: Mapping[str, Any]) -> list[JSONObject]:
    """A subscription's feature items: the top-level member when present, else
    the experimental one."""
    if "featureItems" in subscription:
        return _as_objects(subscription.get("featureItems"))
    return _as_objects(_as_object(subscription.get("experimental")).get("featureItems"))


def subscription_usage_balances(subscription: Mapping[str, Any]) -> list[JSONObject]:
    """The usage meter balances Flowglad attaches to one subscription."""
    return _as_objects(_as_object(subscription.get("experimental")).get("usageMeterBalances"))


def plain_subscription(details: Mapping[str, Any]) -> JSONObject:
    """A subscription record as the subscription endpoint returns it: without the
    details billing adds."""
    return {k: v for k, v in details.items() if k not in ("subscriptionItems", "experimental")}


def _index_by_slug(records: Iterable[JSONObject]) -> dict[Any, JSONObject]:
    """Later duplicates overwrite earlier ones, as in Flowglad's helpers."""
    return {record.get("slug"): record for record in records}
