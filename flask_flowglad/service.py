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

import json
import logging
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .billing import BillingSnapshot, JSONObject, plain_subscription
from .client import new_transaction_id
from .errors import (
    AmbiguousSubscription,
    CheckoutSessionNotFound,
    FlowgladAPIError,
    FlowgladConflict,
    FlowgladError,
    FlowgladNotFound,
    InvalidUpstreamAnswer,
    NoCurrentSubscription,
    NoScheduledAdjustment,
    NotInPricingModel,
    PriceNotFound,
    ResourceClaimNotFound,
    SubscriptionAlreadyCanceled,
    SubscriptionNotOwned,
)
from .identity import CustomerIdentity

if TYPE_CHECKING:
    from .cache import SharedBillingCache
    from .client import FlowgladClient

#: A member the billing payload did not carry: unknown, so Flowglad decides.
_UNKNOWN = object()
logger = logging.getLogger(__name__)

#: Per-customer cache entries: ``{"billing": BillingSnapshot, "customer": dict}``.
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
    ) -> None:
        self.client = client
        self.identity = identity
        self._cache: CustomerCache = cache if cache is not None else {}
        #: The billing cache all workers share, when ``FLOWGLAD_BILLING_CACHE`` is set.
        self._shared = shared

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
        this service changes something for the customer.
        """
        snapshot = self._read_billing(create_missing=True)
        assert snapshot is not None
        return snapshot

    def find_or_create(self) -> JSONObject:
        """The Flowglad customer record, created from the loader's details if missing."""
        entry = self._entry()
        cached = entry.get("customer")
        if isinstance(cached, dict):
            return cached
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
        return self._owned_subscription(subscription_id)

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
        billing = self._read_billing(create_missing=False)
        if billing is None or session.get("customerId") != billing.customer.get("id"):
            raise CheckoutSessionNotFound("Checkout session not found")
        return response

    def find_price(
        self, *, price_id: str | None = None, price_slug: str | None = None
    ) -> JSONObject:
        """A price of the customer's pricing model (a product's or a usage meter's), by id
        or slug; :exc:`PriceNotFound` when the model has none such."""
        billing = self.get_billing()
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
        _member(response, "customer")
        return response

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
            return self.client.cancel_subscription(subscription_id, timing)

    def uncancel_subscription(self, subscription_id: str) -> JSONObject:
        """Undo a scheduled cancellation; a no-op for a subscription not scheduled to end."""
        subscription = self._owned_subscription(subscription_id)
        if subscription.get("status") != "cancellation_scheduled":
            return {"subscription": plain_subscription(subscription)}
        with self._changing():
            return self.client.uncancel_subscription(subscription_id)

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
        with self._changing():
            return self.client.adjust_subscription(subscription_id, adjustment)

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
        customer before they confirm an upgrade."""
        subscription_id, adjustment = self._adjustment(
            price_id, price_slug, quantity, items, subscription_id, timing, prorate
        )
        return self.client.preview_adjust_subscription(subscription_id, adjustment)

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
            return self.client.cancel_scheduled_adjustment(subscription_id)

    def archive(self) -> JSONObject:
        """Archive the customer (e.g. when the app deletes the account): Flowglad cancels
        its subscriptions and frees its external id. ``{"customer": {...}}``."""
        with self._changing():
            return self.client.archive_customer(self.external_id)

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
        billing = self.get_billing()
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
            return self.client.create_subscription(body)

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
        with self._changing():
            response = self.client.create_usage_event(body)
        _member(response, "usageEvent")
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
        with self._changing():
            response = self.client.create_usage_events(bodies)
        if not isinstance(response.get("usageEvents"), list):
            raise InvalidUpstreamAnswer(200, None, "Flowglad's answer has no usageEvents list.")
        return response

    def _usage_event_body(self, event: UsageEvent) -> JSONObject:
        """The wire body of an event whose every id was checked against the billing."""
        billing = self.get_billing()
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
            return self.client.claim_resource(sid, _present(body))

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
            return self.client.release_resource(sid, _present(body))

    # -- cache -----------------------------------------------------------------------

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Around a write: whatever happens, what was read before it is stale."""
        try:
            yield
        finally:
            self.invalidate()

    def invalidate(self) -> None:
        """Forget what was read for this customer, so the next read sees a change: in
        this request, and in every worker sharing the billing cache."""
        self._cache.pop(self.external_id, None)
        if self._shared is not None:
            self._shared.invalidate(self.external_id)

    def _pin_for_checkout(self) -> None:
        """A checkout may change the plan with no request of ours: until the shared cache's
        checkout window ends, every worker reads this customer's billing upstream."""
        if self._shared is not None:
            self._shared.pin(self.external_id)

    def _entry(self) -> dict[str, Any]:
        return self._cache.setdefault(self.external_id, {})

    def _known_to_exist(self) -> bool:
        return bool(self._cache.get(self.external_id))

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
        entry = self._entry()
        encoded = entry.get("billing_json")
        if isinstance(encoded, bytes):
            return encoded
        if self._shared is not None and not isinstance(entry.get("billing"), BillingSnapshot):
            # A sealed hit was checked before it was stored: sent as it is, not parsed.
            encoded = self._shared.read(
                self.external_id, lambda: self._load_for_shared(create_missing=True)
            )
        else:
            encoded = encode_billing(self.get_billing().raw)
        entry["billing_json"] = encoded
        return encoded

    def _read_billing(self, *, create_missing: bool) -> BillingSnapshot | None:
        """Billing from the request's cache, the shared cache or one upstream read;
        ``None`` for a missing customer that is not to be created."""
        entry = self._entry()
        cached = entry.get("billing")
        if isinstance(cached, BillingSnapshot):
            return cached
        encoded = entry.get("billing_json")
        if not isinstance(encoded, bytes):
            if self._shared is None:
                return self._fetch_billing(create_missing=create_missing)
            try:
                encoded = self._shared.read(
                    self.external_id,
                    lambda: self._load_for_shared(create_missing=create_missing),
                )
            except _NoCustomer:
                return None
            entry["billing_json"] = encoded
        snapshot = entry.get("billing")  # set when this very read went upstream
        if isinstance(snapshot, BillingSnapshot):
            return snapshot
        # A sealed entry: this app stored it after checking Flowglad's answer.
        return self._remember(BillingSnapshot.from_payload(json.loads(encoded)))

    def _load_for_shared(self, *, create_missing: bool) -> bytes:
        snapshot = self._fetch_billing(create_missing=create_missing)
        if snapshot is None:
            raise _NoCustomer
        return encode_billing(snapshot.raw)

    def _fetch_billing(self, *, create_missing: bool) -> BillingSnapshot | None:
        """One upstream read, creating a missing customer when asked."""
        try:
            payload = self.client.get_billing(self.external_id)
        except FlowgladNotFound as exc:
            if not _customer_missing(exc):
                raise
            if not create_missing:
                return None
            self._create_or_accept_existing()
            payload = self.client.get_billing(self.external_id)
        return self._remember(BillingSnapshot.from_payload(payload))

    def _remember(self, snapshot: BillingSnapshot) -> BillingSnapshot:
        entry = self._entry()
        entry["billing"] = snapshot
        entry["customer"] = snapshot.customer
        return snapshot

    def _owned_subscription(self, subscription_id: str) -> JSONObject:
        # A customer that does not exist yet owns nothing: no need to create it to say so.
        billing = self._read_billing(create_missing=False)
        subscription = None if billing is None else billing.find_subscription(subscription_id)
        if subscription is None:
            raise SubscriptionNotOwned("Subscription is not owned by the current user")
        return subscription

    def _only_current_subscription_id(self, where: str = "") -> str:
        current = self.get_billing().current_subscriptions
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


def encode_billing(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of a billing payload, as the browser and the shared cache get it."""
    try:
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # Flowglad sent a number JSON cannot carry (NaN, Infinity).
        raise InvalidUpstreamAnswer(
            200, None, "Flowglad's billing answer cannot be written as JSON.", None, None
        ) from None
    return text.encode("ascii")


def _customer_missing(exc: FlowgladNotFound) -> bool:
    """A JSON ``NOT_FOUND`` means no such customer; a bare 404 means a wrong URL."""
    return exc.code == "NOT_FOUND"


def _member(response: object, name: str) -> JSONObject:
    value = response.get(name) if isinstance(response, dict) else None
    if not isinstance(value, dict):
        # Not the answer itself: an echo of the request may hold the secret key.
        raise InvalidUpstreamAnswer(200, None, f"Flowglad's answer has no {name!r} object.")
    return value
