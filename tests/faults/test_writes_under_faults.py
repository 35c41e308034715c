"""Writes while Flowglad misbehaves: the documented status, within the deadline, and
never sent twice. Usage events may be resent (their transaction id makes a resend
harmless), at most ``1 + max_retries`` times and always with the same id."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from ..support.apps import User
from .harness import (
    BILLING,
    CHECKOUT,
    CHECKOUT_SESSION,
    MAX_RETRIES,
    USAGE,
    USAGE_EVENT,
    WRITES,
    ActionCall,
    Answer,
    assert_failure,
    assert_in_time,
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
)

#: Fault on the write → the status the browser gets.
FAULTS: dict[str, tuple[Callable[[], Behaviour], int]] = {
    "500": (lambda: echo_error(500), 502),
    "503": (lambda: echo_error(503), 502),
    "504": (lambda: echo_error(504), 502),
    "429": (lambda: echo_error(429, {"Retry-After": "0"}), 429),
    "slow": (lambda: slow(5.0), 502),
    "trickled_body": (lambda: trickle_body(0.1, {"ok": True, "padding": "x" * 40}), 502),
    "reset_mid_body": (lambda: reset_mid_body({"ok": True, "padding": "x" * 40}), 502),
    "closed_without_answer": (close_without_answer, 502),
    "malformed_json": (lambda: reply(200, b'{"checkoutSession": '), 502),
    "refused_key": (lambda: echo_error(401), 502),
    "redirect": (lambda: reply(302, b"", {"Location": "http://127.0.0.1:9/elsewhere"}), 502),
}


def write_id(action: ActionCall) -> str:
    return action.subroute


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("action", WRITES, ids=write_id)
def test_write_under_fault_is_sent_once_and_answers_the_documented_status(
    server: FaultServer, call: Callable[..., Answer], action: ActionCall, fault: str
) -> None:
    behaviour, status = FAULTS[fault]
    server.fault(*action.target, behaviour())
    answer = call(action)
    assert_failure(answer, status)
    assert_in_time(answer)
    assert server.count(*action.target) == 1


#: Writes that first read the customer's billing, to check what they act on.
CHECKED_WRITES = [
    *[w for w in WRITES if w.subroute in ("subscriptions/cancel", "resources/claim")],
    USAGE_EVENT,
]


@pytest.mark.parametrize("action", CHECKED_WRITES, ids=write_id)
def test_a_failed_ownership_read_means_no_write_at_all(
    server: FaultServer, call: Callable[..., Answer], action: ActionCall
) -> None:
    server.fault(*BILLING, echo_error(503))
    answer = call(action)
    assert_failure(answer, 502)
    assert_in_time(answer)
    assert server.count(*action.target) == 0


def test_checkout_session_without_url_is_502(
    server: FaultServer, call: Callable[..., Answer]
) -> None:
    server.fault(*CHECKOUT, reply(200, {"checkoutSession": CHECKOUT_SESSION["checkoutSession"]}))
    answer = call(WRITES[0])
    assert_failure(answer, 502)
    assert server.count(*CHECKOUT) == 1


def test_checkout_session_of_the_wrong_shape_is_502(
    server: FaultServer, call: Callable[..., Answer]
) -> None:
    server.fault(*CHECKOUT, reply(200, [CHECKOUT_SESSION]))
    answer = call(WRITES[0])
    assert_failure(answer, 502)
    assert server.count(*CHECKOUT) == 1


@pytest.mark.parametrize("action", WRITES, ids=write_id)
def test_write_to_a_refused_connection_is_502_within_the_deadline(action: ActionCall) -> None:
    app, _ = make_fault_app(refused_url())
    client = app.test_client(user=User("u1"))
    response = client.post("/api/flowglad/" + action.subroute, json=action.body)
    assert response.status_code == 502
    assert response.json["data"] is None


# -- usage events ----------------------------------------------------------------------

USAGE_FAULTS: dict[str, tuple[Callable[[], Behaviour], int]] = {
    "500": (lambda: echo_error(500), 502),
    "503": (lambda: echo_error(503), 502),
    "slow": (lambda: slow(5.0), 502),
    "reset_mid_body": (lambda: reset_mid_body({"usageEvent": {"id": "ue_1"}}), 502),
    "closed_without_answer": (close_without_answer, 502),
    "429": (lambda: echo_error(429, {"retry-after-ms": "50"}), 429),
}


@pytest.mark.parametrize("fault", sorted(USAGE_FAULTS))
def test_usage_event_is_resent_within_bounds_with_one_transaction_id(
    server: FaultServer, call: Callable[..., Answer], fault: str
) -> None:
    behaviour, status = USAGE_FAULTS[fault]
    server.fault(*USAGE, behaviour())
    answer = call(USAGE_EVENT)
    assert_failure(answer, status)
    assert_in_time(answer)
    sent = server.bodies(*USAGE)
    assert 2 <= len(sent) <= 1 + MAX_RETRIES
    ids = {body["usageEvent"]["transactionId"] for body in sent}
    assert len(ids) == 1
    assert re.fullmatch(r"txn_[0-9a-f]{32}", ids.pop())


def test_usage_event_resent_after_a_reset_is_recorded_once(
    server: FaultServer, call: Callable[..., Answer]
) -> None:
    server.fault(*USAGE, reset_mid_body({"usageEvent": {"id": "ue_1"}}), times=1)
    answer = call(USAGE_EVENT)
    assert answer.status == 200, answer.text[:300]
    sent = server.bodies(*USAGE)
    assert len(sent) == 2
    assert sent[0]["usageEvent"]["transactionId"] == sent[1]["usageEvent"]["transactionId"]
