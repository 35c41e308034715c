"""Exceptions of flask-flowglad: the REST client's, and the service's own refusals.

One tree, so callers can catch as broadly or as narrowly as they need:
:class:`FlowgladError` for anything, :class:`FlowgladAPIError` for an answer
from Flowglad, :class:`FlowgladConnectionError` when no answer came.

This module knows nothing of Flask, like the client.
"""

from __future__ import annotations

import typing as t

__all__ = [
    "OUTAGES",
    "AmbiguousSubscription",
    "BillingActionError",
    "CheckoutRequired",
    "CheckoutSessionNotFound",
    "NoCurrentSubscription",
    "PriceNotFound",
    "SubscriptionAlreadyCanceled",
    "SubscriptionNotOwned",
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
]


class FlowgladError(Exception):
    """Base class of every error the Flowglad client raises.

    .. versionadded:: 0.1
    """


class FlowgladAPIError(FlowgladError):
    """Flowglad answered, but not with a usable success.

    Raised as is for statuses without a subclass (other 4xx, 3xx) and for a
    2xx whose body is not the JSON expected.

    :param status: The HTTP status code.
    :param code: Flowglad's error code (``"NOT_FOUND"``, ...), if the body had one.
    :param message: A short readable message taken from the body.
    :param request_id: Flowglad's request id, to quote to their support.
    :param body: The parsed JSON body, or the raw text when it was not JSON.

    .. versionadded:: 0.1
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


class FlowgladBadRequest(FlowgladAPIError):
    """The request was invalid (400 or 422); retrying it will not help.

    .. versionadded:: 0.1
    """


class FlowgladAuthenticationError(FlowgladAPIError):
    """The secret key is missing, invalid or lacks access (401 or 403).

    .. versionadded:: 0.1
    """


class FlowgladNotFound(FlowgladAPIError):
    """The object does not exist, or was archived (404).

    .. versionadded:: 0.1
    """


class FlowgladConflict(FlowgladAPIError):
    """The object already exists or is in a conflicting state (409).

    .. versionadded:: 0.1
    """


class FlowgladRateLimited(FlowgladAPIError):
    """Too many requests (429).

    :param retry_after: Seconds Flowglad asked us to wait, if it said.

    .. versionadded:: 0.1
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
    """Flowglad failed (5xx); the request may or may not have taken effect.

    .. versionadded:: 0.1
    """


class FlowgladConnectionError(FlowgladError):
    """No answer came from Flowglad: the connection failed or was dropped.

    .. versionadded:: 0.1
    """


class FlowgladTimeout(FlowgladConnectionError):
    """Connecting to Flowglad, or waiting for its answer, took too long.

    .. versionadded:: 0.1
    """


# -- refusals of the extension itself ---------------------------------------------------
# Raised by the per-customer service before anything reaches Flowglad; each carries the
# HTTP status and envelope code the React SDK's route answers with.


class BillingActionError(FlowgladError):
    """The customer asked for something their billing does not allow.

    .. versionadded:: 0.1
    """

    status = 400
    code = "billing_action_refused"


class SubscriptionNotOwned(BillingActionError):
    """The subscription is not the customer's: never act on it. 403.

    .. versionadded:: 0.1
    """

    status = 403
    code = "forbidden"


class NoCurrentSubscription(BillingActionError):
    """The action needs a current subscription and the customer has none. 400.

    .. versionadded:: 0.1
    """

    code = "missing_subscription_id"


class AmbiguousSubscription(BillingActionError):
    """Several current subscriptions, and the request did not say which. 400.

    .. versionadded:: 0.1
    """

    code = "ambiguous_subscription"


class SubscriptionAlreadyCanceled(BillingActionError):
    """Canceling a subscription that has already ended. 409.

    .. versionadded:: 0.1
    """

    status = 409
    code = "subscription_already_canceled"


class CheckoutRequired(BillingActionError):
    """The price needs a payment, so it must go through checkout. 402.

    .. versionadded:: 0.1
    """

    status = 402
    code = "checkout_required"


class PriceNotFound(BillingActionError):
    """No such price in the customer's pricing model. 404.

    .. versionadded:: 0.1
    """

    status = 404
    code = "price_not_found"


class CheckoutSessionNotFound(BillingActionError):
    """No checkout session of this customer has that id. 404.

    .. versionadded:: 0.1
    """

    status = 404
    code = "checkout_session_not_found"


#: Failures that mean "Flowglad cannot be asked right now", not "Flowglad said no".
OUTAGES: tuple[type[FlowgladError], ...] = (
    FlowgladConnectionError,
    FlowgladServerError,
    FlowgladRateLimited,
)
