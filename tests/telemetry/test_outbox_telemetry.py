"""The usage outbox's gauges, read from its status when the SDK collects, and the span of
a flush: with a fake outbox, and with an app's own outbox sent by its worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from cachelib import SimpleCache
from flask import Flask
from opentelemetry.trace import SpanKind, StatusCode

from flask_flowglad.delivery import usage_worker
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.telemetry import UsageFlush, watch_usage_outbox
from flask_flowglad.telemetry import outbox as outbox_telemetry

from ..support.otel_capture import Capture
from ..support.telemetry import CUSTOMER, billed_app

FLUSH = "flowglad usage_outbox.flush"


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


@pytest.fixture(autouse=True)
def no_outbox_of_earlier_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only this test's outboxes are watched: an earlier test's app may still be alive
    (another test's helpers keep it), its outbox with it."""
    monkeypatch.setattr(outbox_telemetry, "_watched", [])


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


def _app_with_outbox(flowglad_url: str, sandbox: Sandbox, tmp_path: Path) -> Flask:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    return billed_app(
        flowglad_url,
        sandbox,
        FLOWGLAD_USAGE_OUTBOX=f"sqlite:///{tmp_path / 'outbox.sqlite3'}",
        FLOWGLAD_BILLING_CACHE=SimpleCache(),
    )


def _record(app: Flask, events: int) -> None:
    with app.app_context():
        customer = app.extensions["flowglad"].for_customer(CUSTOMER)
        for _ in range(events):
            customer.record_usage("api_calls", amount=2)


@pytest.mark.usefixtures("stable_semconv")
def test_a_workers_flush_is_a_span_with_the_reads_and_the_bulk_call_under_it(
    otel: Capture, sandbox: Sandbox, flowglad_url: str, tmp_path: Path
) -> None:
    app = _app_with_outbox(flowglad_url, sandbox, tmp_path)
    _record(app, 3)
    otel.clear()  # the recording's own billing read
    with app.app_context():
        worker = usage_worker(linger=0.01)
    result = worker.flush()
    assert (result.claimed, result.sent) == (3, 3)
    assert worker.flush().claimed == 0  # nothing left: an idle flush makes no span

    flush = otel.span(FLUSH)
    assert flush.parent is None
    assert flush.kind is SpanKind.INTERNAL
    assert flush.status.status_code is StatusCode.UNSET
    assert dict(flush.attributes or {}) == {
        "flowglad.operation": "usage_outbox.flush",
        "flowglad.usage_outbox.claimed": 3,
        "flowglad.usage_outbox.sent": 3,
        "flowglad.usage_outbox.retried": 0,
        "flowglad.usage_outbox.dead": 0,
    }
    by_name = {span.name: span for span in otel.children(flush)}
    # The events' subscription, through the shared cache: a miss, read from Flowglad under
    # the read's span, as the usage recorded marked the entry's balances out of date.
    read = by_name["flowglad customers.billing.read"]
    assert read.attributes["flowglad.billing_cache.result"] == "miss"  # type: ignore[index]
    assert [span.name for span in otel.children(read)] == ["GET"]
    bulk = by_name["flowglad usage_events.create_bulk"]
    [post] = otel.children(bulk)
    assert post.attributes["http.request.method"] == "POST"  # type: ignore[index]
    assert post.attributes["url.full"].endswith("/api/v1/usage-events/bulk")  # type: ignore[index,union-attr]
    assert set(by_name) == {"flowglad customers.billing.read", "flowglad usage_events.create_bulk"}


def test_an_apps_outbox_is_watched_its_gauges_follow_the_worker(
    otel: Capture,
    sandbox: Sandbox,
    flowglad_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox_telemetry, "STATUS_SECONDS", 0.0)  # a fresh read each time
    app = _app_with_outbox(flowglad_url, sandbox, tmp_path)
    _record(app, 4)
    store = {"flowglad.usage_outbox.store": "SQLOutbox"}

    assert _values(otel, "flowglad.usage_outbox.pending") == [(4, store)]
    [(age, _)] = _values(otel, "flowglad.usage_outbox.oldest_age")
    assert 0 <= age < 60
    assert _values(otel, "flowglad.usage_outbox.dead_letters") == [(0, store)]

    sandbox.fail_next(422, path="/usage-events/bulk", times=10)  # refused for good
    with app.app_context():
        usage_worker(linger=0.01).drain(max_seconds=10)

    assert _values(otel, "flowglad.usage_outbox.pending") == [(0, store)]
    assert _values(otel, "flowglad.usage_outbox.oldest_age") == []
    assert _values(otel, "flowglad.usage_outbox.dead_letters") == [(4, store)]
    dead = [span for span in otel.spans() if span.name == FLUSH]
    assert sum(span.attributes["flowglad.usage_outbox.dead"] for span in dead) == 4  # type: ignore[index,misc]


def test_an_outbox_in_flask_sqlalchemys_db_is_read_in_its_apps_context(
    otel: Capture, sandbox: Sandbox, flowglad_url: str, tmp_path: Path
) -> None:
    """Its engine exists only in an app context; an exporter collects from its own thread,
    in none: the gauges are read in one of the app's own."""
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    database = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    app = billed_app(
        flowglad_url, sandbox, FLOWGLAD_USAGE_OUTBOX=db, SQLALCHEMY_DATABASE_URI=database
    )
    db.init_app(app)
    with app.app_context():
        db.create_all()
        customer = app.extensions["flowglad"].for_customer(CUSTOMER)
        customer.record_usage("api_calls")
        customer.record_usage("api_calls")
        db.session.commit()

    found: list[list[tuple[float, dict[str, str]]]] = []
    collecting = threading.Thread(
        target=lambda: found.append(_values(otel, "flowglad.usage_outbox.pending"))
    )
    collecting.start()
    collecting.join(10)
    assert found == [[(2, {"flowglad.usage_outbox.store": "SQLOutbox"})]]
