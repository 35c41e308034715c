"""Metered views in one line: ``@metered("api_calls")``.

Before the view: the customer must have the balance (Flowglad's, minus usage recorded and
not yet sent). After it: a success (a status below 400) records the usage in the outbox;
a failure records nothing. No Flowglad call is made for the usage itself, and the balance
comes from the request's or the shared billing cache when they have it.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from .access import BillingUnavailable, _json_error, _require_async_support, _unauthorized
from .deadline import request_deadline
from .errors import FlowgladError, UsageOutboxUnavailable, is_outage
from .service import CustomerBilling
from .state import get_state

logger = logging.getLogger("flask_flowglad")

ViewT = TypeVar("ViewT", bound=Callable[..., Any])
LimitHandler = Callable[[str, int], ResponseReturnValue]


class UsageLimitReached(HTTPException):
    """The customer's balance on a meter cannot cover a metered call: **402 Payment
    Required**, as :exc:`~flask_flowglad.FeatureNotAvailable`. An app's error handler
    for it (or for 402) renders it in the app's own format; when the request wants JSON
    and nothing handles it, the body is the ``{data, error}`` envelope with the code
    ``usage_limit_reached``.

    .. versionadded:: 0.1
    """

    code = 402
    description = "Your plan's usage for this is used up."

    def __init__(self, meter_slug: str, available: int, amount: int) -> None:
        super().__init__(f"This needs {amount} of {meter_slug!r} and {max(available, 0)} is left.")
        self.meter_slug = meter_slug
        self.available = available
        self.amount = amount
        details = {"meter": meter_slug, "available": max(available, 0), "amount": amount}
        self.response = _json_error(self, "usage_limit_reached", details)


def metered(
    meter_slug: str,
    amount: int = 1,
    *,
    overage: bool = False,
    on_limit: LimitHandler | None = None,
    transaction_id: Callable[[], str | None] | None = None,
) -> Callable[[ViewT], ViewT]:
    """Meter a view on ``meter_slug``: ``amount`` per successful call.

    - Nobody logged in (by the extension's customer loader, which may read an API token):
      flask-login's unauthorized handling, or 401.
    - The balance minus pending usage is below ``amount``: ``on_limit(meter_slug,
      available)`` when given, else :exc:`UsageLimitReached` (402). ``overage=True``
      never refuses (the plan bills usage beyond its credits).
    - The view answers below 400: the usage is recorded in the outbox, in a transaction
      of its own (the view's own transaction has ended by then). An exception or an
      answer of 400 or more records nothing.
    - Flowglad or the outbox cannot be asked for the balance:
      :exc:`~flask_flowglad.BillingUnavailable` (503) before the view runs, unless
      ``FLOWGLAD_FAIL_OPEN``.

    ``transaction_id`` returns the event's id for the current request (say, from an
    ``Idempotency-Key`` header), so a client's retry is billed once; by default each call
    gets a new one.

    .. versionadded:: 0.1
    """

    def decorator(view: ViewT) -> ViewT:
        if inspect.iscoroutinefunction(view):
            _require_async_support(meter_slug, view)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method == "OPTIONS":
                return current_app.ensure_sync(view)(*args, **kwargs)
            customer = get_state().current_customer()
            if customer is None:
                return _unauthorized()
            if not overage:
                available = _available(customer, meter_slug)
                if available is not None and available < amount:
                    if on_limit is not None:
                        return on_limit(meter_slug, available)
                    raise UsageLimitReached(meter_slug, available, amount)
            response = current_app.make_response(current_app.ensure_sync(view)(*args, **kwargs))
            if response.status_code < 400:
                _record(customer, meter_slug, amount, transaction_id)
            return response

        return cast(ViewT, wrapper)

    return decorator


def _available(customer: CustomerBilling, meter_slug: str) -> int | None:
    """What is left on the meter (``None``: let the view run, the fail-open policy)."""
    state = get_state()
    try:
        with request_deadline(state.settings.request_deadline):
            record = customer.get_billing().check_usage_balance(meter_slug)
    except (FlowgladError, UsageOutboxUnavailable) as exc:
        return _unavailable(meter_slug, exc)
    if record is None:
        return 0
    value = record.get("availableBalance")
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _unavailable(meter_slug: str, exc: Exception) -> int | None:
    outage = not isinstance(exc, FlowgladError) or is_outage(exc)
    if outage and get_state().settings.fail_open:
        logger.warning("Balance of %r unknown, call allowed (fail open): %s", meter_slug, exc)
        return None
    logger.warning("Balance of %r unknown, call refused: %s", meter_slug, exc)
    raise BillingUnavailable() from exc


def _record(
    customer: CustomerBilling,
    meter_slug: str,
    amount: int,
    transaction_id: Callable[[], str | None] | None,
) -> None:
    customer.record_usage(
        meter_slug,
        amount=amount,
        transaction_id=transaction_id() if transaction_id is not None else None,
        own_transaction=True,
    )
