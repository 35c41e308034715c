"""Everything the app does for one customer, with that customer's billing read at most once.

:class:`CustomerBilling` is the Python counterpart of Flowglad's Node ``FlowgladServer``.
It knows the customer and the REST client, and keeps what it read in a cache that the
extension puts in ``flask.g`` for the length of a request. Ownership checks use that
cached billing instead of extra upstream reads.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .billing import BillingSnapshot, JSONObject, plain_subscription
from .errors import (
    AmbiguousSubscription,
    CheckoutRequired,
    CheckoutSessionNotFound,
    FlowgladAPIError,
    FlowgladConflict,
    FlowgladNotFound,
    InvalidUpstreamAnswer,
    NoCurrentSubscription,
    PriceNotFound,
    SubscriptionAlreadyCanceled,
    SubscriptionNotOwned,
)
from .identity import CustomerIdentity

if TYPE_CHECKING:
    from .cache import SharedBillingCache
    from .client import FlowgladClient

#: Per-customer cache entries: ``{"billing": BillingSnapshot, "customer": dict}``.
CustomerCache = MutableMapping[str, dict[str, Any]]


class CustomerBilling:
    """Billing operations for one customer.

    Get one from :meth:`Flowglad.for_customer` or :meth:`Flowglad.current_customer`.

    .. versionadded:: 0.1
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
        """A checkout session of this customer; another customer's is reported as not found,
        so ids cannot be probed."""
        response = self.client.get_checkout_session(session_id)
        session = _member(response, "checkoutSession")
        billing = self._read_billing(create_missing=False)
        if billing is None or session.get("customerId") != billing.customer.get("id"):
            raise CheckoutSessionNotFound("Checkout session not found")
        return response

    # -- changing --------------------------------------------------------------------

    def update_customer(self, *, name: str | None = None, email: str | None = None) -> JSONObject:
        """Change the name or email; Flowglad keeps addresses and phone numbers read-only."""
        changes = {k: v for k, v in (("name", name), ("email", email)) if v is not None}
        response = self.client.update_customer(self.external_id, changes)
        self.invalidate()
        return response

    def create_checkout_session(self, checkout_session: Mapping[str, Any]) -> JSONObject:
        """Start a hosted checkout for this customer.

        A target subscription must be the customer's own: Flowglad would otherwise set
        another customer's default payment method when the session completes.

        The customer must exist upstream. When the session cannot be created and the
        customer was not known to exist, the customer is created and the session tried
        once more, so a checkout offered before any billing read still works.
        """
        target = checkout_session.get("targetSubscriptionId")
        if isinstance(target, str):
            self._owned_subscription(target)
        body = {**checkout_session, "customerExternalId": self.external_id}
        self._pin_for_checkout()
        try:
            return self.client.create_checkout_session(body)
        except FlowgladAPIError as exc:
            if self._known_to_exist() or exc.status not in (400, 404, 500):
                raise
            try:
                self._create_upstream()
            except FlowgladConflict:
                raise exc from None
            self.invalidate()
            return self.client.create_checkout_session(body)

    def cancel_subscription(self, subscription_id: str, timing: str) -> JSONObject:
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
        self, adjustment: Mapping[str, Any], subscription_id: str | None = None
    ) -> JSONObject:
        if subscription_id is None:
            subscription_id = self._only_current_subscription_id(" in params")
        self._owned_subscription(subscription_id)
        with self._changing():
            return self.client.adjust_subscription(subscription_id, dict(adjustment))

    def create_subscription(
        self,
        *,
        price_id: str | None = None,
        price_slug: str | None = None,
        **options: Any,
    ) -> JSONObject:
        """Start a subscription that needs no payment: a free price or one with a trial.

        Paid prices without a trial go through checkout, so a browser can never start a
        paid subscription by itself (:exc:`CheckoutRequired`).
        """
        price = self._find_price(price_id=price_id, price_slug=price_slug)
        if not _needs_no_payment(price):
            raise CheckoutRequired(
                "This price needs a payment method: start a checkout session instead."
            )
        body: JSONObject = {"customerExternalId": self.external_id, "priceId": price["id"]}
        body.update({k: v for k, v in options.items() if v is not None})
        with self._changing():
            return self.client.create_subscription(body)

    def create_usage_event(self, usage_event: Mapping[str, Any]) -> JSONObject:
        """Record usage against a current subscription.

        The ``transactionId`` is fixed here, before the first attempt, so retries (ours
        or Flowglad's client's) can never record the usage twice.
        """
        event = {k: v for k, v in usage_event.items() if v is not None}
        subscription_id = event.get("subscriptionId")
        billing = self.get_billing()
        if subscription_id is None:
            current = billing.current_subscription
            if current is None:
                raise NoCurrentSubscription(
                    "subscriptionId required: no current subscription found"
                )
            subscription_id = current["id"]
        elif billing.find_current_subscription(subscription_id) is None:
            raise SubscriptionNotOwned(
                f"Subscription {subscription_id} is not found among the customer's"
                " current subscriptions"
            )
        event["subscriptionId"] = subscription_id
        event.setdefault("amount", 1)
        event.setdefault("transactionId", new_transaction_id())
        with self._changing():
            return self.client.create_usage_event(event)

    # -- resources -------------------------------------------------------------------

    def get_resource_usages(self, subscription_id: str | None = None) -> list[Any]:
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
        sid = self._resource_subscription(subscription_id)
        return self.client.get_resource_usage(
            sid, resource_slug=resource_slug, resource_id=resource_id
        )

    def list_resource_claims(
        self, *, resource_slug: str | None = None, subscription_id: str | None = None
    ) -> JSONObject:
        sid = self._resource_subscription(subscription_id)
        return self.client.list_resource_claims(sid, resource_slug=resource_slug)

    def claim_resource(
        self, claim: Mapping[str, Any], subscription_id: str | None = None
    ) -> JSONObject:
        sid = self._resource_subscription(subscription_id)
        with self._changing():
            return self.client.claim_resource(sid, dict(claim))

    def release_resource(
        self, release: Mapping[str, Any], subscription_id: str | None = None
    ) -> JSONObject:
        sid = self._resource_subscription(subscription_id)
        with self._changing():
            return self.client.release_resource(sid, dict(release))

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
        """The customer's billing as compact JSON: what the shared cache stores, so the
        React SDK's billing read is answered without parsing or encoding anything."""
        entry = self._entry()
        encoded = entry.get("billing_json")
        if not isinstance(encoded, bytes):
            snapshot = entry.get("billing")
            if self._shared is None or isinstance(snapshot, BillingSnapshot):
                encoded = encode_billing(self.get_billing().raw)
            else:
                encoded = self._shared.read(
                    self.external_id, lambda: self._load_for_shared(create_missing=True)
                )
            entry["billing_json"] = encoded
        return encoded

    def _read_billing(self, *, create_missing: bool) -> BillingSnapshot | None:
        """Billing from the request's cache, the shared cache or one upstream read;
        ``None`` for a missing customer that is not to be created."""
        entry = self._entry()
        cached = entry.get("billing")
        if isinstance(cached, BillingSnapshot):
            return cached
        if self._shared is None:
            return self._fetch_billing(create_missing=create_missing)
        try:
            encoded = self._shared.read(
                self.external_id, lambda: self._load_for_shared(create_missing=create_missing)
            )
        except _NoCustomer:
            return None
        entry["billing_json"] = encoded
        cached = entry.get("billing")  # set when this very read went upstream
        if isinstance(cached, BillingSnapshot):
            return cached
        return self._remember(BillingSnapshot(json.loads(encoded)))

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
        return self._remember(BillingSnapshot(payload))

    def _remember(self, snapshot: BillingSnapshot) -> BillingSnapshot:
        entry = self._entry()
        entry["billing"] = snapshot
        if snapshot.customer:
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

    def _resource_subscription(self, subscription_id: str | None) -> str:
        if subscription_id is None:
            return self._only_current_subscription_id()
        self._owned_subscription(subscription_id)
        return subscription_id

    def _find_price(self, *, price_id: str | None, price_slug: str | None) -> JSONObject:
        pricing_model = self.get_billing().pricing_model
        for product in pricing_model.get("products") or []:
            for price in product.get("prices") or []:
                if price_id is not None and price.get("id") == price_id:
                    return dict(price)
                if price_slug is not None and price.get("slug") == price_slug:
                    return dict(price)
        raise PriceNotFound(
            f"No price {price_slug or price_id!r} in the customer's pricing model."
        )


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


def new_transaction_id() -> str:
    """A usage event id that makes the event safe to send more than once."""
    return f"txn_{uuid.uuid4().hex}"


def _needs_no_payment(price: Mapping[str, Any]) -> bool:
    trial_days = price.get("trialPeriodDays")
    return price.get("unitPrice") == 0 or (isinstance(trial_days, int) and trial_days > 0)


def _customer_missing(exc: FlowgladNotFound) -> bool:
    """A JSON ``NOT_FOUND`` means no such customer; a bare 404 means a wrong URL."""
    return exc.code == "NOT_FOUND"


def _member(response: object, name: str) -> JSONObject:
    value = response.get(name) if isinstance(response, dict) else None
    if not isinstance(value, dict):
        raise FlowgladAPIError(
            200, None, f"Flowglad's answer has no {name!r} object.", None, response
        )
    return value
