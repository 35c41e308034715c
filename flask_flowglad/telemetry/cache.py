"""What the shared billing cache tells of each billing read: its result, as an attribute
of the read's span and a count of ``flowglad.billing_cache.lookups``."""

from __future__ import annotations

from .calls import current_operation
from .names import CACHE_RESULT, CACHE_RESULTS
from .otel import api

__all__ = ["billing_cache_lookup"]

_ATTRIBUTES = {result: {CACHE_RESULT: result} for result in CACHE_RESULTS}


def billing_cache_lookup(result: str) -> None:
    """The shared cache answered a billing read: ``hit``, ``miss`` (read from Flowglad),
    ``stale`` (Flowglad failed, a kept entry answered), ``pinned`` (a checkout pinned the
    customer: read from Flowglad) or ``skipped`` (the store failed lately: not asked)."""
    operation = current_operation()
    if operation is not None:
        operation.cache_result = result
    otel = api()
    if otel is not None:
        otel.cache_lookups.add(1, _ATTRIBUTES[result])
