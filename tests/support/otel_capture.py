"""OpenTelemetry's SDK with in-memory exporters, set once per test process (the SDK's global
providers cannot be replaced) and switched on only inside the tests that capture."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes


class Switch(Sampler):
    """Samples every span while on, none while off: the other tests' spans cost nothing."""

    def __init__(self) -> None:
        self.on = False

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        decision = Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP
        return SamplingResult(decision, attributes if self.on else None)

    def get_description(self) -> str:
        return "Switch"


@dataclass
class Capture:
    """What the SDK recorded while capturing."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    switch: Switch

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, [span.name for span in self.spans()]
        return found[0]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        return [
            span
            for span in self.spans()
            if span.parent is not None and span.parent.span_id == parent.context.span_id
        ]

    def points(self, name: str) -> list[Any]:
        """The data points of one metric since the last call (delta temporality)."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def clear(self) -> None:
        self.exporter.clear()
        self.reader.get_metrics_data()


_lock = threading.Lock()
_capture: list[Capture] = []


def installed() -> Capture:
    """The process's SDK, installed on first use."""
    with _lock:
        if not _capture:
            switch = Switch()
            exporter = InMemorySpanExporter()
            provider = TracerProvider(sampler=switch)
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            trace.set_tracer_provider(provider)
            delta = AggregationTemporality.DELTA
            reader = InMemoryMetricReader(
                preferred_temporality={kind: delta for kind in _instrument_kinds()}
            )
            metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
            _capture.append(Capture(exporter, reader, switch))
    return _capture[0]


def _instrument_kinds() -> list[type]:
    from opentelemetry.sdk.metrics import Counter, Histogram, ObservableGauge, UpDownCounter

    return [Counter, Histogram, ObservableGauge, UpDownCounter]


def capturing() -> Iterator[Capture]:
    capture = installed()
    capture.clear()
    capture.switch.on = True
    try:
        yield capture
    finally:
        capture.switch.on = False
        capture.clear()
