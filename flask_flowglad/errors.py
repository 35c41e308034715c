"""Every exception and warning of flask-flowglad that needs no Flask.

One tree for what Flowglad answers, so callers can catch as broadly or as narrowly as they
need: :class:`FlowgladError` for anything, :class:`FlowgladAPIError` for an answer from
Flowglad, :class:`FlowgladConnectionError` when no answer came, :class:`BillingActionError`
for the service's own refusals. Beside it: the configuration's errors and warnings, the
customer loader's, and the webhook verifier's. The two that are HTTP answers
(``FeatureNotAvailable``, ``BillingUnavailable``) subclass Werkzeug's exceptions and live in
:mod:`flask_flowglad.access`.

This module knows nothing of Flask, like the client.
"""

from __future__ import annotations

import typing as t

__all__ = [
    "AmbiguousSubscription",
    "BillingActionError",
    "BillingActionForbidden",
    "CheckoutRequired",
    "CheckoutSessionNotFound",
    "ConfigurationError",
    "ConfigurationWarning",
    "CustomerLoaderMissing",
    "FlowgladAPIError",
    "FlowgladAuthenticationError",
    "FlowgladBadRequest",
    "FlowgladConflict",
    "FlowgladConnectionError",
    "FlowgladError",
    "FlowgladNotFound",
    "FlowgladRateLimited",
    "FlowgladServerError",
    "FlowgladTimeout",
    "InvalidCustomerId",
    "IntervalChangeRefused",
    "IntervalChangeRequiresCheckout",
    "InvalidUpstreamAnswer",
    "InvalidUsageEvent",
    "MalformedWebhook",
    "NoCurrentSubscription",
    "NoScheduledAdjustment",
    "NotInPricingModel",
    "OUTAGES",
    "PriceNotFound",
    "ResourceClaimNotFound",
    "SandboxWarning",
    "SubscriptionAlreadyCanceled",
    "SubscriptionNotOwned",
    "UnknownUsageMeter",
    "UsageNotRecorded",
    "UsageOutboxUnavailable",
    "WebhookVerificationError",
    "is_outage",
]


class FlowgladError(Exception):
    """Base class of every error the Flowglad client raises."""


class FlowgladAPIError(FlowgladError):
    """Flowglad answered, but not with a usable success.

    Raised as is for statuses without a subclass (other 4xx, 3xx) and for a
    2xx whose body is not the JSON expected.

    :param status: The HTTP status code.
    :param code: Flowglad's error code (``"NOT_FOUND"``, ...), if the body had one.
    :param message: A short readable message taken from the body.
    :param request_id: Flowglad's request id, to quote to their support.
    :param body: The parsed JSON body, or the raw text when it was not JSON.
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        request_id: str | None = None,
        body: t.Any = None,
    ) -> None:
        super().__init__(status, code, message, request_id, body)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        head = f"{self.status} {self.code}" if self.code else str(self.status)
        return f"{head}: {self.message}" if self.message else head


class InvalidUpstreamAnswer(FlowgladAPIError):
    """Flowglad answered a success without the object asked for (an empty body, HTML
    from a proxy, ``{}`` for billing): an outage, never a success."""


class FlowgladBadRequest(FlowgladAPIError):
    """The request was invalid (400 or 422); retrying it will not help."""


class FlowgladAuthenticationError(FlowgladAPIError):
    """The secret key is missing, invalid or lacks access (401 or 403)."""


class FlowgladNotFound(FlowgladAPIError):
    """The object does not exist, or was archived (404)."""


class FlowgladConflict(FlowgladAPIError):
    """The object already exists or is in a conflicting state (409)."""


class FlowgladRateLimited(FlowgladAPIError):
    """Too many requests (429).

    :param retry_after: Seconds Flowglad asked us to wait, if it said.
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        request_id: str | None = None,
        body: t.Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message, request_id, body)
        self.retry_after = retry_after


class FlowgladServerError(FlowgladAPIError):
    """Flowglad failed (5xx); the request may or may not have taken effect."""


class FlowgladConnectionError(FlowgladError):
    """No answer came from Flowglad: the connection failed or was dropped."""


class FlowgladTimeout(FlowgladConnectionError):
    """Connecting to Flowglad, or waiting for its answer, took too long."""


# -- refusals of the service itself ----------------------------------------------------
# Raised by the per-customer service before anything reaches Flowglad. They carry no HTTP
# status: the protocol layer (``flask_flowglad.protocol.answers``) chooses it.


class BillingActionError(FlowgladError):
    """The customer asked for something their billing does not allow."""


class SubscriptionNotOwned(BillingActionError):
    """The subscription is not the customer's: never act on it."""


class NoCurrentSubscription(BillingActionError):
    """The action needs a current subscription and the customer has none."""


class AmbiguousSubscription(BillingActionError):
    """Several current subscriptions, and the request did not say which."""


class SubscriptionAlreadyCanceled(BillingActionError):
    """Canceling a subscription that has already ended."""


class CheckoutRequired(BillingActionError):
    """The price needs a payment, so it must go through checkout."""


class PriceNotFound(BillingActionError):
    """No such price in the customer's pricing model."""


class NotInPricingModel(BillingActionError):
    """A usage meter or resource the customer's pricing model does not have."""


class InvalidUsageEvent(ValueError):
    """A usage event that can never be billed (an amount out of range, properties that are
    not JSON): refused by ``record_usage`` before anything is stored."""


class UnknownUsageMeter(NotInPricingModel, InvalidUsageEvent):
    """A usage event on a meter or usage price the customer's pricing model does not have."""


class UsageOutboxUnavailable(RuntimeError):
    """The usage outbox's database or Redis failed (the cause says how)."""


class UsageNotRecorded(UsageOutboxUnavailable):
    """The usage outbox could not store an event: nothing was recorded, and the caller
    decides whether to retry with the same transaction id."""


class ResourceClaimNotFound(BillingActionError):
    """A claim id that is not one of the subscription's claims."""


class CheckoutSessionNotFound(BillingActionError):
    """No checkout session of this customer has that id."""


class NoScheduledAdjustment(BillingActionError):
    """Undoing a plan change when none is scheduled."""


class BillingActionForbidden(BillingActionError):
    """The user may not take this billing action for the customer: the app's billing
    authorizer said no (**403**)."""

    def __init__(self, action: str) -> None:
        super().__init__(f"Your role does not allow this billing action ({action}).")
        self.action = action


class IntervalChangeRequiresCheckout(BillingActionError):
    """A plan change to a price billed at another interval (monthly to yearly).

    Flowglad adjusts a subscription inside its current billing period and keeps its
    interval (``subscriptions/adjustSubscription.ts``): adjusting a monthly plan to a
    yearly price would charge the yearly amount every month. Such a change is a new
    subscription: :meth:`~flask_flowglad.CustomerBilling.start_interval_change`.
    """


class IntervalChangeRefused(BillingActionError):
    """The plan cannot move to that interval now (a cancellation or a change is
    scheduled, the plan is free, the new interval is shorter than a period paid for):
    the message says why."""

    def __init__(self, message: str, refusal: str) -> None:
        super().__init__(message)
        #: A code for the reason, for a page that words it itself.
        self.refusal = refusal


#: Failures that mean "Flowglad cannot be asked right now", not "Flowglad said no": the
#: ones ``FLOWGLAD_FAIL_OPEN`` may open a gated view on.
OUTAGES: tuple[type[FlowgladError], ...] = (
    FlowgladConnectionError,
    FlowgladServerError,
    FlowgladRateLimited,
    InvalidUpstreamAnswer,
)


def is_outage(exc: FlowgladError) -> bool:
    """Whether ``exc`` says Flowglad could not be asked (the fail-open policy applies)."""
    return isinstance(exc, OUTAGES)


# -- the app's configuration -----------------------------------------------------------


class ConfigurationError(RuntimeError):
    """The extension cannot start with the app's configuration."""


class ConfigurationWarning(UserWarning):
    """The configuration works, but probably not as meant (a misspelled key, a fixed URL)."""


class SandboxWarning(UserWarning):
    """Billing is simulated: nothing is charged and nothing reaches Flowglad."""


class CustomerLoaderMissing(ConfigurationError):
    """Nothing tells the extension who the customer of a request is."""


class InvalidCustomerId(ValueError):
    """The app's customer loader produced an id Flowglad cannot address."""


# -- webhooks --------------------------------------------------------------------------


class WebhookVerificationError(ValueError):
    """The webhook is not a genuine, fresh delivery from Flowglad: answer 400."""


class MalformedWebhook(ValueError):
    """A genuine delivery whose body is not a Flowglad event object."""
