"""A real Flask app, logged in through flask-login, in front of a misbehaving Flowglad.

Every test here also checks that the secret key (a live-looking one) appears in no log
record at DEBUG, no response, and no error the client raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask_login import FlaskLoginClient, LoginManager

from flask_flowglad import Flowglad, feature_required
from flask_flowglad.client import FlowgladClient
from flask_flowglad.errors import FlowgladError

from .. import payloads
from ..conftest import User
from .server import FaultServer, reply

KEY = "sk_live_" + "Zq8vT3nW7xK2pL9mR4cY6bH1dF5gJ0sA"
URL = "/api/flowglad/"
#: The total time a browser request may wait on Flowglad in these tests.
DEADLINE = 1.5
#: What the wall time of a request may exceed the deadline by (Flask, JSON, the test
#: client and a loaded machine).
MARGIN = 0.5
MAX_RETRIES = 2
CONFIG = {
    "FLOWGLAD_SECRET_KEY": KEY,
    "FLOWGLAD_REQUEST_DEADLINE": DEADLINE,
    "FLOWGLAD_CONNECT_TIMEOUT": 0.3,
    "FLOWGLAD_READ_TIMEOUT": 0.3,
    "FLOWGLAD_MAX_RETRIES": MAX_RETRIES,
    "FLOWGLAD_MAX_RETRY_WAIT": 1.0,
}

BILLING = ("GET", "/api/v1/customers/u1/billing")
CUSTOMER = ("GET", "/api/v1/customers/u1")
UPDATE = ("PUT", "/api/v1/customers/u1")
CREATE_CUSTOMER = ("POST", "/api/v1/customers")
CHECKOUT = ("POST", "/api/v1/checkout-sessions")
CANCEL = ("POST", "/api/v1/subscriptions/sub_1/cancel")
CLAIM = ("POST", "/api/v1/resource-claims/sub_1/claim")
RESOURCE_USAGES = ("GET", "/api/v1/resource-claims/sub_1/usages")
USAGE = ("POST", "/api/v1/usage-events")
PRICING = ("GET", "/api/v1/pricing-models/default")

CHECKOUT_SESSION = {
    "checkoutSession": {"id": "cs_1", "status": "open", "customerId": "cust_u1"},
    "url": "https://pay.test/cs_1",
}
CLAIM_RESULT = {
    "claims": [{"id": "claim_1", "resourceId": "res_1", "subscriptionId": "sub_1"}],
    "usage": {"resourceSlug": "seats", "capacity": 5, "claimed": 1, "available": 4},
}


def happy_routes() -> dict[tuple[str, str], Any]:
    billing = payloads.billing(subscriptions=[payloads.subscription(features=("reports",))])
    canceled = {**payloads.subscription(), "status": "canceled"}
    return {
        BILLING: billing,
        CUSTOMER: {"customer": billing["customer"]},
        UPDATE: {"customer": {**billing["customer"], "name": "Ann"}},
        CREATE_CUSTOMER: {"data": {"customer": billing["customer"]}},
        CHECKOUT: CHECKOUT_SESSION,
        CANCEL: {"subscription": canceled},
        CLAIM: CLAIM_RESULT,
        RESOURCE_USAGES: [{"usage": CLAIM_RESULT["usage"], "claims": CLAIM_RESULT["claims"]}],
        USAGE: {"usageEvent": {"id": "ue_1", "amount": 1}},
        PRICING: {"pricingModel": payloads.pricing_model()},
    }


@dataclass(frozen=True)
class ActionCall:
    """One React action: its subroute, the body React sends, and the upstream call the
    fault is put on (for writes, the write; their billing read still answers)."""

    subroute: str
    body: dict[str, Any]
    target: tuple[str, str]
    #: Whether the target call is a write that a retry could double.
    write: bool


BILLING_READ = ActionCall("customers/billing", {}, BILLING, write=False)
WRITES = [
    ActionCall(
        "checkout-sessions/create",
        {
            "priceSlug": "pro_monthly",
            "successUrl": "https://app.test/ok",
            "cancelUrl": "https://app.test/no",
        },
        CHECKOUT,
        write=True,
    ),
    ActionCall(
        "subscriptions/cancel",
        {"id": "sub_1", "cancellation": {"timing": "immediately"}},
        CANCEL,
        write=True,
    ),
    ActionCall("resources/claim", {"resourceSlug": "seats", "quantity": 1}, CLAIM, write=True),
    ActionCall("customers/update", {"customer": {"name": "Ann"}}, UPDATE, write=True),
]
USAGE_EVENT = ActionCall(
    "usage-events/create", {"usageMeterSlug": "api_calls", "amount": 1}, USAGE, write=False
)


#: (test id, wall seconds) of every request made through ``call``; reported at the end.
TIMINGS: list[tuple[str, float]] = []


@dataclass
class Answer:
    status: int
    json: Any
    headers: dict[str, str]
    text: str
    seconds: float


@pytest.fixture
def server() -> Iterator[FaultServer]:
    fault_server = FaultServer().start()
    for key, body in happy_routes().items():
        fault_server.route(*key, reply(200, body))
    yield fault_server
    fault_server.stop()


def make_fault_app(base_url: str, **config: Any) -> tuple[Flask, Flowglad]:
    app = Flask(__name__)
    # Not TESTING: an unexpected exception must show as the 500 a browser would get.
    app.config.update(SECRET_KEY="test", FLOWGLAD_BASE_URL=base_url, **CONFIG)
    app.config.update(config)
    login_manager = LoginManager(app)
    login_manager.user_loader(User)
    app.test_client_class = FlaskLoginClient
    flowglad = Flowglad(app)

    @app.route("/reports")
    @feature_required("reports")
    def reports() -> str:
        return "the reports"

    return app, flowglad


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


def assert_failure(answer: Answer, status: int) -> dict[str, Any]:
    """The documented status and the ``{data: null, error}`` envelope."""
    assert answer.status == status, (answer.status, answer.text[:300])
    assert answer.json is not None and answer.json["data"] is None, answer.text[:300]
    error = answer.json["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["json"]["message"] == error["message"]
    return error  # type: ignore[no-any-return]


def assert_in_time(answer: Answer) -> None:
    assert answer.seconds <= DEADLINE + MARGIN, f"{answer.seconds:.2f}s"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    slowest_id, slowest = max(TIMINGS, key=lambda timing: timing[1])
    terminalreporter.write_line(
        f"fault suite: {len(TIMINGS)} requests under faults; slowest {slowest:.2f}s"
        f" against a deadline of {DEADLINE}s ({slowest_id})"
    )
