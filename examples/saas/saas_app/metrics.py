"""Prometheus metrics at ``/metrics``: what billing does, scraped with the rest of the app.

flask-flowglad reports through OpenTelemetry's API (its ``otel`` extra), so the process
needs an OpenTelemetry SDK to count anything. Here the SDK's one reader is Prometheus'
(``opentelemetry-exporter-prometheus``): it turns each instrument into a Prometheus family
(``flowglad.client.request.duration`` in seconds becomes
``flowglad_client_request_duration_seconds``) in ``prometheus_client``'s registry, which
the view below serves in Prometheus' text format.

On when ``SAAS_METRICS`` is set (in the environment, or the app's config): the SDK's meter
provider is the process's own, and the page tells anyone who can reach it how the app is
doing, so serving it is a choice. Each gunicorn worker counts on its own: see
"Observability" in the docs for the multi-process case.
"""

from __future__ import annotations

import threading

from flask import Flask, Response

_lock = threading.Lock()
_installed: list[bool] = []


def init_app(app: Flask) -> None:
    if not app.config.get("SAAS_METRICS"):
        return
    try:
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
    except ImportError:
        return
    if not _install_meter_provider():
        return

    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", metrics)


def _install_meter_provider() -> bool:
    """Give the process a meter provider reading into Prometheus, once (OpenTelemetry
    keeps one per process, whatever the number of apps); ``False`` without the SDK."""
    try:
        from opentelemetry import metrics
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
    except ImportError:
        return False
    with _lock:
        if not _installed:
            metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
            _installed.append(True)
    return True
