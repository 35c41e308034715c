"""What billing does, told to OpenTelemetry, to the log and to the debug toolbar.

The client, the shared billing cache, the webhook endpoint and the usage outbox each call
a hook of this package at one place; none of them touches OpenTelemetry. The package needs
no Flask, and ``opentelemetry-api`` (the ``otel`` extra) only once a hook runs: without
it, the hooks keep to the log and the toolbar; with it and no SDK configured, no span is
started and each metric call returns at once.

- Spans: one per logical operation, ``flowglad <operation>`` (:mod:`.operations` names
  them), with each HTTP request to Flowglad a client span under it.
- Metrics: ``flowglad.client.request.duration``, ``flowglad.billing_cache.lookups``,
  ``flowglad.webhook.deliveries``, and the usage outbox's gauges
  (``flowglad.usage_outbox.pending``, ``.oldest_age``, ``.dead_letters``).
- Logs: ``flask_flowglad.telemetry``, one line per call at DEBUG, per failure at WARNING.

No customer's external id is ever told (a keyed hash names the customer), nor any key.
"""

from __future__ import annotations

from .cache import BillingRead, billing_cache_lookup, billing_served_stale
from .calls import ClientTelemetry, Operation, current_operation, logger
from .names import CACHE_RESULTS, WEBHOOK_OUTCOMES
from .operations import REDACTED, ROUTES, route_of, shown_path, shown_paths
from .outbox import UsageFlush, watch_usage_outbox
from .recording import (
    Recording,
    current_recording,
    feature_checked,
    start_recording,
    stop_recording,
)
from .webhooks import Delivery

__all__ = [
    "BillingRead",
    "CACHE_RESULTS",
    "REDACTED",
    "ROUTES",
    "WEBHOOK_OUTCOMES",
    "ClientTelemetry",
    "Delivery",
    "Operation",
    "Recording",
    "UsageFlush",
    "billing_cache_lookup",
    "billing_served_stale",
    "current_operation",
    "current_recording",
    "feature_checked",
    "logger",
    "route_of",
    "shown_path",
    "shown_paths",
    "start_recording",
    "stop_recording",
    "watch_usage_outbox",
]
