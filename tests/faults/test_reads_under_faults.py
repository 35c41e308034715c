"""The billing read (``customers/billing``) and ``@feature_required`` while Flowglad
misbehaves: the documented status in the envelope, within the deadline, retried within
bounds."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest
from flask import Flask

from ..support import payloads
from ..support.apps import User
from .harness import (
    BILLING,
    BILLING_READ,
    DEADLINE,
    MARGIN,
    MAX_RETRIES,
    TIMINGS,
    Answer,
    assert_failure,
    assert_in_time,
    happy_routes,
    make_fault_app,
)
from .server import (
    Behaviour,
    FaultServer,
    close_without_answer,
    echo_error,
    refused_url,
    reply,
    reset_mid_body,
    slow,
    trickle_body,
    trickle_headers,
)

BILLING_BODY = happy_routes()[BILLING]

#: Answers that trickle in under every read timeout: the deadline cuts the one attempt.
STALLING: dict[str, Callable[[], Behaviour]] = {
    "trickled_body": lambda: trickle_body(0.1, BILLING_BODY),
    "trickled_headers": lambda: trickle_headers(0.1),
}

#: Faults after which a read is worth trying again: it is, as often as time allows.
TRANSIENT: dict[str, Callable[[], Behaviour]] = {
    "slow": lambda: slow(5.0),
    "reset_mid_body": lambda: reset_mid_body(BILLING_BODY),
    "closed_without_answer": close_without_answer,
    "500": lambda: echo_error(500),
    "502": lambda: echo_error(502),
    "503": lambda: echo_error(503),
    "504": lambda: echo_error(504),
    "malformed_json_500": lambda: reply(500, b'{"error": '),
}

#: Answers that a retry would not change: one request, a 502 at once.
FINAL: dict[str, Callable[[], Behaviour]] = {
    "malformed_json": lambda: reply(200, b'{"customer": {"id": '),
    "empty_body": lambda: reply(200, b""),
    "html_200": lambda: reply(200, b"<html>login</html>", {"Content-Type": "text/html"}),
    "array_for_object": lambda: reply(200, [BILLING_BODY]),
    "empty_object_for_billing": lambda: reply(200, {}),
    "refused_key_echoed": lambda: echo_error(401),
    "forbidden_key": lambda: reply(403, b"Forbidden", {"Content-Type": "text/plain"}),
    "html_404_wrong_url": lambda: reply(404, b"<h1>Not Found</h1>", {"Content-Type": "text/html"}),
}


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_transient_fault_on_a_read_is_retried_then_502_within_the_deadline(
    server: FaultServer, call: Callable[..., Answer], fault: str
) -> None:
    server.fault(*BILLING, TRANSIENT[fault]())
    answer = call(BILLING_READ)
    assert_failure(answer, 502)
    assert_in_time(answer)
    assert 2 <= server.count(*BILLING) <= 1 + MAX_RETRIES


@pytest.mark.parametrize("fault", sorted(STALLING))
def test_trickled_answer_is_cut_off_at_the_deadline(
    server: FaultServer, call: Callable[..., Answer], fault: str
) -> None:
    # One byte every 0.1 s never trips the 0.3 s read timeout: only the deadline ends it.
    server.fault(*BILLING, STALLING[fault]())
    answer = call(BILLING_READ)
    error = assert_failure(answer, 502)
    assert "in time" in error["message"]
    assert_in_time(answer)
    assert answer.seconds >= DEADLINE - 0.1
    assert server.count(*BILLING) == 1


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_transient_fault_once_then_the_retry_succeeds(
    server: FaultServer, call: Callable[..., Answer], fault: str
) -> None:
    server.fault(*BILLING, TRANSIENT[fault](), times=1)
    answer = call(BILLING_READ)
    assert answer.status == 200, answer.text[:300]
    assert answer.json["data"]["customer"]["externalId"] == "u1"
    assert server.count(*BILLING) == 2
    assert_in_time(answer)


@pytest.mark.parametrize("fault", sorted(FINAL))
def test_unusable_answer_to_a_read_is_502_without_retry(
    server: FaultServer, call: Callable[..., Answer], fault: str
) -> None:
    server.fault(*BILLING, FINAL[fault]())
    answer = call(BILLING_READ)
    assert_failure(answer, 502)
    assert server.count(*BILLING) == 1
    assert_in_time(answer)


def test_wrong_base_url_is_logged_as_such(
    server: FaultServer, call: Callable[..., Answer], caplog: pytest.LogCaptureFixture
) -> None:
    server.fault(*BILLING, FINAL["html_404_wrong_url"]())
    call(BILLING_READ)
    assert "check FLOWGLAD_BASE_URL" in caplog.text


HUGE = 10**400

#: Actions that shape the billing read before answering.
BILLING_READERS = [
    "customers/billing",
    "customerDetails",
    "subscriptions/list",
    "features/access",
    "usage-meters/balances",
    "invoices/list",
    "purchases/list",
    "payment-methods/list",
    "pricing-models/retrieve",
]


@pytest.mark.parametrize("subroute", BILLING_READERS)
@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"customer": {**payloads.customer(), "createdAt": 1e308}}, id="created_at"),
        pytest.param({"customer": {**payloads.customer(), "createdAt": HUGE}}, id="huge_int"),
        pytest.param({"subscriptions": [{"id": "s", "current": True}] * 3}, id="thin_items"),
        pytest.param({"currentSubscriptions": "none"}, id="string_for_list"),
        pytest.param({"invoices": [None, 1, "x"], "purchases": {}}, id="odd_lists"),
        pytest.param({"pricingModel": [], "catalog": None}, id="pricing_model_array"),
    ],
)
def test_odd_values_in_a_billing_answer_never_give_a_500(
    server: FaultServer, call: Callable[..., Answer], change: dict[str, Any], subroute: str
) -> None:
    # 10**400 is valid JSON that Python writes but no JavaScript reads exactly.
    server.fault(*BILLING, reply(200, {**BILLING_BODY, **change}))
    answer = call(subroute)
    assert answer.status in (200, 502), answer.text[:300]
    assert answer.json is not None and set(answer.json) <= {"data", "error"}
    assert (answer.status == 200) == ("error" not in answer.json)


def test_redirect_to_another_origin_is_not_followed(
    server: FaultServer, call: Callable[..., Answer], caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = FaultServer().start()
    try:
        location = elsewhere.url + BILLING[1]
        server.fault(*BILLING, reply(307, b"", {"Location": location}))
        answer = call(BILLING_READ)
        assert_failure(answer, 502)
        assert server.count(*BILLING) == 1
        assert sum(elsewhere.counts.values()) == 0
        assert "check FLOWGLAD_BASE_URL" in caplog.text
    finally:
        elsewhere.stop()


def test_refused_connection_is_502_after_bounded_retries(request: pytest.FixtureRequest) -> None:
    app, _ = make_fault_app(refused_url())
    started = time.monotonic()
    response = app.test_client(user=User("u1")).post("/api/flowglad/customers/billing", json={})
    seconds = time.monotonic() - started
    TIMINGS.append((request.node.nodeid, seconds))
    assert response.status_code == 502
    assert response.json["data"] is None and response.json["error"]["code"]
    assert seconds <= DEADLINE + MARGIN


# -- 429 and Retry-After --------------------------------------------------------------


def rate_limited(headers: dict[str, str]) -> Behaviour:
    return echo_error(429, headers)


@pytest.mark.parametrize(
    ("headers", "attempts"),
    [
        pytest.param({"Retry-After": "1"}, (2, 2), id="seconds_waited_once"),
        pytest.param({"retry-after-ms": "100"}, (3, 3), id="milliseconds"),
        pytest.param({"Retry-After": "-5"}, (3, 3), id="negative_is_now"),
        pytest.param({"Retry-After": "99999999"}, (1, 1), id="huge_not_waited"),
        pytest.param({"Retry-After": "9"}, (1, 1), id="longer_than_the_cap"),
        pytest.param({"Retry-After": "1e400"}, (2, 3), id="infinite_is_ignored"),
        pytest.param({"Retry-After": "soon"}, (2, 3), id="garbage_is_ignored"),
    ],
)
def test_rate_limited_read_waits_only_what_fits_then_answers_429(
    server: FaultServer,
    call: Callable[..., Answer],
    headers: dict[str, str],
    attempts: tuple[int, int],
) -> None:
    server.fault(*BILLING, rate_limited(headers))
    answer = call(BILLING_READ)
    assert_failure(answer, 429)
    assert_in_time(answer)
    low, high = attempts
    assert low <= server.count(*BILLING) <= high
    retry_after = answer.headers.get("Retry-After")
    if retry_after is not None:
        assert retry_after.isdigit() and int(retry_after) >= 1


def test_rate_limited_answer_passes_the_wait_on_to_the_browser(
    server: FaultServer, call: Callable[..., Answer]
) -> None:
    server.fault(*BILLING, rate_limited({"Retry-After": "9"}))
    answer = call(BILLING_READ)
    assert answer.headers.get("Retry-After") == "9"


def test_retry_after_as_an_http_date_is_waited_for(
    server: FaultServer, call: Callable[..., Answer]
) -> None:
    server.fault(
        *BILLING, rate_limited({"Retry-After": formatdate(time.time() + 1, usegmt=True)}), times=1
    )
    answer = call(BILLING_READ)
    assert answer.status == 200
    assert server.count(*BILLING) == 2
    assert_in_time(answer)


def test_retry_after_within_the_cap_but_past_the_deadline_is_not_waited() -> None:
    # Twice "Retry-After: 9" once held a billing read for 18 s.
    server = FaultServer().start()
    try:
        for key, body in happy_routes().items():
            server.route(*key, reply(200, body))
        server.fault(*BILLING, rate_limited({"Retry-After": "9"}))
        app, _ = make_fault_app(server.url, FLOWGLAD_MAX_RETRY_WAIT=30)
        started = time.monotonic()
        response = app.test_client(user=User("u1")).post(
            "/api/flowglad/customers/billing", json={}
        )
        assert response.status_code == 429
        assert time.monotonic() - started < DEADLINE
        assert server.count(*BILLING) == 1
    finally:
        server.stop()


# -- @feature_required ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    ["slow", "trickled_body", "503", "empty_object_for_billing", "array_for_object"],
)
def test_feature_gate_fails_closed_with_503_within_the_deadline(
    server: FaultServer, app: Flask, fault: str, request: pytest.FixtureRequest
) -> None:
    server.fault(*BILLING, {**STALLING, **TRANSIENT, **FINAL}[fault]())
    started = time.monotonic()
    response = app.test_client(user=User("u1")).get(
        "/reports", headers={"Accept": "application/json"}
    )
    seconds = time.monotonic() - started
    TIMINGS.append((request.node.nodeid, seconds))
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.json["data"] is None
    assert seconds <= DEADLINE + MARGIN
