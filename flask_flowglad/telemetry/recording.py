"""What one request did with Flowglad, kept while something records it: the debug toolbar's
panel (:mod:`flask_flowglad.debug_toolbar`) starts a recording when a request starts and
reads it when the page is rendered.

Nothing is kept while nothing records: each hook then reads one context variable.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field, replace

__all__ = [
    "CallRecord",
    "FeatureCheck",
    "Recording",
    "current_recording",
    "feature_checked",
    "start_recording",
    "stop_recording",
]

#: Records kept per request at most: a loop of calls must not grow a page without bound.
MAX_RECORDS = 500


@dataclass(frozen=True)
class CallRecord:
    """One operation: a call to Flowglad, or a read the billing cache answered alone."""

    operation: str
    #: ``None`` when nothing was sent to Flowglad (a billing read the cache answered).
    method: str | None
    path: str | None
    status: int | None
    duration_ms: float
    #: Attempts after the first.
    retries: int
    #: How the shared billing cache answered (``hit``, ``miss``, ...), when it was asked.
    cache: str | None
    request_id: str | None
    #: The error's class when the call failed.
    error: str | None


@dataclass(frozen=True)
class FeatureCheck:
    """One ``check_feature_access`` and its answer."""

    slug: str
    granted: bool
    #: Whether it was asked of a visitor who is not logged in (always refused).
    anonymous: bool = False


@dataclass
class Recording:
    calls: list[CallRecord] = field(default_factory=list)
    checks: list[FeatureCheck] = field(default_factory=list)
    #: Records not kept past :data:`MAX_RECORDS`.
    dropped: int = 0

    def add_call(self, record: CallRecord) -> int | None:
        """Keep ``record``; its index in :attr:`calls`, ``None`` when it was not kept."""
        if len(self.calls) < MAX_RECORDS:
            self.calls.append(record)
            return len(self.calls) - 1
        self.dropped += 1
        return None

    def cache_answered(self, indexes: list[int], result: str) -> None:
        """The shared cache's answer, known once the calls it made to Flowglad ended (a
        miss reads upstream first, and is a miss only then)."""
        for index in indexes:
            self.calls[index] = replace(self.calls[index], cache=result)

    def add_check(self, check: FeatureCheck) -> None:
        if len(self.checks) < MAX_RECORDS:
            self.checks.append(check)
        else:
            self.dropped += 1


_recording: ContextVar[Recording | None] = ContextVar("flask_flowglad_recording", default=None)


def start_recording() -> Recording:
    """Record what the code running in this context does from now on."""
    recording = Recording()
    _recording.set(recording)
    return recording


def stop_recording() -> None:
    """Stop recording in this context (a worker thread serves the next request in it)."""
    _recording.set(None)


def current_recording() -> Recording | None:
    return _recording.get()


def feature_checked(slug: str, granted: bool, billing: object = None) -> None:
    """A feature was checked (of ``billing``): the toolbar lists it with its answer."""
    recording = _recording.get()
    if recording is not None:
        anonymous = bool(getattr(billing, "is_anonymous", False))
        recording.add_check(FeatureCheck(slug, granted, anonymous))
