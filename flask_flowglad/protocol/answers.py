"""The one policy that turns any failure into a status, a code and a message, for the
``{data, error}`` envelope of :mod:`flask_flowglad.envelope` (docs/protocol.md §1.4, §2.4).

Flowglad's own bodies and request ids are logged, never sent to the browser; for a 4xx
that describes the browser's own request (400, 404, 409, 422) Flowglad's message is passed
on, trimmed and with anything shaped like a secret key masked. Every way of Flowglad not
answering usefully (5xx, no connection, a timeout, an answer without the object asked for)
is 502, the message telling them apart. Upstream credential failures are 502 too: a
browser must not mistake the server's wrong secret key for its own logged-out state. The
service's own refusals carry no HTTP status; their statuses are chosen here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from flask import Response

from ..envelope import failure
from ..errors import (
    AmbiguousSubscription,
    BillingActionError,
    BillingActionForbidden,
    CheckoutRequired,
    CheckoutSessionNotFound,
    FlowgladAPIError,
    FlowgladAuthenticationError,
    FlowgladBadRequest,
    FlowgladConflict,
    FlowgladConnectionError,
    FlowgladError,
    FlowgladNotFound,
    FlowgladRateLimited,
    FlowgladTimeout,
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
)
from ..redaction import redact

logger = logging.getLogger("flask_flowglad")


@dataclass(frozen=True)
class Answer:
    """An error answer: its status, envelope code, message and extra headers."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


#: The service's refusals: raised before anything reaches Flowglad.
REFUSALS: dict[type[BillingActionError], tuple[int, str]] = {
    SubscriptionNotOwned: (403, "forbidden"),
    NoCurrentSubscription: (400, "missing_subscription_id"),
    AmbiguousSubscription: (400, "ambiguous_subscription"),
    SubscriptionAlreadyCanceled: (409, "subscription_already_canceled"),
    CheckoutRequired: (402, "checkout_required"),
    PriceNotFound: (404, "price_not_found"),
    NotInPricingModel: (404, "not_in_pricing_model"),
    CheckoutSessionNotFound: (404, "checkout_session_not_found"),
    ResourceClaimNotFound: (404, "claim_not_found"),
    NoScheduledAdjustment: (409, "no_scheduled_adjustment"),
    BillingActionForbidden: (403, "forbidden"),
    IntervalChangeRequiresCheckout: (409, "interval_change_requires_checkout"),
    IntervalChangeRefused: (409, "interval_change_refused"),
}


def answer_for(exc: FlowgladError, action_code: str) -> Answer:
    """The answer for ``exc``; upstream failures carry the action's own code."""
    if isinstance(exc, BillingActionError):
        status, code = _refusal(exc)
        return Answer(status, code, str(exc))
    if isinstance(exc, FlowgladAPIError):
        _log_upstream(exc)
    else:
        logger.warning("Flowglad could not be reached: %s", exc)
    if isinstance(exc, FlowgladRateLimited):
        headers = {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return Answer(429, action_code, "Too many billing requests. Try again shortly.", headers)
    if isinstance(exc, FlowgladTimeout):
        return Answer(502, action_code, "Billing did not answer in time. Try again shortly.")
    if isinstance(exc, FlowgladConnectionError):
        return Answer(502, action_code, "Billing could not be reached. Try again shortly.")
    if isinstance(exc, FlowgladAuthenticationError):
        return Answer(502, action_code, "Billing is not configured correctly on the server.")
    if isinstance(exc, InvalidUpstreamAnswer):
        return Answer(502, action_code, "Billing's answer was invalid. Try again shortly.")
    if isinstance(exc, FlowgladNotFound) and not isinstance(exc.body, dict):
        # A 404 that is not Flowglad's JSON means a wrong FLOWGLAD_BASE_URL.
        return Answer(502, action_code, "Billing is not configured correctly on the server.")
    if isinstance(exc, FlowgladNotFound):
        return Answer(404, action_code, _passed_through(exc, "Not found."))
    if isinstance(exc, FlowgladConflict):
        fallback = "The request conflicts with the current billing state."
        return Answer(409, action_code, _passed_through(exc, fallback))
    if isinstance(exc, FlowgladBadRequest):
        return Answer(400, action_code, _passed_through(exc, "Billing rejected the request."))
    return Answer(502, action_code, "Billing is unavailable. Try again shortly.")


#: Longest upstream message passed to the browser.
MAX_PASSED_MESSAGE = 300


def _passed_through(exc: FlowgladAPIError, fallback: str) -> str:
    """Flowglad's own message for a 4xx about the browser's request (an unknown price
    slug, a quantity out of range), so a developer can act on it: one line, trimmed,
    secret keys masked. 5xx and credential failures keep their generic messages."""
    text = redact(" ".join(exc.message.split()))
    if not text:
        return fallback
    if len(text) > MAX_PASSED_MESSAGE:
        text = text[: MAX_PASSED_MESSAGE - 3].rstrip() + "..."
    return text


def _refusal(exc: BillingActionError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in REFUSALS:
            return REFUSALS[cls]
    return 400, "billing_action_refused"


def _log_upstream(exc: FlowgladAPIError) -> None:
    level = logging.ERROR if exc.status in (401, 403) or exc.status >= 500 else logging.WARNING
    logger.log(level, "Flowglad answered %s (request id %s): %s", exc.status, exc.request_id, exc)


def failure_for(exc: FlowgladError, action_code: str) -> Response:
    """The envelope answering ``exc``."""
    answer = answer_for(exc, action_code)
    return failure(answer.status, answer.code, answer.message, headers=answer.headers)
