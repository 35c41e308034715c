"""Benchmark: what telemetry costs a cached billing answer when nothing collects it.

The target: with ``opentelemetry-api`` installed and no SDK configured, under 2 % more
CPU than without the ``otel`` extra. Measured on the cheapest request there is, so that
a fixed cost shows as much as it can: the React SDK's ``customers/billing`` answered from
the shared billing cache (an in-process ``cachelib`` store, no network, no Redis), straight
through the app's WSGI callable (no HTTP server's parsing to dilute it).

Each variant runs in a fresh process, since whether OpenTelemetry can be imported is
decided per process:

- ``no extra``: ``opentelemetry`` cannot be imported (the baseline);
- ``api, no SDK``: ``opentelemetry-api`` installed, no SDK (the target's subject);
- ``SDK``: an SDK tracing every request to an exporter that drops the spans, and
  metrics in memory: what turning it all on costs (no target);
- ``before (REV)``, with ``--telemetry-baseline REV``: the package as it was at a git
  revision, e.g. the one before telemetry existed.

A round runs every variant once, in an order that alternates between rounds; each run
warms up, then times ``requests`` answers by the process's CPU clock. The result is the
median over rounds of each variant's CPU per answer, and the spread of the per-round
ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from .report import Report, Result

NAME = "telemetry overhead (cached billing, in process)"
ROOT = Path(__file__).resolve().parents[1]
NO_EXTRA, API, SDK, BEFORE = "no extra", "api, no SDK", "SDK", "before"
USER = "bench-user"


@dataclass(frozen=True)
class Settings:
    requests: int = 5000
    warmup: int = 500
    rounds: int = 7
    #: A git revision to measure the package at, as one more variant.
    baseline: str | None = None


def run(report: Report, settings: Settings) -> None:
    variants = [NO_EXTRA, API, SDK]
    with ExitStack() as stack:
        paths: dict[str, str] = {}
        if settings.baseline:
            paths[BEFORE] = stack.enter_context(_checkout(settings.baseline))
            variants.append(BEFORE)
        samples: dict[str, list[float]] = {variant: [] for variant in variants}
        for round_ in range(settings.rounds):
            order = variants if round_ % 2 == 0 else variants[::-1]
            for variant in order:
                samples[variant].append(_child(variant, settings, paths.get(variant)))
    ratios = [api / base for api, base in zip(samples[API], samples[NO_EXTRA], strict=True)]
    how = (
        f"CPU per cached customers/billing answer through the WSGI app, {settings.requests}"
        f" answers per run, median of {settings.rounds} interleaved rounds"
    )
    details = {
        "per_round_us": {k: [round(v, 2) for v in vs] for k, vs in samples.items()},
        "ratio_per_round": [round(r, 4) for r in ratios],
        "ratio_min": round(min(ratios), 4),
        "ratio_max": round(max(ratios), 4),
    }
    report.results.append(
        Result(
            "telemetry, no SDK: CPU/answer",
            how,
            "us",
            statistics.median(samples[API]),
            statistics.median(samples[NO_EXTRA]),
            "the same without the otel extra",
            details,
        )
    )
    report.results.append(
        Result(
            "telemetry, SDK on: CPU/answer",
            how + "; every request traced, spans dropped by the exporter",
            "us",
            statistics.median(samples[SDK]),
            statistics.median(samples[NO_EXTRA]),
            "the same without the otel extra",
        )
    )
    if BEFORE in samples:
        report.results.append(
            Result(
                f"telemetry, no SDK vs {settings.baseline}: CPU/answer",
                how,
                "us",
                statistics.median(samples[API]),
                statistics.median(samples[BEFORE]),
                f"the package at {settings.baseline}, without telemetry hooks",
            )
        )


def _child(variant: str, settings: Settings, path: str | None) -> float:
    """CPU microseconds per answer, measured in a fresh process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [path, str(ROOT)]))}
    argv = [sys.executable, "-m", "benchmarks.telemetry", variant]
    argv += [str(settings.requests), str(settings.warmup)]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{variant}: {result.stderr[-2000:]}")
    return float(json.loads(result.stdout.splitlines()[-1])["cpu_us"])


class _checkout:
    """``flask_flowglad`` as it was at a git revision, in a temporary folder."""

    def __init__(self, revision: str) -> None:
        self.revision = revision
        self._folder = tempfile.TemporaryDirectory(prefix="flask-flowglad-")

    def __enter__(self) -> str:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", self.revision, "flask_flowglad"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(self._folder.name, filter="data")
        return self._folder.name

    def __exit__(self, *exc: object) -> None:
        self._folder.cleanup()


# -- the child process ----------------------------------------------------------------


def _measure(variant: str, requests: int, warmup: int) -> dict[str, Any]:
    if variant == NO_EXTRA:
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
    elif variant == SDK:
        _install_sdk()
    answer = _answerer()
    for _ in range(warmup):
        answer()
    started = time.process_time_ns()
    for _ in range(requests):
        answer()
    cpu_us = (time.process_time_ns() - started) / requests / 1000
    import flask_flowglad

    return {"variant": variant, "cpu_us": cpu_us, "package": flask_flowglad.__file__}


def _install_sdk() -> None:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Dropping(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropping()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def _answerer() -> Callable[[], None]:
    """One cached ``customers/billing`` answer per call, through the WSGI callable."""
    import warnings

    from cachelib import SimpleCache
    from flask import Flask, request

    from flask_flowglad import CustomerIdentity, Flowglad
    from flask_flowglad.sandbox import Sandbox

    warnings.simplefilter("ignore")  # the sandbox says billing is simulated
    sandbox = Sandbox()
    sandbox.put_customer_on_plan(USER, "pro_monthly", name="Bench", email="b@example.com")
    app = Flask("telemetry_bench")
    flowglad = Flowglad(app, sandbox=sandbox, billing_cache=SimpleCache(threshold=100))

    @flowglad.customer_loader
    def load() -> CustomerIdentity | None:
        user = request.headers.get("X-User")  # a benchmark only: never in a real app
        return CustomerIdentity(user) if user else None

    body = b"{}"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/flowglad/customers/billing",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_USER": USER,
    }
    statuses: list[str] = []

    def start_response(status: str, headers: Iterable[Any], exc_info: Any = None) -> None:
        statuses.append(status)

    def answer() -> None:
        statuses.clear()
        chunks = app.wsgi_app({**environ, "wsgi.input": BytesIO(body)}, start_response)
        for _ in chunks:
            pass
        if statuses != ["200 OK"]:
            raise RuntimeError(f"customers/billing answered {statuses}")

    answer()  # the one miss: the cache holds the customer from now on
    return answer


if __name__ == "__main__":
    variant, count, warm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(_measure(variant, count, warm)))
