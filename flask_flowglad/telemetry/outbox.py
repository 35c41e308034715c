"""What the usage outbox tells: a span ``flowglad usage_outbox.flush`` per batch a worker
sends (the bulk call's span under it), and three gauges read from the outbox's status
whenever the SDK collects metrics.

A flush that finds nothing to send makes no span: an idle worker polls every second.
"""

from __future__ import annotations

import inspect
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol, TypeVar

from .calls import Operation
from .otel import api

__all__ = ["UsageFlush", "observe", "watch_usage_outbox"]

OPERATION_NAME = "usage_outbox.flush"
ResultT = TypeVar("ResultT")
#: How long one status read serves every gauge: one read per collection, not three.
STATUS_SECONDS = 1.0


class _Status(Protocol):
    pending: int
    oldest_age_seconds: float | None
    dead_letters: int


class StatusSource(Protocol):
    def status(self) -> Any: ...


SourceT = TypeVar("SourceT", bound=StatusSource)


class UsageFlush:
    """One batch of usage events claimed by a worker, until it is settled::

        with UsageFlush(len(claim.events)) as told, request_deadline(budget):
            ...  # resolve and send: the bulk call's span is under the flush's
        return told.settled(settle(claim))

    The span ends when the batch is settled (or when the block raises).
    """

    def __init__(self, claimed: int) -> None:
        attributes = {"flowglad.usage_outbox.claimed": claimed}
        self.operation = Operation(None, OPERATION_NAME, None, attributes)

    def __enter__(self) -> UsageFlush:
        self.operation.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.operation.leave()
        if exc is not None:
            self.operation.finish(exc)

    def settled(self, result: ResultT) -> ResultT:
        """What became of the batch (a result with ``sent``, ``retried`` and ``dead``
        counts): the span's last attributes; the result is handed back."""
        for name in ("sent", "retried", "dead"):
            self.operation.set(f"flowglad.usage_outbox.{name}", getattr(result, name, None))
        self.operation.finish()
        return result


class _Watched:
    """An outbox, what its status is read in, its last status and when it was read."""

    def __init__(self, outbox: StatusSource, context: Callable[[], Any] | None) -> None:
        self.outbox = weakref.ref(outbox)
        # Held weakly when it is an object's method (an app's app_context): watching an
        # outbox keeps neither it nor its app alive.
        self.context: Callable[[], Callable[[], Any] | None] | None = None
        if inspect.ismethod(context):
            self.context = weakref.WeakMethod(context)
        elif context is not None:
            self.context = lambda: context
        self.name = type(outbox).__name__
        self.status: _Status | None = None
        self.read_at = 0.0
        self.lock = threading.Lock()

    def current(self) -> _Status | None:
        outbox = self.outbox()
        if outbox is None:
            return None
        with self.lock:
            if time.monotonic() - self.read_at > STATUS_SECONDS:
                self.status, self.read_at = self._read(outbox), time.monotonic()
            return self.status

    def _read(self, outbox: StatusSource) -> Any:
        if self.context is None:
            return outbox.status()
        context = self.context()
        if context is None:
            return None  # its app is gone
        with context():
            return outbox.status()


_watched: list[_Watched] = []
_watched_lock = threading.Lock()
#: Each gauge: its name, unit, the status field it reads, and what it says.
GAUGES = (
    ("flowglad.usage_outbox.pending", "{event}", "pending", "Usage events not yet sent."),
    (
        "flowglad.usage_outbox.oldest_age",
        "s",
        "oldest_age_seconds",
        "Age of the oldest usage event not yet sent.",
    ),
    (
        "flowglad.usage_outbox.dead_letters",
        "{event}",
        "dead_letters",
        "Usage events Flowglad refused for good, waiting for an operator.",
    ),
)
_gauges: list[object] = []


def watch_usage_outbox(
    outbox: SourceT, context: Callable[[], AbstractContextManager[Any]] | None = None
) -> SourceT:
    """Report ``outbox``'s pending count, oldest age and dead letters as gauges (the SDK
    asks for them when it collects; nothing is read before); ``outbox`` is handed back.

    ``context`` makes what its status is read in: an app's ``app_context`` for an outbox
    in Flask-SQLAlchemy's ``db``, whose engine exists only in one (an exporter collects
    from a thread of its own)."""
    with _watched_lock:
        _watched[:] = [w for w in _watched if w.outbox() is not None]
        if not any(w.outbox() is outbox for w in _watched):
            _watched.append(_Watched(outbox, context))
        otel = api()
        if otel is not None and not _gauges:
            _gauges.extend(_create_gauges(otel.meter))
    return outbox


def _create_gauges(meter: Any) -> list[object]:
    from opentelemetry.metrics import CallbackOptions, Observation

    def reading(field: str) -> Any:
        def callback(options: CallbackOptions) -> list[Observation]:
            return [Observation(value, attributes) for value, attributes in observe(field)]

        return callback

    return [
        meter.create_observable_gauge(
            name, callbacks=[reading(field)], unit=unit, description=description
        )
        for name, unit, field, description in GAUGES
    ]


def observe(field: str) -> Iterator[tuple[float, dict[str, str]]]:
    """``(value, attributes)`` of each watched outbox's ``field``; an outbox whose status
    cannot be read is left out of this collection."""
    with _watched_lock:
        watched = list(_watched)
    for entry in watched:
        try:
            status = entry.current()
        except Exception:  # noqa: BLE001 - a store that is down reports nothing, no error
            continue
        value = getattr(status, field, None) if status is not None else None
        if value is not None:
            yield float(value), {"flowglad.usage_outbox.store": entry.name}
