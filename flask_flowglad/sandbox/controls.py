"""Test controls over HTTP: what the pytest helpers do, for suites in any language.

They live under :data:`CONTROLS_PREFIX`, apart from Flowglad's ``/api/v1``, need the
sandbox's secret key like the API, are never failed by a queued fault and are not recorded
in :attr:`Sandbox.calls <flask_flowglad.sandbox.Sandbox.calls>`. Each route calls the
:class:`~flask_flowglad.sandbox.Sandbox` helper of the same name, so the two cannot drift.

========================================================  =====================================
``POST /_sandbox/v1/reset``                               forget records, calls, deliveries
``POST /_sandbox/v1/customers``                           ``{externalId, name?, email?}``
``POST /_sandbox/v1/customers/{externalId}/plan``          ``{priceSlug, quantity?}``
``POST /_sandbox/v1/customers/{externalId}/usage``         ``{slug, amount?, subscriptionId?,
                                                          transactionId?}``
``POST /_sandbox/v1/checkout-sessions/{id}/complete``      ``{cardNumber?}``: pay
``POST /_sandbox/v1/checkout-sessions/{id}/decline``       a declined card: the session stays open
``POST /_sandbox/v1/checkout-sessions/{id}/expire``        it can no longer be paid
``POST /_sandbox/v1/billing-periods/advance``             ``{subscriptionId}`` or
                                                          ``{customerExternalId}``
``GET /_sandbox/v1/clock``                                ``{now}``: the sandbox's time
``POST /_sandbox/v1/clock``                               ``{days?, hours?, minutes?,
                                                          seconds?}``: move it forward
``POST /_sandbox/v1/faults``                              ``{status, times?, method?, path?,
                                                          body?}``: fail the next calls
``GET /_sandbox/v1/calls``                                the API calls answered so far
========================================================  =====================================
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import unquote

from . import limits
from .api import Call
from .errors import SandboxError, bad_request, not_found
from .ids import new_id
from .records import Record
from .wire import Response, check_key, json_answer, new_request_id, parse_body

CONTROLS_PREFIX = "/_sandbox/v1"
#: The longest a control moves the clock at once (ten years, in seconds).
MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600


class Driver(Protocol):
    """The helpers of :class:`~flask_flowglad.sandbox.Sandbox` the controls call."""

    secret_key: str

    @property
    def calls(self) -> Sequence[Call]: ...

    def reset(self) -> None: ...

    def create_customer(self, external_id: str, *, name: str = "", email: str = "") -> Record: ...

    def put_customer_on_plan(
        self, external_id: str, price_slug: str, *, quantity: int = 1
    ) -> Record: ...

    def record_usage(
        self,
        external_id: str,
        slug: str,
        amount: int = 1,
        *,
        subscription_id: str | None = None,
        transaction_id: str | None = None,
    ) -> Record: ...

    def complete_checkout(self, session_id: str, *, card_number: str = ...) -> Record: ...

    def decline_checkout(self, session_id: str) -> Record: ...

    def expire_checkout(self, session_id: str) -> Record: ...

    def advance_billing_period(self, target: str) -> list[Record]: ...

    def now(self) -> int: ...

    def advance_time(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> dict[str, Any]: ...

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        body: bytes | str | None = None,
    ) -> None: ...


Handler = Callable[[Driver, list[str], Record], Any]


def handle(
    sandbox: Driver, method: str, path: str, body: bytes, headers: Mapping[str, str]
) -> Response:
    """Answer one control request (``path`` starts with :data:`CONTROLS_PREFIX`)."""
    request_id = new_request_id()
    base_headers = {"X-Request-Id": request_id, "X-Trace-Id": new_id("trace")[-16:]}
    refused = check_key(headers, sandbox.secret_key, base_headers)
    if refused is not None:
        return refused

    def run() -> tuple[int, Any]:
        payload = parse_body(body)
        if isinstance(payload, SandboxError):
            raise payload
        if not isinstance(payload, dict):
            raise bad_request("Expected a JSON object")
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path[len(CONTROLS_PREFIX) :].rstrip("/"))
            if match and route_method == method.upper():
                try:
                    params = [unquote(group) for group in match.groups()]
                    return 200, handler(sandbox, params, payload)
                except ValueError as exc:  # a helper's "no such price", "no plan"
                    raise bad_request(str(exc)) from None
        raise not_found(f"No sandbox control {method.upper()} {path}")

    return json_answer(run, request_id, base_headers)


# arguments --------------------------------------------------------------------------------


def _text(body: Record, key: str, *, required: bool = True, limit: int = limits.MAX_ID) -> Any:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise bad_request(f"{key} must be a non-empty string of at most {limit} characters")
    return value


def _int(body: Record, key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad_request(f"{key} must be an integer from {low} to {high}")
    return value


# routes -----------------------------------------------------------------------------------


def _reset(sandbox: Driver, params: list[str], body: Record) -> Any:
    sandbox.reset()
    return {"reset": True}


def _customer(sandbox: Driver, params: list[str], body: Record) -> Any:
    name = _text(body, "name", required=False, limit=limits.MAX_STRING) or ""
    email = _text(body, "email", required=False, limit=limits.MAX_STRING) or ""
    return {"customer": sandbox.create_customer(_text(body, "externalId"), name=name, email=email)}


def _plan(sandbox: Driver, params: list[str], body: Record) -> Any:
    quantity = _int(body, "quantity", 1, 1, limits.MAX_QUANTITY)
    result = sandbox.put_customer_on_plan(params[0], _text(body, "priceSlug"), quantity=quantity)
    return {"purchase" if result["id"].startswith("prch_") else "subscription": result}


def _usage(sandbox: Driver, params: list[str], body: Record) -> Any:
    event = sandbox.record_usage(
        params[0],
        _text(body, "slug"),
        _int(body, "amount", 1, 1, limits.MAX_AMOUNT),
        subscription_id=_text(body, "subscriptionId", required=False),
        transaction_id=_text(body, "transactionId", required=False),
    )
    return {"usageEvent": event}


def _complete(sandbox: Driver, params: list[str], body: Record) -> Any:
    card = _text(body, "cardNumber", required=False, limit=32)
    if card is None:
        return {"checkoutSession": sandbox.complete_checkout(params[0])}
    return {"checkoutSession": sandbox.complete_checkout(params[0], card_number=card)}


def _decline(sandbox: Driver, params: list[str], body: Record) -> Any:
    return {"checkoutSession": sandbox.decline_checkout(params[0]), "declined": True}


def _expire(sandbox: Driver, params: list[str], body: Record) -> Any:
    return {"checkoutSession": sandbox.expire_checkout(params[0])}


def _advance(sandbox: Driver, params: list[str], body: Record) -> Any:
    target = _text(body, "subscriptionId", required=False) or _text(
        body, "customerExternalId", required=False
    )
    if target is None:
        raise bad_request("Provide subscriptionId or customerExternalId")
    return {"subscriptions": sandbox.advance_billing_period(target)}


def _clock(sandbox: Driver, params: list[str], body: Record) -> Any:
    return {"now": sandbox.now()}


def _advance_clock(sandbox: Driver, params: list[str], body: Record) -> Any:
    """Move the sandbox's time forward by the sum of the units given."""
    amounts = {}
    for unit in ("days", "hours", "minutes", "seconds"):
        value = body.get(unit, 0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise bad_request(f"{unit} must be a number of at least 0")
        amounts[unit] = value
    total = ((amounts["days"] * 24 + amounts["hours"]) * 60 + amounts["minutes"]) * 60
    total += amounts["seconds"]
    if not 0 < total <= MAX_ADVANCE_SECONDS:
        raise bad_request("Move the clock forward by more than 0 and at most ten years")
    return sandbox.advance_time(**amounts)


def _faults(sandbox: Driver, params: list[str], body: Record) -> Any:
    status = _int(body, "status", 500, 100, 599)
    times = _int(body, "times", 1, 1, limits.MAX_FAULT_TIMES)
    method = _text(body, "method", required=False, limit=16)
    path = _text(body, "path", required=False, limit=limits.MAX_STRING)
    raw = body.get("body")
    if raw is not None and not isinstance(raw, (str, dict, list)):
        raise bad_request("body must be a string or JSON")
    fault_body = raw if raw is None or isinstance(raw, str) else json.dumps(raw)
    sandbox.fail_next(status, times=times, method=method, path=path, body=fault_body)
    return {"status": status, "times": times}


def _calls(sandbox: Driver, params: list[str], body: Record) -> Any:
    return {"calls": [dataclasses.asdict(call) for call in sandbox.calls]}


_SEGMENT = f"([^/]{{1,{limits.MAX_ID}}})"
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(pattern.replace("{}", _SEGMENT)), handler)
    for method, pattern, handler in [
        ("POST", "/reset", _reset),
        ("POST", "/customers", _customer),
        ("POST", "/customers/{}/plan", _plan),
        ("POST", "/customers/{}/usage", _usage),
        ("POST", "/checkout-sessions/{}/complete", _complete),
        ("POST", "/checkout-sessions/{}/decline", _decline),
        ("POST", "/checkout-sessions/{}/expire", _expire),
        ("POST", "/billing-periods/advance", _advance),
        ("GET", "/clock", _clock),
        ("POST", "/clock", _advance_clock),
        ("POST", "/faults", _faults),
        ("GET", "/calls", _calls),
    ]
]
