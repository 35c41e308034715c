"""The ``/api/flowglad/<subroute>`` endpoint the React SDK talks to.

One catch-all view looks the subroute up in :data:`~flask_flowglad.actions.ACTIONS`, then
checks method, content type, the customer and the body, in that order, before any
upstream call. It knows nothing of Flowglad's HTTP API: handlers call the per-customer
service, and failures are mapped to statuses by :mod:`flask_flowglad.failures`.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, request
from marshmallow import ValidationError

from . import envelope
from .actions import ACTIONS, Action, ActionContext
from .deadline import request_deadline
from .errors import FlowgladError
from .extension import Flowglad, get_extension
from .failures import describe_failure
from .identity import CustomerIdentity, InvalidCustomerId
from .schemas import validation_issues

logger = logging.getLogger("flask_flowglad")

#: Methods routed to the view so that a wrong one gets a JSON 405, not an HTML page.
ROUTED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_blueprint() -> Blueprint:
    """A new blueprint for one app; the app's ``FLOWGLAD_URL_PREFIX`` mounts it."""
    blueprint = Blueprint("flowglad", __name__)
    blueprint.add_url_rule(
        "/<path:subroute>", "action", dispatch, methods=ROUTED_METHODS, strict_slashes=False
    )
    return blueprint


def dispatch(subroute: str) -> Response:
    key = "/".join(segment for segment in subroute.split("/") if segment)
    action = ACTIONS.get(key)
    if action is None:
        return envelope.failure(404, "not_found", f'"{key}" is not a valid Flowglad API path')
    if request.method not in action.methods:
        return envelope.failure(
            405,
            "method_not_allowed",
            "Method not allowed",
            headers={"Allow": ", ".join(sorted(action.methods))},
        )
    body = _read_body()
    if isinstance(body, Response):
        return body
    extension = get_extension()
    try:
        identity = _resolve_identity(extension, action)
    except InvalidCustomerId as exc:
        logger.error("The customer loader returned an unusable id: %s", exc)
        return envelope.failure(500, "invalid_customer_id", "The customer id is not usable.")
    if identity is None and action.requires_customer:
        if action.null_when_logged_out and extension.settings.null_billing_when_logged_out:
            return envelope.success(None)
        return envelope.failure(401, "UNAUTHORIZED", "Not authenticated")
    try:
        params = action.validator.load(body)
    except ValidationError as exc:
        return envelope.failure(
            400,
            "VALIDATION_ERROR",
            "The request body is not valid.",
            details={"issues": validation_issues(exc)},
        )
    customer = None if identity is None else extension.for_identity(identity)
    context = ActionContext(extension, customer, action.validator)
    try:
        with request_deadline(extension.settings.request_deadline):
            data = action.handler(context, params)
    except FlowgladError as exc:
        failure = describe_failure(exc, action.failure_code(context))
        return envelope.failure(
            failure.status, failure.code, failure.message, headers=failure.headers
        )
    try:
        return envelope.success(data)
    except ValueError:
        # Flowglad sent a number JSON cannot carry (NaN, Infinity).
        logger.exception("Flowglad's answer to %r could not be written as JSON", key)
        return envelope.failure(
            502, action.failure_code(context), "Flowglad's answer was invalid."
        )


def _read_body() -> dict[str, object] | Response:
    """The JSON object sent, ``{}`` for an empty body; GET carries no body."""
    if request.method == "GET":
        return {}
    if request.mimetype != "application/json":
        return envelope.failure(
            415,
            "unsupported_media_type",
            "Send the body as JSON (Content-Type: application/json).",
        )
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        return envelope.failure(400, "VALIDATION_ERROR", "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return envelope.failure(400, "VALIDATION_ERROR", "The request body must be a JSON object.")
    return body


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _resolve_identity(extension: Flowglad, action: Action) -> CustomerIdentity | None:
    if action.requires_customer:
        return extension.current_identity()
    # A page that works for anonymous visitors treats a failing loader as anonymous.
    try:
        return extension.current_identity()
    except Exception:  # noqa: BLE001
        logger.warning("The customer loader failed; answering as anonymous", exc_info=True)
        return None
