"""A total time budget for every Flowglad call made inside a block.

A browser request should not wait on Flowglad for longer than the app allows, however
many calls, retries and ``Retry-After`` waits it takes::

    with request_deadline(8.0):
        billing = customer.get_billing()
        customer.create_usage_event(...)

The deadline lives in a :class:`~contextvars.ContextVar` as an absolute
:func:`time.monotonic` instant, so it follows the code that runs in the block (asyncio
tasks started inside get a copy; a plain thread starts without one, unless it runs in
``contextvars.copy_context()``) and a nested block can only shorten it.
Flask-free: the blueprint and ``@feature_required`` open one per request; scripts may
open their own, and the client bounds each call by its own ``total_timeout`` anyway.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_deadline", "request_deadline", "time_remaining"]

_deadline: ContextVar[float | None] = ContextVar("flask_flowglad_deadline", default=None)


@contextmanager
def request_deadline(seconds: float | None) -> Iterator[None]:
    """Give every Flowglad call inside the block at most ``seconds`` in total.

    ``None`` sets no deadline of its own (an outer one still holds). A deadline already
    set that ends sooner is kept: an inner block never extends an outer one.
    """
    if seconds is None:
        yield
        return
    end = time.monotonic() + seconds
    outer = _deadline.get()
    if outer is not None and outer < end:
        end = outer
    token = _deadline.set(end)
    try:
        yield
    finally:
        _deadline.reset(token)


def current_deadline() -> float | None:
    """The :func:`time.monotonic` instant the current block ends, or ``None``."""
    return _deadline.get()


def time_remaining() -> float | None:
    """Seconds left before the current deadline (0 once it passed), or ``None``
    outside any :func:`request_deadline` block."""
    end = _deadline.get()
    if end is None:
        return None
    return max(0.0, end - time.monotonic())
