"""Exceptions of flask-flowglad: the REST client's, and the service's own refusals.

One tree, so callers can catch as broadly or as narrowly as they need:
:class:`FlowgladError` for anything, :class:`FlowgladAPIError` for an answer
from Flowglad, :class:`FlowgladConnectionError` when no answer came.

This module knows nothing of Flask, like the client.
"""

from __future__ import annotations

import json
import time
import typing as t
from datetime import timezone
from email.utils import parsedate_to_datetime

__all__ = [
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
    "InvalidUpstreamAnswer",
    "NotInPricingModel",
    "api_error_from_response",
    "parse_retry_after",
]

#: Longest message kept from an error body, so an HTML error page does not
#: flood a log line.
_MAX_MESSAGE = 500


class FlowgladError(Exception):
    """Base class of every error the Flowglad client raises.
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
    """The request was invalid (400 or 422); retrying it will not help.
    """


class FlowgladAuthenticationError(FlowgladAPIError):
    """The secret key is missing, invalid or lacks access (401 or 403).
    """


class FlowgladNotFound(FlowgladAPIError):
    """The object does not exist, or was archived (404).
    """


class FlowgladConflict(FlowgladAPIError):
    """The object already exists or is in a conflicting state (409).
    """


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
    """Flowglad failed (5xx); the request may or may not have taken effect.
    """


class FlowgladConnectionError(FlowgladError):
    """No answer came from Flowglad: the connection failed or was dropped.
    """


class FlowgladTimeout(FlowgladConnectionError):
    """Connecting to Flowglad, or waiting for its answer, took too long.
    """


_STATUS_CLASSES: dict[int, type[FlowgladAPIError]] = {
    400: FlowgladBadRequest,
    422: FlowgladBadRequest,
    401: FlowgladAuthenticationError,
    403: FlowgladAuthenticationError,
    404: FlowgladNotFound,
    409: FlowgladConflict,
    429: FlowgladRateLimited,
}


def _header(headers: t.Mapping[str, str] | None, name: str) -> str | None:
    """Look up a header case-insensitively, whatever mapping was given."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


def parse_retry_after(
    headers: t.Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds the server asked us to wait before trying again, or ``None``.

    Reads ``retry-after-ms`` first (finer, sent by Flowglad's own stack), then
    ``Retry-After`` as seconds or as an HTTP date. A date in the past gives 0.
    """
    millis = _header(headers, "retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC but parses as naive
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _describe_issue(issue: t.Any) -> str:
    """One validation issue as ``path: message``."""
    if isinstance(issue, dict):
        message = issue.get("message")
        if isinstance(message, str):
            path = issue.get("path")
            if isinstance(path, list) and path:
                return f"{'.'.join(str(part) for part in path)}: {message}"
            return message
    if isinstance(issue, str):
        return issue
    return json.dumps(issue, separators=(",", ":"), default=str)


def _describe(detail: t.Any) -> str:
    """Make a readable message of an ``error`` member or an ``issues`` list.

    Flowglad puts either a string there, or the parsed validation issues: a
    list of zod issues, or an object (one issue, or ``fieldErrors``).
    """
    if isinstance(detail, str):
        text = detail.strip()
        if text[:1] in ("[", "{"):
            try:
                return _describe(json.loads(text))
            except ValueError:
                pass
        return text
    if isinstance(detail, list):
        return "; ".join(_describe_issue(issue) for issue in detail)
    if isinstance(detail, dict):
        if isinstance(detail.get("message"), str):
            return _describe_issue(detail)
        field_errors = detail.get("fieldErrors")
        if isinstance(field_errors, dict):
            parts = [str(e) for e in detail.get("formErrors") or []]
            for field, errors in field_errors.items():
                errors = errors if isinstance(errors, list) else [errors]
                parts.extend(f"{field}: {error}" for error in errors)
            return "; ".join(parts)
    return _describe_issue(detail)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        return text[: _MAX_MESSAGE - 3] + "..."
    return text


def api_error_from_response(
    status: int,
    body_text: str,
    headers: t.Mapping[str, str] | None = None,
) -> FlowgladAPIError:
    """Build the right :class:`FlowgladAPIError` subclass for a response.

    The body is parsed defensively because Flowglad's real error bodies differ
    from its OpenAPI document: ``{"message", "code", "issues"}`` as documented,
    ``{"error", "code", "request_id"}`` as sent (``error`` being a string or
    the validation issues), or plain text for auth failures and unknown routes.
    """
    body: t.Any = body_text
    code: str | None = None
    message = ""
    request_id: str | None = None

    try:
        body = json.loads(body_text) if body_text.strip() else body_text
    except ValueError:
        body = body_text

    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(body.get("code"), str):
            code = body["code"]
        elif isinstance(error, dict) and isinstance(error.get("code"), str):
            code = error["code"]  # nested ``{"error": {"message", "code"}}`` shape
        if body.get("message") not in (None, ""):
            message = _describe(body["message"])
            issues = body.get("issues")
            if issues:
                message = f"{message}: {_describe(issues)}"
        elif error not in (None, ""):
            message = _describe(error)
        elif body.get("issues"):
            message = _describe(body["issues"])
        for key in ("request_id", "requestId"):
            if isinstance(body.get(key), str):
                request_id = body[key]
                break
    elif isinstance(body, str):
        message = body
    elif body is not None:
        message = _describe(body)

    if request_id is None:
        request_id = _header(headers, "x-request-id")

    message = _shorten(message)
    if status == 429:
        return FlowgladRateLimited(
            status, code, message, request_id, body, retry_after=parse_retry_after(headers)
        )
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = FlowgladServerError if status >= 500 else FlowgladAPIError
    return cls(status, code, message, request_id, body)


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


class CheckoutSessionNotFound(BillingActionError):
    """No checkout session of this customer has that id."""
