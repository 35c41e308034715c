"""The ``/api/flowglad/<subroute>`` endpoint the React SDK talks to.

One catch-all view looks the subroute up in :data:`~flask_flowglad.protocol.actions.ACTIONS`,
then checks method, content type, body size and shape, the customer, what the app's
billing authorizer allows the user, and the body's values, in that order, before any
upstream call. It knows nothing of Flowglad's HTTP API: handlers
call the per-customer service, and :mod:`~flask_flowglad.protocol.answers` turns failures
into statuses. Whatever goes wrong, the answer is the JSON envelope, never an HTML page.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from .. import envelope
from ..deadline import request_deadline
from ..errors import ConfigurationError, FlowgladError, InvalidCustomerId
from ..identity import CustomerIdentity
from ..state import FlowgladState, get_state
from . import answers
from .actions import ACTIONS, Action, ActionContext, stale_headers
from .schemas import validation_issues

logger = logging.getLogger("flask_flowglad")

#: Methods routed to the view so that a wrong one gets a JSON 405, not an HTML page;
#: ``OPTIONS`` too, so that it names the action's own methods (see :func:`options`).
ROUTED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: Deepest nesting of objects and arrays a body may have; the React SDK sends 3.
MAX_DEPTH = 32


class BadBody(Exception):
    """The body cannot be read as a JSON object: its status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_blueprint() -> Blueprint:
    """A new blueprint for one app; the app's ``FLOWGLAD_URL_PREFIX`` mounts it."""
    blueprint = Blueprint("flowglad", __name__)
    blueprint.add_url_rule(
        "/<path:subroute>", "action", dispatch, methods=ROUTED_METHODS, strict_slashes=False
    )
    blueprint.before_app_request(answer_routing_failures)
    return blueprint


def answer_routing_failures() -> Response | None:
    """Answer, in the envelope, what the router could not route under the prefix: a
    method no rule lists (``TRACE``), an empty subroute, ``//`` (a redirect otherwise).
    Such failures happen before any blueprint is chosen, so an error handler of this
    blueprint would never see them; other paths are left to the app."""
    if request.routing_exception is None:
        return None
    prefix = get_state().settings.url_prefix
    if request.path != prefix and not request.path.startswith(prefix + "/"):
        return None
    return dispatch(request.path[len(prefix) :])


def dispatch(subroute: str) -> Response:
    """Answer one React SDK call; an unexpected error is a 500 envelope, logged."""
    try:
        return _dispatch(subroute)
    except Exception:
        logger.exception("flask-flowglad failed on %r", request.path)
        return envelope.failure(500, "internal_error", "Billing failed on the server.")


def _dispatch(subroute: str) -> Response:
    key = "/".join(segment for segment in subroute.split("/") if segment)
    action = ACTIONS.get(key)
    if action is None:
        message = f'"{key[:100]}" is not a valid Flowglad API path'
        return envelope.failure(404, "not_found", message)
    if request.method == "OPTIONS":
        return options(action)
    if request.method not in action.methods:
        return envelope.failure(
            405,
            "method_not_allowed",
            "Method not allowed",
            headers={"Allow": ", ".join(sorted(action.methods))},
        )
    state = get_state()
    try:
        body = _read_body(state.settings.max_body_bytes)
    except BadBody as bad:
        return envelope.failure(bad.status, bad.code, bad.message)
    try:
        identity = _resolve_identity(state, action)
    except InvalidCustomerId as exc:
        logger.error("The customer loader returned an unusable id: %s", exc)
        return envelope.failure(500, "invalid_customer_id", "The customer id is not usable.")
    except ConfigurationError as exc:
        # Said to the developer in the browser too: no customer can ever be found.
        logger.error("%s", exc)
        return envelope.failure(500, "configuration_error", str(exc))
    if identity is None and action.requires_customer:
        if action.null_when_logged_out and state.settings.null_billing_when_logged_out:
            return envelope.success(None)
        return envelope.failure(401, "unauthorized", "Not authenticated")
    if identity is not None and action.permission is not None:
        # The app's authorizer, before the body is read further or Flowglad is asked.
        allowed = state.allowed_actions(identity)
        if action.permission not in allowed:
            message = f"Your role does not allow this billing action ({action.permission})."
            return envelope.failure(403, "forbidden", message)
    try:
        params = action.validator.load(body)
    except ValidationError as exc:
        return envelope.failure(
            400,
            "validation_error",
            "The request body is not valid.",
            details={"issues": validation_issues(exc)},
        )
    customer = None if identity is None else state.for_identity(identity)
    context = ActionContext(state, customer)
    try:
        with request_deadline(state.settings.request_deadline):
            data = action.handler(context, params)
    except FlowgladError as exc:
        return answers.failure_for(exc, action.failure_code(context))
    try:
        response = envelope.success(data)
    except ValueError:
        # Flowglad sent a number JSON cannot carry (NaN, Infinity).
        logger.error("Flowglad's answer to %r could not be written as JSON", key)
        return envelope.failure(502, action.failure_code(context), "Billing's answer was invalid.")
    response.headers.update(stale_headers(context))
    return response


def options(action: Action) -> Response:
    """``OPTIONS`` (a CORS preflight among others): the methods this action accepts, not
    every method the catch-all route is open to. CORS headers are flask-cors's to add."""
    response = current_app.response_class(status=200)
    response.headers["Allow"] = ", ".join(sorted(action.methods | {"OPTIONS"}))
    return response


def _read_body(limit: int) -> dict[str, Any]:
    """The JSON object sent, ``{}`` for an empty body; GET carries no body.

    Read at most ``limit`` bytes, and checked for depth and unicode before anything
    else looks at it, so a hostile body costs little and never reaches Flowglad.
    """
    if request.method == "GET":
        return {}
    if request.mimetype != "application/json":
        raise BadBody(
            415,
            "unsupported_media_type",
            "Send the body as JSON (Content-Type: application/json).",
        )
    if request.content_length is not None and request.content_length > limit:
        raise BadBody(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise BadBody(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    if not raw.strip():
        return {}
    try:
        body = json.loads(
            raw,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_members,
        )
    except DuplicateMember as duplicate:
        raise BadBody(400, "validation_error", str(duplicate)) from None
    except (ValueError, RecursionError):
        raise BadBody(400, "validation_error", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadBody(400, "validation_error", "The request body must be a JSON object.")
    problem = json_problem(body, MAX_DEPTH)
    if problem is not None:
        raise BadBody(400, "validation_error", problem)
    return body


def json_problem(value: Any, max_depth: int) -> str | None:
    """Why a parsed JSON value cannot be used, or ``None``: too deep, or a string that
    is not valid unicode (a lone surrogate, which no URL or upstream body can carry).

    Iterative, so a deep value cannot exhaust the stack.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return "The request body has a string that is not valid unicode."
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                return f"The request body is nested deeper than {max_depth} levels."
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


class DuplicateMember(ValueError):
    """A member named twice in one object: parsers disagree on which one wins, so the
    body is refused rather than read one way here and another way elsewhere."""


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise DuplicateMember("The request body names a member twice.")
    return members


def _finite_float(text: str) -> float:
    """``1e999`` is valid JSON that Python reads as infinity, which JSON cannot carry."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is out of range")
    return number


def _resolve_identity(state: FlowgladState, action: Action) -> CustomerIdentity | None:
    if action.requires_customer:
        return state.identify()
    # A page that works for anonymous visitors treats a failing loader as anonymous.
    try:
        return state.identify()
    except Exception:  # noqa: BLE001
        logger.warning("The customer loader failed; answering as anonymous", exc_info=True)
        return None
