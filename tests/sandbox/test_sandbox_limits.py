"""Every size the sandbox takes from a request is bounded, and past a bound it answers a
Flowglad-like 400 (``{error, code, request_id}``) without doing the work."""

from __future__ import annotations

import json
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from flask_flowglad.sandbox import Sandbox, SandboxError, limits

from .sandbox_helpers import ApiClient


def _refused(response: requests.Response, needle: str = "") -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == "BAD_REQUEST"
    assert len(body["request_id"]) == 8
    if needle:
        assert needle in json.dumps(body["error"]), body
    return body


@pytest.fixture
def sub_id(sandbox: Sandbox) -> str:
    return str(sandbox.put_customer_on_plan("user-1", "pro_monthly")["id"])


def test_a_huge_claim_quantity_is_refused_without_allocating(api: ApiClient, sub_id: str) -> None:
    tracemalloc.start()
    try:
        response = api.post(
            f"/api/v1/resource-claims/{sub_id}/claim",
            json={"resourceSlug": "seats", "quantity": 100_000_000},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _refused(response, f"less than or equal to {limits.MAX_QUANTITY}")
    assert peak < 5_000_000


def test_a_claim_within_the_quantity_bound_but_over_capacity_allocates_nothing(
    api: ApiClient, sandbox: Sandbox, sub_id: str
) -> None:
    response = api.post(
        f"/api/v1/resource-claims/{sub_id}/claim",
        json={"resourceSlug": "seats", "quantity": limits.MAX_QUANTITY},
    )
    _refused(response, "Insufficient capacity")
    assert sandbox.records.claims.rows == {}


@pytest.mark.parametrize(
    ("member", "value", "needle"),
    [
        ("intervalCount", 10**12, "less than or equal to"),
        ("intervalCount", limits.MAX_INTERVAL_COUNT + 1, "less than or equal to"),
        ("quantity", limits.MAX_QUANTITY + 1, "less than or equal to"),
        ("trialEnd", 10**20, "less than or equal to"),
        ("trialEnd", -1, "greater than or equal to"),
        ("name", "n" * (limits.MAX_STRING + 1), "at most"),
        ("priceSlug", "p" * (limits.MAX_ID + 1), "at most"),
    ],
)
def test_subscription_terms_past_their_bounds_are_refused(
    api: ApiClient, sandbox: Sandbox, member: str, value: Any, needle: str
) -> None:
    api.create_customer()
    body = {"customerExternalId": "user-1", "priceSlug": "pro_monthly", member: value}
    _refused(api.post("/api/v1/subscriptions", json=body), needle)
    assert len(sandbox.records.subscriptions) == 1  # only the free plan


def test_yearly_periods_that_would_pass_the_year_9999_are_refused(
    api: ApiClient, sandbox: Sandbox
) -> None:
    api.create_customer()
    body = {
        "customerExternalId": "user-1",
        "priceSlug": "pro_monthly",
        "interval": "year",
        "intervalCount": limits.MAX_INTERVAL_COUNT,
    }
    created = api.post("/api/v1/subscriptions", json=body)
    assert created.status_code == 200
    sub_id = created.json()["subscription"]["id"]
    for _ in range(5):  # periods end in 3226, 4426, ... 9226
        sandbox.advance_billing_period(sub_id)
    before = sandbox.subscription(sub_id)
    with pytest.raises(SandboxError, match="year 9999"):
        sandbox.advance_billing_period(sub_id)
    after = sandbox.subscription(sub_id)
    assert after["status"] == before["status"]
    assert after["currentBillingPeriodEnd"] == before["currentBillingPeriodEnd"]


def test_usage_amounts_and_dates_are_bounded(api: ApiClient, sub_id: str) -> None:
    event = {
        "subscriptionId": sub_id,
        "usageMeterSlug": "api_calls",
        "transactionId": "t1",
        "amount": limits.MAX_AMOUNT + 1,
    }
    _refused(api.post("/api/v1/usage-events", json={"usageEvent": event}), "less than")
    event.update(amount=1, usageDate=limits.MAX_TIMESTAMP_MS + 1)
    _refused(api.post("/api/v1/usage-events", json={"usageEvent": event}), "less than")
    event.update(usageDate=None, transactionId="t" * (limits.MAX_ID + 1))
    _refused(api.post("/api/v1/usage-events", json={"usageEvent": event}), "at most")


def test_bulk_usage_is_bounded_in_events(api: ApiClient, sandbox: Sandbox, sub_id: str) -> None:
    event = {"subscriptionId": sub_id, "usageMeterSlug": "api_calls", "amount": 1}
    events = [{**event, "transactionId": f"t{i}"} for i in range(limits.MAX_BULK_EVENTS + 1)]
    _refused(api.post("/api/v1/usage-events/bulk", json={"usageEvents": events}), "1 to")
    assert sandbox.records.usage_events.rows == {}


def test_properties_and_metadata_are_bounded_in_members(api: ApiClient, sub_id: str) -> None:
    many = {f"k{i}": i for i in range(limits.MAX_KEYS + 1)}
    event = {
        "subscriptionId": sub_id,
        "usageMeterSlug": "api_calls",
        "transactionId": "t1",
        "amount": 1,
        "properties": many,
    }
    _refused(api.post("/api/v1/usage-events", json={"usageEvent": event}), "at most")
    claim = {"resourceSlug": "seats", "quantity": 1, "metadata": many}
    _refused(api.post(f"/api/v1/resource-claims/{sub_id}/claim", json=claim), "at most")


def test_lists_are_bounded(api: ApiClient, sandbox: Sandbox, sub_id: str) -> None:
    base = f"/api/v1/resource-claims/{sub_id}"
    names = [f"user-{i}" for i in range(limits.MAX_LIST + 1)]
    _refused(api.post(f"{base}/claim", json={"resourceSlug": "seats", "externalIds": names}))
    _refused(api.post(f"{base}/release", json={"resourceSlug": "seats", "claimIds": names}))
    slugs = ",".join(f"r{i}" for i in range(limits.MAX_LIST + 1))
    _refused(api.get(f"{base}/usages", params={"resourceSlugs": slugs}), "at most")
    items = [{"priceSlug": "pro_monthly"}] * (limits.MAX_LIST + 1)
    adjustment = {"timing": "immediately", "newSubscriptionItems": items}
    _refused(api.post(f"/api/v1/subscriptions/{sub_id}/adjust", json={"adjustment": adjustment}))
    assert sandbox.records.claims.rows == {}


def test_a_long_external_id_is_refused(api: ApiClient, sandbox: Sandbox) -> None:
    body = {"customer": {"externalId": "x" * (limits.MAX_ID + 1), "name": "", "email": ""}}
    _refused(api.post("/api/v1/customers", json=body), "at most")
    assert sandbox.records.customers.rows == {}


def test_an_oversized_body_is_refused_unparsed(sandbox: Sandbox) -> None:
    body = b'{"customer": {"name": "' + b"x" * limits.MAX_BODY_BYTES + b'"}}'
    status, _, raw = sandbox.handle(
        "POST", "/api/v1/customers", body=body, headers={"Authorization": sandbox.secret_key}
    )
    assert status == 400
    assert "larger than" in json.loads(raw)["error"]
    assert sandbox.calls[-1].json is None


def test_deeply_nested_bodies_are_refused(sandbox: Sandbox) -> None:
    headers = {"Authorization": sandbox.secret_key}
    for depth in (limits.MAX_DEPTH + 1, 100_000):
        body = ("[" * depth + "]" * depth).encode()
        status, _, raw = sandbox.handle("POST", "/api/v1/customers", body=body, headers=headers)
        assert status == 400
        assert json.loads(raw)["code"] == "BAD_REQUEST"
        assert "nested deeper" in json.loads(raw)["error"]


def test_a_long_query_string_is_refused(sandbox: Sandbox) -> None:
    sandbox.create_customer("user-1")
    query = "subscriptionId=" + "s" * limits.MAX_QUERY_BYTES
    status, _, raw = sandbox.handle(
        "GET",
        "/api/v1/customers/user-1/usage-balances",
        query=query,
        headers={"Authorization": sandbox.secret_key},
    )
    assert status == 400
    assert "Query string" in json.loads(raw)["error"]


@pytest.fixture
def served(sandbox: Sandbox) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, sandbox.wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def test_the_http_server_reads_no_more_than_the_body_bound(served: str, sandbox: Sandbox) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"customer": {"name": "'
        for _ in range(8):
            yield b"x" * limits.MAX_BODY_BYTES
        yield b'"}}'

    response = requests.post(
        f"{served}/api/v1/customers",
        data=chunks(),
        headers={"Authorization": sandbox.secret_key, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert "larger than" in response.json()["error"]


def test_the_checkout_page_bounds_what_it_stores(sandbox: Sandbox, api: ApiClient) -> None:
    from flask import Flask

    app = Flask(__name__)
    app.register_blueprint(sandbox.pages_blueprint(), url_prefix="/flowglad-sandbox")
    api.create_customer()
    session = api.checkout(priceSlug="pro_monthly")["checkoutSession"]
    form = {"card_number": "4242" * 1000, "name": "n" * 10_000}
    page = app.test_client().post(f"/flowglad-sandbox/checkout/{session['id']}", data=form)
    assert page.status_code == 400
    assert sandbox.checkout_session(session["id"])["status"] == "open"
    form = {"card_number": "4242 4242 4242 4242", "name": "n" * 10_000}
    page = app.test_client().post(f"/flowglad-sandbox/checkout/{session['id']}", data=form)
    assert page.status_code == 303
    method = sandbox.billing("user-1")["paymentMethods"][-1]
    assert len(method["billingDetails"]["name"]) == limits.MAX_ID


@pytest.mark.parametrize(
    "body",
    [
        b'{"customer": {"externalId": "u", "name": "", "email": "", "logoURL": NaN}}',
        b'{"customer": {"externalId": "u", "name": "", "email": ""}, "x": Infinity}',
        b'{"customer": {"externalId": "u", "name": "", "email": ""}, "x": 1e999}',
        b'{"customer": {"externalId": "u", "name": "", "email": ""}, "x": ' + b"9" * 5000 + b"}",
    ],
)
def test_numbers_json_cannot_carry_are_refused(sandbox: Sandbox, body: bytes) -> None:
    status, _, raw = sandbox.handle(
        "POST", "/api/v1/customers", body=body, headers={"Authorization": sandbox.secret_key}
    )
    assert status == 400
    assert json.loads(raw)["error"] == "Invalid JSON in request body"
    assert sandbox.records.customers.rows == {}
