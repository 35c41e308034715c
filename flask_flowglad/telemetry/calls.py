"""What each Flowglad operation and call tells: a span, a metric, a log line, a toolbar record.

Three nested steps, each a context manager the code around it opens:

* :class:`Operation`: one logical operation, a span ``flowglad <operation>``. A billing read
  through the shared cache opens one around the cache; the client opens one per call
  unless the current operation is the same one (the cache's miss, read upstream);
* :class:`Call`: one call of :class:`~flask_flowglad.client.FlowgladClient`: the
  ``flowglad.client.request.duration`` histogram, one log line, one toolbar record;
* :class:`Attempt`: one HTTP request of a call: a client span with OpenTelemetry's HTTP
  attributes, unless ``opentelemetry-instrumentation-requests`` makes that span: then its
  span is the one, under ours, and :meth:`Attempt.adopt_foreign_span` takes the
  customer's id out of its URL and adds the resend count it cannot know.

Spans never record an exception's message (Flowglad's messages name customers): a failure
sets the span's status and ``error.type``, the exception's class.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
from contextvars import ContextVar
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urlsplit

from .names import (
    ATTEMPTS,
    CACHE_RESULT,
    CUSTOMER_HASH,
    DURATION_MS,
    ERROR_TYPE,
    HTTP_METHOD,
    HTTP_STATUS,
    OPERATION,
    REQUEST_ID,
    STATUS_CLASS,
    URL_PATH,
    WEBHOOK_ID,
    WEBHOOK_OBJECT,
    WEBHOOK_OUTCOME,
)
from .operations import REDACTED, route_of, shown_base_url, shown_path
from .otel import api, semconv_mode
from .recording import CallRecord, current_recording

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.trace import Span


__all__ = ["Attempt", "Call", "ClientTelemetry", "Operation", "log", "logger"]

#: One line per call at DEBUG, per failure at WARNING; its fields are the span's names.
logger = logging.getLogger("flask_flowglad.telemetry")
# Written where the app's logging sends them, and nowhere without it: a script or the
# command line with no logging set up does not print every failed call on stderr (the
# package's own warnings about failures still do).
logger.addHandler(logging.NullHandler())

#: Flowglad's answers about the request itself, which the caller handles (a 404 is how a
#: customer not created yet is found): logged at DEBUG like a success. Any other failure
#: (no answer, a timeout, a 5xx, a 429, a refused key, a redirect) is a WARNING.
ANSWERS = frozenset({400, 404, 409, 422})

ResponseT = TypeVar("ResponseT")

_operation: ContextVar[Operation | None] = ContextVar("flask_flowglad_operation", default=None)
_call: ContextVar[Call | None] = ContextVar("flask_flowglad_call", default=None)
_attempt: ContextVar[Attempt | None] = ContextVar("flask_flowglad_attempt", default=None)


def error_type(exc: BaseException) -> str:
    """``error.type`` of an exception: its class's own name, or what it says it is."""
    return str(getattr(exc, "error_type", None) or type(exc).__qualname__)


def current_operation() -> Operation | None:
    return _operation.get()


class ClientTelemetry:
    """The hooks of one :class:`~flask_flowglad.client.FlowgladClient`: what its calls
    tell, and the keyed hash that names its customers.

    The hash is an HMAC keyed by a key derived from the secret key, so it is the same in
    every process of the app, and cannot be reversed by guessing ids without the key:
    ``flowglad.client.telemetry.customer_hash("user-42")`` finds that customer's spans and
    log lines.
    """

    def __init__(self, secret_key: str, base_url: str) -> None:
        label = b"flask-flowglad telemetry: customer"
        self._hash_key = hmac.new(secret_key.encode(), label, hashlib.sha256).digest()
        self.base_url = base_url.rstrip("/")
        self.shown_base_url = shown_base_url(self.base_url)
        parts = urlsplit(self.base_url)
        self.server_address = parts.hostname
        self.server_port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)

    def __repr__(self) -> str:
        return f"<ClientTelemetry {self.shown_base_url!r}>"

    def customer_hash(self, external_id: str) -> str:
        """The customer as spans, metrics and log lines name it: 16 hex digits."""
        data = external_id.encode("utf-8", "surrogatepass")
        return hmac.new(self._hash_key, data, hashlib.sha256).hexdigest()[:16]

    def call(self, method: str, path: str, body: Any = None) -> Call:
        """Around one call of the client, all its attempts and waits included."""
        return Call(self, method, path, body)

    def attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | None] | None,
    ) -> Attempt:
        """Around one HTTP request of the current call."""
        return Attempt(self, method, url, params)

    def retrying(
        self, method: str, path: str, reason: str, wait: float, retry: int, limit: int
    ) -> None:
        """A call is about to wait ``wait`` seconds, then send its request again."""
        logger.info(
            "Retrying %s %s after %s in %.2fs (retry %d of %d).",
            method,
            shown_path(path),
            reason,
            wait,
            retry,
            limit,
        )
        operation = _operation.get()
        if operation is not None and operation.span is not None:
            attributes: dict[str, Any] = {"flowglad.retry.reason": reason}
            attributes["flowglad.retry.wait_s"] = wait
            operation.span.add_event("flowglad.retry", attributes)

    def observe_session(self, session: Any) -> None:
        """Let each attempt see, from inside ``Session.send``, the HTTP span another
        instrumentation made for it (see :meth:`Attempt.adopt_foreign_span`).

        ``Session.get_adapter`` is the one step of ``send`` that runs for every request
        whatever the transport, inside opentelemetry-instrumentation-requests' span: this
        session's is wrapped (the class's, looked up at each call, does the work).
        """
        if api() is None:
            return

        def get_adapter(url: str) -> Any:
            attempt = _attempt.get()
            if attempt is not None:
                attempt.adopt_foreign_span()
            return type(session).get_adapter(session, url)

        session.get_adapter = get_adapter


class Operation:
    """One logical operation, a span ``flowglad <name>`` while it runs."""

    __slots__ = (
        "telemetry",
        "name",
        "customer",
        "attributes",
        "cache_result",
        "has_call",
        "failure",
        "span",
        "recorded",
        "_hash",
        "_started",
        "_context_token",
        "_token",
    )

    def __init__(
        self,
        telemetry: ClientTelemetry | None,
        name: str,
        customer: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.telemetry = telemetry
        self.name = name
        self.customer = customer
        self.attributes = attributes or {}
        #: How the shared billing cache answered, when it was asked.
        self.cache_result: str | None = None
        #: Whether a call of the client ran as (part of) this operation.
        self.has_call = False
        #: ``error.type`` of a failure that raised nothing (a webhook answered 500).
        self.failure: str | None = None
        self.span: Span | None = None
        #: Indexes of the toolbar's records of its calls (the cache's answer comes later).
        self.recorded: list[int] = []
        self._hash: str | None = None
        self._context_token: object = None

    @property
    def customer_hash(self) -> str | None:
        if self._hash is None and self.customer is not None and self.telemetry is not None:
            self._hash = self.telemetry.customer_hash(self.customer)
        return self._hash

    def __enter__(self) -> Operation:
        otel = api()
        tracer = otel.tracer() if otel is not None else None
        if tracer is None and current_recording() is None:
            # Nothing would read it: not even made current (the metrics need none of it).
            self._token = None
            return self
        self._started = perf_counter()
        if otel is not None and tracer is not None:
            attributes = {OPERATION: self.name, **self.attributes}
            if self.customer_hash is not None:
                attributes[CUSTOMER_HASH] = self.customer_hash
            name = f"flowglad {self.name}"
            self.span, self._context_token = otel.start(tracer, name, otel.internal, attributes)
        self._token = _operation.set(self)
        return self

    def set_customer(self, external_id: str) -> None:
        """Name the customer once it is known (a webhook's, after it was verified)."""
        self.customer, self._hash = external_id, None
        self.set(CUSTOMER_HASH, self.customer_hash)

    def set(self, key: str, value: Any) -> None:
        """An attribute of the span (when there is one)."""
        if self.span is not None and value is not None:
            self.span.set_attribute(key, value)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.leave()
        self.finish(exc)

    def leave(self) -> None:
        """The code of the operation is done: what runs next is not part of it."""
        if self._token is None:
            return
        _operation.reset(self._token)
        otel = api()
        if otel is not None and self._context_token is not None:
            otel.context.detach(self._context_token)
            self._context_token = None

    def finish(self, exc: BaseException | None = None) -> None:
        """End the span (after :meth:`leave`): with its last attributes and its failure."""
        if self._token is None:
            return
        failure = self.failure if exc is None else error_type(exc)
        otel = api()
        if otel is not None and self.span is not None:
            self.set(CACHE_RESULT, self.cache_result)
            otel.end(self.span, None, failed=failure is not None, error_type=failure)
        recording = current_recording()
        if recording is not None and not self.has_call:
            elapsed = (perf_counter() - self._started) * 1000
            record = CallRecord(
                self.name, None, None, None, elapsed, 0, self.cache_result, None, failure
            )
            recording.add_call(record)
        elif recording is not None and self.cache_result is not None and self.recorded:
            recording.cache_answered(self.recorded, self.cache_result)


class Call:
    """One call of the client."""

    __slots__ = (
        "telemetry",
        "method",
        "path",
        "route",
        "operation",
        "attempts",
        "status",
        "request_id",
        "_own",
        "_started",
        "_token",
    )

    def __init__(self, telemetry: ClientTelemetry, method: str, path: str, body: Any) -> None:
        self.telemetry = telemetry
        self.method = method
        self.path = path
        self.route = route_of(method, path, body)
        self.attempts = 0
        #: The status of the last attempt's answer; ``None`` when it got none.
        self.status: int | None = None
        self.request_id: str | None = None

    def __enter__(self) -> Call:
        current = _operation.get()
        route = self.route
        if current is not None and current.name == route.operation and not current.has_call:
            self._own = None
            self.operation = current
        else:
            customer = route.customer or (current.customer if current is not None else None)
            self._own = Operation(self.telemetry, route.operation, customer)
            self.operation = self._own.__enter__()
        self.operation.has_call = True
        self._started = perf_counter()
        self._token = _call.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _call.reset(self._token)
        seconds = perf_counter() - self._started
        failure = None if exc is None else error_type(exc)
        # The id the error quotes (Flowglad's body's, else its header's).
        self.request_id = getattr(exc, "request_id", None) or self.request_id
        otel = api()
        if otel is not None:
            attributes = {OPERATION: self.route.operation, HTTP_METHOD: self.method}
            if self.status is not None:
                attributes[STATUS_CLASS] = f"{self.status // 100}xx"
            if failure is not None:
                attributes[ERROR_TYPE] = failure
            otel.request_duration.record(seconds, attributes)
        operation = self.operation
        operation.set(REQUEST_ID, self.request_id)
        operation.set(ATTEMPTS, self.attempts)
        self._log(seconds, failure)
        recording = current_recording()
        if recording is not None:
            record = CallRecord(
                self.route.operation,
                self.method,
                self.path,
                self.status,
                seconds * 1000,
                max(self.attempts - 1, 0),
                operation.cache_result,
                self.request_id,
                failure,
            )
            index = recording.add_call(record)
            if index is not None and self._own is None:
                operation.recorded.append(index)
        if self._own is not None:
            self._own.__exit__(exc_type, exc, tb)

    def _log(self, seconds: float, failure: str | None) -> None:
        warn = failure is not None and self.status not in ANSWERS
        level = logging.WARNING if warn else logging.DEBUG
        if logger.isEnabledFor(level):  # the fields cost more than the check
            fields = {
                OPERATION: self.route.operation,
                HTTP_METHOD: self.method,
                URL_PATH: shown_path(self.path),
                HTTP_STATUS: self.status,
                DURATION_MS: round(seconds * 1000, 1),
                ATTEMPTS: self.attempts,
                CUSTOMER_HASH: self.operation.customer_hash,
                REQUEST_ID: self.request_id,
                ERROR_TYPE: failure,
            }
            log(level, "call", fields)


class Attempt:
    """One HTTP request of a call."""

    __slots__ = (
        "telemetry",
        "call",
        "method",
        "url",
        "params",
        "resend",
        "span",
        "_context_token",
        "_token",
    )

    def __init__(
        self,
        telemetry: ClientTelemetry,
        method: str,
        url: str,
        params: Mapping[str, str | None] | None,
    ) -> None:
        self.telemetry = telemetry
        self.call = _call.get()
        self.method = method
        self.url = url
        self.params = params
        self.resend = 0
        self.span: Span | None = None
        self._context_token: object = None

    @property
    def shown_url(self) -> str:
        """The URL as it may be shown: no credentials, no customer's id."""
        telemetry = self.telemetry
        if self.url.startswith(telemetry.base_url):
            path = self.url[len(telemetry.base_url) :]
        else:
            path = urlsplit(self.url).path
        url = telemetry.shown_base_url + shown_path(path)
        query = {k: v for k, v in (self.params or {}).items() if v is not None}
        return f"{url}?{urlencode(query)}" if query else url

    def __enter__(self) -> Attempt:
        call = self.call
        if call is not None:
            self.resend = call.attempts
            call.attempts += 1
            call.status = None
        otel = api()
        tracer = otel.tracer() if otel is not None else None
        if (
            otel is not None
            and tracer is not None
            and not requests_instrumented()
            and not otel.http_suppressed()
        ):
            telemetry = self.telemetry
            attributes = semconv_mode().http(
                self.method,
                self.shown_url,
                telemetry.server_address,
                telemetry.server_port,
                self.resend,
            )
            self.span, self._context_token = otel.start(
                tracer, self.method, otel.client, attributes
            )
        self._token = _attempt.set(self)
        return self

    def answered(self, response: ResponseT) -> ResponseT:
        """Flowglad answered (any status): note it, and hand the response back."""
        status: int = response.status_code  # type: ignore[attr-defined]
        call = self.call
        if call is not None:
            call.status = status
            headers = response.headers  # type: ignore[attr-defined]
            call.request_id = headers.get("X-Request-Id") or call.request_id
        if self.span is not None:
            self.span.set_attributes(semconv_mode().status(status))
        return response

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _attempt.reset(self._token)
        otel = api()
        if otel is None or self.span is None:
            return
        status = self.call.status if self.call is not None else None
        failed = exc is not None or (status is not None and status >= 400)
        failure = error_type(exc) if exc is not None and semconv_mode().new else None
        otel.end(self.span, self._context_token, failed=failed, error_type=failure)

    def adopt_foreign_span(self) -> None:
        """Inside ``Session.send``: when another instrumentation's HTTP span is current
        (opentelemetry-instrumentation-requests'), give it the URL as it may be shown and
        the resend count, and mask a captured ``Authorization`` header."""
        otel = api()
        if otel is None or self.span is not None:
            return
        span = otel.trace.get_current_span()
        operation = self.call.operation if self.call is not None else None
        if not span.is_recording() or (operation is not None and span is operation.span):
            return
        mode = semconv_mode()
        shown = self.shown_url
        span.set_attributes(dict.fromkeys(mode.url_keys(), shown))
        if self.resend:
            span.set_attributes(dict.fromkeys(mode.resend_keys(), self.resend))
        captured = getattr(span, "attributes", None) or {}
        if "http.request.header.authorization" in captured:
            span.set_attribute("http.request.header.authorization", (REDACTED,))


def requests_instrumented() -> bool:
    """Whether opentelemetry-instrumentation-requests wraps ``Session.send`` now."""
    requests = sys.modules.get("requests")
    send = getattr(getattr(requests, "Session", None), "send", None)
    return bool(getattr(send, "opentelemetry_instrumentation_requests_applied", False))


#: The short name of each field in a log line's text.
_SHORT_NAMES = {
    OPERATION: "operation",
    HTTP_METHOD: "method",
    URL_PATH: "path",
    HTTP_STATUS: "status",
    DURATION_MS: "duration_ms",
    ATTEMPTS: "attempts",
    CUSTOMER_HASH: "customer",
    REQUEST_ID: "request_id",
    ERROR_TYPE: "error",
    WEBHOOK_OUTCOME: "outcome",
    WEBHOOK_ID: "svix_id",
    WEBHOOK_OBJECT: "object",
}


def log(level: int, what: str, fields: Mapping[str, Any]) -> None:
    """One structured line: ``flowglad <what> key=value ...`` as its text (logfmt, for
    people and plain formatters), the fields themselves as the record's attributes (for
    JSON formatters and OpenTelemetry's logging handler)."""
    if logger.isEnabledFor(level):
        logger.log(level, "flowglad %s %s", what, logfmt(fields), extra=dict(fields))


def logfmt(fields: Mapping[str, Any]) -> str:
    """``name=value`` for each field that has a value; a value with a space, a quote or
    an ``=`` is quoted."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        text = str(value)
        if not text or not text.isprintable() or any(c in text for c in ' "=\\'):
            text = json.dumps(text)
        parts.append(f"{_SHORT_NAMES.get(key, key.rpartition('.')[2])}={text}")
    return " ".join(parts)
