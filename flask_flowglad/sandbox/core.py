"""The :class:`Sandbox`: one fake Flowglad account, its transports, and helpers for tests.

Everything lives on the instance (records, lock, recorded calls), so two sandboxes in one
process never share anything.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from . import controls, limits
from .api import Api, Call, Fault
from .ids import Clock, new_id, wall_clock_ms
from .pricing import PricingModel, PricingSource, load_pricing_data
from .state import DECLINED_CARD, CardDeclined, State, Sub, UsageInput
from .webhooks import SandboxLock, Webhooks
from .wire import PAGES_PREFIX

if TYPE_CHECKING:
    import flask
    import requests.adapters

    from .server import WSGIApp

Record = dict[str, Any]

#: What an app using the sandbox is warned; the pytest fixture expects it (``-W error``).
SIMULATED_WARNING = (
    "FLOWGLAD_SANDBOX is on: billing is simulated in memory, nothing is charged"
    " and nothing reaches Flowglad."
)


class Sandbox:
    """An in-memory, stateful Flowglad: same endpoints, shapes, errors and billing rules.

    :param pricing_model: a path to a JSON pricing file, its parsed ``dict``, or ``None``
        for the demo model shipped with the package (``free``, ``pro_monthly``, ...).
    :param secret_key: the only key the API accepts (raw or as ``Bearer <key>``).
    :param pages_url: absolute URL of the hosted pages; by default taken from the current
        Flask request (``request.host_url + "flowglad-sandbox"``), else from ``base_url``.
    :param base_url: the base URL clients use; never resolved when the adapter is used.
    :param clock: epoch-milliseconds source, for tests that pin time.
    :param allow_multiple_subscriptions: the organization setting of the same name: by
        default (as in Flowglad) a customer has one current subscription at a time.
    """

    def __init__(
        self,
        pricing_model: PricingSource = None,
        secret_key: str = "sk_test_sandbox",
        pages_url: str | None = None,
        *,
        base_url: str = "http://flowglad.sandbox",
        clock: Callable[[], int] | None = None,
        allow_multiple_subscriptions: bool = False,
    ) -> None:
        self.secret_key = secret_key
        self.allow_multiple_subscriptions = allow_multiple_subscriptions
        self.base_url = base_url.rstrip("/")
        self._pages_url = pages_url.rstrip("/") if pages_url else None
        self._mounted_prefix: str | None = None
        #: Where the sandbox delivers webhooks (see :mod:`.webhooks`), and every delivery.
        self.webhooks = Webhooks()
        self._lock = SandboxLock(self.webhooks, lambda: self.state.outbox)
        self._clock = Clock(clock or wall_clock_ms)
        self._organization_id = new_id("org")
        self.pricing = PricingModel(
            load_pricing_data(pricing_model),
            organization_id=self._organization_id,
            created_at=self._clock.now(),
        )
        self._wsgi_app: WSGIApp | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every customer, record, call and webhook delivery; the pricing model (and its
        ids) and the webhook endpoints stay."""
        with self._lock:
            self.state = State(
                self.pricing,
                self._organization_id,
                self._clock,
                allow_multiple_subscriptions=self.allow_multiple_subscriptions,
            )
            self.webhooks.deliveries.clear()
            self.api = Api(
                self.state,
                secret_key=self.secret_key,
                pages_url=self.pages_url,
                # The Api only enters and leaves its lock: this one delivers on leaving.
                lock=cast("threading.RLock", self._lock),
            )

    # transports ---------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every API request answered so far: ``(method, path, query, json, status)``."""
        return self.api.calls

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request; what the adapter and the server both call.

        Paths under :data:`~flask_flowglad.sandbox.controls.CONTROLS_PREFIX` are the test
        controls; everything else is Flowglad's API.
        """
        if path == controls.CONTROLS_PREFIX or path.startswith(controls.CONTROLS_PREFIX + "/"):
            return controls.handle(self, method, path, body, headers or {})
        return self.api.handle(method, path, query, body, headers or {})

    def adapter(self) -> requests.adapters.BaseAdapter:
        """A ``requests`` transport answering in process: mount it on :attr:`base_url`."""
        from .adapter import SandboxAdapter

        return SandboxAdapter(self)

    @property
    def wsgi_app(self) -> WSGIApp:
        """The API and the hosted pages as one WSGI app, for a real HTTP server."""
        if self._wsgi_app is None:
            from .server import create_wsgi_app

            self._wsgi_app = create_wsgi_app(self)
        return self._wsgi_app

    def pages_blueprint(self) -> flask.Blueprint:
        """The hosted checkout and portal pages, to register under ``/flowglad-sandbox``."""
        from .pages import create_blueprint

        return create_blueprint(self)

    @property
    def lock(self) -> SandboxLock:
        """The lock every read and change of the sandbox's state holds; webhooks it
        announces are delivered when the outermost holder lets go."""
        return self._lock

    def mounted_at(self, prefix: str | None) -> None:
        """Say where an app registered the hosted pages, so links to them are right."""
        self._mounted_prefix = (prefix or "").rstrip("/") or None

    def pages_url(self) -> str:
        """Absolute URL of the hosted pages, as a browser of the current request sees it."""
        if self._pages_url:
            return self._pages_url
        from flask import has_request_context, request

        prefix = self._mounted_prefix or PAGES_PREFIX
        if has_request_context():
            return request.host_url.rstrip("/") + prefix
        return self.base_url + prefix

    # helpers for tests --------------------------------------------------------------------

    def create_customer(self, external_id: str, *, name: str = "", email: str = "") -> Record:
        """The customer with this external id, created (on the default plan) if missing."""
        with self._lock:
            cid = self.state.customer_ids_by_external.get(external_id)
            if cid is None:
                customer, _ = self.state.create_customer(
                    {"externalId": external_id, "name": name, "email": email}
                )
            else:
                customer = self.state.customers[cid]
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

        Other current subscriptions end (a free plan as ``upgraded_to_paid``), a test card
        is added when the price costs money. For a one-time price, a paid purchase is
        recorded instead. Returns the SubscriptionDetails (or the purchase).
        """
        with self._lock:
            state = self.state
            price = self.pricing.price_by_slug(price_slug)
            if price is None or price["type"] == "usage":
                raise ValueError(
                    f"no subscription or single-payment price with slug {price_slug!r}"
                )
            self.create_customer(external_id, name=name, email=email)
            customer = state.find_customer(external_id)
            method = state.default_payment_method(customer["id"])
            if price["unitPrice"] > 0 and method is None:
                method = state.add_payment_method(customer, "4242", name=None)
            if price["type"] == "single_payment":
                purchase = state.purchase(customer, price, quantity, name=None, metadata=None)
                return copy.deepcopy(purchase)
            current = [s for s in state.subs_of(customer["id"]) if s.is_current]
            for sub in current:
                if sub.record["priceId"] == price["id"] and len(current) == 1:
                    return copy.deepcopy(state.sub_details(sub))
            # Make way first: a paid plan replaces the active free plan itself
            # (upgraded_to_paid); every other current plan ends now.
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
                state.end_subscription(sub, "customer_request", reassign=False)
            new = state.create_subscription(
                customer, price, quantity, payment_method_id=method["id"] if method else None
            )
            for sub in ended:
                sub.record["replacedBySubscriptionId"] = new.id
            return copy.deepcopy(state.sub_details(new))

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
        with self._lock:
            state = self.state
            customer = state.find_customer(external_id)
            if subscription_id is None:
                sub = self._latest_current(customer)
                if sub is None:
                    raise ValueError(f"customer {external_id!r} has no current subscription")
                subscription_id = sub.id
            kind = "usageMeterSlug" if self.pricing.meter_by_slug(slug) else "priceSlug"
            event = UsageInput(
                subscription_id=subscription_id,
                amount=amount,
                transaction_id=transaction_id or new_id("txn"),
                identifier=(kind, slug),
                properties=properties,
            )
            return copy.deepcopy(state.record_usage(event))

    def complete_checkout(
        self, session_id: str, *, card_number: str = "4242 4242 4242 4242"
    ) -> Record:
        """Pay for a checkout session as a person on the hosted page would."""
        with self._lock:
            return copy.deepcopy(self.state.complete_checkout(session_id, card_number=card_number))

    def decline_checkout(self, session_id: str) -> Record:
        """Try to pay with the declined test card: the session stays open, nothing is paid."""
        with self._lock:
            try:
                self.state.complete_checkout(session_id, card_number=DECLINED_CARD)
            except CardDeclined:
                pass
            return copy.deepcopy(self.state.get_checkout_session(session_id))

    def expire_checkout(self, session_id: str) -> Record:
        """Let a checkout session run out: it can no longer be paid."""
        with self._lock:
            return copy.deepcopy(self.state.expire_checkout(session_id))

    def advance_billing_period(self, target: str) -> list[Record]:
        """Move a subscription (by id) or all of a customer's (by external id) to the next
        billing period: renewals, scheduled cancellations and downgrades, invoices, credits.
        """
        with self._lock:
            state = self.state
            if target in state.subs:
                subs = [state.subs[target]]
            else:
                customer = state.find_customer(target)
                subs = [s for s in state.subs_of(customer["id"]) if s.is_current]
            return copy.deepcopy([state.sub_details(state.advance(sub)) for sub in subs])

    def billing(self, external_id: str) -> Record:
        """The billing payload (E4) of a customer, without making an API call."""
        with self._lock:
            customer = self.state.find_customer(external_id)
            portal = f"{self.pages_url()}/portal/{customer['id']}"
            return copy.deepcopy(self.state.billing(customer, portal))

    def subscription(self, subscription_id: str) -> Record:
        """A subscription's details (items, features, balances)."""
        with self._lock:
            return copy.deepcopy(self.state.sub_details(self.state.get_sub(subscription_id)))

    def checkout_session(self, session_id: str) -> Record:
        with self._lock:
            return copy.deepcopy(self.state.get_checkout_session(session_id))

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with a failure (outage, rate limit).

        ``path`` matches as a substring of the request path. The default body is Flowglad's
        unhandled-error JSON.
        """
        if body is None:
            body = '{"error": "Internal server error", "request_id": "sandbox0"}'
        raw = body.encode() if isinstance(body, str) else body
        fault_headers = {"Content-Type": "application/json", **(headers or {})}
        if not 1 <= times <= limits.MAX_FAULT_TIMES:
            raise ValueError(f"times must be from 1 to {limits.MAX_FAULT_TIMES}")
        with self._lock:
            if len(self.api.faults) >= limits.MAX_FAULTS:
                raise ValueError(f"at most {limits.MAX_FAULTS} faults may wait at once")
            self.api.faults.append(
                Fault(status, times, method.upper() if method else None, path, raw, fault_headers)
            )

    # internals shared with the pages ------------------------------------------------------

    def _latest_current(self, customer: Record) -> Sub | None:
        current = [s for s in self.state.subs_of(customer["id"]) if s.is_current]
        if not current:
            return None
        return max(current, key=lambda s: (s.record["createdAt"], s.record["updatedAt"], s.id))
