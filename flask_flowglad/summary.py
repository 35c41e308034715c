"""A customer's billing as a page shows it: small typed records read from the raw payload.

Flowglad's billing answer is built for its React SDK: epoch milliseconds, minor units, a
plan name such as ``"Pro - Pro monthly"``, the product found through the price. The
records here say the same in Python's terms: aware UTC ``datetime`` objects, :class:`Money`
with its currency, the plan's product and price as records, usage as used / granted /
resets on. Each function is a pure function of the payload (no client, no Flask), so a
snapshot may be built, cached or restored any way and read the same.

Statuses are given as a code (``"cancellation_scheduled"``) and in words (``"Ends at
the end of the period"``); the words are English and marked for translation (``N_``), so a
template passes them through its ``gettext``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

JSONObject = dict[str, Any]

#: Currencies whose amounts Flowglad sends in whole units (no cents), as ISO 4217 says.
ZERO_DECIMAL_CURRENCIES = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)


def N_(text: str) -> str:  # noqa: N802 - the name extraction tools look for
    """Mark ``text`` for translation without translating it here (Babel's ``N_``)."""
    return text


#: Subscription, invoice and purchase statuses in words.
STATUS_TEXT: dict[str, str] = {
    "active": N_("Active"),
    "trialing": N_("Trial"),
    "past_due": N_("Payment overdue"),
    "unpaid": N_("Unpaid"),
    "incomplete": N_("Incomplete"),
    "incomplete_expired": N_("Expired"),
    "canceled": N_("Ended"),
    "cancellation_scheduled": N_("Ends at the end of the period"),
    "paused": N_("Paused"),
    "credit_trial": N_("Credit trial"),
    "paid": N_("Paid"),
    "open": N_("Open"),
    "draft": N_("Draft"),
    "void": N_("Void"),
    "uncollectible": N_("Uncollectible"),
    "pending": N_("Pending"),
    "refunded": N_("Refunded"),
    "partial_refund": N_("Partly refunded"),
    "failed": N_("Failed"),
}


def status_text(status: object) -> str:
    """A status code in words; an unknown code is shown as it is, readable."""
    if not isinstance(status, str) or not status:
        return ""
    return STATUS_TEXT.get(status, status.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Money:
    """An amount of money: ``amount`` in minor units (cents), as Flowglad sends it."""

    amount: int
    currency: str

    @property
    def exponent(self) -> int:
        """Digits after the decimal point in this currency."""
        return 0 if self.currency in ZERO_DECIMAL_CURRENCIES else 2

    @property
    def value(self) -> Decimal:
        """The amount in major units: ``Money(2000, "USD").value == Decimal("20.00")``."""
        return Decimal(self.amount).scaleb(-self.exponent)

    def __str__(self) -> str:
        # Locale-free; templates use the flowglad_money filter (Babel when installed).
        return f"{self.value:,.{self.exponent}f} {self.currency}"


@dataclass(frozen=True)
class Interval:
    """How often a recurring price bills: ``unit`` (day, week, month, year) x ``count``."""

    unit: str
    count: int = 1

    @property
    def approximate_days(self) -> float:
        """Length for comparing intervals (a year is longer than a month)."""
        days = {"day": 1.0, "week": 7.0, "month": 30.44, "year": 365.25}.get(self.unit, 0.0)
        return days * self.count


@dataclass(frozen=True)
class Price:
    """A price of the pricing model."""

    id: str
    slug: str | None
    name: str
    #: ``"subscription"``, ``"single_payment"`` or ``"usage"``.
    type: str
    money: Money
    #: For a subscription (or usage) price; ``None`` for a one-time price.
    interval: Interval | None
    product_id: str | None
    is_default: bool
    active: bool
    trial_period_days: int | None = None

    @property
    def recurring(self) -> bool:
        """Billed every interval (a subscription price)."""
        return self.type == "subscription"

    @property
    def is_free(self) -> bool:
        return self.money.amount == 0

    @property
    def key(self) -> str:
        """The slug when it has one, else the id: what forms post to name the price."""
        return self.slug or self.id


@dataclass(frozen=True)
class Feature:
    """A feature of a product: a toggle, credits on a usage meter, or a resource amount."""

    slug: str
    name: str
    description: str | None
    #: ``"toggle"``, ``"usage_credit_grant"`` or ``"resource"``.
    type: str
    amount: int | None
    usage_meter_id: str | None
    resource_id: str | None
    renewal_frequency: str | None


@dataclass(frozen=True)
class Product:
    """A product of the pricing model, with its prices and features."""

    id: str
    slug: str | None
    name: str
    description: str | None
    #: The pricing model's default product: the free plan customers start on.
    is_default: bool
    active: bool
    prices: tuple[Price, ...]
    features: tuple[Feature, ...]

    @property
    def recurring_prices(self) -> tuple[Price, ...]:
        return tuple(p for p in self.prices if p.recurring and p.active)

    @property
    def one_time_prices(self) -> tuple[Price, ...]:
        return tuple(p for p in self.prices if p.type == "single_payment" and p.active)

    @property
    def is_plan(self) -> bool:
        """Sold as a subscription (a plan), not as a one-time purchase."""
        return bool(self.recurring_prices)

    @property
    def is_free(self) -> bool:
        return all(p.is_free for p in self.prices if p.active)

    def price_for(self, interval_unit: str) -> Price | None:
        """The product's active recurring price billed every ``interval_unit``; the
        default one when several are."""
        matching = [
            p
            for p in self.recurring_prices
            if p.interval is not None and p.interval == Interval(interval_unit, 1)
        ]
        matching.sort(key=lambda p: not p.is_default)
        return matching[0] if matching else None

    def yearly_saving(self) -> Money | None:
        """What paying yearly saves over twelve monthly payments, when it saves anything."""
        monthly, yearly = self.price_for("month"), self.price_for("year")
        if monthly is None or yearly is None or monthly.money.currency != yearly.money.currency:
            return None
        saving = monthly.money.amount * 12 - yearly.money.amount
        return Money(saving, yearly.money.currency) if saving > 0 else None

    def yearly_saving_percent(self) -> int | None:
        """The yearly saving as a whole percentage of twelve monthly payments."""
        saving, monthly = self.yearly_saving(), self.price_for("month")
        if saving is None or monthly is None or not monthly.money.amount:
            return None
        return round(saving.amount * 100 / (monthly.money.amount * 12))


@dataclass(frozen=True)
class Plan:
    """The customer's current plan: its subscription, product, price and dates."""

    subscription_id: str
    name: str
    product: Product | None
    price: Price | None
    quantity: int
    #: Flowglad's status code, and the same in words (see :data:`STATUS_TEXT`).
    status: str
    status_text: str
    is_free: bool
    started_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    #: When the plan renews; ``None`` when it ends instead (or does not renew).
    renews_at: datetime | None
    #: When a scheduled cancellation takes effect; ``None`` when none is scheduled.
    cancels_at: datetime | None
    trial_ends_at: datetime | None
    #: When a plan change scheduled for the end of the period takes effect.
    scheduled_change_at: datetime | None

    @property
    def is_canceling(self) -> bool:
        """A cancellation is scheduled: the plan ends at :attr:`cancels_at`."""
        return self.status == "cancellation_scheduled"

    @property
    def is_paid(self) -> bool:
        return not self.is_free

    @property
    def interval(self) -> Interval | None:
        return self.price.interval if self.price is not None else None

    @property
    def total(self) -> Money | None:
        """What each period costs: the price times the quantity."""
        if self.price is None:
            return None
        return Money(self.price.money.amount * self.quantity, self.price.money.currency)


@dataclass(frozen=True)
class Usage:
    """One usage meter of the current plan: what was used of what was granted."""

    slug: str
    name: str
    #: What is left to use now.
    available: int
    #: What the plan grants each period, plus credits bought during it (at least
    #: ``available``).
    granted: int
    #: ``granted - available``: what this period used.
    used: int
    #: When the plan's credits are granted again (the end of the period); ``None`` when
    #: they do not renew.
    resets_at: datetime | None
    subscription_id: str

    @property
    def percent_used(self) -> int:
        """0-100, for a bar's width."""
        if self.granted <= 0:
            return 0
        return max(0, min(100, round(self.used * 100 / self.granted)))


@dataclass(frozen=True)
class Resource:
    """A resource the plan grants an amount of (seats, projects)."""

    slug: str
    name: str
    #: How many the plan grants.
    capacity: int
    resource_id: str


@dataclass(frozen=True)
class Purchase:
    """A purchase: a one-time product (with what it granted) or a plan's first payment."""

    id: str
    name: str
    status: str
    status_text: str
    one_time: bool
    price: Price | None
    product: Product | None
    quantity: int
    total: Money | None
    purchased_at: datetime | None

    @property
    def grants(self) -> tuple[Feature, ...]:
        """What the purchase granted: its product's features (credits, resources)."""
        return self.product.features if self.product is not None else ()


@dataclass(frozen=True)
class Invoice:
    """An invoice, newest first in :attr:`BillingSummary.invoices`."""

    id: str
    number: str
    status: str
    status_text: str
    date: datetime | None
    total: Money
    pdf_url: str | None
    receipt_url: str | None
    description: str


@dataclass(frozen=True)
class PaymentMethod:
    """A saved payment method."""

    id: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    is_default: bool

    @property
    def label(self) -> str:
        """``"Visa ending 4242"``, or the type when it has no card details."""
        brand = self.brand or self.type or "card"
        name = _BRANDS.get(brand.lower(), brand.replace("_", " ").capitalize())
        return f"{name} ending {self.last4}" if self.last4 else name


#: Card brands as they are written.
_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "jcb": "JCB",
    "unionpay": "UnionPay",
    "diners": "Diners Club",
    "us_bank_account": "Bank account",
    "card": "Card",
}


@dataclass(frozen=True)
class BillingSummary:
    """Everything a billing page shows, read once from a billing payload."""

    plan: Plan | None
    products: tuple[Product, ...]
    usage: tuple[Usage, ...]
    resources: tuple[Resource, ...]
    purchases: tuple[Purchase, ...]
    invoices: tuple[Invoice, ...]
    payment_methods: tuple[PaymentMethod, ...]
    currency: str | None = field(default=None)

    @property
    def plans(self) -> tuple[Product, ...]:
        """The products sold as plans, the free default first, then by monthly price."""
        return tuple(p for p in self.products if p.is_plan)

    @property
    def one_time_products(self) -> tuple[Product, ...]:
        return tuple(p for p in self.products if not p.is_plan and p.one_time_prices)

    @property
    def one_time_purchases(self) -> tuple[Purchase, ...]:
        return tuple(p for p in self.purchases if p.one_time)

    def find_price(self, key: str) -> Price | None:
        """A product price by slug or id."""
        for product in self.products:
            for price in product.prices:
                if key in (price.slug, price.id):
                    return price
        return None

    def product_of(self, price: Price) -> Product | None:
        return next((p for p in self.products if price in p.prices), None)


# -- reading the payload -------------------------------------------------------------


def summarize(payload: Mapping[str, Any]) -> BillingSummary:
    """The :class:`BillingSummary` of a billing payload (Flowglad's ``customers/billing``)."""
    model = as_object(payload.get("pricingModel"))
    products = products_of(model)
    current = as_object(payload.get("currentSubscription")) or _latest(
        as_objects(payload.get("currentSubscriptions"))
    )
    plan = plan_of(current, products) if current else None
    purchases = tuple(purchase_of(p, products) for p in as_objects(payload.get("purchases")))
    return BillingSummary(
        plan=plan,
        products=products,
        usage=usage_of(current, model, purchases) if current else (),
        resources=resources_of(current) if current else (),
        purchases=tuple(sorted(purchases, key=_newest_first)),
        invoices=invoices_of(payload),
        payment_methods=tuple(
            payment_method_of(m) for m in as_objects(payload.get("paymentMethods"))
        ),
        currency=_currency(products),
    )


def products_of(model: Mapping[str, Any]) -> tuple[Product, ...]:
    """The active products of a pricing model: the free default first, then by price."""
    products = [product_of(p) for p in as_objects(model.get("products"))]
    active = [p for p in products if p.active]

    def order(product: Product) -> tuple[bool, int]:
        monthly = product.price_for("month") or (product.prices[0] if product.prices else None)
        return (not product.is_default, monthly.money.amount if monthly else 0)

    return tuple(sorted(active, key=order))


def product_of(raw: Mapping[str, Any]) -> Product:
    return Product(
        id=str(raw.get("id") or ""),
        slug=_str_or_none(raw.get("slug")),
        name=str(raw.get("name") or raw.get("slug") or ""),
        description=_str_or_none(raw.get("description")),
        is_default=raw.get("default") is True,
        active=raw.get("active") is not False,
        prices=tuple(price_of(p) for p in as_objects(raw.get("prices"))),
        features=tuple(feature_of(f) for f in as_objects(raw.get("features"))),
    )


def price_of(raw: Mapping[str, Any]) -> Price:
    kind = str(raw.get("type") or "")
    unit = raw.get("intervalUnit")
    interval = (
        Interval(str(unit), _int(raw.get("intervalCount"), 1) or 1)
        if isinstance(unit, str) and kind != "single_payment"
        else None
    )
    return Price(
        id=str(raw.get("id") or ""),
        slug=_str_or_none(raw.get("slug")),
        name=str(raw.get("name") or ""),
        type=kind,
        money=Money(_int(raw.get("unitPrice"), 0), _currency_code(raw.get("currency"))),
        interval=interval,
        product_id=_str_or_none(raw.get("productId")),
        is_default=raw.get("isDefault") is True,
        active=raw.get("active") is not False,
        trial_period_days=_int_or_none(raw.get("trialPeriodDays")),
    )


def feature_of(raw: Mapping[str, Any]) -> Feature:
    return Feature(
        slug=str(raw.get("slug") or ""),
        name=str(raw.get("name") or raw.get("slug") or ""),
        description=_str_or_none(raw.get("description")),
        type=str(raw.get("type") or ""),
        amount=_int_or_none(raw.get("amount")),
        usage_meter_id=_str_or_none(raw.get("usageMeterId")),
        resource_id=_str_or_none(raw.get("resourceId")),
        renewal_frequency=_str_or_none(raw.get("renewalFrequency")),
    )


def plan_of(subscription: Mapping[str, Any], products: Iterable[Product]) -> Plan:
    """The plan of a current subscription, its product and price found in the model."""
    items = as_objects(subscription.get("subscriptionItems"))
    price_ids = [subscription.get("priceId"), *(item.get("priceId") for item in items)]
    price, product = _find_price(price_ids, products)
    if price is None and items and isinstance(items[0].get("price"), dict):
        price = price_of(items[0]["price"])
    quantity = sum(_int(item.get("quantity"), 1) for item in items) if items else 1
    status = str(subscription.get("status") or "")
    canceling = status == "cancellation_scheduled"
    period_end = _moment(subscription.get("currentBillingPeriodEnd"))
    renews = subscription.get("renews") is not False and status not in ("canceled",)
    return Plan(
        subscription_id=str(subscription.get("id") or ""),
        name=product.name if product else _plan_name(subscription, price),
        product=product,
        price=price,
        quantity=max(1, quantity),
        status=status,
        status_text=status_text(status),
        is_free=subscription.get("isFreePlan") is True or (price is not None and price.is_free),
        started_at=_moment(subscription.get("startDate")),
        period_start=_moment(subscription.get("currentBillingPeriodStart")),
        period_end=period_end,
        renews_at=period_end if renews and not canceling else None,
        cancels_at=(_moment(subscription.get("cancelScheduledAt")) or period_end)
        if canceling
        else None,
        trial_ends_at=_moment(subscription.get("trialEnd")) if status == "trialing" else None,
        scheduled_change_at=_moment(subscription.get("scheduledAdjustmentAt")),
    )


def usage_of(
    subscription: Mapping[str, Any],
    model: Mapping[str, Any],
    purchases: Iterable[Purchase] = (),
) -> tuple[Usage, ...]:
    """The meters of the current subscription: used of granted, and when they reset."""
    items = _feature_items(subscription)
    period_start = _moment(subscription.get("currentBillingPeriodStart"))
    period_end = _moment(subscription.get("currentBillingPeriodEnd"))
    bought: dict[str, int] = {}
    for purchase in purchases:
        if purchase.one_time and _within(purchase.purchased_at, period_start):
            for grant in purchase.grants:
                if grant.type == "usage_credit_grant" and grant.usage_meter_id:
                    bought[grant.usage_meter_id] = bought.get(grant.usage_meter_id, 0) + (
                        grant.amount or 0
                    )
    meters = {m.get("id"): m for m in as_objects(model.get("usageMeters"))}
    result = []
    experimental = as_object(subscription.get("experimental"))
    for balance in as_objects(experimental.get("usageMeterBalances")):
        meter_id = balance.get("id")
        grants = [
            i
            for i in items
            if i.get("type") == "usage_credit_grant" and i.get("usageMeterId") == meter_id
        ]
        per_period = sum(_int(i.get("amount"), 0) for i in grants)
        renews = any(i.get("renewalFrequency") == "every_billing_period" for i in grants)
        available = _int(balance.get("availableBalance"), 0)
        granted = max(per_period + bought.get(str(meter_id), 0), available, 0)
        meter = as_object(meters.get(meter_id))
        result.append(
            Usage(
                slug=str(balance.get("slug") or meter.get("slug") or ""),
                name=str(balance.get("name") or meter.get("name") or balance.get("slug") or ""),
                available=available,
                granted=granted,
                used=max(granted - available, 0),
                resets_at=period_end if renews else None,
                subscription_id=str(subscription.get("id") or ""),
            )
        )
    return tuple(result)


def resources_of(subscription: Mapping[str, Any]) -> tuple[Resource, ...]:
    """What the plan grants of each resource (claims are read with the resource usages)."""
    totals: dict[str, Resource] = {}
    for item in _feature_items(subscription):
        resource_id = item.get("resourceId")
        if item.get("type") != "resource" or not isinstance(resource_id, str):
            continue
        known = totals.get(resource_id)
        amount = _int(item.get("amount"), 0)
        totals[resource_id] = Resource(
            slug=str(item.get("slug") or ""),
            name=str(item.get("name") or item.get("slug") or ""),
            capacity=amount + (known.capacity if known else 0),
            resource_id=resource_id,
        )
    return tuple(totals.values())


def purchase_of(raw: Mapping[str, Any], products: Iterable[Product]) -> Purchase:
    price, product = _find_price([raw.get("priceId")], products)
    quantity = _int(raw.get("quantity"), 1) or 1
    one_time = raw.get("priceType") == "single_payment" or (
        price is not None and price.type == "single_payment"
    )
    amount = raw.get("totalPurchaseValue") if one_time else raw.get("pricePerBillingCycle")
    if not isinstance(amount, int) and price is not None:
        amount = price.money.amount * (quantity if one_time else 1)
    currency = price.money.currency if price is not None else "USD"
    status = str(raw.get("status") or "")
    return Purchase(
        id=str(raw.get("id") or ""),
        name=str(raw.get("name") or (product.name if product else "")),
        status=status,
        status_text=status_text(status),
        one_time=one_time,
        price=price,
        product=product,
        quantity=quantity,
        total=Money(amount, currency) if isinstance(amount, int) else None,
        purchased_at=_moment(raw.get("purchaseDate")) or _moment(raw.get("createdAt")),
    )


def invoices_of(payload: Mapping[str, Any]) -> tuple[Invoice, ...]:
    """The invoices, newest first."""
    result = []
    for entry in as_objects(payload.get("invoices")):
        invoice = as_object(entry.get("invoice"))
        if not invoice:
            continue
        lines = as_objects(entry.get("invoiceLineItems"))
        subtotal = invoice.get("subtotal")
        if not isinstance(subtotal, int):
            subtotal = sum(_int(li.get("price"), 0) * _int(li.get("quantity"), 1) for li in lines)
        total = subtotal + _int(invoice.get("taxAmount"), 0)
        status = str(invoice.get("status") or "")
        result.append(
            Invoice(
                id=str(invoice.get("id") or ""),
                number=str(invoice.get("invoiceNumber") or ""),
                status=status,
                status_text=status_text(status),
                date=_moment(invoice.get("invoiceDate")) or _moment(invoice.get("createdAt")),
                total=Money(total, _currency_code(invoice.get("currency"))),
                pdf_url=_http_url(invoice.get("pdfURL")),
                receipt_url=_http_url(invoice.get("receiptPdfURL")),
                description=", ".join(
                    str(li.get("description")) for li in lines if li.get("description")
                ),
            )
        )
    return tuple(sorted(result, key=_newest_first))


def payment_method_of(raw: Mapping[str, Any]) -> PaymentMethod:
    data = as_object(raw.get("paymentMethodData"))
    return PaymentMethod(
        id=str(raw.get("id") or ""),
        type=str(raw.get("type") or ""),
        brand=_str_or_none(data.get("brand")),
        last4=_str_or_none(data.get("last4")),
        exp_month=_int_or_none(data.get("exp_month")),
        exp_year=_int_or_none(data.get("exp_year")),
        is_default=raw.get("default") is True,
    )


# -- small readers -------------------------------------------------------------------


def moment(epoch_ms: object) -> datetime | None:
    """Epoch milliseconds (Flowglad's dates) as an aware UTC ``datetime``; an ISO string
    is read too. ``None`` for anything that is not a date."""
    return _moment(epoch_ms)


def _moment(value: object) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _find_price(
    ids: Iterable[object], products: Iterable[Product]
) -> tuple[Price | None, Product | None]:
    products = tuple(products)
    for price_id in ids:
        if not isinstance(price_id, str):
            continue
        for product in products:
            for price in product.prices:
                if price.id == price_id:
                    return price, product
    return None, None


def _plan_name(subscription: Mapping[str, Any], price: Price | None) -> str:
    """Without a product: Flowglad's ``"Product - Price"`` name, the product part."""
    name = str(subscription.get("name") or (price.name if price else "") or "")
    return name.split(" - ", 1)[0]


def _feature_items(subscription: Mapping[str, Any]) -> list[JSONObject]:
    if "featureItems" in subscription:
        return as_objects(subscription.get("featureItems"))
    return as_objects(as_object(subscription.get("experimental")).get("featureItems"))


def _latest(subscriptions: list[JSONObject]) -> JSONObject:
    if not subscriptions:
        return {}
    return max(subscriptions, key=lambda s: _int(s.get("createdAt"), 0))


def _within(when: datetime | None, start: datetime | None) -> bool:
    return when is not None and (start is None or when >= start)


def _newest_first(record: Invoice | Purchase) -> float:
    when = record.date if isinstance(record, Invoice) else record.purchased_at
    return -when.timestamp() if when is not None else 0.0


def _currency(products: Iterable[Product]) -> str | None:
    return next((price.money.currency for p in products for price in p.prices), None)


def _currency_code(value: object) -> str:
    return value.upper() if isinstance(value, str) and value.isalpha() else "USD"


def _http_url(value: object) -> str | None:
    """Only a link a browser may follow: ``javascript:`` in an answer is never a link."""
    if isinstance(value, str) and value.lower().startswith(("https://", "http://")):
        return value
    return None


def _int(value: object, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return int(value)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def as_object(value: object) -> JSONObject:
    """A member that should be an object, or ``{}``."""
    return value if isinstance(value, dict) else {}


def as_objects(value: object) -> list[JSONObject]:
    """A member that should be a list of objects: its objects, or ``[]``."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]
