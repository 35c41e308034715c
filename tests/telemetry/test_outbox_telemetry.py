"""The usage outbox's gauges, read from its status when the SDK collects, and the span of
a flush."""

from __future__ import annotations

from dataclasses import dataclass

from flask_flowglad.telemetry import UsageFlush, watch_usage_outbox

from ..support.otel_capture import Capture


@dataclass
class Status:
    pending: int
    oldest_age_seconds: float | None
    dead_letters: int


class FakeOutbox:
    """An outbox as the gauges see it: something with a ``status()``."""

    def __init__(self, status: Status) -> None:
        self.current = status
        self.reads = 0

    def status(self) -> Status:
        self.reads += 1
        return self.current


class BrokenOutbox:
    def status(self) -> Status:
        raise ConnectionError("the database is down")


def _values(otel: Capture, name: str) -> list[tuple[float, dict[str, str]]]:
    return [(point.value, dict(point.attributes)) for point in otel.points(name)]


def test_the_gauges_read_the_status_once_per_collection(otel: Capture) -> None:
    outbox = FakeOutbox(Status(pending=12, oldest_age_seconds=4.5, dead_letters=2))
    watch_usage_outbox(outbox)
    watch_usage_outbox(outbox)  # watched once
    broken = BrokenOutbox()
    watch_usage_outbox(broken)  # a store that is down reports nothing, and breaks nothing

    data = otel.reader.get_metrics_data()
    found = {
        metric.name: [(p.value, dict(p.attributes)) for p in metric.data.data_points]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    store = {"flowglad.usage_outbox.store": "FakeOutbox"}
    assert found["flowglad.usage_outbox.pending"] == [(12, store)]
    assert found["flowglad.usage_outbox.oldest_age"] == [(4.5, store)]
    assert found["flowglad.usage_outbox.dead_letters"] == [(2, store)]
    assert outbox.reads == 1


def test_an_empty_outbox_has_no_oldest_age(otel: Capture) -> None:
    outbox = FakeOutbox(Status(pending=0, oldest_age_seconds=None, dead_letters=0))
    watch_usage_outbox(outbox)
    assert _values(otel, "flowglad.usage_outbox.oldest_age") == []
    del outbox


def test_a_flush_is_a_span_with_what_became_of_its_batch(otel: Capture) -> None:
    @dataclass
    class Result:
        sent: int
        retried: int
        dead: int

    with UsageFlush(claimed=5) as flush:
        pass
    result = Result(sent=3, retried=1, dead=1)
    assert flush.settled(result) is result

    span = otel.span("flowglad usage_outbox.flush")
    assert dict(span.attributes or {}) == {
        "flowglad.operation": "usage_outbox.flush",
        "flowglad.usage_outbox.claimed": 5,
        "flowglad.usage_outbox.sent": 3,
        "flowglad.usage_outbox.retried": 1,
        "flowglad.usage_outbox.dead": 1,
    }


def test_a_flush_that_raises_ends_its_span_in_error(otel: Capture) -> None:
    try:
        with UsageFlush(claimed=2):
            raise ConnectionError("the store is down")
    except ConnectionError:
        pass

    span = otel.span("flowglad usage_outbox.flush")
    assert span.attributes["error.type"] == "ConnectionError"
