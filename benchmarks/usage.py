"""Benchmark: usage through the outbox, against usage sent to Flowglad one call at a time.

Three measurements, each with its baseline in the same run, every upstream answer delayed
``latency_ms`` (30 ms: Flowglad a network hop away):

1. **Recording in a request**: the time ``record_usage`` adds to a request (the outbox in
   Redis, and in a SQLite file), against ``create_usage_event``, the synchronous call. The
   customer's billing is read first in both, so only the usage itself is timed.
2. **Delivery, one worker**: events per second one ``UsageWorker`` drains from a Redis
   outbox to the bulk endpoint, against one ``create_usage_event`` call per event. The
   upstream of this one answers usage writes itself after the delay (counting each
   transaction id once), so what is measured is our side, not the sandbox's CPU, which
   real Flowglad spends on its own machines.
3. **A metered endpoint under load**: requests per second of a ``@metered`` view (outbox
   and billing cache in Redis) under the example's gunicorn settings, against Flowglad's
   Node server's ``usage-events/create`` route (``@flowglad/server`` on Express), both under
   ``wrk`` on the scale benchmark's upstream.
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from waitress.server import TcpWSGIServer, create_server

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.usage import new_pending_usage

from .app import create_app
from .processes import free_port
from .report import Report, Result
from .servers import redis_server
from .stats import percentile_ms

NAME = "usage outbox"
USERS = [f"usage-{i}" for i in range(20)]
USAGE_WRITES = ("/api/v1/usage-events", "/api/v1/usage-events/bulk")


@dataclass(frozen=True)
class Settings:
    latency_ms: float = 30.0
    #: Requests per side of the recording measurement.
    requests: int = 300
    #: Events the worker drains; calls of the one-call-per-event baseline.
    events: int = 20_000
    single_calls: int = 100


class UsageUpstream:
    """Flowglad for this benchmark: the sandbox for reads; usage writes answered here after
    the delay, each transaction id and meter counted once (as Flowglad records them)."""

    def __init__(self, latency_s: float) -> None:
        logging.getLogger("waitress").setLevel(logging.ERROR)
        self.sandbox = Sandbox()
        self.latency_s = latency_s
        self.recorded: set[tuple[str, str]] = set()
        self.requests = 0
        self._lock = threading.Lock()
        for user in USERS:
            self.sandbox.put_customer_on_plan(user, "pro_monthly")
        port = free_port()
        server = create_server(self._app, host="127.0.0.1", port=port, threads=32)
        assert isinstance(server, TcpWSGIServer)
        self._server = server
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=server.run, daemon=True).start()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        time.sleep(self.latency_s)
        path = environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] != "POST" or path not in USAGE_WRITES:
            return self.sandbox.wsgi_app(environ, start_response)
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        events = body.get("usageEvents") or [body.get("usageEvent")]
        with self._lock:
            self.requests += 1
            for event in events:
                meter = event.get("usageMeterSlug") or event.get("priceSlug")
                self.recorded.add((event["transactionId"], meter))
        start_response("200 OK", [("Content-Type", "application/json")])
        if path.endswith("bulk"):
            return [json.dumps({"usageEvents": []}).encode()]
        # Flowglad answers the event it made, with its id (the client checks for it).
        created = {**events[0], "id": f"usage_{events[0]['transactionId']}"}
        return [json.dumps({"usageEvent": created}).encode()]

    def close(self) -> None:
        self._server.task_dispatcher.shutdown()
        self._server.close()


def run(report: Report, settings: Settings, *, reference: bool = True) -> None:
    print(f"benchmark: {NAME}", flush=True)
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        upstream = UsageUpstream(settings.latency_ms / 1000)
        stack.callback(upstream.close)
        redis = stack.enter_context(redis_server(directory))
        redis_url = f"redis://127.0.0.1:{redis.port}/0"
        report.environment["usage"] = {"latency_ms": settings.latency_ms}
        for store, outbox in (
            ("Redis", redis_url),
            ("SQLite file", f"sqlite:///{directory}/o.db"),
        ):
            report.results.append(_recording(upstream, outbox, store, settings))
        report.results.append(_delivery(upstream, redis_url, settings))
    if reference:
        _metered_endpoint(report, settings)


def _app(upstream: UsageUpstream, outbox: str, billing_cache: str | None = None) -> Flask:
    app, flowglad = create_app(
        upstream.url, upstream.sandbox.secret_key, billing_cache=billing_cache, usage_outbox=outbox
    )
    samples: list[int] = []
    app.config["samples"] = samples

    @app.post("/record")
    def record() -> str:
        customer = flowglad.current_customer()
        assert customer is not None
        customer.get_billing()
        started = time.perf_counter_ns()
        customer.record_usage("api_calls")
        samples.append(time.perf_counter_ns() - started)
        return "ok"

    @app.post("/create")
    def create() -> str:
        customer = flowglad.current_customer()
        assert customer is not None
        customer.get_billing()
        started = time.perf_counter_ns()
        customer.create_usage_event(usage_meter_slug="api_calls")
        samples.append(time.perf_counter_ns() - started)
        return "ok"

    return app


def _recording(upstream: UsageUpstream, outbox: str, store: str, settings: Settings) -> Result:
    """The time record_usage adds to a request, against create_usage_event."""
    ours_app, sync_app = _app(upstream, outbox), _app(upstream, outbox)
    ours_client, sync_client = ours_app.test_client(), sync_app.test_client()
    for i in range(settings.requests + 20):
        user = USERS[i % len(USERS)]
        for client, path in ((ours_client, "/record"), (sync_client, "/create"))[
            :: 1 if i % 2 else -1
        ]:
            assert client.post(path, headers={"X-User": user}).status_code == 200
    ours = ours_app.config["samples"][20:]
    sync = sync_app.config["samples"][20:]
    return Result(
        name=f"record_usage in a request ({store}): p50",
        measured=f"time record_usage adds to a request, {len(ours)} requests; baseline"
        f" create_usage_event, {settings.latency_ms:g} ms upstream",
        unit="ms",
        ours=round(statistics.median(ours) / 1e6, 3),
        baseline=round(statistics.median(sync) / 1e6, 3),
        baseline_name="create_usage_event (synchronous)",
        details={
            "ours_p99_ms": round(percentile_ms(ours, 99), 3),
            "baseline_p99_ms": round(percentile_ms(sync, 99), 3),
        },
    )


def _delivery(upstream: UsageUpstream, outbox: str, settings: Settings) -> Result:
    """ms per event: one worker draining the outbox, against one call per event."""
    app = _app(upstream, outbox)
    with app.app_context():
        from flask_flowglad.delivery import usage_worker

        worker = usage_worker(linger=0.001)
        worker.drain()  # what the recording measurement left
        flowglad = app.extensions["flowglad"]
        events = [
            new_pending_usage(USERS[i % len(USERS)], usage_meter_slug="api_calls")
            for i in range(settings.events)
        ]
        for start in range(0, len(events), 1000):
            flowglad.usage_outbox.add(events[start : start + 1000])
        before = len(upstream.recorded)
        started = time.perf_counter()
        totals = worker.drain()
        drained = time.perf_counter() - started
        assert totals.sent == settings.events, totals
        assert len(upstream.recorded) - before == settings.events
        service = flowglad.for_customer(USERS[0])
        service.get_billing()
        started = time.perf_counter()
        for _ in range(settings.single_calls):
            service.create_usage_event(usage_meter_slug="api_calls")
        single = time.perf_counter() - started
    ours_rate, single_rate = settings.events / drained, settings.single_calls / single
    return Result(
        name="delivery, one worker",
        measured=f"ms per event: one worker sending {settings.events} events from Redis in"
        f" batches of 500; baseline one create_usage_event call per event, {settings.latency_ms:g}"
        " ms upstream",
        unit="ms/event",
        ours=round(1000 / ours_rate, 4),
        baseline=round(1000 / single_rate, 3),
        baseline_name="one call per event",
        details={
            "ours_events_per_s": round(ours_rate),
            "baseline_events_per_s": round(single_rate, 1),
            "requests": totals.requests,
        },
    )


def _metered_endpoint(report: Report, settings: Settings) -> None:
    """A @metered view under gunicorn and wrk, against Node's usage-events/create."""
    from . import scale
    from .servers import PREFIX, gunicorn_server, reference_server, upstream_server

    reason = scale.missing()
    if reason is not None:
        print(f"skipping 'metered endpoint': {reason}", flush=True)
        report.skipped.append({"benchmark": "metered endpoint", "reason": reason})
        return
    scale_settings = scale.Settings(latency_ms=settings.latency_ms)
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        upstream = stack.enter_context(
            upstream_server(settings.latency_ms, scale_settings.customers)
        )
        redis = stack.enter_context(redis_server(directory))
        redis_url = f"redis://127.0.0.1:{redis.port}/0"
        node = stack.enter_context(reference_server(upstream.url, scale.SECRET_KEY))
        ours = stack.enter_context(
            gunicorn_server(
                "flask-flowglad @metered",
                "ours",
                upstream.url,
                scale.SECRET_KEY,
                redis_url,
                usage_outbox=redis_url,
            )
        )
        probe = scale._Probe(upstream.url, scale_settings)
        print("  metered endpoint: Node, ours ...", flush=True)
        node_run = probe.compare("usage", [("Node", node)], [f"{PREFIX}/usage-events/create"])
        ours_run = probe.compare("usage", [("ours", ours)], ["/bench/metered"])
    ours_rps, node_rps = ours_run[0].req_per_s, node_run[0].req_per_s
    report.results.append(
        Result(
            name="metered endpoint: ms per request",
            measured="1 / requests per second of a @metered view (outbox and billing cache in"
            " Redis, gunicorn as the example ships it) under wrk, 32 connections, 50"
            " customers; baseline Node's usage-events/create",
            unit="ms",
            ours=round(1000 / ours_rps, 3) if ours_rps else None,
            baseline=round(1000 / node_rps, 3) if node_rps else None,
            baseline_name="@flowglad/server usage-events/create (Node)",
            details={
                "ours_req_per_s": round(ours_rps),
                "node_req_per_s": round(node_rps),
                "ours_p99_ms": ours_run[0].p99_ms,
                "node_p99_ms": node_run[0].p99_ms,
                "ours_errors": ours_run[0].errors,
                "node_errors": node_run[0].errors,
                "ours_upstream_calls_per_request": round(
                    ours_run[0].upstream_calls_per_request, 3
                ),
                "node_upstream_calls_per_request": round(
                    node_run[0].upstream_calls_per_request, 3
                ),
            },
        )
    )


def main() -> None:
    """``python -m benchmarks.usage``: this benchmark alone."""
    import argparse

    from .environment import describe

    parser = argparse.ArgumentParser(prog="python -m benchmarks.usage", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    settings = Settings(requests=50, events=2000, single_calls=20) if args.quick else Settings()
    report = Report(describe())
    run(report, settings, reference=not args.no_reference)
    print(report.table())
    for result in report.results:
        print(f"  {result.name}: {json.dumps(result.details)}")
    for skipped in report.skipped:
        print(f"skipped: {skipped['benchmark']}: {skipped['reason']}")


if __name__ == "__main__":
    main()
