"""Behaviour of FlowgladClient and its error tree (no Flask involved)."""

from __future__ import annotations

import json
import os
import pickle
import re
import socket
import subprocess
import sys
import threading
import time
import typing as t
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import requests_mock as rm
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from flask_flowglad import __version__
from flask_flowglad import client as client_module
from flask_flowglad.client import FlowgladClient, new_transaction_id
from flask_flowglad.deadline import request_deadline
from flask_flowglad.errors import (
    FlowgladAPIError,
    FlowgladAuthenticationError,
    FlowgladBadRequest,
    FlowgladConflict,
    FlowgladConnectionError,
    FlowgladError,
    FlowgladNotFound,
    FlowgladRateLimited,
    FlowgladServerError,
    FlowgladTimeout,
    InvalidUpstreamAnswer,
)
from flask_flowglad.responses import api_error_from_response, parse_retry_after

BASE = "https://flowglad.test"
KEY = "sk_test_abc123"
OK = {"ok": True}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> FlowgladClient:
    return FlowgladClient(KEY, base_url=BASE, sleep=sleeps.append, random=lambda: 0.0)


def new_connection_error() -> requests.exceptions.ConnectionError:
    """What requests raises when the TCP connection could not be opened."""
    reason = NewConnectionError(None, "Failed to establish a new connection")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


def path_of(request: t.Any) -> str:
    # requests-mock lower-cases .path; read the raw URL instead
    return urlsplit(request.url).path


def query_of(request: t.Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


# -- every method: method, path, body, query, result ----------------------

EVENT = {"subscriptionId": "sub_1", "amount": 2, "usageMeterSlug": "calls", "transactionId": "t1"}

METHODS: list[tuple[str, t.Callable[[FlowgladClient], t.Any], str, str, t.Any, dict[str, str]]] = [
    ("get_customer", lambda c: c.get_customer("u1"), "GET", "/api/v1/customers/u1", None, {}),
    (
        "create_customer",
        lambda c: c.create_customer("u1", name="Ann", email="ann@example.com", domain="ex.com"),
        "POST",
        "/api/v1/customers",
        {
            "customer": {
                "externalId": "u1",
                "name": "Ann",
                "email": "ann@example.com",
                "domain": "ex.com",
            }
        },
        {},
    ),
    (
        "update_customer",
        lambda c: c.update_customer("u1", {"name": "Bob"}),
        "PUT",
        "/api/v1/customers/u1",
        {"customer": {"name": "Bob"}},
        {},
    ),
    (
        "archive_customer",
        lambda c: c.archive_customer("u1"),
        "POST",
        "/api/v1/customers/u1/archive",
        {},
        {},
    ),
    (
        "get_billing",
        lambda c: c.get_billing("u1"),
        "GET",
        "/api/v1/customers/u1/billing",
        None,
        {},
    ),
    (
        "get_usage_balances",
        lambda c: c.get_usage_balances("u1"),
        "GET",
        "/api/v1/customers/u1/usage-balances",
        None,
        {},
    ),
    (
        "get_usage_balances_for_subscription",
        lambda c: c.get_usage_balances("u1", "sub_1"),
        "GET",
        "/api/v1/customers/u1/usage-balances",
        None,
        {"subscriptionId": "sub_1"},
    ),
    (
        "create_checkout_session",
        lambda c: c.create_checkout_session({"type": "product", "priceSlug": "pro"}),
        "POST",
        "/api/v1/checkout-sessions",
        {"checkoutSession": {"type": "product", "priceSlug": "pro"}},
        {},
    ),
    (
        "get_checkout_session",
        lambda c: c.get_checkout_session("cs_1"),
        "GET",
        "/api/v1/checkout-sessions/cs_1",
        None,
        {},
    ),
    (
        "get_subscription",
        lambda c: c.get_subscription("sub_1"),
        "GET",
        "/api/v1/subscriptions/sub_1",
        None,
        {},
    ),
    (
        "create_subscription",
        lambda c: c.create_subscription({"customerId": "c1", "priceId": "p1"}),
        "POST",
        "/api/v1/subscriptions",
        {"customerId": "c1", "priceId": "p1"},
        {},
    ),
    (
        "cancel_subscription",
        lambda c: c.cancel_subscription("sub_1", "immediately"),
        "POST",
        "/api/v1/subscriptions/sub_1/cancel",
        {"cancellation": {"timing": "immediately"}},
        {},
    ),
    (
        "uncancel_subscription",
        lambda c: c.uncancel_subscription("sub_1"),
        "POST",
        "/api/v1/subscriptions/sub_1/uncancel",
        {},
        {},
    ),
    (
        "adjust_subscription",
        lambda c: c.adjust_subscription(
            "sub_1", {"timing": "immediately", "newSubscriptionItems": [{"priceSlug": "pro"}]}
        ),
        "POST",
        "/api/v1/subscriptions/sub_1/adjust",
        {"adjustment": {"timing": "immediately", "newSubscriptionItems": [{"priceSlug": "pro"}]}},
        {},
    ),
    (
        "create_usage_event",
        lambda c: c.create_usage_event(dict(EVENT)),
        "POST",
        "/api/v1/usage-events",
        {"usageEvent": EVENT},
        {},
    ),
    (
        "create_usage_events",
        lambda c: c.create_usage_events([dict(EVENT)]),
        "POST",
        "/api/v1/usage-events/bulk",
        {"usageEvents": [EVENT]},
        {},
    ),
    (
        "get_default_pricing_model",
        lambda c: c.get_default_pricing_model(),
        "GET",
        "/api/v1/pricing-models/default",
        None,
        {},
    ),
    (
        "get_resource_usage_by_slug",
        lambda c: c.get_resource_usage("sub_1", resource_slug="seats"),
        "GET",
        "/api/v1/resource-claims/sub_1/usage",
        None,
        {"resourceSlug": "seats"},
    ),
    (
        "get_resource_usage_by_id",
        lambda c: c.get_resource_usage("sub_1", resource_id="res_1"),
        "GET",
        "/api/v1/resource-claims/sub_1/usage",
        None,
        {"resourceId": "res_1"},
    ),
    (
        "list_resource_claims",
        lambda c: c.list_resource_claims("sub_1"),
        "GET",
        "/api/v1/resource-claims/sub_1/claims",
        None,
        {},
    ),
    (
        "list_resource_claims_by_slug",
        lambda c: c.list_resource_claims("sub_1", resource_slug="seats"),
        "GET",
        "/api/v1/resource-claims/sub_1/claims",
        None,
        {"resourceSlug": "seats"},
    ),
    (
        "claim_resource",
        lambda c: c.claim_resource("sub_1", {"resourceSlug": "seats", "quantity": 2}),
        "POST",
        "/api/v1/resource-claims/sub_1/claim",
        {"resourceSlug": "seats", "quantity": 2},
        {},
    ),
    (
        "release_resource",
        lambda c: c.release_resource("sub_1", {"resourceSlug": "seats", "claimIds": ["c1"]}),
        "POST",
        "/api/v1/resource-claims/sub_1/release",
        {"resourceSlug": "seats", "claimIds": ["c1"]},
        {},
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "body", "query"),
    [m[1:] for m in METHODS],
    ids=[m[0] for m in METHODS],
)
def test_method_sends_request_and_returns_body_unchanged(
    client: FlowgladClient,
    requests_mock: rm.Mocker,
    call: t.Callable[[FlowgladClient], t.Any],
    method: str,
    path: str,
    body: t.Any,
    query: dict[str, str],
) -> None:
    payload = {"thing": {"id": "x", "nested": [1, None]}, "extra": "kept"}
    requests_mock.register_uri(rm.ANY, rm.ANY, json=payload)

    assert call(client) == payload
    sent = requests_mock.last_request
    assert requests_mock.call_count == 1
    assert sent.method == method
    assert sent.url.startswith(BASE + "/")
    assert path_of(sent) == path
    assert query_of(sent) == query
    if body is None:
        assert sent.body is None
    else:
        assert sent.json() == body


def test_resource_usages_joins_arrays_with_commas_and_returns_list(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    payload = [{"usage": {"resourceSlug": "seats"}, "claims": []}]
    requests_mock.get(rm.ANY, json=payload)

    result = client.get_resource_usages(
        "sub_1", resource_slugs=["seats", "rooms"], resource_ids=["r1"]
    )

    assert result == payload
    assert path_of(requests_mock.last_request) == "/api/v1/resource-claims/sub_1/usages"
    assert query_of(requests_mock.last_request) == {
        "resourceSlugs": "seats,rooms",
        "resourceIds": "r1",
    }


def test_resource_usages_omits_absent_filters(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(rm.ANY, json=[])

    assert client.get_resource_usages("sub_1") == []
    assert urlsplit(requests_mock.last_request.url).query == ""


def test_none_query_params_are_omitted(client: FlowgladClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(rm.ANY, json=OK)

    client.get_resource_usage("sub_1", resource_slug="seats", resource_id=None)

    assert urlsplit(requests_mock.last_request.url).query == "resourceSlug=seats"


def test_create_customer_does_not_let_extra_override_the_external_id(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(rm.ANY, json=OK)

    client.create_customer("u1", name="Ann", email="a@example.com", externalId="other")

    assert requests_mock.last_request.json()["customer"]["externalId"] == "u1"


# -- headers ---------------------------------------------------------------


def test_get_sends_raw_key_accept_and_user_agent_but_no_content_type(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(rm.ANY, json=OK)

    client.get_customer("u1")

    headers = requests_mock.last_request.headers
    assert headers["Authorization"] == KEY
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"flask-flowglad/{__version__}"
    assert "Content-Type" not in headers


def test_post_sends_json_content_type(client: FlowgladClient, requests_mock: rm.Mocker) -> None:
    requests_mock.post(rm.ANY, json=OK)

    client.cancel_subscription("sub_1", "immediately")

    headers = requests_mock.last_request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == KEY


def test_user_agent_can_be_overridden(requests_mock: rm.Mocker) -> None:
    requests_mock.get(rm.ANY, json=OK)

    FlowgladClient(KEY, base_url=BASE, user_agent="my-worker/2").get_customer("u1")

    assert requests_mock.last_request.headers["User-Agent"] == "my-worker/2"


def test_netrc_credentials_do_not_replace_the_secret_key(
    client: FlowgladClient,
    requests_mock: rm.Mocker,
    tmp_path: t.Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine flowglad.test login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    requests_mock.get(rm.ANY, json=OK)

    client.get_customer("u1")

    assert requests_mock.last_request.headers["Authorization"] == KEY


def test_trailing_slash_of_base_url_is_not_doubled(requests_mock: rm.Mocker) -> None:
    requests_mock.get(rm.ANY, json=OK)

    FlowgladClient(KEY, base_url=BASE + "/").get_customer("u1")

    assert requests_mock.last_request.url == BASE + "/api/v1/customers/u1"


def test_secret_key_is_required_and_not_in_repr() -> None:
    with pytest.raises(ValueError):
        FlowgladClient("")
    assert KEY not in repr(FlowgladClient(KEY))


# -- path parameters -------------------------------------------------------


@pytest.mark.parametrize(
    ("external_id", "encoded"),
    [
        ("a b/c?d#e", "a%20b%2Fc%3Fd%23e"),
        ("jörg✓", "j%C3%B6rg%E2%9C%93"),
        ("50%", "50%25"),
        ("x:y@z+1", "x%3Ay%40z%2B1"),
        ("a.b_c-d~e", "a.b_c-d~e"),
    ],
)
def test_path_parameters_are_percent_encoded(
    client: FlowgladClient, requests_mock: rm.Mocker, external_id: str, encoded: str
) -> None:
    requests_mock.get(rm.ANY, json=OK)

    client.get_billing(external_id)

    assert path_of(requests_mock.last_request) == f"/api/v1/customers/{encoded}/billing"


@pytest.mark.parametrize("bad_id", ["", ".", ".."])
@pytest.mark.parametrize(
    "call",
    [
        lambda c, i: c.get_customer(i),
        lambda c, i: c.update_customer(i, {"name": "x"}),
        lambda c, i: c.cancel_subscription(i, "immediately"),
        lambda c, i: c.get_checkout_session(i),
        lambda c, i: c.claim_resource(i, {}),
    ],
    ids=["get_customer", "update_customer", "cancel_subscription", "get_checkout", "claim"],
)
def test_empty_and_dot_ids_are_rejected_before_any_request(
    client: FlowgladClient,
    requests_mock: rm.Mocker,
    call: t.Callable[[FlowgladClient, str], t.Any],
    bad_id: str,
) -> None:
    requests_mock.register_uri(rm.ANY, rm.ANY, json=OK)

    with pytest.raises(ValueError):
        call(client, bad_id)
    assert not requests_mock.called


# -- retries: reads --------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_get_is_retried_on_transient_status_then_succeeds(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float], status: int
) -> None:
    requests_mock.get(rm.ANY, [{"status_code": status, "text": "busy"}, {"json": OK}])

    assert client.get_billing("u1") == OK
    assert requests_mock.call_count == 2
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError("connection reset"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        new_connection_error(),
    ],
    ids=["reset", "read_timeout", "connect_timeout", "refused"],
)
def test_get_is_retried_on_transport_failure_then_succeeds(
    client: FlowgladClient,
    requests_mock: rm.Mocker,
    sleeps: list[float],
    exc: Exception,
) -> None:
    requests_mock.get(rm.ANY, [{"exc": exc}, {"exc": exc}, {"json": OK}])

    assert client.get_customer("u1") == OK
    assert requests_mock.call_count == 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    ("response", "error"),
    [
        ({"status_code": 503, "text": "down"}, FlowgladServerError),
        ({"status_code": 429, "text": "slow down"}, FlowgladRateLimited),
        ({"exc": requests.exceptions.ConnectionError("reset")}, FlowgladConnectionError),
        ({"exc": requests.exceptions.ReadTimeout("slow")}, FlowgladTimeout),
    ],
    ids=["503", "429", "connection", "timeout"],
)
def test_get_gives_up_after_max_retries_with_the_last_error(
    client: FlowgladClient,
    requests_mock: rm.Mocker,
    sleeps: list[float],
    response: dict[str, t.Any],
    error: type[Exception],
) -> None:
    requests_mock.get(rm.ANY, [response] * 5)

    with pytest.raises(error):
        client.get_billing("u1")
    assert requests_mock.call_count == 3  # max_retries=2 extra attempts
    assert len(sleeps) == 2


def test_transport_errors_say_what_happened_without_chaining_requests_message(
    requests_mock: rm.Mocker,
) -> None:
    # requests' own message may quote the request's headers, the key among them: it is
    # not chained, and what it said reaches our message redacted.
    cause = requests.exceptions.ReadTimeout(f"slow while sending Authorization: {KEY}")
    requests_mock.get(rm.ANY, exc=cause)
    client = FlowgladClient(KEY, base_url=BASE, max_retries=0)

    with pytest.raises(FlowgladTimeout) as info:
        client.get_billing("u1")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "slow while sending" in str(info.value)
    assert KEY not in str(info.value)
    assert isinstance(info.value, FlowgladConnectionError)


def test_max_retries_zero_makes_one_attempt(requests_mock: rm.Mocker) -> None:
    requests_mock.get(rm.ANY, status_code=500)
    client = FlowgladClient(KEY, base_url=BASE, max_retries=0, sleep=pytest.fail)

    with pytest.raises(FlowgladServerError):
        client.get_customer("u1")
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_get_is_not_retried_on_client_errors(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float], status: int
) -> None:
    requests_mock.get(rm.ANY, status_code=status, json={"error": "no", "code": "X"})

    with pytest.raises(FlowgladAPIError):
        client.get_customer("u1")
    assert requests_mock.call_count == 1
    assert sleeps == []


# -- retries: writes -------------------------------------------------------

WRITES: list[tuple[str, t.Callable[[FlowgladClient], t.Any]]] = [
    ("checkout", lambda c: c.create_checkout_session({"type": "product", "priceSlug": "pro"})),
    ("cancel", lambda c: c.cancel_subscription("sub_1", "immediately")),
    ("create_customer", lambda c: c.create_customer("u1", name="A", email="a@example.com")),
    ("update_customer", lambda c: c.update_customer("u1", {"name": "B"})),
    ("claim", lambda c: c.claim_resource("sub_1", {"resourceSlug": "seats", "quantity": 1})),
]


@pytest.mark.parametrize(
    "response",
    [
        {"status_code": 500, "json": {"error": "Internal server error"}},
        {"status_code": 502, "text": "Bad Gateway"},
        {"status_code": 429, "text": "slow down", "headers": {"Retry-After": "1"}},
        {"status_code": 409, "json": {"error": "exists", "code": "CONFLICT"}},
        {"status_code": 408, "text": "timeout"},
        {"exc": requests.exceptions.ReadTimeout("slow")},
        {"exc": requests.exceptions.ConnectionError(ProtocolError("Connection aborted."))},
    ],
    ids=["500", "502", "429", "409", "408", "read_timeout", "aborted"],
)
@pytest.mark.parametrize("call", [w[1] for w in WRITES], ids=[w[0] for w in WRITES])
def test_write_is_not_retried_once_the_request_may_have_been_sent(
    client: FlowgladClient,
    requests_mock: rm.Mocker,
    sleeps: list[float],
    call: t.Callable[[FlowgladClient], t.Any],
    response: dict[str, t.Any],
) -> None:
    requests_mock.register_uri(rm.ANY, rm.ANY, [response, {"json": OK}])

    with pytest.raises(FlowgladError):
        call(client)
    assert requests_mock.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "exc",
    [requests.exceptions.ConnectTimeout("connect timed out"), new_connection_error()],
    ids=["connect_timeout", "refused"],
)
@pytest.mark.parametrize("call", [w[1] for w in WRITES], ids=[w[0] for w in WRITES])
def test_write_is_retried_when_the_connection_failed_before_sending(
    client: FlowgladClient,
    requests_mock: rm.Mocker,
    sleeps: list[float],
    call: t.Callable[[FlowgladClient], t.Any],
    exc: Exception,
) -> None:
    requests_mock.register_uri(rm.ANY, rm.ANY, [{"exc": exc}, {"json": OK}])

    assert call(client) == OK
    assert requests_mock.call_count == 2
    bodies = [r.body for r in requests_mock.request_history]
    assert bodies[0] == bodies[1]
    assert sleeps == [0.5]


def test_write_to_a_closed_port_is_retried_then_raises_connection_error(
    sleeps: list[float],
) -> None:
    # a real refused connection, to pin how requests reports it
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = FlowgladClient(
        KEY, base_url=f"http://127.0.0.1:{port}", sleep=sleeps.append, random=lambda: 0.0
    )

    with pytest.raises(FlowgladConnectionError) as info:
        client.create_checkout_session({"type": "product"})
    assert not isinstance(info.value, FlowgladTimeout)
    assert sleeps == [0.5, 1.0]


def test_usage_event_is_retried_on_500_with_the_same_generated_transaction_id(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.post(
        rm.ANY,
        [
            {"status_code": 500, "json": {"error": "Internal server error"}},
            {"exc": requests.exceptions.ReadTimeout("slow")},
            {"json": OK},
        ],
    )
    event = {"subscriptionId": "sub_1", "amount": 1, "usageMeterSlug": "calls"}

    assert client.create_usage_event(event) == OK

    ids = [r.json()["usageEvent"]["transactionId"] for r in requests_mock.request_history]
    assert len(ids) == 3
    assert len(set(ids)) == 1
    assert re.fullmatch(r"txn_[0-9a-f]{32}", ids[0])
    assert "transactionId" not in event  # the caller's dict is left alone
    assert len(sleeps) == 2


def test_each_call_gets_a_fresh_transaction_id(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(rm.ANY, json=OK)
    event = {"subscriptionId": "sub_1", "amount": 1, "usageMeterSlug": "calls"}

    client.create_usage_event(event)
    client.create_usage_event(event)

    first, second = (
        r.json()["usageEvent"]["transactionId"] for r in requests_mock.request_history
    )
    assert first != second


def test_usage_event_keeps_the_callers_transaction_id(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(rm.ANY, [{"status_code": 503}, {"json": OK}])

    client.create_usage_event({"subscriptionId": "sub_1", "amount": 1, "transactionId": "tx-42"})

    ids = [r.json()["usageEvent"]["transactionId"] for r in requests_mock.request_history]
    assert ids == ["tx-42", "tx-42"]


def test_bulk_usage_events_are_retried_with_stable_distinct_transaction_ids(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(rm.ANY, [{"status_code": 502}, {"status_code": 429}, {"json": OK}])
    events = [
        {"subscriptionId": "sub_1", "amount": 1, "usageMeterSlug": "calls"},
        {"subscriptionId": "sub_1", "amount": 2, "usageMeterSlug": "calls"},
        {"subscriptionId": "sub_1", "amount": 3, "transactionId": "mine"},
    ]

    client.create_usage_events(events)

    attempts = [
        [e["transactionId"] for e in r.json()["usageEvents"]]
        for r in requests_mock.request_history
    ]
    assert len(attempts) == 3
    assert attempts[0] == attempts[1] == attempts[2]
    assert attempts[0][2] == "mine"
    assert len(set(attempts[0])) == 3
    assert path_of(requests_mock.last_request) == "/api/v1/usage-events/bulk"


# -- Retry-After -----------------------------------------------------------


def test_retry_after_seconds_is_waited_for(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(
        rm.ANY, [{"status_code": 429, "headers": {"Retry-After": "3"}}, {"json": OK}]
    )

    assert client.get_billing("u1") == OK
    assert sleeps == [3.0]


def test_retry_after_http_date_is_waited_for(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    when = formatdate(time.time() + 5, usegmt=True)
    requests_mock.get(
        rm.ANY, [{"status_code": 503, "headers": {"Retry-After": when}}, {"json": OK}]
    )

    client.get_billing("u1")

    assert len(sleeps) == 1
    assert 3.0 < sleeps[0] <= 5.0


def test_retry_after_ms_is_waited_for_and_wins_over_retry_after(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    headers = {"retry-after-ms": "250", "Retry-After": "7"}
    requests_mock.get(rm.ANY, [{"status_code": 429, "headers": headers}, {"json": OK}])

    client.get_billing("u1")

    assert sleeps == [0.25]


def test_too_long_retry_after_raises_rate_limited_at_once(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(
        rm.ANY, [{"status_code": 429, "headers": {"Retry-After": "60"}}, {"json": OK}]
    )

    with pytest.raises(FlowgladRateLimited) as info:
        client.get_billing("u1")
    assert info.value.retry_after == 60.0
    assert requests_mock.call_count == 1
    assert sleeps == []


def test_too_long_retry_after_on_503_raises_server_error_at_once(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(
        rm.ANY, [{"status_code": 503, "headers": {"Retry-After": "11"}}, {"json": OK}]
    )

    with pytest.raises(FlowgladServerError):
        client.get_billing("u1")
    assert requests_mock.call_count == 1
    assert sleeps == []


def test_rate_limited_write_reports_retry_after(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(rm.ANY, status_code=429, headers={"Retry-After": "2"}, text="slow down")

    with pytest.raises(FlowgladRateLimited) as info:
        client.create_checkout_session({"type": "product"})
    assert info.value.retry_after == 2.0
    assert info.value.message == "slow down"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "soon"}, None),
        ({"retry-after": "1.5"}, 1.5),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After-Ms": "nope", "Retry-After": "2"}, 2.0),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "1e400"}, None),
        ({"retry-after-ms": "1e400", "Retry-After": "3"}, 3.0),
        ({"Retry-After": "Wed, 21 Oct 99999 07:28:00 GMT"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_date_is_relative_to_now() -> None:
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}
    now = 1445412480.0  # 07:28:00 that day

    assert parse_retry_after(headers, now=now) == 30.0


# -- back-off --------------------------------------------------------------


def test_backoff_doubles_and_is_capped(requests_mock: rm.Mocker) -> None:
    sleeps: list[float] = []
    client = FlowgladClient(
        KEY,
        base_url=BASE,
        max_retries=5,
        backoff_factor=0.5,
        backoff_max=3.0,
        sleep=sleeps.append,
        random=lambda: 0.0,
    )
    requests_mock.get(rm.ANY, status_code=500)

    with pytest.raises(FlowgladServerError):
        client.get_billing("u1")
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_removes_at_most_a_quarter(requests_mock: rm.Mocker) -> None:
    sleeps: list[float] = []
    client = FlowgladClient(
        KEY, base_url=BASE, max_retries=4, sleep=sleeps.append, random=lambda: 0.999999
    )
    requests_mock.get(rm.ANY, status_code=500)

    with pytest.raises(FlowgladServerError):
        client.get_billing("u1")
    assert sleeps == pytest.approx([0.375, 0.75, 1.5, 3.0], rel=1e-5)


def test_backoff_with_real_jitter_stays_within_bounds(requests_mock: rm.Mocker) -> None:
    sleeps: list[float] = []
    client = FlowgladClient(
        KEY, base_url=BASE, max_retries=6, backoff_max=8.0, sleep=sleeps.append
    )
    requests_mock.get(rm.ANY, status_code=503)

    with pytest.raises(FlowgladServerError):
        client.get_billing("u1")
    for n, slept in enumerate(sleeps):
        ceiling = min(0.5 * 2**n, 8.0)
        assert 0.75 * ceiling <= slept <= ceiling


# -- error bodies ----------------------------------------------------------


def test_documented_error_body(client: FlowgladClient, requests_mock: rm.Mocker) -> None:
    body = {
        "message": "Invalid input data",
        "code": "BAD_REQUEST",
        "issues": [{"message": "Required"}],
    }
    requests_mock.post(rm.ANY, status_code=400, json=body, headers={"X-Request-Id": "req_h"})

    with pytest.raises(FlowgladBadRequest) as info:
        client.create_subscription({})
    error = info.value
    assert (error.status, error.code, error.request_id) == (400, "BAD_REQUEST", "req_h")
    assert error.message == "Invalid input data: Required"
    assert error.body == body


def test_real_error_body(client: FlowgladClient, requests_mock: rm.Mocker) -> None:
    body = {
        "error": "Customer with externalId u1 not found",
        "code": "NOT_FOUND",
        "request_id": "ab12cd34",
    }
    requests_mock.get(rm.ANY, status_code=404, json=body, headers={"X-Request-Id": "other"})

    with pytest.raises(FlowgladNotFound) as info:
        client.get_customer("u1")
    error = info.value
    assert str(error) == "404 NOT_FOUND: Customer with externalId u1 not found"
    assert error.code == "NOT_FOUND"
    assert error.request_id == "ab12cd34"  # the body's id wins over the header's
    assert error.body == body


def test_validation_issue_list_becomes_a_readable_message() -> None:
    issues = [
        {"code": "invalid_type", "path": ["customer", "email"], "message": "Required"},
        {"code": "too_small", "path": ["amount"], "message": "Must be > 0"},
    ]
    body = json.dumps({"error": issues, "code": "BAD_REQUEST", "request_id": "r1"})

    error = api_error_from_response(400, body)

    assert type(error) is FlowgladBadRequest
    assert error.message == "customer.email: Required; amount: Must be > 0"
    assert str(error) == "400 BAD_REQUEST: customer.email: Required; amount: Must be > 0"
    assert isinstance(error.body, dict) and isinstance(error.body["error"], list)


def test_validation_issues_sent_as_a_json_string_are_decoded() -> None:
    inner = '[{"path": ["usageEvent", "amount"], "message": "Expected number"}]'
    body = '{"error": ' + json.dumps(inner) + ', "code": "BAD_REQUEST"}'

    error = api_error_from_response(400, body)

    assert error.message == "usageEvent.amount: Expected number"


def test_validation_field_errors_object_becomes_a_readable_message() -> None:
    body = '{"error": {"formErrors": ["Bad"], "fieldErrors": {"email": ["Required"]}}}'

    error = api_error_from_response(422, body)

    assert type(error) is FlowgladBadRequest
    assert error.message == "Bad; email: Required"
    assert error.code is None


def test_nested_error_object_gives_message_and_code() -> None:
    error = api_error_from_response(
        409, '{"error": {"message": "Already exists", "code": "CONFLICT"}}'
    )

    assert type(error) is FlowgladConflict
    assert (error.code, error.message) == ("CONFLICT", "Already exists")


@pytest.mark.parametrize(
    ("status", "text", "cls"),
    [(401, "Unauthorized", FlowgladAuthenticationError), (404, "Not Found", FlowgladNotFound)],
)
def test_plain_text_error_body(
    client: FlowgladClient, requests_mock: rm.Mocker, status: int, text: str, cls: type[Exception]
) -> None:
    requests_mock.get(rm.ANY, status_code=status, text=text, headers={"X-Request-Id": "req_9"})

    with pytest.raises(cls) as info:
        client.get_billing("u1")
    error = info.value
    assert isinstance(error, FlowgladAPIError)
    assert (error.status, error.code, error.message, error.body) == (status, None, text, text)
    assert error.request_id == "req_9"
    assert str(error) == f"{status}: {text}"


def test_empty_error_body(client: FlowgladClient, requests_mock: rm.Mocker) -> None:
    requests_mock.post(rm.ANY, status_code=500, text="")

    with pytest.raises(FlowgladServerError) as info:
        client.cancel_subscription("sub_1", "immediately")
    error = info.value
    assert (error.status, error.code, error.message, error.body) == (500, None, "", "")
    assert str(error) == "500"


def test_long_text_error_is_shortened() -> None:
    error = api_error_from_response(502, "<html>" + "x" * 5000 + "</html>")

    assert len(error.message) <= 500
    assert error.message.endswith("...")
    assert len(error.body) > 5000


def test_request_id_header_is_read_case_insensitively() -> None:
    error = api_error_from_response(500, '{"error": "boom"}', {"x-request-id": "lower"})

    assert error.request_id == "lower"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, FlowgladBadRequest),
        (422, FlowgladBadRequest),
        (401, FlowgladAuthenticationError),
        (403, FlowgladAuthenticationError),
        (404, FlowgladNotFound),
        (409, FlowgladConflict),
        (429, FlowgladRateLimited),
        (500, FlowgladServerError),
        (503, FlowgladServerError),
        (599, FlowgladServerError),
        (402, FlowgladAPIError),
        (405, FlowgladAPIError),
        (418, FlowgladAPIError),
        (302, FlowgladAPIError),
    ],
)
def test_status_picks_the_error_class(status: int, cls: type[FlowgladAPIError]) -> None:
    assert type(api_error_from_response(status, "")) is cls


@pytest.mark.parametrize(
    "response",
    [
        {"text": "<html>proxy login</html>"},
        {"text": ""},
        {"json": ["not", "an", "object"]},
    ],
    ids=["html", "empty", "wrong_shape"],
)
def test_success_without_the_expected_json_raises_api_error(
    client: FlowgladClient, requests_mock: rm.Mocker, response: dict[str, t.Any]
) -> None:
    requests_mock.get(rm.ANY, headers={"X-Request-Id": "req_x"}, **response)

    with pytest.raises(FlowgladAPIError) as info:
        client.get_customer("u1")
    error = info.value
    assert type(error) is InvalidUpstreamAnswer
    assert error.status == 200
    assert error.request_id == "req_x"
    assert "Unexpected answer" in str(error)


def test_resource_usages_object_instead_of_list_raises_api_error(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(rm.ANY, json={"usage": {}})

    with pytest.raises(FlowgladAPIError):
        client.get_resource_usages("sub_1")


def test_error_tree() -> None:
    assert issubclass(FlowgladTimeout, FlowgladConnectionError)
    assert issubclass(FlowgladConnectionError, FlowgladError)
    assert not issubclass(FlowgladConnectionError, FlowgladAPIError)
    for cls in (
        FlowgladBadRequest,
        FlowgladAuthenticationError,
        FlowgladNotFound,
        FlowgladConflict,
        FlowgladRateLimited,
        FlowgladServerError,
    ):
        assert issubclass(cls, FlowgladAPIError)
    assert issubclass(FlowgladAPIError, FlowgladError)


def test_errors_survive_pickling_for_task_queues() -> None:
    error = api_error_from_response(
        429, '{"error": "slow", "code": "TOO_MANY"}', {"Retry-After": "4"}
    )

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is FlowgladRateLimited
    assert (copy.status, copy.code, copy.message, copy.retry_after) == (
        429,
        "TOO_MANY",
        "slow",
        4.0,
    )
    assert str(copy) == str(error)


# -- timeouts --------------------------------------------------------------


def test_default_timeouts_are_passed_as_connect_read_tuple(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(rm.ANY, json=OK)

    client.get_customer("u1")

    assert requests_mock.last_request.timeout == (3.05, 15.0)


def test_configured_timeouts_are_passed_on_writes(requests_mock: rm.Mocker) -> None:
    requests_mock.post(rm.ANY, json=OK)
    client = FlowgladClient(KEY, base_url=BASE, connect_timeout=1.5, read_timeout=4.0)

    client.create_usage_event({"subscriptionId": "s", "amount": 1})

    assert requests_mock.last_request.timeout == (1.5, 4.0)


# -- sessions --------------------------------------------------------------


class RecordingSession(requests.Session):
    made: t.ClassVar[list[RecordingSession]] = []

    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        RecordingSession.made.append(self)

    def close(self) -> None:
        self.closed = True
        super().close()


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[RecordingSession]:
    RecordingSession.made = []
    monkeypatch.setattr(requests, "Session", RecordingSession)
    return RecordingSession.made


@pytest.fixture
def sandbox_adapter() -> rm.Adapter:
    adapter = rm.Adapter()
    adapter.register_uri(rm.ANY, rm.ANY, json=OK)
    return adapter


def test_no_session_is_made_before_the_first_call(sessions: list[RecordingSession]) -> None:
    FlowgladClient(KEY)

    assert sessions == []


def test_mounted_adapter_receives_the_calls(sandbox_adapter: rm.Adapter) -> None:
    client = FlowgladClient(KEY, base_url="http://flowglad.sandbox", adapter=sandbox_adapter)

    assert client.get_customer("u1") == OK
    assert client.cancel_subscription("sub_1", "immediately") == OK

    assert sandbox_adapter.call_count == 2
    first, second = sandbox_adapter.request_history
    assert first.url == "http://flowglad.sandbox/api/v1/customers/u1"
    assert first.headers["Authorization"] == KEY
    assert second.json() == {"cancellation": {"timing": "immediately"}}


def test_same_thread_reuses_its_session(
    sessions: list[RecordingSession], sandbox_adapter: rm.Adapter
) -> None:
    client = FlowgladClient(KEY, base_url=BASE, adapter=sandbox_adapter)

    client.get_customer("u1")
    client.get_billing("u1")

    assert len(sessions) == 1
    assert sandbox_adapter.call_count == 2


def test_each_thread_gets_its_own_session(
    sessions: list[RecordingSession], sandbox_adapter: rm.Adapter
) -> None:
    client = FlowgladClient(KEY, base_url=BASE, adapter=sandbox_adapter)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            client.get_customer("u1")
            barrier.wait(timeout=5)  # both threads alive at once
            client.get_customer("u1")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert errors == []
    assert len(sessions) == 2
    assert sessions[0] is not sessions[1]
    assert sandbox_adapter.call_count == 4


def test_a_forked_process_makes_a_new_session_and_leaves_the_old_one_open(
    sessions: list[RecordingSession],
    sandbox_adapter: rm.Adapter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = FlowgladClient(KEY, base_url=BASE, adapter=sandbox_adapter)
    client.get_customer("u1")

    parent = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: parent + 1)
    client.get_customer("u1")
    client.get_customer("u1")

    assert len(sessions) == 2
    assert not sessions[0].closed  # its sockets belong to the parent


def test_close_closes_this_threads_session_but_not_the_given_adapter(
    sessions: list[RecordingSession],
) -> None:
    adapter = rm.Adapter()
    adapter.register_uri(rm.ANY, rm.ANY, json=OK)
    adapter_closed: list[bool] = []
    adapter.close = lambda: adapter_closed.append(True)  # type: ignore[method-assign]
    client = FlowgladClient(KEY, base_url=BASE, adapter=adapter)
    client.get_customer("u1")

    client.close()
    client.get_customer("u1")

    assert sessions[0].closed
    assert len(sessions) == 2
    assert adapter_closed == []


def test_context_manager_closes_the_session(
    sessions: list[RecordingSession], sandbox_adapter: rm.Adapter
) -> None:
    with FlowgladClient(KEY, base_url=BASE, adapter=sandbox_adapter) as client:
        client.get_customer("u1")
        assert not sessions[0].closed

    assert sessions[0].closed


def test_close_without_a_session_is_harmless() -> None:
    FlowgladClient(KEY).close()


def test_default_session_pools_connections_and_never_retries_by_itself(
    sessions: list[RecordingSession], requests_mock: rm.Mocker
) -> None:
    requests_mock.get(rm.ANY, json=OK)
    client = FlowgladClient(KEY, base_url=BASE, pool_maxsize=4)
    client.get_customer("u1")

    adapter = sessions[0].adapters["https://"]
    assert isinstance(adapter, HTTPAdapter)
    assert adapter.max_retries.total == 0
    assert adapter.poolmanager.connection_pool_kw["maxsize"] == 4


def test_client_works_without_flask_installed() -> None:
    # load the client under a bare package (no __version__ on it: the client reads
    # its own module), so the extension's imports in __init__ are not counted, with
    # every flask import failing
    package_dir = os.path.dirname(client_module.__file__)
    code = (
        "import sys, types\n"
        "sys.modules['flask'] = None\n"
        "pkg = types.ModuleType('flask_flowglad')\n"
        f"pkg.__path__ = [{package_dir!r}]\n"
        "sys.modules['flask_flowglad'] = pkg\n"
        "from flask_flowglad.client import FlowgladClient\n"
        "from flask_flowglad._version import __version__\n"
        "assert FlowgladClient('sk').user_agent == 'flask-flowglad/' + __version__\n"
        "assert 'werkzeug' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_environment_proxy_and_ca_settings_are_read_once_per_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/company-ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = FlowgladClient("sk_test_x")._session()
    assert session.proxies["https"] == "http://proxy.internal:3128"
    assert session.verify == "/etc/company-ca.pem"
    assert session.trust_env is False


def test_no_proxy_for_the_base_url_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "app.flowglad.com")
    session = FlowgladClient("sk_test_x")._session()
    assert "https" not in session.proxies


# -- the deadline ------------------------------------------------------------


def test_a_retry_after_that_does_not_fit_the_deadline_is_not_waited(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(
        rm.ANY, [{"status_code": 503, "headers": {"Retry-After": "2"}}, {"json": OK}]
    )

    with request_deadline(1.0), pytest.raises(FlowgladServerError):
        client.get_billing("u1")
    assert requests_mock.call_count == 1
    assert sleeps == []


def test_a_backoff_that_does_not_fit_the_deadline_is_not_waited(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(rm.ANY, [{"exc": requests.exceptions.ConnectTimeout("slow")}, {"json": OK}])

    # the first retry waits 0.5 s and must leave MIN_ATTEMPT_SECONDS for its attempt
    with request_deadline(0.5 + client_module.MIN_ATTEMPT_SECONDS - 0.01):
        with pytest.raises(FlowgladTimeout):
            client.get_billing("u1")
    assert sleeps == []
    requests_mock.get(rm.ANY, [{"exc": requests.exceptions.ConnectTimeout("slow")}, {"json": OK}])
    with request_deadline(0.5 + client_module.MIN_ATTEMPT_SECONDS + 0.2):
        assert client.get_billing("u1") == OK
    assert sleeps == [0.5]


def test_no_attempt_is_made_once_the_deadline_passed(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(rm.ANY, json=OK)

    with request_deadline(0), pytest.raises(FlowgladTimeout, match="deadline passed"):
        client.get_billing("u1")
    assert requests_mock.call_count == 0


def test_each_attempt_timeout_shrinks_to_the_time_left(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(rm.ANY, json=OK)

    with request_deadline(1.0):
        client.get_billing("u1")
    connect, read = requests_mock.last_request.timeout
    assert 0.9 < connect <= 1.0 and 0.9 < read <= 1.0


def test_total_timeout_bounds_a_call_made_outside_any_deadline(
    requests_mock: rm.Mocker,
) -> None:
    requests_mock.get(rm.ANY, json=OK)
    client = FlowgladClient(KEY, base_url=BASE, total_timeout=2.0)

    client.get_billing("u1")

    assert max(requests_mock.last_request.timeout) <= 2.0
    with pytest.raises(ValueError, match="total_timeout"):
        FlowgladClient(KEY, total_timeout=0)


def test_a_body_cut_mid_read_is_retried_for_reads(
    client: FlowgladClient, requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    cut = requests.exceptions.ChunkedEncodingError(ProtocolError("IncompleteRead(10 bytes read)"))
    requests_mock.get(rm.ANY, [{"exc": cut}, {"json": OK}])

    assert client.get_billing("u1") == OK
    assert requests_mock.call_count == 2


def test_a_body_cut_mid_read_is_never_retried_for_writes(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    cut = requests.exceptions.ChunkedEncodingError(ProtocolError("Connection reset by peer"))
    requests_mock.post(rm.ANY, [{"exc": cut}, {"json": OK}])

    with pytest.raises(FlowgladConnectionError):
        client.create_checkout_session({"type": "product"})
    assert requests_mock.call_count == 1


def test_a_read_timeout_in_the_body_is_a_timeout() -> None:
    wrapped = requests.exceptions.ConnectionError(ReadTimeoutError(None, "/", "read timed out"))  # type: ignore[arg-type]
    client = FlowgladClient(KEY, base_url=BASE)
    assert isinstance(client._transport_error(wrapped), FlowgladTimeout)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed_and_name_the_base_url(
    client: FlowgladClient, requests_mock: rm.Mocker, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.post(
        rm.ANY, status_code=status, headers={"Location": "https://elsewhere.test/api/v1/x"}
    )

    with pytest.raises(FlowgladAPIError, match="FLOWGLAD_BASE_URL") as info:
        client.create_checkout_session({"type": "product"})
    assert info.value.status == status
    assert requests_mock.call_count == 1
    assert "check FLOWGLAD_BASE_URL" in caplog.text


def test_a_404_that_is_not_json_is_logged_as_a_wrong_base_url(
    client: FlowgladClient, requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(rm.ANY, status_code=404, text="<h1>Not Found</h1>")

    with pytest.raises(FlowgladNotFound):
        client.get_billing("u1")
    assert "check FLOWGLAD_BASE_URL" in caplog.text


def test_a_json_404_is_not_logged_as_a_wrong_base_url(
    client: FlowgladClient, requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(rm.ANY, status_code=404, json={"error": "nope", "code": "NOT_FOUND"})

    with pytest.raises(FlowgladNotFound):
        client.get_billing("u1")
    assert "FLOWGLAD_BASE_URL" not in caplog.text


def test_new_transaction_id_is_txn_and_32_hex_digits() -> None:
    ids = {new_transaction_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"txn_[0-9a-f]{32}", txn) for txn in ids)


def test_an_echoed_key_never_reaches_the_error(
    client: FlowgladClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(rm.ANY, status_code=401, text=f"bad key {KEY} and sk_live_abcdefghijklmnop")

    with pytest.raises(FlowgladAuthenticationError) as info:
        client.get_billing("u1")
    shown = str(info.value) + repr(info.value) + repr(info.value.body)
    assert KEY not in shown and "sk_live_abcdefghijklmnop" not in shown
    assert "sk_live_\u2026mnop" in info.value.message
