"""Everything the app does for one customer, with that customer's billing read at most once.

:class:`CustomerBilling` is the Python counterpart of Flowglad's Node ``FlowgladServer``:
typed snake_case keyword methods for views, jobs and the command line. It knows the
customer and the REST client, builds Flowglad's camelCase bodies itself (the client is the
wire edge), and keeps what it read in a cache that the extension puts in ``flask.g`` for
the length of a request. Ownership checks use that cached billing instead of extra reads:
every id a caller names is the customer's own or part of the customer's pricing model, or
the call is refused before anything is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from . import wirejson
from .billing import BillingSnapshot, JSONObject, plain_subscription
from .cache import Outcome
from .client import new_transaction_id
from .errors import (
    AmbiguousSubscription,
    CheckoutSessionNotFound,
    ConfigurationError,
    FlowgladAPIError,
    FlowgladConflict,
    FlowgladError,
    FlowgladNotFound,
    IntervalChangeRefused,
    IntervalChangeRequiresCheckout,
    InvalidUpstreamAnswer,
    NoCurrentSubscription,
    NoScheduledAdjustment,
    NotInPricingModel,
    PriceNotFound,
    ResourceClaimNotFound,
    SubscriptionAlreadyCanceled,
    SubscriptionNotOwned,
    UnknownUsageMeter,
)
from .identity import CustomerIdentity
from .intervals import IntervalChange, changes_interval, preview_interval_change
from .prepared import prepared_billing
from .summary import Interval as BillingInterval
from .summary import price_of
from .telemetry import BillingRead
from .usage.record import PendingUsage, new_pending_usage

if TYPE_CHECKING:
    from .cache import SharedBillingCache
    from .client import FlowgladClient
    from .usage.outbox import UsageOutbox

#: A member the billing payload did not carry: unknown, so Flowglad decides.
_UNKNOWN = object()
logger = logging.getLogger(__name__)

#: Per-customer cache entries: ``{"read": _BillingRead, "customer": dict}``.
CustomerCache = MutableMapping[str, dict[str, Any]]

#: When a cancellation takes effect.
CancellationTiming = Literal["at_end_of_current_billing_period", "immediately"]
#: When a plan change takes effect; ``auto`` lets Flowglad choose (upgrades now,
#: downgrades at the end of the period).
AdjustmentTiming = Literal["immediately", "at_end_of_current_billing_period", "auto"]
#: A billing interval's unit.
Interval = Literal["day", "week", "month", "year"]


@dataclass(frozen=True)
class PriceQuantity:
    """One item of a subscription: a price, by id or by slug, and how many."""

    price_id: str | None = None
    price_slug: str | None = None
    quantity: int = 1


@dataclass(frozen=True)
class UsageEvent:
    """One usage event of :meth:`CustomerBilling.create_usage_events`: an amount on a
    meter (by id or slug) or a usage price, against a subscription (the current one by
    default)."""

    amount: int = 1
    price_id: str | None = None
    price_slug: str | None = None
    usage_meter_id: str | None = None
    usage_meter_slug: str | None = None
    subscription_id: str | None = None
    #: Fixed before the first attempt when not given, so a retry never counts it twice.
    transaction_id: str | None = None
    properties: Mapping[str, Any] | None = None
    usage_date: int | None = None


class CustomerBilling:
    """Billing operations for one customer.

    Get one from :meth:`Flowglad.for_customer` or :meth:`Flowglad.current_customer`.
    """

    def __init__(
        self,
        client: FlowgladClient,
        identity: CustomerIdentity,
        cache: CustomerCache | None = None,
        shared: SharedBillingCache | None = None,
        outbox: UsageOutbox | None = None,
    ) -> None:
        self.client = client
        self.identity = identity
        self._cache: CustomerCache = cache if cache is not None else {}
        #: The billing cache all workers share, when ``FLOWGLAD_BILLING_CACHE`` is set.
        self._shared = shared
        #: Where :meth:`record_usage` stores events, when ``FLOWGLAD_USAGE_OUTBOX`` is set.
        self._outbox = outbox

    def __repr__(self) -> str:
        return f"<CustomerBilling {self.external_id!r}>"

    @property
    def external_id(self) -> str:
        """The app's id of the customer, which Flowglad addresses it by."""
        return self.identity.external_id

    # -- reading ---------------------------------------------------------------------

    def get_billing(self) -> BillingSnapshot:
        """The customer's billing, creating the customer the first time.

        One upstream call when the customer exists; cached until the request ends or
        this service changes something for the customer. While Flowglad fails, it may be
        the last billing the shared cache kept (see ``FLOWGLAD_STALE_IF_ERROR`` and
        :attr:`stale_age`).
        """
        read = self._billing_read(create_missing=True)
        assert read is not None
        return self._snapshot(read)

    def check_feature_access(self, feature_slug: str, subscription_id: str | None = None) -> bool:
        """Whether the customer's plan grants ``feature_slug``, as
        :meth:`BillingSnapshot.check_feature_access` answers it; what ``@feature_required``
        and ``has_feature`` ask. Usage balances play no part, so a usage event does not
        make it read Flowglad again; while Flowglad fails, a stale billing may answer.
        """
        return self._plan(stale_ok=True).check_feature_access(feature_slug, subscription_id)

    @property
    def stale_age(self) -> float | None:
        """Seconds since Flowglad answered the billing this request was served, when it
        was served stale because Flowglad failed; ``None`` when it is current.
        """
        read = self._entry().get("read")
        return read.stale_age if isinstance(read, _BillingRead) else None

    def find_billing(self) -> BillingSnapshot | None:
        """The customer's billing, or ``None`` when Flowglad has no such customer (it is
        not created: for workers acting on customers the app named earlier)."""
        read = self._billing_read(create_missing=False)
        return None if read is None else self._snapshot(read)

    def billing_already_read(self) -> BillingSnapshot | None:
        """The billing read for this customer so far (in this request), or ``None``: it
        reads nothing, for tools that show what a request did (the debug toolbar)."""
        read = self._cache.get(self.external_id, {}).get("read")
        return read.snapshot() if isinstance(read, _BillingRead) else None

    def find_or_create(self) -> JSONObject:
        """The Flowglad customer record, created from the loader's details if missing."""
        entry = self._entry()
        cached = entry.get("customer")
        if isinstance(cached, dict):
            return cached
        read = entry.get("read")
        if isinstance(read, _BillingRead):
            return read.snapshot().customer
        try:
            customer = _member(self.client.get_customer(self.external_id), "customer")
        except FlowgladNotFound as exc:
            if not _customer_missing(exc):
                raise
            customer = self._create_or_accept_existing()
        entry["customer"] = customer
        return customer

    def create_customer(self) -> JSONObject:
        """Create the customer, for an app's sign-up flow.

        Idempotent: when the customer already exists (Flowglad answers 409) the existing
        record is returned, so a retried sign-up or a back-fill job can call it freely.
        """
        customer = self._create_or_accept_existing()
        self.invalidate()
        self._entry()["customer"] = customer
        return customer

    def get_subscription(self, subscription_id: str) -> JSONObject:
        """One of the customer's own subscriptions; :exc:`SubscriptionNotOwned` otherwise."""
        return self._owned_subscription(subscription_id, stale_ok=True)

    def get_checkout_session(self, session_id: str) -> JSONObject:
        """A checkout session of this customer.

        Another customer's session and an id that does not exist answer the same
        :exc:`CheckoutSessionNotFound`, so ids cannot be probed.
        """
        try:
            response = self.client.get_checkout_session(session_id)
        except FlowgladNotFound:
            raise CheckoutSessionNotFound("Checkout session not found") from None
        session = _member(response, "checkoutSession")
        billing = self._existing_plan(stale_ok=True)
        if billing is None or session.get("customerId") != billing.customer.get("id"):
            raise CheckoutSessionNotFound("Checkout session not found")
        return response

    def find_price(
        self, *, price_id: str | None = None, price_slug: str | None = None
    ) -> JSONObject:
        """A price of the customer's pricing model (a product's or a usage meter's), by id
        or slug; :exc:`PriceNotFound` when the model has none such. Never from a stale
        billing: prices are looked up to be charged."""
        billing = self._plan()
        price = billing.find_price(price_id=price_id, price_slug=price_slug)
        if price is None:
            raise PriceNotFound(_price_not_found_message(billing, price_id, price_slug))
        return price

    # -- changing --------------------------------------------------------------------

    def update_customer(self, *, name: str | None = None, email: str | None = None) -> JSONObject:
        """Change the name or email; Flowglad keeps addresses and phone numbers read-only."""
        changes = {k: v for k, v in (("name", name), ("email", email)) if v is not None}
        with self._changing():
            response = self.client.update_customer(self.external_id, changes)
        return _checked(response, "update_customer")

    def create_product_checkout_session(
        self,
        *,
        success_url: str,
        cancel_url: str,
        price_id: str | None = None,
        price_slug: str | None = None,
        quantity: int = 1,
        output_metadata: Mapping[str, Any] | None = None,
        output_name: str | None = None,
    ) -> JSONObject:
        """Start a hosted checkout for one price of the pricing model: ``{checkoutSession,
        url}``. The customer is sent to ``url``; Flowglad returns them to ``success_url``."""
        body = {
            "type": "product",
            "priceId": price_id,
            "priceSlug": price_slug,
            "quantity": quantity,
        }
        return self._create_checkout_session(
            body, success_url, cancel_url, output_metadata, output_name
        )

    def create_add_payment_method_checkout_session(
        self,
        *,
        success_url: str,
        cancel_url: str,
        target_subscription_id: str | None = None,
        output_metadata: Mapping[str, Any] | None = None,
        output_name: str | None = None,
    ) -> JSONObject:
        """Start a hosted page that saves a card; with ``target_subscription_id`` (one of
        the customer's own) the card becomes that subscription's default."""
        body = {"type": "add_payment_method", "targetSubscriptionId": target_subscription_id}
        return self._create_checkout_session(
            body, success_url, cancel_url, output_metadata, output_name
        )

    def create_activate_subscription_checkout_session(
        self,
        *,
        success_url: str,
        cancel_url: str,
        target_subscription_id: str,
        output_metadata: Mapping[str, Any] | None = None,
        output_name: str | None = None,
    ) -> JSONObject:
        """Start a hosted page that activates one of the customer's own subscriptions
        (e.g. a trial without a card) by collecting a payment method."""
        body = {"type": "activate_subscription", "targetSubscriptionId": target_subscription_id}
        return self._create_checkout_session(
            body, success_url, cancel_url, output_metadata, output_name
        )

    def cancel_subscription(
        self,
        subscription_id: str,
        *,
        timing: CancellationTiming = "at_end_of_current_billing_period",
    ) -> JSONObject:
        """Cancel one of the customer's subscriptions ``immediately`` or
        ``at_end_of_current_billing_period`` (the default: the customer keeps what they
        paid for)."""
        subscription = self._owned_subscription(subscription_id)
        if subscription.get("status") == "canceled":
            raise SubscriptionAlreadyCanceled("Subscription is already canceled")
        with self._changing():
            response = self.client.cancel_subscription(subscription_id, timing)
        return _checked(response, "cancel_subscription")

    def uncancel_subscription(self, subscription_id: str) -> JSONObject:
        """Undo a scheduled cancellation; a no-op for a subscription not scheduled to end."""
        subscription = self._owned_subscription(subscription_id)
        if subscription.get("status") != "cancellation_scheduled":
            return {"subscription": plain_subscription(subscription)}
        with self._changing():
            response = self.client.uncancel_subscription(subscription_id)
        return _checked(response, "uncancel_subscription")

    def adjust_subscription(
        self,
        *,
        price_id: str | None = None,
        price_slug: str | None = None,
        quantity: int = 1,
        items: Sequence[PriceQuantity] | None = None,
        subscription_id: str | None = None,
        timing: AdjustmentTiming = "auto",
        prorate: bool | None = None,
    ) -> JSONObject:
        """Change a subscription's plan or quantity: one price (by id or slug) and a
        quantity, or several ``items``. Every price must be in the pricing model.

        ``subscription_id`` defaults to the only current subscription. ``prorate``
        (default true) charges or credits the rest of the period when the change is
        immediate; it does not apply to changes at the end of the period.
        """
        subscription_id, adjustment = self._adjustment(
            price_id, price_slug, quantity, items, subscription_id, timing, prorate
        )
        reason = self._interval_change_reason(subscription_id, adjustment)
        if reason is not None:
            raise IntervalChangeRequiresCheckout(reason)
        with self._changing():
            response = self.client.adjust_subscription(subscription_id, adjustment)
        return _checked(response, "adjust_subscription")

    def preview_adjust_subscription(
        self,
        *,
        price_id: str | None = None,
        price_slug: str | None = None,
        quantity: int = 1,
        items: Sequence[PriceQuantity] | None = None,
        subscription_id: str | None = None,
        timing: AdjustmentTiming = "auto",
        prorate: bool | None = None,
    ) -> JSONObject:
        """What :meth:`adjust_subscription` with the same arguments would do, changing
        nothing: ``canAdjust`` (with a ``reason`` when false), ``prorationAmount`` charged
        now, both plan totals, ``resolvedTiming`` and ``effectiveDate``. Show it to the
        customer before they confirm an upgrade.

        A price billed at another interval is refused here (``canAdjust`` false, with the
        reason), as :meth:`adjust_subscription` refuses it: see
        :meth:`start_interval_change`."""
        subscription_id, adjustment = self._adjustment(
            price_id, price_slug, quantity, items, subscription_id, timing, prorate
        )
        reason = self._interval_change_reason(subscription_id, adjustment)
        if reason is not None:
            return {
                "canAdjust": False,
                "previewGeneratedAt": int(time.time() * 1000),
                "reason": reason,
            }
        return self.client.preview_adjust_subscription(subscription_id, adjustment)

    def preview_interval_change(
        self,
        *,
        price_id: str | None = None,
        price_slug: str | None = None,
        now: datetime | None = None,
    ) -> IntervalChange:
        """What :meth:`start_interval_change` would do: the charge, the new period and its
        renewal date, what is left of the current period, or why it is refused."""
        price = price_of(self.find_price(price_id=price_id, price_slug=price_slug))
        return preview_interval_change(
            self.get_billing().plan, price, now or datetime.now(timezone.utc)
        )

    def start_interval_change(
        self,
        *,
        success_url: str,
        cancel_url: str,
        price_id: str | None = None,
        price_slug: str | None = None,
    ) -> JSONObject:
        """Move the current paid plan to a price billed at another interval (monthly to
        yearly): a checkout for the new price, whose first period starts when it is paid.

        Flowglad keeps a subscription's interval when it is adjusted, and sells one paid
        plan at a time, so the checkout is made first (a failure changes nothing), then the
        current plan ends now (Flowglad puts the customer on the default plan, which the
        paid checkout then replaces). What was left of the current period is not refunded:
        show :meth:`preview_interval_change` first. :exc:`IntervalChangeRefused` when the
        change cannot be made (see :data:`flask_flowglad.intervals.REFUSALS`).
        """
        preview = self.preview_interval_change(price_id=price_id, price_slug=price_slug)
        if preview.refusal is not None or preview.plan is None:
            raise IntervalChangeRefused(preview.reason or "", preview.refusal or "")
        replaced = preview.plan.subscription_id
        session = self.create_product_checkout_session(
            price_id=preview.price.id,
            quantity=preview.plan.quantity,
            success_url=success_url,
            cancel_url=cancel_url,
            output_metadata={"replacesSubscriptionId": replaced},
        )
        self.cancel_subscription(replaced, timing="immediately")
        return session

    def cancel_scheduled_adjustment(self, subscription_id: str | None = None) -> JSONObject:
        """Undo a plan change scheduled for the end of the period (a downgrade):
        ``{"subscription", "canceledItemCount"}``. ``subscription_id`` defaults to the
        only current subscription."""
        if subscription_id is None:
            subscription_id = self._only_current_subscription_id()
        subscription = self._owned_subscription(subscription_id)
        if subscription.get("scheduledAdjustmentAt", _UNKNOWN) is None:
            raise NoScheduledAdjustment(
                f"Subscription {subscription_id} does not have a scheduled adjustment to cancel."
            )
        with self._changing():
            response = self.client.cancel_scheduled_adjustment(subscription_id)
        return _checked(response, "cancel_scheduled_adjustment")

    def archive(self) -> JSONObject:
        """Archive the customer (e.g. when the app deletes the account): Flowglad cancels
        its subscriptions and frees its external id. ``{"customer": {...}}``."""
        with self._changing():
            response = self.client.archive_customer(self.external_id)
        return _checked(response, "archive")

    def create_subscription(
        self,
        *,
        price_id: str | None = None,
        price_slug: str | None = None,
        quantity: int = 1,
        start_date: str | None = None,
        trial_end: int | None = None,
        interval: Interval | None = None,
        interval_count: int | None = None,
        default_payment_method_id: str | None = None,
        backup_payment_method_id: str | None = None,
        name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        do_not_charge: bool | None = None,
    ) -> JSONObject:
        """Start a subscription directly, without checkout: for the app's own code.

        The terms given here (trial end, interval, ``do_not_charge``, ...) change what is
        charged, so the React SDK's route never passes them: only a free price may be
        started from the browser. The price must be in the pricing model and the payment
        methods the customer's own.
        """
        price = self.find_price(price_id=price_id, price_slug=price_slug)
        billing = self._plan()
        for method_id in (default_payment_method_id, backup_payment_method_id):
            if method_id is not None and billing.find_payment_method(method_id) is None:
                raise SubscriptionNotOwned("Payment method is not owned by the current user")
        terms = {
            "startDate": start_date,
            "trialEnd": trial_end,
            "interval": interval,
            "intervalCount": interval_count,
            "defaultPaymentMethodId": default_payment_method_id,
            "backupPaymentMethodId": backup_payment_method_id,
            "name": name,
            "metadata": dict(metadata) if metadata is not None else None,
            "doNotCharge": do_not_charge,
        }
        body: JSONObject = {
            "customerExternalId": self.external_id,
            "priceId": price["id"],
            "quantity": quantity,
            **_present(terms),
        }
        with self._changing():
            response = self.client.create_subscription(body)
        return _checked(response, "create_subscription")

    def create_usage_event(
        self,
        *,
        amount: int = 1,
        price_id: str | None = None,
        price_slug: str | None = None,
        usage_meter_id: str | None = None,
        usage_meter_slug: str | None = None,
        subscription_id: str | None = None,
        transaction_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
        usage_date: int | None = None,
    ) -> JSONObject:
        """Record usage on a meter (by id or slug) or a usage price, against one of the
        customer's current subscriptions (the current one by default).

        The ``transaction_id`` is fixed here, before the first attempt, so retries (ours
        or a job's) can never record the usage twice: pass your own to make a retried
        job idempotent too.
        """
        event = UsageEvent(
            amount=amount,
            price_id=price_id,
            price_slug=price_slug,
            usage_meter_id=usage_meter_id,
            usage_meter_slug=usage_meter_slug,
            subscription_id=subscription_id,
            transaction_id=transaction_id,
            properties=properties,
            usage_date=usage_date,
        )
        body = self._usage_event_body(event)
        with self._changing(balances_only=True):
            response = self.client.create_usage_event(body)
        _checked(response, "create_usage_event")
        if not isinstance(response["usageEvent"].get("id"), str):
            raise InvalidUpstreamAnswer(200, None, "Flowglad's usage event has no id.")
        return response

    def create_usage_events(self, events: Sequence[UsageEvent]) -> JSONObject:
        """Record several usage events in one call: ``{"usageEvents": [...]}``.

        Every event is checked first (its subscription one of the customer's current
        ones, its meter or price in the pricing model): one foreign id and nothing is
        sent. Each ``transaction_id`` is fixed before the first attempt, as for
        :meth:`create_usage_event`, so the whole batch may be retried.
        """
        if not events:
            raise ValueError("create_usage_events needs at least one event.")
        bodies = [self._usage_event_body(event) for event in events]
        with self._changing(balances_only=True):
            response = self.client.create_usage_events(bodies)
        return _checked(response, "create_usage_events")

    def record_usage(
        self,
        meter_slug: str | None = None,
        *,
        price_slug: str | None = None,
        amount: int = 1,
        transaction_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
        usage_date: int | datetime | None = None,
        subscription_id: str | None = None,
        own_transaction: bool = False,
    ) -> PendingUsage:
        """Record usage in the outbox (``FLOWGLAD_USAGE_OUTBOX``) and return at once: a
        worker sends it to Flowglad in a batch. Nothing here calls Flowglad.

        Bad input is refused before anything is stored
        (:exc:`~flask_flowglad.errors.InvalidUsageEvent`): an amount outside 1 to 2^31-1,
        properties that are not JSON, and a meter or usage price the customer's pricing
        model lacks, when the customer's billing is at hand (read in this request, or in
        the shared billing cache); otherwise the worker refuses it into the dead letters.

        ``transaction_id`` defaults to a new one, fixed now; derive your own from your data
        (a job id) to make retries of your code idempotent. ``usage_date`` (epoch
        milliseconds or an aware datetime) defaults to now. With Flask-SQLAlchemy's ``db``
        as the outbox, the event joins ``db.session``'s transaction (it is committed or
        rolled back with your change), unless ``own_transaction``.

        .. versionadded:: 0.1
        """
        if self._outbox is None:
            raise ConfigurationError(
                "record_usage needs FLOWGLAD_USAGE_OUTBOX (Flask-SQLAlchemy's db, a"
                " postgresql:// or redis:// URL, or sqlite:///path)."
            )
        event = new_pending_usage(
            self.external_id,
            usage_meter_slug=meter_slug,
            price_slug=price_slug,
            amount=amount,
            transaction_id=transaction_id,
            properties=properties,
            usage_date=usage_date,
            subscription_id=subscription_id,
        )
        billing = self._billing_at_hand()
        if billing is not None:
            _check_usage_target(billing, event)
        stored = self._outbox.add([event], own_transaction=own_transaction)
        if billing is not None and stored:
            billing.add_pending_usage(event.meter_key, event.amount)
        return event

    def _billing_at_hand(self) -> BillingSnapshot | None:
        """The billing this request read, or the shared cache holds (for its meters and
        prices, which usage does not change): never a Flowglad call."""
        read = self._entry().get("read")
        if isinstance(read, _BillingRead):
            return self._snapshot(read)
        if self._shared is None:
            return None
        encoded = self._shared.peek(self.external_id)
        return None if encoded is None else BillingSnapshot(wirejson.decode(encoded))

    def _usage_event_body(self, event: UsageEvent) -> JSONObject:
        """The wire body of an event whose every id was checked against the billing (its
        plan: a usage event's checks use no balance, so an entry earlier events marked
        still answers them)."""
        billing = self._plan()
        subscription_id = event.subscription_id
        if subscription_id is None:
            current = billing.current_subscription
            if current is None:
                raise NoCurrentSubscription(
                    "subscriptionId required: no current subscription found"
                )
            subscription_id = str(current["id"])
        elif billing.find_current_subscription(subscription_id) is None:
            raise SubscriptionNotOwned(
                f"Subscription {subscription_id} is not found among the customer's"
                " current subscriptions"
            )
        if event.price_id is not None or event.price_slug is not None:
            self.find_price(price_id=event.price_id, price_slug=event.price_slug)
        elif event.usage_meter_id is None and event.usage_meter_slug is None:
            raise ValueError("A usage event names a usage meter or a usage price (slug or id).")
        elif (
            billing.find_usage_meter(meter_id=event.usage_meter_id, slug=event.usage_meter_slug)
            is None
        ):
            meter = event.usage_meter_slug or event.usage_meter_id
            raise NotInPricingModel(f"No usage meter {meter!r} in the pricing model.")
        return _present(
            {
                "subscriptionId": subscription_id,
                "amount": event.amount,
                "transactionId": event.transaction_id or new_transaction_id(),
                "priceId": event.price_id,
                "priceSlug": event.price_slug,
                "usageMeterId": event.usage_meter_id,
                "usageMeterSlug": event.usage_meter_slug,
                "properties": dict(event.properties) if event.properties is not None else None,
                "usageDate": event.usage_date,
            }
        )

    # -- resources -------------------------------------------------------------------

    def get_resource_usages(self, subscription_id: str | None = None) -> list[Any]:
        """Capacity and claims of every resource of a subscription (the current one by
        default)."""
        sid = self._resource_subscription(subscription_id)
        response = self.client.get_resource_usages(sid)
        return response if isinstance(response, list) else []

    def get_resource_usage(
        self,
        *,
        resource_slug: str | None = None,
        resource_id: str | None = None,
        subscription_id: str | None = None,
    ) -> JSONObject:
        """Capacity and claims of one resource, by slug or id."""
        sid = self._resource_subscription(subscription_id)
        return self.client.get_resource_usage(
            sid, resource_slug=resource_slug, resource_id=resource_id
        )

    def list_resource_claims(
        self, *, resource_slug: str | None = None, subscription_id: str | None = None
    ) -> JSONObject:
        """The active claims of a subscription, optionally of one resource."""
        sid = self._resource_subscription(subscription_id)
        return self.client.list_resource_claims(sid, resource_slug=resource_slug)

    def claim_resource(
        self,
        *,
        resource_slug: str,
        quantity: int | None = None,
        external_id: str | None = None,
        external_ids: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        subscription_id: str | None = None,
    ) -> JSONObject:
        """Claim units of a resource (seats, projects): ``quantity`` anonymous units, or
        named ones by ``external_id(s)`` (the app's ids of what holds them, e.g. an
        invited user). Flowglad refuses claims beyond the subscription's capacity."""
        sid = self._resource_subscription(subscription_id)
        self._check_resource(sid, resource_slug)
        body = {
            "resourceSlug": resource_slug,
            "quantity": quantity,
            "externalId": external_id,
            "externalIds": list(external_ids) if external_ids is not None else None,
            "metadata": dict(metadata) if metadata is not None else None,
        }
        with self._changing():
            response = self.client.claim_resource(sid, _present(body))
        return _checked(response, "claim_resource")

    def release_resource(
        self,
        *,
        resource_slug: str,
        quantity: int | None = None,
        external_id: str | None = None,
        external_ids: Sequence[str] | None = None,
        claim_ids: Sequence[str] | None = None,
        subscription_id: str | None = None,
    ) -> JSONObject:
        """Release claimed units: a ``quantity`` of anonymous ones, or named ones by
        ``external_id(s)`` or ``claim_ids``."""
        sid = self._resource_subscription(subscription_id)
        self._check_resource(sid, resource_slug, claim_ids)
        body = {
            "resourceSlug": resource_slug,
            "quantity": quantity,
            "externalId": external_id,
            "externalIds": list(external_ids) if external_ids is not None else None,
            "claimIds": list(claim_ids) if claim_ids is not None else None,
        }
        with self._changing():
            response = self.client.release_resource(sid, _present(body))
        return _checked(response, "release_resource")

    # -- cache -----------------------------------------------------------------------

    @contextmanager
    def _changing(self, *, balances_only: bool = False) -> Iterator[None]:
        """Around a write: whatever happens, what was read before it is stale (only its
        usage balances, after a usage event)."""
        try:
            yield
        finally:
            if balances_only:
                self.invalidate_balances()
            else:
                self.invalidate()

    def invalidate(self) -> None:
        """Forget what was read for this customer, so the next read sees a change: in
        this request, and in every worker sharing the billing cache."""
        self._cache.pop(self.external_id, None)
        if self._shared is not None:
            self._shared.invalidate(self.external_id)

    def invalidate_balances(self) -> None:
        """After usage was recorded: the next read of a usage balance sees it (in this
        request and in every worker), while feature checks and the checks of the next
        usage event are still answered from what was read.
        """
        read = self._entry().get("read")
        if isinstance(read, _BillingRead):
            read.balances_current = False
        if self._shared is not None:
            self._shared.invalidate_balances(self.external_id)

    def _pin_for_checkout(self) -> None:
        """A checkout may change the plan with no request of ours: until the shared cache's
        checkout window ends, every worker reads this customer's billing upstream."""
        if self._shared is not None:
            self._shared.pin(self.external_id)

    def _entry(self) -> dict[str, Any]:
        return self._cache.setdefault(self.external_id, {})

    def _known_to_exist(self) -> bool:
        entry = self._cache.get(self.external_id) or {}
        return any(key in entry for key in ("customer", "read"))

    # -- procedures ------------------------------------------------------------------

    def _create_checkout_session(
        self,
        fields: Mapping[str, Any],
        success_url: str,
        cancel_url: str,
        output_metadata: Mapping[str, Any] | None,
        output_name: str | None,
    ) -> JSONObject:
        """Check every id of a checkout against the customer's billing, then post it once.

        The customer must exist upstream. A failed post is sent again only when the
        customer was not known to exist and a read then proves it missing, so the first
        post cannot have made a session; otherwise (a 5xx for an existing customer) the
        first session may exist, and it is never re-sent.
        """
        target = fields.get("targetSubscriptionId")
        if isinstance(target, str):
            self._owned_subscription(target)
        if fields.get("priceId") is not None or fields.get("priceSlug") is not None:
            price = self.find_price(
                price_id=fields.get("priceId"), price_slug=fields.get("priceSlug")
            )
            if price.get("type") == "usage":
                raise PriceNotFound("Usage prices cannot be bought through a checkout session.")
        body = _present(
            {
                **fields,
                "customerExternalId": self.external_id,
                "successUrl": success_url,
                "cancelUrl": cancel_url,
                "outputMetadata": dict(output_metadata) if output_metadata is not None else None,
                "outputName": output_name,
            }
        )
        self._pin_for_checkout()
        with self._changing():
            try:
                response = self.client.create_checkout_session(body)
            except FlowgladAPIError as exc:
                if self._known_to_exist() or not self._proved_missing_after(exc):
                    raise
                self._create_or_accept_existing()
                response = self.client.create_checkout_session(body)
        session = _member(response, "checkoutSession")
        if not isinstance(response.get("url") or session.get("url"), str):
            raise InvalidUpstreamAnswer(
                200, None, "Flowglad's checkout session has no url.", None, None
            )
        return response

    def _adjustment(
        self,
        price_id: str | None,
        price_slug: str | None,
        quantity: int,
        items: Sequence[PriceQuantity] | None,
        subscription_id: str | None,
        timing: AdjustmentTiming,
        prorate: bool | None,
    ) -> tuple[str, JSONObject]:
        """The subscription (the customer's own) and the wire ``adjustment`` of a plan
        change, every price checked against the pricing model."""
        if items is None:
            items = [PriceQuantity(price_id=price_id, price_slug=price_slug, quantity=quantity)]
        if subscription_id is None:
            subscription_id = self._only_current_subscription_id(" in params")
        self._owned_subscription(subscription_id)
        adjustment: JSONObject = {
            "timing": timing,
            "newSubscriptionItems": [self._price_item(item) for item in items],
        }
        if timing != "at_end_of_current_billing_period":
            adjustment["prorateCurrentBillingPeriod"] = True if prorate is None else prorate
        return subscription_id, adjustment

    def _interval_change_reason(self, subscription_id: str, adjustment: JSONObject) -> str | None:
        """Why an adjustment cannot be made because it changes the billing interval."""
        subscription = self._owned_subscription(subscription_id)
        unit = subscription.get("interval")
        if not isinstance(unit, str):
            return None
        current = BillingInterval(unit, int(subscription.get("intervalCount") or 1))
        billing = self.get_billing()
        for item in adjustment["newSubscriptionItems"]:
            raw = billing.find_price(
                price_id=item.get("priceId"), price_slug=item.get("priceSlug")
            )
            if raw is not None and changes_interval(current, price_of(raw)):
                return (
                    f"The plan is billed every {current.unit} and this price is not: a change"
                    " of billing interval starts a new plan through checkout, not a change"
                    " of the current one."
                )
        return None

    def _price_item(self, item: PriceQuantity) -> JSONObject:
        price = self.find_price(price_id=item.price_id, price_slug=item.price_slug)
        key = "priceId" if item.price_id is not None else "priceSlug"
        return {
            key: price["id"] if key == "priceId" else item.price_slug,
            "quantity": item.quantity,
        }

    def _proved_missing_after(self, exc: FlowgladAPIError) -> bool:
        """Whether a failed write provably did nothing because the customer does not
        exist: a session cannot be made for a customer Flowglad does not know, so when
        the customer is missing after the failure, posting again cannot double it."""
        if exc.status not in (400, 404) and exc.status < 500:
            return False
        try:
            self.client.get_customer(self.external_id)
        except FlowgladNotFound as missing:
            return _customer_missing(missing)
        except FlowgladError:
            return False
        return False

    def _create_or_accept_existing(self) -> JSONObject:
        """Create the customer; a 409 means another request won the race, so read it."""
        try:
            response = self._create_upstream()
        except FlowgladConflict:
            return _member(self.client.get_customer(self.external_id), "customer")
        return _member(_member(response, "data"), "customer")

    def _create_upstream(self) -> JSONObject:
        # Flowglad requires both strings; the reference sends empty ones when unknown.
        return self.client.create_customer(
            self.external_id, name=self.identity.name or "", email=self.identity.email or ""
        )

    def billing_json(self) -> bytes:
        """The customer's billing as compact JSON, as the shared cache stores it: the React
        SDK's billing read sends these bytes without encoding the payload again."""
        read = self._billing_read(create_missing=True)
        assert read is not None
        return read.payload

    def _plan(self, *, stale_ok: bool = False) -> BillingSnapshot:
        """The billing for what a write checks (subscriptions, prices, meters, features):
        its usage balances may be older than the last usage event. Never stale unless
        ``stale_ok``."""
        read = self._billing_read(create_missing=True, balances=False, stale_ok=stale_ok)
        assert read is not None
        return self._snapshot(read)

    def _existing_plan(self, *, stale_ok: bool = False) -> BillingSnapshot | None:
        """:meth:`_plan` of a customer that exists; ``None`` (and nothing created) else."""
        read = self._billing_read(create_missing=False, balances=False, stale_ok=stale_ok)
        return None if read is None else self._snapshot(read)

    def _billing_read(
        self, *, create_missing: bool, balances: bool = True, stale_ok: bool = True
    ) -> _BillingRead | None:
        """Billing from the request's cache, the shared cache or one upstream read;
        ``None`` for a missing customer that is not to be created."""
        entry = self._entry()
        read = entry.get("read")
        if isinstance(read, _BillingRead) and read.serves(balances, stale_ok):
            return read
        if self._shared is None:
            read = self._fetch_billing(create_missing=create_missing)
        else:
            read = self._shared_read(create_missing, balances, stale_ok)
        if read is not None:
            entry["read"] = read
        return read

    def _shared_read(
        self, create_missing: bool, balances: bool, stale_ok: bool
    ) -> _BillingRead | None:
        fetched: list[_BillingRead] = []

        def load(stale_available: bool) -> bytes:
            # With a stale billing to fall back on, one attempt: no retries to wait for.
            read = self._fetch_billing(create_missing=create_missing, retry=not stale_available)
            if read is None:
                raise _NoCustomer
            fetched.append(read)
            return read.payload

        assert self._shared is not None
        try:
            with BillingRead(self.client.telemetry, self.external_id) as told:
                lookup = told.found(
                    self._shared.read(self.external_id, load, balances=balances, stale_ok=stale_ok)
                )
        except _NoCustomer:
            return None
        if fetched and lookup.outcome is not Outcome.STALE:
            return fetched[0]  # this very read went upstream: already parsed and checked
        stale = lookup.age if lookup.outcome is Outcome.STALE else None
        # A sealed entry: this app stored it after checking Flowglad's answer.
        return _BillingRead(lookup.payload, lookup.balances_current, stale, seal=lookup.seal)

    def _fetch_billing(self, *, create_missing: bool, retry: bool = True) -> _BillingRead | None:
        """One upstream read, creating a missing customer when asked."""
        try:
            answer = self.client.get_billing_answer(self.external_id, retry=retry)
        except FlowgladNotFound as exc:
            if not _customer_missing(exc):
                raise
            if not create_missing:
                return None
            self._create_or_accept_existing()
            answer = self.client.get_billing_answer(self.external_id)
        snapshot = BillingSnapshot.from_payload(answer.data)
        payload = answer.body if answer.body is not None else encode_billing(answer.data)
        return _BillingRead(payload, True, None, snapshot)

    def _snapshot(self, read: _BillingRead) -> BillingSnapshot:
        """The read's snapshot; with a usage outbox, usage recorded and not yet sent counts
        against its balances (read from the outbox when a balance is first asked)."""
        snapshot = read.snapshot()
        if self._outbox is not None and not snapshot.counts_pending_usage:
            snapshot.count_pending_usage(self._pending_amounts)
        return snapshot

    def _pending_amounts(self) -> dict[str, int]:
        assert self._outbox is not None
        return self._outbox.pending_amounts(self.external_id)

    def _owned_subscription(self, subscription_id: str, *, stale_ok: bool = False) -> JSONObject:
        # A customer that does not exist yet owns nothing: no need to create it to say so.
        billing = self._existing_plan(stale_ok=stale_ok)
        subscription = None if billing is None else billing.find_subscription(subscription_id)
        if subscription is None:
            raise SubscriptionNotOwned("Subscription is not owned by the current user")
        return subscription

    def _only_current_subscription_id(self, where: str = "") -> str:
        current = self._plan().current_subscriptions
        if not current:
            raise NoCurrentSubscription("No active subscription found for this customer")
        if len(current) > 1:
            raise AmbiguousSubscription(
                "Customer has multiple active subscriptions. Please specify subscriptionId"
                f"{where}."
            )
        return str(current[0]["id"])

    def _check_resource(
        self, subscription_id: str, resource_slug: str, claim_ids: Sequence[str] | None = None
    ) -> None:
        """Before a claim or release is written: the resource is one the subscription has
        (Flowglad lists only those), and every claim id named is one of its claims. The
        billing answer does not list resources, so this costs one read (two with ids)."""
        usages = self.client.get_resource_usages(subscription_id)
        slugs = {
            entry["usage"].get("resourceSlug")
            for entry in usages
            if isinstance(entry, dict) and isinstance(entry.get("usage"), dict)
        }
        if resource_slug not in slugs:
            raise NotInPricingModel(f"The subscription has no resource {resource_slug!r}.")
        if claim_ids:
            claims = self.client.list_resource_claims(subscription_id).get("claims")
            owned = {c.get("id") for c in claims or () if isinstance(c, dict)}
            if not owned.issuperset(claim_ids):
                raise ResourceClaimNotFound("A claim id is not one of the subscription's claims.")

    def _resource_subscription(self, subscription_id: str | None) -> str:
        if subscription_id is None:
            return self._only_current_subscription_id()
        self._owned_subscription(subscription_id)
        return subscription_id


def _present(members: Mapping[str, Any]) -> JSONObject:
    """The members that were given: Flowglad tells an absent member from a ``null``."""
    return {key: value for key, value in members.items() if value is not None}


def _price_not_found_message(
    billing: BillingSnapshot, price_id: str | None, price_slug: str | None
) -> str:
    """Say what was asked for and what there is, so a typo is found at once."""
    asked = f'slug "{price_slug}"' if price_id is None else f'id "{price_id}"'
    slugs = sorted({str(p["slug"]) for p in billing.prices if isinstance(p.get("slug"), str)})
    known = ", ".join(slugs[:12]) + (", ..." if len(slugs) > 12 else "")
    hint = f" Price slugs of the model: {known}." if known else ""
    return f"Price with {asked} not found in the customer's pricing model.{hint}"


class _NoCustomer(Exception):
    """The customer does not exist upstream and was not to be created."""

    error_type = "customer_not_found"


class _BillingRead:
    """One read of the customer's billing in this request: its JSON, parsed when asked."""

    __slots__ = ("payload", "balances_current", "stale_age", "seal", "_snapshot")

    def __init__(
        self,
        payload: bytes,
        balances_current: bool,
        stale_age: float | None,
        snapshot: BillingSnapshot | None = None,
        seal: bytes = b"",
    ) -> None:
        self.payload = payload
        #: ``False`` once a usage event made its balances out of date.
        self.balances_current = balances_current
        #: Seconds old, when it was served stale while Flowglad failed.
        self.stale_age = stale_age
        #: The shared cache entry's seal, when it came from one.
        self.seal = seal
        self._snapshot = snapshot

    def serves(self, balances: bool, stale_ok: bool) -> bool:
        """Whether this read answers a read that needs ``balances``, or may be stale."""
        return (self.balances_current or not balances) and (stale_ok or self.stale_age is None)

    def snapshot(self) -> BillingSnapshot:
        if self._snapshot is None:
            # Sealed by this app after the shape was checked: not checked again, and
            # parsed only when a question needs more than the prepared answers.
            if self.seal:
                self._snapshot = prepared_billing(self.payload, self.seal)
            else:
                self._snapshot = BillingSnapshot(wirejson.decode(self.payload))
        return self._snapshot


def encode_billing(payload: Mapping[str, Any]) -> bytes:
    """Compact ASCII JSON of a billing payload, for an answer whose bytes cannot be sent
    on as they came (see :mod:`flask_flowglad.wirejson`)."""
    try:
        return wirejson.encode(payload)
    except ValueError:
        # Flowglad sent a number JSON cannot carry (NaN, Infinity).
        raise InvalidUpstreamAnswer(
            200, None, "Flowglad's billing answer cannot be written as JSON.", None, None
        ) from None


def _check_usage_target(billing: BillingSnapshot, event: PendingUsage) -> None:
    """A meter (or usage price) of the customer's pricing model, or
    :exc:`~flask_flowglad.errors.UnknownUsageMeter` naming what there is."""
    if event.usage_meter_slug is not None:
        if billing.find_usage_meter(slug=event.usage_meter_slug) is not None:
            return
        slugs = sorted({str(m.get("slug")) for m in billing.usage_meters if m.get("slug")})
        raise UnknownUsageMeter(
            f"No usage meter {event.usage_meter_slug!r} in the customer's pricing model."
            f" Its meters: {', '.join(slugs) or 'none'}."
        )
    price = billing.find_price(price_slug=event.price_slug)
    if price is None or price.get("type") != "usage":
        raise UnknownUsageMeter(
            f"No usage price {event.price_slug!r} in the customer's pricing model."
        )


def _customer_missing(exc: FlowgladNotFound) -> bool:
    """A JSON ``NOT_FOUND`` means no such customer; a bare 404 means a wrong URL."""
    return exc.code == "NOT_FOUND"


#: What is read of each write's answer (by the React SDK, and by apps): the members it
#: must have and their JSON kinds. Anything else (``{}`` from a proxy, an error page
#: answered 200) is :exc:`InvalidUpstreamAnswer`, a 502, as for the billing read.
WRITE_ANSWERS: dict[str, dict[str, type]] = {
    "update_customer": {"customer": dict},
    "archive": {"customer": dict},
    "cancel_subscription": {"subscription": dict},
    "uncancel_subscription": {"subscription": dict},
    "adjust_subscription": {"subscription": dict},
    "cancel_scheduled_adjustment": {"subscription": dict},
    "create_subscription": {"subscription": dict},
    "claim_resource": {"claims": list, "usage": dict},
    "release_resource": {"releasedClaims": list, "usage": dict},
    "create_usage_event": {"usageEvent": dict},
    "create_usage_events": {"usageEvents": list},
}


def _checked(response: object, operation: str) -> JSONObject:
    """``response`` when it has every member :data:`WRITE_ANSWERS` names for
    ``operation``; the write may have happened, but its answer cannot be used."""
    for name, kind in WRITE_ANSWERS[operation].items():
        value = response.get(name) if isinstance(response, dict) else None
        if not isinstance(value, kind):
            shape = "object" if kind is dict else "list"
            # Not the answer itself: an echo of the request may hold the secret key.
            raise InvalidUpstreamAnswer(
                200, None, f"Flowglad's answer has no {name!r} {shape}.", None, None
            )
    assert isinstance(response, dict)
    return response


def _member(response: object, name: str) -> JSONObject:
    value = response.get(name) if isinstance(response, dict) else None
    if not isinstance(value, dict):
        # Not the answer itself: an echo of the request may hold the secret key.
        raise InvalidUpstreamAnswer(200, None, f"Flowglad's answer has no {name!r} object.")
    return value
