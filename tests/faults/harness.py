"""The fault suite's app and checks: a real Flask app, logged in through flask-login, in front
of a Flowglad that misbehaves (``server.py``), the React actions it is driven with, and what
every answer must be under a fault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_login import FlaskLoginClient, LoginManager

from flask_flowglad import Flowglad, feature_required

from ..support import payloads
from ..support.apps import User

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
