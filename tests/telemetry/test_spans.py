"""The span tree of each kind of billing work, with the SDK's in-memory exporter: one span
``flowglad <operation>`` per logical operation, a client span per HTTP request under it."""

from __future__ import annotations

import json

import pytest
from cachelib import SimpleCache
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.webhooks import signed_headers

from ..support.otel_capture import Capture
from ..support.telemetry import (
    CUSTOMER,
    SUCCESS,
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    SlowPaths,
    User,
    billed_app,
    stale_ready_app,
)

pytestmark = pytest.mark.usefixtures("stable_semconv")

BILLING = "flowglad customers.billing.read"


def _billing_read(app: object) -> dict[str, object]:
    with app.test_client(user=User(CUSTOMER)) as client:  # type: ignore[attr-defined]
        answer = client.post("/api/flowglad/customers/billing", json={})
    return answer  # type: ignore[no-any-return]


def test_an_uncached_billing_read_is_one_operation_with_one_http_span_under_it(
    otel: Capture, sandbox: Sandbox, flowglad_url: str
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    app = billed_app(flowglad_url, sandbox)

    answer = _billing_read(app)

    assert answer.status_code == 200
    operation = otel.span(BILLING)
    assert operation.kind is SpanKind.INTERNAL
    attributes = dict(operation.attributes or {})
    assert attributes["flowglad.operation"] == "customers.billing.read"
    customer_hash = app.extensions["flowglad"].client.telemetry.customer_hash(CUSTOMER)
    assert attributes["flowglad.customer.hash"] == customer_hash
    assert attributes["flowglad.attempts"] == 1
    assert isinstance(attributes["flowglad.request_id"], str)
    assert "flowglad.billing_cache.result" not in attributes  # no shared cache
    [http] = otel.children(operation)
    port = int(flowglad_url.rsplit(":", 1)[1])
    assert http.name == "GET"
    assert http.kind is SpanKind.CLIENT
    assert dict(http.attributes or {}) == {
        "http.request.method": "GET",
        "url.full": f"{flowglad_url}/api/v1/customers/REDACTED/billing",
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 200,
    }
    assert http.status.status_code is StatusCode.UNSET
    assert operation.parent is None  # no span around the test client's request


def test_a_cached_read_is_one_operation_with_no_http_span_and_its_cache_result(
    otel: Capture, sandbox: Sandbox, flowglad_url: str
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    app = billed_app(flowglad_url, sandbox, FLOWGLAD_BILLING_CACHE=SimpleCache())

    assert _billing_read(app).status_code == 200  # a miss: read from Flowglad, stored
    assert _billing_read(app).status_code == 200  # a hit

    miss, hit = sorted((span for span in otel.spans() if span.name == BILLING), key=_started)
    assert miss.attributes["flowglad.billing_cache.result"] == "miss"
    assert [span.name for span in otel.children(miss)] == ["GET"]
    assert miss.attributes["flowglad.attempts"] == 1
    assert hit.attributes["flowglad.billing_cache.result"] == "hit"
    assert otel.children(hit) == []
    assert "flowglad.attempts" not in hit.attributes  # nothing was sent
    customer_hash = app.extensions["flowglad"].client.telemetry.customer_hash(CUSTOMER)
    assert hit.attributes["flowglad.customer.hash"] == customer_hash
    assert hit.status.status_code is StatusCode.UNSET
    results = {
        point.attributes["flowglad.billing_cache.result"]: point.value
        for point in otel.points("flowglad.billing_cache.lookups")
    }
    assert results == {"miss": 1, "hit": 1}


def test_a_stale_read_is_the_reads_span_with_the_entrys_age_and_why_and_one_log_line(
    otel: Capture, sandbox: Sandbox, flowglad_url: str, logs: pytest.LogCaptureFixture
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    app, clock = stale_ready_app(flowglad_url, sandbox)
    assert _billing_read(app).status_code == 200  # a miss: stored
    clock.now += 90  # past the TTL, within stale-if-error
    sandbox.fail_next(503, path="/billing", times=5)

    answer = _billing_read(app)

    assert answer.status_code == 200
    assert answer.headers["X-Flowglad-Stale"] == "90"
    miss, stale = sorted((span for span in otel.spans() if span.name == BILLING), key=_started)
    assert miss.attributes["flowglad.billing_cache.result"] == "miss"  # type: ignore[index]
    attributes = dict(stale.attributes or {})
    assert attributes["flowglad.billing_cache.result"] == "stale"
    assert attributes["flowglad.billing_cache.stale_age"] == 90.0
    assert attributes["flowglad.billing_cache.stale_reason"] == "FlowgladServerError"
    assert stale.status.status_code is StatusCode.UNSET  # the read was answered
    [event] = stale.events
    assert event.name == "flowglad.billing_cache.served_stale"
    # One attempt, no retries: a stale entry was there to fall back on.
    [http] = otel.children(stale)
    assert http.attributes["http.response.status_code"] == 503  # type: ignore[index]
    assert http.status.status_code is StatusCode.ERROR
    results = {
        point.attributes["flowglad.billing_cache.result"]: point.value
        for point in otel.points("flowglad.billing_cache.lookups")
    }
    assert results == {"miss": 1, "stale": 1}
    [line] = [r for r in logs.records if "served stale" in r.getMessage()]
    assert line.levelname == "INFO"
    customer_hash = app.extensions["flowglad"].client.telemetry.customer_hash(CUSTOMER)
    assert line.getMessage() == (
        "flowglad billing served stale result=stale stale_age=90.0"
        f" stale_reason=FlowgladServerError customer={customer_hash}"
    )


def test_a_503_is_retried_in_a_second_http_span_with_its_resend_count(
    otel: Capture, sandbox: Sandbox, flowglad_url: str
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    sandbox.fail_next(503, path="/billing")
    app = billed_app(flowglad_url, sandbox)

    assert _billing_read(app).status_code == 200

    operation = otel.span(BILLING)
    first, second = sorted(otel.children(operation), key=lambda span: span.start_time or 0)
    assert first.attributes["http.response.status_code"] == 503  # type: ignore[index]
    assert first.attributes["error.type"] == "503"  # type: ignore[index]
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in (first.attributes or {})
    assert second.attributes["http.request.resend_count"] == 1  # type: ignore[index]
    assert second.attributes["http.response.status_code"] == 200  # type: ignore[index]
    assert second.status.status_code is StatusCode.UNSET
    assert operation.attributes["flowglad.attempts"] == 2  # type: ignore[index]
    assert operation.status.status_code is StatusCode.UNSET
    [retry] = operation.events
    assert retry.name == "flowglad.retry"
    assert retry.attributes["flowglad.retry.reason"] == "503"  # type: ignore[index]


def test_a_read_that_times_out_ends_in_error_spans(
    otel: Capture, sandbox: Sandbox, flowglad_url: str, slow_paths: SlowPaths
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    slow_paths.delays["/billing"] = 2.0
    app = billed_app(flowglad_url, sandbox, FLOWGLAD_READ_TIMEOUT=0.2, FLOWGLAD_MAX_RETRIES=1)

    answer = _billing_read(app)

    assert answer.status_code in (502, 503, 504)
    operation = otel.span(BILLING)
    assert operation.status.status_code is StatusCode.ERROR
    assert operation.attributes["error.type"] == "FlowgladTimeout"  # type: ignore[index]
    attempts = otel.children(operation)
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt.status.status_code is StatusCode.ERROR
        assert attempt.attributes["error.type"] in ("ReadTimeout", "timeout")  # type: ignore[index]
        assert "http.response.status_code" not in (attempt.attributes or {})


def test_a_webhook_is_one_span_with_its_outcome_and_the_receivers_calls_under_it(
    otel: Capture, sandbox: Sandbox, flowglad_url: str
) -> None:
    from flask_flowglad.signals import subscription_webhook

    subscription = sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    app = billed_app(flowglad_url, sandbox)

    def read_subscription(sender: object, event: object, **extra: object) -> None:
        app.extensions["flowglad"].client.get_subscription(event.object_id)  # type: ignore[attr-defined]

    body = json.dumps(
        {
            "id": subscription["id"],
            "object": "subscription",
            "customer": {"id": "cust_1", "externalId": CUSTOMER},
        }
    ).encode()
    headers = signed_headers(WEBHOOK_SECRET, "msg_2Nf8x", body)
    with subscription_webhook.connected_to(read_subscription, sender=app):
        first = app.test_client().post(WEBHOOK_PATH, data=body, headers=headers)
        again = app.test_client().post(WEBHOOK_PATH, data=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)

    handled, duplicate = sorted(
        (s for s in otel.spans() if s.name == "flowglad webhook.receive"),
        key=lambda span: span.start_time or 0,
    )
    attributes = dict(handled.attributes or {})
    assert attributes["flowglad.webhook.id"] == "msg_2Nf8x"
    assert attributes["flowglad.webhook.object"] == "subscription"
    assert attributes["flowglad.webhook.outcome"] == "handled"
    assert attributes["flowglad.customer.hash"] == app.extensions[
        "flowglad"
    ].client.telemetry.customer_hash(CUSTOMER)
    [read] = otel.children(handled)
    assert read.name == "flowglad subscriptions.read"
    assert [span.name for span in otel.children(read)] == ["GET"]
    assert duplicate.attributes["flowglad.webhook.outcome"] == "duplicate"  # type: ignore[index]
    assert otel.children(duplicate) == []


def test_a_refused_webhook_is_counted_and_its_span_is_no_error_of_ours(
    otel: Capture, sandbox: Sandbox, flowglad_url: str
) -> None:
    app = billed_app(flowglad_url, sandbox)
    body = b'{"id": "sub_1", "object": "subscription"}'
    headers = {**signed_headers(WEBHOOK_SECRET, "msg_forged", body), "svix-signature": "v1,AA=="}

    assert app.test_client().post(WEBHOOK_PATH, data=body, headers=headers).status_code == 400

    span = otel.span("flowglad webhook.receive")
    assert span.attributes["flowglad.webhook.outcome"] == "refused"  # type: ignore[index]
    assert "flowglad.webhook.object" not in (span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    [point] = otel.points("flowglad.webhook.deliveries")
    assert (dict(point.attributes), point.value) == ({"flowglad.webhook.outcome": "refused"}, 1)


def test_a_checkout_reads_billing_then_creates_the_session_each_its_own_operation(
    otel: Capture, sandbox: Sandbox, flowglad_url: str
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "free")
    app = billed_app(flowglad_url, sandbox)
    tracer = trace.get_tracer("tests")

    with tracer.start_as_current_span("POST /api/flowglad/checkout-sessions/create") as root:
        with app.test_client(user=User(CUSTOMER)) as client:
            answer = client.post(
                "/api/flowglad/checkout-sessions/create",
                json={**SUCCESS, "priceSlug": "pro_monthly"},
            )

    assert answer.status_code == 200, answer.json
    request = otel.span(root.name)  # type: ignore[attr-defined]
    names = [span.name for span in sorted(otel.children(request), key=_started)]
    assert names == [BILLING, "flowglad checkout_sessions.create"]
    create = otel.span("flowglad checkout_sessions.create")
    [post] = otel.children(create)
    assert post.attributes["http.request.method"] == "POST"  # type: ignore[index]
    assert post.attributes["url.full"].endswith("/api/v1/checkout-sessions")  # type: ignore[index,union-attr]
    assert post.attributes["http.response.status_code"] in (200, 201)  # type: ignore[index]
    telemetry = app.extensions["flowglad"].client.telemetry
    customer_hash = telemetry.customer_hash(CUSTOMER)
    assert create.attributes["flowglad.customer.hash"] == customer_hash  # type: ignore[index]


def _started(span: object) -> int:
    return span.start_time or 0  # type: ignore[attr-defined,no-any-return]
