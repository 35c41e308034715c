"""The client alone against the misbehaving server: what the deadline cuts, and what a
cut leaves behind (nothing: the next call and other threads go on)."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator

import pytest
import trustme

from flask_flowglad.client import FlowgladClient
from flask_flowglad.deadline import request_deadline
from flask_flowglad.errors import FlowgladTimeout

from .harness import BILLING, KEY, MARGIN, happy_routes
from .server import FaultServer, reply, slow, trickle_body, trickle_headers

BILLING_BODY = happy_routes()[BILLING]


@pytest.fixture
def client(server: FaultServer) -> Iterator[FlowgladClient]:
    with FlowgladClient(KEY, base_url=server.url, read_timeout=0.3, max_retries=2) as client:
        yield client


def timed_failure(client: FlowgladClient) -> tuple[float, FlowgladTimeout]:
    started = time.monotonic()
    with pytest.raises(FlowgladTimeout) as caught:
        client.get_billing("u1")
    return time.monotonic() - started, caught.value


def test_a_trickled_body_is_cut_at_the_deadline(
    server: FaultServer, client: FlowgladClient
) -> None:
    server.fault(*BILLING, trickle_body(0.1, BILLING_BODY))
    with request_deadline(0.6):
        seconds, error = timed_failure(client)
    assert 0.5 <= seconds <= 0.6 + MARGIN
    assert "deadline passed" in str(error)


def test_trickled_headers_are_cut_at_the_deadline(
    server: FaultServer, client: FlowgladClient
) -> None:
    server.fault(*BILLING, trickle_headers(0.1))
    with request_deadline(0.6):
        seconds, error = timed_failure(client)
    assert seconds <= 0.6 + MARGIN
    assert "deadline passed" in str(error)


def test_total_timeout_cuts_a_call_made_outside_any_deadline(server: FaultServer) -> None:
    server.fault(*BILLING, trickle_body(0.1, BILLING_BODY))
    client = FlowgladClient(KEY, base_url=server.url, read_timeout=0.3, total_timeout=0.6)
    seconds, _ = timed_failure(client)
    assert seconds <= 0.6 + MARGIN


def test_the_next_call_after_a_cut_gets_a_working_connection(
    server: FaultServer, client: FlowgladClient
) -> None:
    assert client.get_billing("u1")["customer"]["externalId"] == "u1"  # pools a connection
    server.fault(*BILLING, trickle_body(0.1, BILLING_BODY), times=1)
    with request_deadline(0.4):
        timed_failure(client)
    assert client.get_billing("u1")["customer"]["externalId"] == "u1"


def test_an_answer_finished_in_time_is_not_cut_later(
    server: FaultServer, client: FlowgladClient
) -> None:
    server.fault(*BILLING, slow(0.1, reply(200, BILLING_BODY)))
    with request_deadline(0.4):
        assert client.get_billing("u1")
    time.sleep(0.4)  # past the deadline: the pooled connection must still be usable
    assert client.get_billing("u1")
    assert server.count(*BILLING) == 2


def test_a_cut_in_one_thread_leaves_another_threads_call_alone(server: FaultServer) -> None:
    server.fault(*BILLING, trickle_body(0.1, BILLING_BODY))
    server.route("GET", "/api/v1/customers/u2/billing", slow(0.8, reply(200, BILLING_BODY)))
    client = FlowgladClient(KEY, base_url=server.url, read_timeout=2.0)
    results: list[object] = []

    def patient() -> None:
        with request_deadline(3.0):
            results.append(client.get_billing("u2"))

    other = threading.Thread(target=patient)
    other.start()
    with request_deadline(0.3):
        timed_failure(client)
    other.join()
    assert results and isinstance(results[0], dict)


def test_a_trickle_over_tls_is_cut_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Flowglad is HTTPS: the cut must wake a read blocked inside TLS as well.
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    server = FaultServer(tls=tls).start()
    try:
        server.route(*BILLING, reply(200, BILLING_BODY))
        with authority.cert_pem.tempfile() as ca_file:
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
            client = FlowgladClient(KEY, base_url=server.url, read_timeout=0.3)
            assert client.get_billing("u1")["customer"]["externalId"] == "u1"
            server.fault(*BILLING, trickle_body(0.1, BILLING_BODY))
            with request_deadline(0.6):
                seconds, error = timed_failure(client)
        assert seconds <= 0.6 + MARGIN
        assert "deadline passed" in str(error)
    finally:
        server.stop()
