"""opentelemetry-api, imported on first use, and what the hooks make of it.

The ``otel`` extra installs ``opentelemetry-api`` only. Without it :func:`api` answers
``None`` and every hook keeps to the log and the debug toolbar. With it and no SDK
configured, :meth:`OTel.tracer` answers ``None`` (no span is started at all, not even a
non-recording one) and the metric instruments are the API's proxies, whose calls return at
once until an SDK's ``MeterProvider`` is set, when they start counting.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from .._version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = ["OTel", "SemconvMode", "api", "semconv_mode"]

#: The instrumentation scope of every span and metric.
SCOPE = "flask_flowglad"
#: The buckets OpenTelemetry's HTTP conventions advise for request durations, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


class OTel:
    """The parts of opentelemetry-api the hooks use, and the package's instruments."""

    def __init__(self) -> None:
        from opentelemetry import context, metrics, trace

        self.context = context
        self.trace = trace
        self.internal = trace.SpanKind.INTERNAL
        self.client = trace.SpanKind.CLIENT
        self.error = trace.Status(trace.StatusCode.ERROR)
        self._proxy_type = trace.ProxyTracerProvider
        self._provider: object = None
        self._tracer: Tracer | None = None
        #: Whether the environment names a tracer provider, which the API loads lazily.
        self._from_env = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
        # Private to opentelemetry, read the way its instrumentations read them.
        self._suppress_keys = tuple(
            key
            for key in (
                getattr(context, "_SUPPRESS_INSTRUMENTATION_KEY", None),
                "suppress_instrumentation",
                getattr(context, "_SUPPRESS_HTTP_INSTRUMENTATION_KEY", None),
            )
            if key is not None
        )
        meter = metrics.get_meter(SCOPE, __version__)
        self.meter = meter
        self.request_duration = meter.create_histogram(
            "flowglad.client.request.duration",
            unit="s",
            description="Duration of Flowglad API calls, retries and waits included.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.cache_lookups = meter.create_counter(
            "flowglad.billing_cache.lookups",
            unit="{lookup}",
            description="Billing reads through the shared billing cache, by result.",
        )
        self.webhook_deliveries = meter.create_counter(
            "flowglad.webhook.deliveries",
            unit="{delivery}",
            description="Webhook deliveries received from Flowglad, by outcome.",
        )

    def tracer(self) -> Tracer | None:
        """The package's tracer, or ``None`` while no SDK's tracer provider is set.

        The API's own global is read first: ``get_tracer_provider()`` looks up an
        environment variable on every call while none is set, which costs more than the
        rest of a cached billing read's telemetry together.
        """
        if getattr(self.trace, "_TRACER_PROVIDER", self) is None and not self._from_env:
            return None
        provider = self.trace.get_tracer_provider()
        if provider is not self._provider:
            tracer = None
            if not isinstance(provider, self._proxy_type):
                tracer = provider.get_tracer(SCOPE, __version__)
            self._tracer, self._provider = tracer, provider
        return self._tracer

    def http_suppressed(self) -> bool:
        """Whether the current context asks instrumentations for no HTTP spans."""
        return any(self.context.get_value(key) for key in self._suppress_keys)

    def start(
        self, tracer: Tracer, name: str, kind: Any, attributes: dict[str, Any]
    ) -> tuple[Span, object]:
        """A span, made current when it is valid; hand both to :meth:`end`."""
        span = tracer.start_span(name, kind=kind, attributes=attributes)
        token = None
        if span.get_span_context().is_valid:
            token = self.context.attach(self.trace.set_span_in_context(span))
        return span, token

    def end(self, span: Span, token: object, *, failed: bool, error_type: str | None) -> None:
        """End a span from :meth:`start`: a failure sets its status (and ``error.type``
        when given), then the context it replaced is current again."""
        if error_type is not None:
            span.set_attribute("error.type", error_type)
        if failed:
            span.set_status(self.error)
        span.end()
        if token is not None:
            self.context.detach(token)  # type: ignore[arg-type]


_lock = threading.Lock()
_loaded: list[OTel | None] = []


def api() -> OTel | None:
    """opentelemetry-api's parts, imported once; ``None`` without the ``otel`` extra."""
    if _loaded:
        return _loaded[0]
    with _lock:
        if not _loaded:
            try:
                _loaded.append(OTel())
            except ImportError:
                _loaded.append(None)
    return _loaded[0]


class SemconvMode:
    """Which names of HTTP attributes to write: the old ones (``http.method``), the
    stable ones (``http.request.method``), or both, as ``OTEL_SEMCONV_STABILITY_OPT_IN``
    tells OpenTelemetry's own instrumentations: unset, the old; ``http``, the stable;
    ``http/dup``, both."""

    def __init__(self, opt_in: str | None) -> None:
        values = {value.strip() for value in (opt_in or "").split(",")}
        self.new = bool(values & {"http", "http/dup"})
        self.old = not self.new or "http/dup" in values

    def http(
        self,
        method: str,
        url: str,
        address: str | None,
        port: int | None,
        resend_count: int,
    ) -> dict[str, Any]:
        """A client span's attributes at its start."""
        attributes: dict[str, Any] = {}
        if self.old:
            attributes.update({"http.method": method, "http.url": url})
            if address:
                attributes.update({"net.peer.name": address, "net.peer.port": port})
            if resend_count:
                attributes["http.resend_count"] = resend_count
        if self.new:
            attributes.update({"http.request.method": method, "url.full": url})
            if address:
                attributes.update({"server.address": address, "server.port": port})
            if resend_count:
                attributes["http.request.resend_count"] = resend_count
        return attributes

    def url_keys(self) -> tuple[str, ...]:
        return (("http.url",) if self.old else ()) + (("url.full",) if self.new else ())

    def status(self, status: int) -> dict[str, Any]:
        """A client span's attributes once the answer came."""
        attributes: dict[str, Any] = {}
        if self.old:
            attributes["http.status_code"] = status
        if self.new:
            attributes["http.response.status_code"] = status
            if status >= 400:
                attributes["error.type"] = str(status)
        return attributes

    def resend_keys(self) -> tuple[str, ...]:
        return (("http.resend_count",) if self.old else ()) + (
            ("http.request.resend_count",) if self.new else ()
        )


_modes: list[SemconvMode] = []


def semconv_mode() -> SemconvMode:
    """The mode, read from the environment once per process, as the instrumentations do."""
    if not _modes:
        _modes.append(SemconvMode(os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN")))
    return _modes[0]


def reset_semconv_mode() -> None:
    """Read ``OTEL_SEMCONV_STABILITY_OPT_IN`` again at the next span (for tests)."""
    _modes.clear()
