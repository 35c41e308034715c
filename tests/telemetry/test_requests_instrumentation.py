"""With opentelemetry-instrumentation-requests installed, the HTTP spans are its own, under
ours: never two for one request, and never a customer's id or a key in them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.trace import SpanKind

from flask_flowglad.sandbox import Sandbox

from ..support.otel_capture import Capture
from ..support.telemetry import CUSTOMER, User, assert_nothing_names, billed_app, told


@contextmanager
def instrumented() -> Iterator[None]:
    """The instrumentation on, as an app turns it on when it starts (after the environment
    is set: it reads OTEL_SEMCONV_STABILITY_OPT_IN then)."""
    RequestsInstrumentor().instrument()
    try:
        yield
    finally:
        RequestsInstrumentor().uninstrument()


@pytest.mark.parametrize("opt_in", [None, "http", "http/dup"])
def test_one_http_span_per_request_and_it_is_the_instrumentations(
    otel: Capture,
    semconv: pytest.MonkeyPatch,
    sandbox: Sandbox,
    flowglad_url: str,
    opt_in: str | None,
) -> None:
    if opt_in is not None:
        semconv.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", opt_in)
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    sandbox.fail_next(503, path="/billing")
    app = billed_app(flowglad_url, sandbox)

    with instrumented(), app.test_client(user=User(CUSTOMER)) as client:
        assert client.post("/api/flowglad/customers/billing", json={}).status_code == 200

    operation = otel.span("flowglad customers.billing.read")
    http = [span for span in otel.spans() if span.kind is SpanKind.CLIENT]
    assert len(http) == 2  # the 503 and its retry: one span each
    assert all(span.instrumentation_scope.name.endswith(".requests") for span in http)
    assert all(span.parent.span_id == operation.context.span_id for span in http)
    first, second = sorted(http, key=lambda span: span.start_time or 0)
    url = f"{flowglad_url}/api/v1/customers/REDACTED/billing"
    keys = {None: ["http.url"], "http": ["url.full"], "http/dup": ["http.url", "url.full"]}
    for key in keys[opt_in]:
        assert first.attributes[key] == second.attributes[key] == url
    resend = {None: "http.resend_count", "http": "http.request.resend_count"}
    for key in {"http.resend_count", "http.request.resend_count"}:
        expected = opt_in == "http/dup" or key == resend.get(opt_in)
        assert (key in second.attributes) is expected
        assert key not in first.attributes
    telemetry = app.extensions["flowglad"].client.telemetry
    assert_nothing_names([CUSTOMER, sandbox.secret_key], told(otel.spans(), []))
    assert operation.attributes["flowglad.customer.hash"] == telemetry.customer_hash(CUSTOMER)


def test_a_captured_authorization_header_is_masked(
    otel: Capture,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: Sandbox,
    flowglad_url: str,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST", ".*")
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    app = billed_app(flowglad_url, sandbox)
    with instrumented(), app.test_client(user=User(CUSTOMER)) as client:
        assert client.post("/api/flowglad/customers/billing", json={}).status_code == 200

    [http] = [span for span in otel.spans() if span.kind is SpanKind.CLIENT]
    assert http.attributes["http.request.header.authorization"] == ("REDACTED",)
    assert_nothing_names([sandbox.secret_key], told(otel.spans(), []))
