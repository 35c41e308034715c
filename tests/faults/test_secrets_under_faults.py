"""A live-looking secret key is never shown: not in reprs, not in the client's errors,
not in logs (every test of this suite checks the logs and errors; see conftest)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flask_flowglad.client import FlowgladClient
from flask_flowglad.deadline import request_deadline
from flask_flowglad.errors import FlowgladAPIError, FlowgladError

from .harness import BILLING, KEY, make_fault_app
from .server import (
    Behaviour,
    FaultServer,
    close_without_answer,
    echo_error,
    reply,
    reset_mid_body,
    slow,
    trickle_body,
)

MASKED = "sk_live_\u2026J0sA"

FAULTS: dict[str, Callable[[], Behaviour]] = {
    **{str(status): (lambda status=status: echo_error(status)) for status in (400, 401, 403, 404)},
    **{str(status): (lambda status=status: echo_error(status)) for status in (409, 429, 500, 503)},
    "text_echo": lambda: reply(
        401, f"API key {KEY} is invalid".encode(), {"Content-Type": "text/plain"}
    ),
    "html_echo": lambda: reply(
        502, f"<pre>Authorization: {KEY}</pre>".encode(), {"Content-Type": "text/html"}
    ),
    "200_not_json_echo": lambda: reply(
        200, f"<p>{KEY}</p>".encode(), {"Content-Type": "text/html"}
    ),
    "redirect_echo": lambda: reply(302, b"", {"Location": f"http://127.0.0.1:9/?key={KEY}"}),
    "slow": lambda: slow(5.0),
    # 2 s of body against a 0.8 s deadline: cut whatever the load of the machine.
    "trickled_body": lambda: trickle_body(0.05, {"customer": {}, "padding": "x" * 24}),
    "reset_mid_body": lambda: reset_mid_body({"customer": {}}),
    "closed_without_answer": close_without_answer,
}


def test_reprs_show_at_most_the_mode_and_last_four_characters(server: FaultServer) -> None:
    app, flowglad = make_fault_app(server.url)
    with app.test_request_context():
        settings = repr(flowglad.settings)
        assert MASKED in settings
        shown = [
            settings,
            repr(flowglad),
            repr(flowglad.client),
            repr(flowglad.for_customer("u1")),
            repr(vars(flowglad.client)),
        ]
    assert not [text for text in shown if KEY in text], shown


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_client_errors_never_show_the_key(
    server: FaultServer, raised: list[FlowgladError], fault: str
) -> None:
    server.fault(*BILLING, FAULTS[fault]())
    client = FlowgladClient(
        KEY, base_url=server.url, read_timeout=0.3, max_retries=1, backoff_factor=0.01
    )
    with request_deadline(0.8), pytest.raises(FlowgladError):
        client.get_billing("u1")
    assert raised  # and the autouse fixture found no key in them


def test_echoed_key_is_masked_in_the_message_and_the_body(server: FaultServer) -> None:
    server.fault(*BILLING, echo_error(400))
    client = FlowgladClient(KEY, base_url=server.url)
    with pytest.raises(FlowgladAPIError) as caught:
        client.get_billing("u1")
    assert MASKED in caught.value.message
    assert caught.value.body["key"] == MASKED


def test_configured_key_of_any_shape_is_masked(server: FaultServer) -> None:
    odd_key = "org-7f3a9c2e5b814d6aa0c1"
    server.fault(*BILLING, echo_error(400))
    client = FlowgladClient(odd_key, base_url=server.url)
    with pytest.raises(FlowgladAPIError) as caught:
        client.get_billing("u1")
    assert odd_key not in str(caught.value) and odd_key not in repr(caught.value.body)
