"""What a billing read through the shared billing cache tells: a span
``flowglad customers.billing.read`` around the cache (on a miss, the upstream call joins
it), how the cache answered as its attribute, and a count of
``flowglad.billing_cache.lookups``; a read served stale while Flowglad fails, an event and
a log line more."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, TypeVar

from .calls import ClientTelemetry, Operation, current_operation, log
from .names import CACHE_RESULT, CACHE_RESULTS, CUSTOMER_HASH, STALE_AGE, STALE_REASON
from .otel import api

__all__ = ["BillingRead", "billing_cache_lookup", "billing_served_stale"]

OPERATION_NAME = "customers.billing.read"
_ATTRIBUTES = {result: {CACHE_RESULT: result} for result in CACHE_RESULTS}
#: The cache's own names of its answers, where they are not ours.
_RESULTS = {"bypass": "pinned"}

LookupT = TypeVar("LookupT")


class BillingRead:
    """One billing read through the shared cache::

    with client.telemetry.billing_read(external_id) as read:
        lookup = read.found(cache.read(external_id, load))
    """

    def __init__(self, telemetry: ClientTelemetry, external_id: str) -> None:
        self.operation = Operation(telemetry, OPERATION_NAME, external_id)

    def __enter__(self) -> BillingRead:
        self.operation.__enter__()
        return self

    def found(self, lookup: LookupT) -> LookupT:
        """The cache's answer (its ``outcome``'s value names how it was found)."""
        outcome: Any = getattr(lookup, "outcome", None)
        value = str(getattr(outcome, "value", outcome))
        billing_cache_lookup(_RESULTS.get(value, value))
        return lookup

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.operation.__exit__(exc_type, exc, tb)


def billing_cache_lookup(result: str) -> None:
    """The shared cache answered a billing read: ``hit``, ``miss`` (read from Flowglad),
    ``stale`` (Flowglad failed, a kept entry answered), ``pinned`` (a checkout pinned the
    customer: read from Flowglad) or ``skipped`` (the store failed lately: not asked)."""
    operation = current_operation()
    if operation is not None:
        operation.cache_result = result
    otel = api()
    if otel is not None:
        otel.cache_lookups.add(1, _ATTRIBUTES.get(result) or {CACHE_RESULT: result})


def billing_served_stale(age: float, reason: str) -> None:
    """The shared cache answered from an entry past its TTL because Flowglad failed
    (``reason``): the read's span gets the entry's age and the reason, as attributes and
    as an event, and one line at INFO says it, naming the customer by its hash only."""
    operation = current_operation()
    fields = {
        CACHE_RESULT: "stale",
        STALE_AGE: round(age, 1),
        STALE_REASON: reason,
        CUSTOMER_HASH: operation.customer_hash if operation is not None else None,
    }
    if operation is not None and operation.span is not None:
        operation.set(STALE_AGE, fields[STALE_AGE])
        operation.set(STALE_REASON, reason)
        operation.span.add_event("flowglad.billing_cache.served_stale", {STALE_AGE: age})
    log(logging.INFO, "billing served stale", fields)
