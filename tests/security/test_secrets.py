"""A live secret key never shows: not in logs, answers, exceptions or reprs, under any fault.

The app is configured with a live-looking key against a Flowglad (requests-mock) whose
error bodies, and whose transport errors, echo the request headers, the key among them.
Every logger is at DEBUG and every record is rendered whole (message, arguments, extras,
traceback). The key, or any 12 characters of its secret part, must appear nowhere.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import requests_mock
from flask import Flask

from flask_flowglad import Flowglad, FlowgladError

from ..support.apps import User, make_app

SECRET = "Q7vX2mK9pL4wR8tY1nB6cJ3hF5dG0sA2zE7uI9oP"
LIVE_KEY = "sk_live_" + SECRET
assert len(SECRET) == 40


def echoing(status: int, **extra: Any) -> Callable[[Any, Any], str]:
    """A Flowglad error answer that repeats the request's headers, as a debug proxy might."""

    def answer(request: Any, context: Any) -> str:
        context.status_code = status
        context.headers.update(extra)
        headers = dict(request.headers)
        return json.dumps(
            {
                "error": f"Rejected {request.method} with headers {headers}",
                "code": "UNAUTHORIZED" if status == 401 else "BAD_REQUEST",
                "request_id": "req12345",
                "headers": headers,
                "authorization": request.headers.get("Authorization"),
            }
        )

    return answer


def raising(kind: type[requests.RequestException], echo: bool) -> Callable[[Any, Any], str]:
    def fail(request: Any, context: Any) -> str:
        detail = f" while sending {dict(request.headers)}" if echo else ""
        raise kind(f"{kind.__name__}{detail}")

    return fail


FAULTS: dict[str, Callable[[Any, Any], str]] = {
    "401": echoing(401),
    "403": echoing(403),
    "400": echoing(400),
    "404": echoing(404),
    "429": echoing(429, **{"Retry-After": "1"}),
    "500": echoing(500),
    "502-html": lambda request, context: (
        setattr(context, "status_code", 502) or f"<h1>{request.headers}</h1>"
    ),
    "200-wrong-shape": lambda request, context: json.dumps({"echo": dict(request.headers)}),
    "connection-error": raising(requests.exceptions.ConnectionError, echo=False),
    "connection-error-echoing": raising(requests.exceptions.ConnectionError, echo=True),
    "timeout": raising(requests.exceptions.ReadTimeout, echo=False),
    "timeout-echoing": raising(requests.exceptions.ReadTimeout, echo=True),
}
ACTIONS = {
    "customers/billing": {},
    "checkout-sessions/create": {
        "priceSlug": "pro_monthly",
        "successUrl": "http://localhost/ok",
        "cancelUrl": "http://localhost/no",
    },
    "usage-events/create": {"usageMeterSlug": "api_calls", "amount": 1},
    "customers/update": {"customer": {"name": "Ada"}},
}


def leaks(text: str) -> list[str]:
    """The pieces of the key found in ``text``: the key, or 12 characters of its secret."""
    found = [LIVE_KEY] if LIVE_KEY in text else []
    found += [SECRET[i : i + 12] for i in range(len(SECRET) - 11) if SECRET[i : i + 12] in text]
    return found


class Everything(logging.Handler):
    """Keeps every record, rendered with its arguments, extras and traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.rendered: list[str] = []
        self.formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        self.rendered.append(f"{text}\nargs={record.args!r}\n{record.__dict__!r}")


@pytest.fixture
def logs() -> Iterator[Everything]:
    handler = Everything()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled


@pytest.fixture
def live_app() -> Flask:
    app = make_app(FLOWGLAD_SECRET_KEY=LIVE_KEY, PROPAGATE_EXCEPTIONS=False)
    Flowglad(app)
    return app


def fault_everywhere(upstream: requests_mock.Mocker, fault: Callable[[Any, Any], str]) -> None:
    upstream.register_uri(requests_mock.ANY, requests_mock.ANY, text=fault)


def assert_no_key(where: str, text: str) -> None:
    found = leaks(text)
    assert not found, f"the secret key shows in {where}: {text[:500]!r}"


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_key_shows_in_no_answer_and_no_log(
    live_app: Flask, upstream: requests_mock.Mocker, logs: Everything, fault: str, action: str
) -> None:
    fault_everywhere(upstream, FAULTS[fault])
    response = live_app.test_client(user=User("u1")).post(
        "/api/flowglad/" + action, json=ACTIONS[action]
    )
    assert upstream.call_count, "the fault was never reached"
    sent = upstream.request_history[0].headers.get("Authorization", "")
    assert LIVE_KEY in sent, "the fake must see the key, or echoing it proves nothing"
    assert_no_key("the answer", response.get_data(as_text=True) + str(response.headers))
    for record in logs.rendered:
        assert_no_key("a log record", record)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_key_shows_in_no_exception_raised_to_python_code(
    live_app: Flask, upstream: requests_mock.Mocker, logs: Everything, fault: str
) -> None:
    """The service raises to the app's own code: its message, repr, args and traceback."""
    fault_everywhere(upstream, FAULTS[fault])
    with live_app.app_context():
        flowglad = live_app.extensions["flowglad"]
        for call in (
            lambda: flowglad.for_customer("u1").get_billing(),
            lambda: flowglad.for_customer("u1").create_usage_event(usage_meter_slug="x"),
            lambda: flowglad.client.get_billing("u1"),
            lambda: flowglad.default_pricing_model(),
        ):
            try:
                call()
            except FlowgladError as exc:
                chain = "".join(traceback.format_exception(exc))
                parts = [str(exc), repr(exc), repr(exc.args), repr(vars(exc)), chain]
                assert_no_key(f"{type(exc).__name__}", "\n".join(parts))
    for record in logs.rendered:
        assert_no_key("a log record", record)


def test_the_key_shows_in_no_repr_of_the_extension(live_app: Flask) -> None:
    with live_app.app_context():
        flowglad = live_app.extensions["flowglad"]
        for name, value in [
            ("the extension", flowglad),
            ("its settings", flowglad.settings),
            ("its client", flowglad.client),
            ("a customer's service", flowglad.for_customer("u1")),
        ]:
            assert_no_key(f"repr of {name}", repr(value))
            assert_no_key(f"str of {name}", str(value))
        assert LIVE_KEY == live_app.config["FLOWGLAD_SECRET_KEY"]  # the key is really set


def test_the_leak_detector_finds_a_partial_key() -> None:
    assert leaks(f"Bearer {LIVE_KEY}") and leaks(f"…{SECRET[5:20]}…")
    assert not leaks(f"sk_live_…{SECRET[-4:]}")
