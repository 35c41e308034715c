"""What the extension keeps for one app, and the customer of the current request.

``app.extensions["flowglad"]`` holds one :class:`FlowgladState` per app: the one registry
of per-app state. The protocol layer and ``feature_required`` reach it through
:func:`get_state`, so they need nothing from the :class:`~flask_flowglad.Flowglad` object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from flask import Blueprint, Flask, current_app, g, has_request_context
from werkzeug.local import LocalProxy

from .authorization import BillingAuthorizer, allowed_actions
from .billing import AnonymousBilling, BillingSnapshot, JSONObject, pricing_model_problem
from .cache import SharedBillingCache
from .client import FlowgladClient
from .config import FlowgladSettings
from .errors import BillingActionForbidden, InvalidUpstreamAnswer
from .identity import CustomerIdentity
from .service import CustomerBilling, CustomerCache
from .usage.outbox import UsageOutbox

#: The key of ``app.extensions``.
EXTENSION_NAME = "flowglad"
#: The one attribute of ``flask.g`` the extension uses: ``{external_id: cache entry}``.
G_CACHE_ATTRIBUTE = "_flowglad_customers"
#: The request's customer and its service, reused while the loader names the same one.
G_CURRENT_ATTRIBUTE = "_flowglad_current"


class SandboxLike(Protocol):
    """What the extension uses of a sandbox (:class:`flask_flowglad.sandbox.Sandbox` is
    one): a protocol, so that no module but the extension's wiring imports the sandbox."""

    @property
    def secret_key(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    @property
    def webhooks(self) -> Any: ...

    @property
    def path(self) -> str | None:
        """The state file, or ``None`` for a sandbox in this process's memory."""

    def adapter(self) -> Any: ...

    def pages_blueprint(self) -> Blueprint: ...


@dataclass
class FlowgladState:
    """One app's settings, REST client and sandbox, and how it finds its customer."""

    settings: FlowgladSettings
    client: FlowgladClient
    #: The simulated Flowglad, when ``FLOWGLAD_SANDBOX`` is on.
    sandbox: SandboxLike | None
    #: Who the customer of the current request is (the extension's customer loader).
    identify: Callable[[], CustomerIdentity | None]
    #: Every account of the app, for ``flask flowglad backfill`` (``@customer_source``).
    accounts: Callable[[], Iterable[CustomerIdentity | str]]
    #: The billing cache every worker shares, when ``FLOWGLAD_BILLING_CACHE`` is set.
    billing_cache: SharedBillingCache | None = None
    #: The app's billing authorizer, when it registered one (asked each time: it may be
    #: registered after ``init_app``).
    authorizer: Callable[[], BillingAuthorizer | None] = lambda: None
    #: Where usage events wait for a worker, when ``FLOWGLAD_USAGE_OUTBOX`` is set.
    usage_outbox: UsageOutbox | None = None

    def allowed_actions(self, identity: CustomerIdentity) -> frozenset[str]:
        """The billing actions the request's user may take for ``identity``, asked once
        per request."""
        cache = request_cache()
        entry = cache.setdefault(identity.external_id, {}) if cache is not None else {}
        allowed = entry.get("allowed_actions")
        if not isinstance(allowed, frozenset):
            allowed = entry["allowed_actions"] = allowed_actions(self.authorizer(), identity)
        return allowed

    def require(self, identity: CustomerIdentity, action: str) -> None:
        """:exc:`~flask_flowglad.errors.BillingActionForbidden` unless ``action`` is allowed."""
        if action not in self.allowed_actions(identity):
            raise BillingActionForbidden(action)

    def current_customer(self) -> CustomerBilling | None:
        """The billing service of the request's customer, or ``None`` when anonymous.

        The loader is asked once per request, when billing is first needed, as
        flask-login loads its user once: a page of feature checks pays for one. Logging
        someone in or out (flask-login's signals) or
        :meth:`~flask_flowglad.Flowglad.forget_current_customer` asks it again.
        """
        if not has_request_context():
            identity = self.identify()
            return None if identity is None else self.for_identity(identity)
        current: tuple[CustomerBilling | None] | None = g.get(G_CURRENT_ATTRIBUTE)
        if current is None:
            identity = self.identify()
            current = (None if identity is None else self.for_identity(identity),)
            setattr(g, G_CURRENT_ATTRIBUTE, current)
        return current[0]

    def for_customer(
        self, external_id: str, name: str | None = None, email: str | None = None
    ) -> CustomerBilling:
        """The billing service of any customer: for sign-up flows, jobs and admin tools."""
        return self.for_identity(CustomerIdentity(str(external_id), name, email))

    def for_identity(self, identity: CustomerIdentity) -> CustomerBilling:
        """The billing service of any customer, sharing the request's cache."""
        return CustomerBilling(
            self.client, identity, request_cache(), self.billing_cache, self.usage_outbox
        )

    def default_pricing_model(self) -> JSONObject:
        """The organization's default pricing model, for pages shown to anonymous visitors."""
        response = self.client.get_default_pricing_model()
        # Flowglad wraps the model; a bare model is accepted too, as Flowglad's server does.
        model: Any = response.get("pricingModel", response)
        problem = pricing_model_problem(model)
        if problem is None and not isinstance(model.get("id"), str):
            problem = "the pricing model has no id"
        if problem is not None:
            raise InvalidUpstreamAnswer(
                200,
                None,
                f"Flowglad's default pricing model is unusable: {problem}.",
                None,
                None,
            )
        assert isinstance(model, dict)
        return model


def get_state(app: Flask | None = None) -> FlowgladState:
    """The :class:`FlowgladState` of ``app``, or of the current app."""
    target = current_app if app is None else app
    state = target.extensions.get(EXTENSION_NAME)
    if not isinstance(state, FlowgladState):
        raise RuntimeError(
            "Flowglad is not set up on the current app. Did you forget to call"
            " flowglad.init_app(app)?"
        )
    return state


def load_current_billing() -> BillingSnapshot:
    """The logged-in customer's billing (read once per request), or an
    :class:`~flask_flowglad.billing.AnonymousBilling` when nobody is logged in."""
    customer = get_state().current_customer()
    return AnonymousBilling() if customer is None else customer.get_billing()


#: The request's billing: the logged-in customer's snapshot, read at most once per request,
#: or an :class:`~flask_flowglad.billing.AnonymousBilling` whose checks all answer no.
current_billing = cast(BillingSnapshot, LocalProxy(load_current_billing))


def request_cache() -> CustomerCache | None:
    """The request's cache in ``flask.g``; outside a request each service keeps its own."""
    if not has_request_context():
        return None
    cache: CustomerCache | None = g.get(G_CACHE_ATTRIBUTE)
    if cache is None:
        cache = {}
        setattr(g, G_CACHE_ATTRIBUTE, cache)
    return cache


def forget_current_customer(*_args: Any, **_kwargs: Any) -> None:
    """Ask the customer loader again at the next billing read of this request (a receiver
    of flask-login's ``user_logged_in`` and ``user_logged_out`` too)."""
    if has_request_context():
        g.pop(G_CURRENT_ATTRIBUTE, None)


def drop_request_cache(exc: BaseException | None = None) -> None:
    """Forget what the request read: a pushed app context (and so ``g``) can outlive a
    request before Flask 3.2."""
    g.pop(G_CACHE_ATTRIBUTE, None)
    g.pop(G_CURRENT_ATTRIBUTE, None)
