"""One log line per Flowglad call (DEBUG) and per failure (WARNING), with the same names as
the spans; and across every kind of billing work, no customer's id in clear and no key in
any span attribute, event or log record of the package."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from flask_flowglad.delivery import usage_worker
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
    assert_nothing_names,
    billed_app,
    stale_ready_app,
    told,
)

TELEMETRY = "flask_flowglad.telemetry"


def _ours(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """The package's records (the sandbox's HTTP server logs its own access lines, which
    name customers as Flowglad's own access log would)."""
    return [record for record in records if record.name.startswith("flask_flowglad")]


def _lines(records: list[logging.LogRecord], what: str) -> list[logging.LogRecord]:
    return [
        r
        for r in records
        if r.name == TELEMETRY and r.getMessage().startswith(f"flowglad {what} ")
    ]


@pytest.mark.usefixtures("stable_semconv")
def test_every_kind_of_work_tells_no_customer_id_and_no_key(
    otel: Capture,
    logs: pytest.LogCaptureFixture,
    sandbox: Sandbox,
    flowglad_url: str,
    slow_paths: SlowPaths,
) -> None:
    app = billed_app(flowglad_url, sandbox, FLOWGLAD_READ_TIMEOUT=0.3, FLOWGLAD_MAX_RETRIES=1)
    user = User(CUSTOMER)
    with app.test_client(user=user) as client:
        # a first visit: the customer is looked up (404), created, then read
        assert client.post("/api/flowglad/customers/billing", json={}).status_code == 200
        checkout = {**SUCCESS, "priceSlug": "pro_monthly"}
        assert (
            client.post("/api/flowglad/checkout-sessions/create", json=checkout).status_code == 200
        )
    sandbox.fail_next(503, path="/billing")
    with app.test_client(user=user) as client:
        assert client.post("/api/flowglad/customers/billing", json={}).status_code == 200
    slow_paths.delays["/billing"] = 2.0
    with app.test_client(user=user) as client:
        assert client.post("/api/flowglad/customers/billing", json={}).status_code >= 500
    body = json.dumps(
        {"id": "sub_1", "object": "subscription", "customer": {"id": "c", "externalId": CUSTOMER}}
    ).encode()
    app.test_client().post(
        WEBHOOK_PATH, data=body, headers=signed_headers(WEBHOOK_SECRET, "m1", body)
    )

    texts = told(otel.spans(), _ours(logs.records))
    assert_nothing_names([CUSTOMER, sandbox.secret_key, WEBHOOK_SECRET], texts)
    # and the hash that names the customer instead is everywhere it should be
    customer_hash = app.extensions["flowglad"].client.telemetry.customer_hash(CUSTOMER)
    calls = _lines(logs.records, "call")
    assert len(calls) >= 6
    assert {getattr(r, "flowglad.customer.hash") for r in calls} == {customer_hash}


@pytest.mark.usefixtures("stable_semconv")
def test_the_shared_cache_and_the_usage_outbox_tell_no_customer_id_and_no_key(
    otel: Capture,
    logs: pytest.LogCaptureFixture,
    sandbox: Sandbox,
    flowglad_url: str,
    tmp_path: Path,
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    outbox = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    app, clock = stale_ready_app(flowglad_url, sandbox, FLOWGLAD_USAGE_OUTBOX=outbox)
    user = User(CUSTOMER)
    for _ in range(2):  # a miss, then a hit
        with app.test_client(user=user) as client:
            assert client.post("/api/flowglad/customers/billing", json={}).status_code == 200
    clock.now += 90
    sandbox.fail_next(503, path="/billing")
    with app.test_client(user=user) as client:  # served stale
        answer = client.post("/api/flowglad/customers/billing", json={})
        assert answer.headers["X-Flowglad-Stale"] == "90"
    with app.app_context():
        customer = app.extensions["flowglad"].for_customer(CUSTOMER)
        for _ in range(2):
            customer.record_usage("api_calls")
        sandbox.fail_next(422, path="/usage-events/bulk", times=10)  # both dead letters
        assert usage_worker(linger=0.01).drain(max_seconds=10).dead == 2

    texts = told(otel.spans(), _ours(logs.records))
    assert_nothing_names([CUSTOMER, sandbox.secret_key, WEBHOOK_SECRET], texts)
    customer_hash = app.extensions["flowglad"].client.telemetry.customer_hash(CUSTOMER)
    # The read above, then the usage's own reads (while Flowglad counts as failing).
    stale = _lines(logs.records, "billing served stale")
    assert stale and {getattr(r, "flowglad.customer.hash") for r in stale} == {customer_hash}
    dead = [r for r in logs.records if "refused for good" in r.getMessage()]
    assert len(dead) == 2
    assert all(f"of customer {customer_hash} " in r.getMessage() for r in dead)


def test_a_call_logs_one_debug_line_with_the_span_names(
    logs: pytest.LogCaptureFixture, sandbox: Sandbox, flowglad_url: str
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    app = billed_app(flowglad_url, sandbox)
    with app.test_client(user=User(CUSTOMER)) as client:
        client.post("/api/flowglad/customers/billing", json={})

    [line] = _lines(logs.records, "call")
    assert line.levelno == logging.DEBUG
    fields = vars(line)
    assert fields["flowglad.operation"] == "customers.billing.read"
    assert fields["http.request.method"] == "GET"
    assert fields["url.path"] == "/api/v1/customers/REDACTED/billing"
    assert fields["http.response.status_code"] == 200
    assert fields["flowglad.attempts"] == 1
    request_id = fields["flowglad.request_id"]
    assert isinstance(request_id, str) and request_id
    assert f"request_id={request_id}" in line.getMessage()
    assert "status=200" in line.getMessage()
    assert fields["error.type"] is None


def test_a_failed_call_logs_a_warning_and_an_expected_404_does_not(
    logs: pytest.LogCaptureFixture, sandbox: Sandbox, flowglad_url: str
) -> None:
    app = billed_app(flowglad_url, sandbox, FLOWGLAD_MAX_RETRIES=0)
    sandbox.fail_next(503, path="/api/v1/customers/", times=1)
    with app.test_client(user=User(CUSTOMER)) as client:
        client.post("/api/flowglad/customers/billing", json={})  # 503: a failure
        client.post("/api/flowglad/customers/billing", json={})  # 404, created, read

    lines = _lines(logs.records, "call")
    warnings = [line for line in lines if line.levelno == logging.WARNING]
    [failure] = warnings
    assert getattr(failure, "error.type") == "FlowgladServerError"
    assert getattr(failure, "http.response.status_code") == 503
    assert getattr(failure, "flowglad.request_id") == "sandbox0"  # from Flowglad's body
    missing = [line for line in lines if getattr(line, "http.response.status_code") == 404]
    assert missing and all(line.levelno == logging.DEBUG for line in missing)


def test_a_webhook_logs_its_svix_id_and_outcome(
    logs: pytest.LogCaptureFixture, sandbox: Sandbox, flowglad_url: str
) -> None:
    app = billed_app(flowglad_url, sandbox)
    body = b'{"id": "sub_1", "object": "subscription"}'
    app.test_client().post(
        WEBHOOK_PATH, data=body, headers=signed_headers(WEBHOOK_SECRET, "msg_ok", body)
    )
    forged = {**signed_headers(WEBHOOK_SECRET, "msg_bad", body), "svix-signature": "v1,AA=="}
    app.test_client().post(WEBHOOK_PATH, data=body, headers=forged)

    handled, refused = _lines(logs.records, "webhook")
    assert (handled.levelno, getattr(handled, "flowglad.webhook.id")) == (logging.DEBUG, "msg_ok")
    assert getattr(handled, "flowglad.webhook.outcome") == "handled"
    assert "svix_id=msg_ok" in handled.getMessage()
    assert (refused.levelno, getattr(refused, "flowglad.webhook.outcome")) == (
        logging.WARNING,
        "refused",
    )
    assert getattr(refused, "flowglad.webhook.id") == "msg_bad"


def test_a_value_with_spaces_or_quotes_is_quoted_in_the_line(
    logs: pytest.LogCaptureFixture, sandbox: Sandbox, flowglad_url: str
) -> None:
    """A refused delivery's ``svix-id`` is anyone's: it cannot forge another field."""
    app = billed_app(flowglad_url, sandbox)
    body = b'{"id": "sub_1", "object": "subscription"}'
    forged_id = 'msg" outcome=handled x="' + "y" * 200
    headers = {**signed_headers(WEBHOOK_SECRET, "m", body), "svix-id": forged_id}
    app.test_client().post(WEBHOOK_PATH, data=body, headers=headers)

    [line] = _lines(logs.records, "webhook")
    message = line.getMessage()
    assert message.startswith("flowglad webhook operation=webhook.receive outcome=refused ")
    assert 'svix_id="msg\\" outcome=handled x=\\"yyy' in message
    assert len(getattr(line, "flowglad.webhook.id")) == 100  # kept short


def test_an_unreachable_flowglad_is_reported_without_the_customers_id(
    logs: pytest.LogCaptureFixture,
) -> None:
    """requests' own message quotes the URL, the customer's id in its path."""
    from flask_flowglad import FlowgladClient
    from flask_flowglad.errors import FlowgladConnectionError

    from ..support.cache_support import free_port

    client = FlowgladClient(
        "sk_test_unreachable", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0
    )
    with pytest.raises(FlowgladConnectionError) as caught:
        client.get_billing(CUSTOMER)

    assert "/api/v1/customers/REDACTED/billing" in str(caught.value)
    [line] = _lines(logs.records, "call")
    assert line.levelno == logging.WARNING
    assert getattr(line, "error.type") == "FlowgladConnectionError"
    assert_nothing_names([CUSTOMER], [str(caught.value), *told([], _ours(logs.records))])
