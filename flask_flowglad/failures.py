"""Which status and message the browser gets when an action fails (PROTOCOL §2.4).

Flowglad's own bodies and request ids are logged, never sent to the browser. Every way of
Flowglad not answering usefully (5xx, no connection, a timeout) is 502, the message telling
them apart. Upstream credential failures become 502 too: a browser must not mistake the
server's wrong secret key for its own logged-out state.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from .errors import (
    BillingActionError,
    FlowgladAPIError,
    FlowgladAuthenticationError,
    FlowgladBadRequest,
    FlowgladConflict,
    FlowgladConnectionError,
    FlowgladError,
    FlowgladNotFound,
    FlowgladRateLimited,
    FlowgladTimeout,
)

logger = logging.getLogger("flask_flowglad")


@dataclass(frozen=True)
class Failure:
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def describe_failure(exc: FlowgladError, action_code: str) -> Failure:
    """The answer for ``exc``; upstream failures carry the action's own code."""
    if isinstance(exc, BillingActionError):
        return Failure(exc.status, exc.code, str(exc))
    if isinstance(exc, FlowgladAPIError):
        _log_upstream(exc)
    else:
        logger.warning("Flowglad could not be reached: %s", exc)
    if isinstance(exc, FlowgladRateLimited):
        headers = {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return Failure(429, action_code, "Too many billing requests. Try again shortly.", headers)
    if isinstance(exc, FlowgladTimeout):
        return Failure(502, action_code, "Billing did not answer in time. Try again shortly.")
    if isinstance(exc, FlowgladConnectionError):
        return Failure(502, action_code, "Billing could not be reached. Try again shortly.")
    if isinstance(exc, FlowgladAuthenticationError):
        return Failure(502, action_code, "Billing is not configured correctly on the server.")
    if isinstance(exc, FlowgladNotFound):
        return Failure(404, action_code, "Not found.")
    if isinstance(exc, FlowgladConflict):
        return Failure(409, action_code, "The request conflicts with the current billing state.")
    if isinstance(exc, FlowgladBadRequest):
        return Failure(400, action_code, "Billing rejected the request.")
    return Failure(502, action_code, "Billing is unavailable. Try again shortly.")


def _log_upstream(exc: FlowgladAPIError) -> None:
    level = logging.ERROR if exc.status in (401, 403) or exc.status >= 500 else logging.WARNING
    logger.log(level, "Flowglad answered %s (request id %s): %s", exc.status, exc.request_id, exc)
