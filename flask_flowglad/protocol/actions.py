"""The actions the React SDK calls, one entry each: subroute → schema, handler, failure code.

The one registry of the protocol: the blueprint routes by it, the docs and tests read it.
A handler gets the parameters its schema loaded (the keyword arguments of a
:class:`~flask_flowglad.service.CustomerBilling` method) and returns the ``data`` member
exactly as Flowglad's reference server shapes it. Adding a route is one entry in
:data:`ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from marshmallow import Schema

from ..authorization import BUY, CANCEL, CHANGE_PLAN, MANAGE_PAYMENT_METHODS, READ
from ..billing import BillingSnapshot, JSONObject
from ..envelope import EncodedJSON
from ..errors import CheckoutRequired, InvalidUpstreamAnswer
from ..service import CustomerBilling
from . import schemas

if TYPE_CHECKING:
    from ..state import FlowgladState

Params = dict[str, Any]

#: On an answer made from a billing the shared cache kept while Flowglad failed
#: (``FLOWGLAD_STALE_IF_ERROR``): how many seconds old that billing is.
STALE_HEADER = "X-Flowglad-Stale"


@dataclass(frozen=True)
class ActionContext:
    """What a handler may use: the app's state and the request's customer."""

    state: FlowgladState
    #: ``None`` only for actions that serve anonymous visitors.
    customer: CustomerBilling | None

    @property
    def signed_in(self) -> CustomerBilling:
        """The customer; the blueprint answers 401 before a handler that needs one."""
        assert self.customer is not None, "the blueprint checks the customer first"
        return self.customer

    @property
    def billing(self) -> BillingSnapshot:
        """The customer's billing, read at most once per request."""
        return self.signed_in.get_billing()


Handler = Callable[[ActionContext, Params], Any]


@dataclass(frozen=True)
class Action:
    """One route of the protocol."""

    schema: type[Schema]
    handler: Handler
    #: The ``error.code`` of upstream failures; Flowglad's reference server's values.
    code: str | Callable[[ActionContext], str]
    requires_customer: bool = True
    #: May answer ``{"data": null}`` to a logged-out visitor, when the app asks for that.
    null_when_logged_out: bool = False
    methods: frozenset[str] = field(default_factory=lambda: frozenset({"POST"}))
    #: The billing action (:mod:`flask_flowglad.authorization`) the user must be allowed
    #: for the customer; ``None`` for what is not billing management (usage is the
    #: product's own, pricing is public).
    permission: str | None = READ

    @cached_property
    def validator(self) -> Schema:
        """One schema instance per action: marshmallow schemas are reusable across
        requests and threads, and making one costs more than a load."""
        return self.schema()

    def failure_code(self, context: ActionContext) -> str:
        """The code upstream failures of this action carry."""
        return self.code(context) if callable(self.code) else self.code


# -- customers -----------------------------------------------------------------------


def customer_billing(context: ActionContext, params: Params) -> EncodedJSON:
    # The payload as the shared cache keeps it (or as Flowglad sent it): checked bytes,
    # sent without a new encode. Served stale, it says so in ``STALE_HEADER``.
    return EncodedJSON(context.signed_in.billing_json())


def stale_headers(context: ActionContext) -> dict[str, str]:
    """:data:`STALE_HEADER` when the answer was made from a stale billing."""
    age = None if context.customer is None else context.customer.stale_age
    return {} if age is None else {STALE_HEADER: str(int(age))}


def find_or_create_customer(context: ActionContext, params: Params) -> JSONObject:
    return {"customer": context.signed_in.find_or_create()}


def update_customer(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.update_customer(**params)


def customer_details(context: ActionContext, params: Params) -> JSONObject:
    customer = context.billing.customer
    return {
        "customer": {
            "id": customer.get("id"),
            "livemode": customer.get("livemode"),
            "email": customer.get("email"),
            "name": customer.get("name") or None,
            "externalId": customer.get("externalId") or None,
            "createdAt": iso_timestamp(customer.get("createdAt")),
            "updatedAt": iso_timestamp(customer.get("updatedAt")),
        }
    }


# -- checkout ------------------------------------------------------------------------


def create_product_checkout(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.create_product_checkout_session(**params)


def create_add_payment_method_checkout(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.create_add_payment_method_checkout_session(**params)


def create_activate_subscription_checkout(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.create_activate_subscription_checkout_session(**params)


def retrieve_checkout_session(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.get_checkout_session(params["id"])


# -- subscriptions -------------------------------------------------------------------


def cancel_subscription(context: ActionContext, params: Params) -> JSONObject:
    timing = params["cancellation"]["timing"]
    return context.signed_in.cancel_subscription(params["id"], timing=timing)


def uncancel_subscription(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.uncancel_subscription(params["id"])


def adjust_subscription(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.adjust_subscription(**params)


def preview_adjust_subscription(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.preview_adjust_subscription(**params)


def cancel_scheduled_adjustment(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.cancel_scheduled_adjustment(**params)


def create_subscription(context: ActionContext, params: Params) -> JSONObject:
    """Only a free price may be started from the browser: a trial could be restarted
    after each cancel for free forever, and a paid price needs a payment method."""
    customer = context.signed_in
    price = customer.find_price(
        price_id=params.get("price_id"), price_slug=params.get("price_slug")
    )
    if price.get("unitPrice") != 0 or price.get("type") == "usage":
        raise CheckoutRequired(
            "This price needs a payment method: start a checkout session instead."
        )
    return customer.create_subscription(price_id=price["id"], quantity=params["quantity"])


def list_subscriptions(context: ActionContext, params: Params) -> JSONObject:
    billing = context.billing
    current = billing.current_subscriptions
    return {
        "subscriptions": billing.subscriptions if params.get("include_historical") else current,
        "currentSubscriptions": current,
        "currentSubscription": current[0] if current else None,
    }


# -- usage ---------------------------------------------------------------------------


def create_usage_event(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.create_usage_event(**params)


def list_usage_meter_balances(context: ActionContext, params: Params) -> JSONObject:
    subscription_id = params.get("subscription_id")
    if subscription_id is not None:
        context.signed_in.get_subscription(subscription_id)  # owned, or 403
    return {"usageMeterBalances": context.billing.usage_meter_balances(subscription_id)}


def feature_access(context: ActionContext, params: Params) -> JSONObject:
    subscription_id = params.get("subscription_id")
    if subscription_id is not None:
        context.signed_in.get_subscription(subscription_id)  # owned, or 403
    granted = context.billing.granted_features(subscription_id)
    return {
        "features": [
            {key: item.get(key) for key in ("id", "livemode", "slug", "name")} for item in granted
        ]
    }


# -- payment methods, invoices, purchases --------------------------------------------


def payment_methods(context: ActionContext, params: Params) -> JSONObject:
    billing = context.billing
    return {
        "paymentMethods": billing.payment_methods,
        "billingPortalUrl": billing.billing_portal_url,
    }


def list_invoices(context: ActionContext, params: Params) -> JSONObject:
    entries = context.billing.invoices
    return {"invoices": page(entries, params, lambda entry: entry["invoice"].get("id"))}


def list_purchases(context: ActionContext, params: Params) -> JSONObject:
    return {"purchases": page(context.billing.purchases, params, lambda entry: entry.get("id"))}


def page(
    entries: list[JSONObject], params: Params, entry_id: Callable[[JSONObject], Any]
) -> list[JSONObject]:
    """In-memory paging over the billing payload, as the reference does: a cursor, a limit."""
    cursor = params.get("starting_after")
    if cursor is not None:
        ids = [entry_id(entry) for entry in entries]
        if cursor in ids:
            entries = entries[ids.index(cursor) + 1 :]
    limit = params.get("limit")
    return entries if limit is None else entries[:limit]


# -- resources -----------------------------------------------------------------------


def resource_usages(context: ActionContext, params: Params) -> JSONObject:
    entries = context.signed_in.get_resource_usages(params.get("subscription_id"))
    return {
        "resources": [
            entry.get("usage")
            for entry in entries
            if isinstance(entry, dict) and isinstance(entry.get("usage"), dict)
        ]
    }


def resource_usage(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.get_resource_usage(**params)


def resource_claims(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.list_resource_claims(**params)


def claim_resource(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.claim_resource(**params)


def release_resource(context: ActionContext, params: Params) -> JSONObject:
    return context.signed_in.release_resource(**params)


# -- pricing -------------------------------------------------------------------------


def retrieve_pricing_model(context: ActionContext, params: Params) -> JSONObject:
    if context.customer is None:
        return {"pricingModel": context.state.default_pricing_model(), "source": "default"}
    return {"pricingModel": context.billing.pricing_model, "source": "customer"}


def _pricing_failure_code(context: ActionContext) -> str:
    if context.customer is None:
        return "DEFAULT_PRICING_MODEL_FETCH_FAILED"
    return "PRICING_MODEL_FETCH_FAILED"


def iso_timestamp(value: Any) -> Any:
    """Epoch milliseconds as JavaScript's ``toISOString`` writes them; strings pass. A
    number no date can hold means Flowglad's answer is unusable."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    try:
        moment = datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise InvalidUpstreamAnswer(
            200, None, f"Flowglad sent a timestamp no date can hold: {value!r:.40}", None, None
        ) from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


#: Every action the blueprint serves, by its key (the subroute the React SDK posts to).
ACTIONS: dict[str, Action] = {
    "customers/billing": Action(
        schemas.CustomerBillingSchema,
        customer_billing,
        "billing_fetch_failed",
        null_when_logged_out=True,
    ),
    "customers/find-or-create": Action(
        schemas.CustomerFindOrCreateSchema,
        find_or_create_customer,
        "customer_find_or_create_failed",
    ),
    "customers/update": Action(
        schemas.CustomerUpdateSchema,
        update_customer,
        "customer_update_failed",
        permission=MANAGE_PAYMENT_METHODS,
    ),
    "customerDetails": Action(
        schemas.CustomerDetailsSchema, customer_details, "customer_details_fetch_failed"
    ),
    "checkout-sessions/create": Action(
        schemas.CheckoutSessionCreateSchema,
        create_product_checkout,
        "checkout_session_create_failed",
        permission=BUY,
    ),
    "checkout-sessions/create-add-payment-method": Action(
        schemas.AddPaymentMethodCheckoutSchema,
        create_add_payment_method_checkout,
        "checkout_session_create_failed",
        permission=MANAGE_PAYMENT_METHODS,
    ),
    "checkout-sessions/create-activate-subscription": Action(
        schemas.ActivateSubscriptionCheckoutSchema,
        create_activate_subscription_checkout,
        "checkout_session_create_failed",
        permission=BUY,
    ),
    "checkout-sessions/retrieve": Action(
        schemas.CheckoutSessionRetrieveSchema,
        retrieve_checkout_session,
        "checkout_session_retrieve_failed",
    ),
    "subscriptions/cancel": Action(
        schemas.SubscriptionCancelSchema,
        cancel_subscription,
        "subscription_cancel_failed",
        permission=CANCEL,
    ),
    "subscriptions/uncancel": Action(
        schemas.SubscriptionUncancelSchema,
        uncancel_subscription,
        "subscription_uncancel_failed",
        permission=CANCEL,
    ),
    "subscriptions/adjust": Action(
        schemas.SubscriptionAdjustSchema,
        adjust_subscription,
        "subscription_adjust_failed",
        permission=CHANGE_PLAN,
    ),
    "subscriptions/preview-adjust": Action(
        schemas.SubscriptionPreviewAdjustSchema,
        preview_adjust_subscription,
        "subscription_preview_adjust_failed",
    ),
    "subscriptions/cancel-scheduled-adjustment": Action(
        schemas.SubscriptionCancelScheduledAdjustmentSchema,
        cancel_scheduled_adjustment,
        "subscription_cancel_scheduled_adjustment_failed",
        permission=CHANGE_PLAN,
    ),
    "subscriptions/create": Action(
        schemas.SubscriptionCreateSchema,
        create_subscription,
        "subscription_create_failed",
        permission=CHANGE_PLAN,
    ),
    "subscriptions/list": Action(
        schemas.SubscriptionListSchema, list_subscriptions, "subscription_list_failed"
    ),
    "usage-events/create": Action(
        schemas.UsageEventCreateSchema,
        create_usage_event,
        "usage_event_create_failed",
        permission=None,
    ),
    "usage-meters/balances": Action(
        schemas.UsageMeterBalancesSchema, list_usage_meter_balances, "usage_meter_balances_failed"
    ),
    "features/access": Action(
        schemas.FeatureAccessSchema, feature_access, "feature_access_failed"
    ),
    "payment-methods/list": Action(
        schemas.PaymentMethodListSchema, payment_methods, "payment_methods_fetch_failed"
    ),
    "invoices/list": Action(schemas.InvoiceListSchema, list_invoices, "invoices_fetch_failed"),
    "purchases/list": Action(schemas.PurchaseListSchema, list_purchases, "purchases_fetch_failed"),
    "resources/usages": Action(
        schemas.ResourceUsagesSchema, resource_usages, "get_resources_failed"
    ),
    "resources/usages/retrieve": Action(
        schemas.ResourceUsageRetrieveSchema, resource_usage, "get_resource_usage_failed"
    ),
    "resources/claim": Action(
        schemas.ResourceClaimSchema,
        claim_resource,
        "claim_resource_failed",
        permission=CHANGE_PLAN,
    ),
    "resources/release": Action(
        schemas.ResourceReleaseSchema,
        release_resource,
        "release_resource_failed",
        permission=CHANGE_PLAN,
    ),
    "resources/claims": Action(
        schemas.ResourceClaimsSchema, resource_claims, "list_resource_claims_failed"
    ),
    "pricing-models/retrieve": Action(
        schemas.PricingModelRetrieveSchema,
        retrieve_pricing_model,
        _pricing_failure_code,
        requires_customer=False,
        methods=frozenset({"GET", "POST"}),
        permission=None,
    ),
}
