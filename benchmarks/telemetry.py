"""Benchmark: what telemetry costs a cached billing answer when nothing collects it.

The target: with ``opentelemetry-api`` installed and no SDK configured, under 2 % more
CPU than without the ``otel`` extra. Measured on the cheapest request there is, so that
a fixed cost shows as much as it can: the React SDK's ``customers/billing`` answered from
the shared billing cache (an in-process ``cachelib`` store, no network, no Redis), straight
through the app's WSGI callable (no HTTP server's parsing to dilute it).

**The target's figure** comes from one process that alternates, batch after batch, between
the two: the hooks with opentelemetry-api and no SDK, and the hooks as they run without
the extra (``opentelemetry`` not importable: the package's ``api()`` answers ``None``,
which the benchmark switches for the length of a batch). Each pair of batches gives a
ratio of CPU per answer (the process's CPU clock); the figure is the median ratio, with
the 10th and 90th percentiles as its spread. Alternating cancels what drifts on a machine
that others load.

**Two more figures**, from fresh processes in interleaved rounds (noisier: each round is
a process of its own): the SDK on, tracing every request to an exporter that drops the
spans, against no extra; and, with ``--telemetry-baseline REV``, the package as it was at
a git revision (before its hooks existed, say) against the hooks with no SDK.
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
    #: Answers per batch, and batches per variant (pairs when alternating).
    batch: int = 200
    pairs: int = 150
    warmup: int = 500
    #: Rounds of fresh processes for the other figures.
    rounds: int = 5
    #: A git revision to measure the package at, as one more variant.
    baseline: str | None = None


def run(report: Report, settings: Settings) -> None:
    alternated = _child("alternate", settings, None)
    ratios = sorted(alternated["ratios"])
    how = (
        f"CPU per cached customers/billing answer through the WSGI app, batches of"
        f" {settings.batch} alternated {settings.pairs} times in one process"
    )
    report.results.append(
        Result(
            "telemetry, no SDK: CPU/answer",
            how,
            "us",
            statistics.median(alternated[API]),
            statistics.median(alternated[NO_EXTRA]),
            "the same hooks without the otel extra",
            {
                "median_ratio": round(statistics.median(ratios), 4),
                "ratio_p10": round(ratios[len(ratios) // 10], 4),
                "ratio_p90": round(ratios[len(ratios) * 9 // 10], 4),
            },
        )
    )
    variants = [NO_EXTRA, SDK]
    with ExitStack() as stack:
        paths: dict[str, str] = {}
        if settings.baseline:
            paths[BEFORE] = stack.enter_context(_checkout(settings.baseline))
            variants += [API, BEFORE]
        samples: dict[str, list[float]] = {variant: [] for variant in variants}
        for round_ in range(settings.rounds):
            for variant in variants if round_ % 2 == 0 else variants[::-1]:
                answer = _child(variant, settings, paths.get(variant))
                samples[variant].append(statistics.median(answer[variant]))
    how = (
        f"CPU per cached customers/billing answer through the WSGI app, median of"
        f" {settings.rounds} interleaved rounds of a fresh process each"
    )
    spread = {k: [round(v, 1) for v in vs] for k, vs in samples.items()}
    report.results.append(
        Result(
            "telemetry, SDK on: CPU/answer",
            how + "; every request traced, the spans dropped by the exporter",
            "us",
            statistics.median(samples[SDK]),
            statistics.median(samples[NO_EXTRA]),
            "the same without the otel extra",
            {"per_round_us": spread},
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
                f"the package at {settings.baseline}",
                {"per_round_us": spread},
            )
        )


def _child(variant: str, settings: Settings, path: str | None) -> dict[str, Any]:
    """CPU microseconds per answer of each batch, measured in a fresh process (a fifth of
    the batches for a process of one variant: the rounds make up the rest)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [path, str(ROOT)]))}
    batches = settings.pairs if variant == "alternate" else max(settings.pairs // 5, 1)
    argv = [sys.executable, "-m", "benchmarks.telemetry", variant]
    argv += [str(settings.batch), str(batches), str(settings.warmup)]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{variant}: {result.stderr[-2000:]}")
    answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return answer


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


def _measure(variant: str, batch: int, pairs: int, warmup: int) -> dict[str, Any]:
    """Per batch, CPU microseconds per answer: of ``variant``, or with ``alternate`` of
    the hooks with and without opentelemetry-api, batch after batch."""
    if variant == NO_EXTRA:
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
    elif variant == SDK:
        _install_sdk()
    answer = _answerer()
    for _ in range(warmup):
        answer()
    if variant != "alternate":
        return {variant: [_batch(answer, batch) for _ in range(pairs)]}
    from flask_flowglad.telemetry import otel

    with_api = otel.api()
    assert with_api is not None, "the alternation needs opentelemetry-api"
    found: dict[str, list[float]] = {API: [], NO_EXTRA: []}
    for pair in range(pairs):
        for name in (API, NO_EXTRA) if pair % 2 == 0 else (NO_EXTRA, API):
            otel._loaded[:] = [with_api if name == API else None]  # what api() answers
            found[name].append(_batch(answer, batch))
    ratios = [a / b for a, b in zip(found[API], found[NO_EXTRA], strict=True)]
    return {**found, "ratios": ratios}


def _batch(answer: Callable[[], None], count: int) -> float:
    started = time.process_time_ns()
    for _ in range(count):
        answer()
    return (time.process_time_ns() - started) / count / 1000


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
    variant, size, count, warm = sys.argv[1], *map(int, sys.argv[2:5])
    print(json.dumps(_measure(variant, size, count, warm)))
