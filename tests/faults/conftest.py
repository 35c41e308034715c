"""A real Flask app, logged in through flask-login, in front of a misbehaving Flowglad.

Every test here also checks that the secret key (a live-looking one) appears in no log
record at DEBUG, no response, and no error the client raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from flask_flowglad.client import FlowgladClient
from flask_flowglad.errors import FlowgladError

from ..support.apps import User
from .harness import DEADLINE, KEY, TIMINGS, URL, ActionCall, Answer, happy_routes, make_fault_app
from .server import FaultServer, reply


@pytest.fixture
def server() -> Iterator[FaultServer]:
    fault_server = FaultServer().start()
    for key, body in happy_routes().items():
        fault_server.route(*key, reply(200, body))
    yield fault_server
    fault_server.stop()


@pytest.fixture
def app(server: FaultServer) -> Flask:
    return make_fault_app(server.url)[0]


@pytest.fixture
def raised(monkeypatch: pytest.MonkeyPatch) -> list[FlowgladError]:
    """Every error the client raised during the test."""
    errors: list[FlowgladError] = []
    original = FlowgladClient._request

    def recording(self: FlowgladClient, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except FlowgladError as exc:
            errors.append(exc)
            raise

    monkeypatch.setattr(FlowgladClient, "_request", recording)
    return errors


@pytest.fixture(autouse=True)
def key_is_never_shown(
    caplog: pytest.LogCaptureFixture, raised: list[FlowgladError]
) -> Iterator[None]:
    """Every logger at DEBUG; afterwards, the key is in no record and no raised error."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    yield
    for record in caplog.records:
        assert KEY not in record.getMessage(), record.getMessage()
    assert KEY not in caplog.text
    for error in raised:
        shown = [str(error), repr(error), repr(getattr(error, "body", None))]
        shown += [str(error.__cause__), repr(error.__cause__)]
        assert not [text for text in shown if KEY in text], shown


@pytest.fixture
def call(app: Flask, request: pytest.FixtureRequest) -> Callable[..., Answer]:
    """POST a React action as the logged-in user ``u1``; time it; check the envelope."""

    def call(action: ActionCall | str, body: dict[str, Any] | None = None) -> Answer:
        subroute = action if isinstance(action, str) else action.subroute
        payload = body if body is not None else getattr(action, "body", {})
        client = app.test_client(user=User("u1"))
        started = time.monotonic()
        response = client.post(URL + subroute, json=payload)
        seconds = time.monotonic() - started
        TIMINGS.append((request.node.nodeid, seconds))
        answer = Answer(
            response.status_code,
            response.get_json(silent=True),
            dict(response.headers),
            response.get_data(as_text=True),
            seconds,
        )
        assert KEY not in answer.text and KEY not in str(answer.headers)
        assert response.mimetype == "application/json", answer.text[:300]
        return answer

    return call


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    slowest_id, slowest = max(TIMINGS, key=lambda timing: timing[1])
    terminalreporter.write_line(
        f"fault suite: {len(TIMINGS)} requests under faults; slowest {slowest:.2f}s"
        f" against a deadline of {DEADLINE}s ({slowest_id})"
    )
