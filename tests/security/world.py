"""A billing world to attack: the sandbox as Flowglad, an app on it, customers with real objects.

Every suite here drives the app only through its HTTP surface (the test client, or a real
server), and reads what reached "Flowglad" from the sandbox's own record of calls, so the
suites keep holding whatever the protocol layer looks like inside.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from flask import Flask
from flask_login import login_user

from flask_flowglad import Flowglad, SandboxWarning
from flask_flowglad.sandbox import Call, Sandbox

from ..support.apps import User, make_app
from ..support.servers import serving as serving

URL = "/api/flowglad/"
SUCCESS = {"successUrl": "http://localhost/ok", "cancelUrl": "http://localhost/no"}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Members whose content is the app's or the user's own data, forwarded as is.
OPAQUE_MEMBERS = frozenset({"metadata", "properties", "outputMetadata"})


def demo_pricing() -> dict[str, Any]:
    """The sandbox's demo pricing model, plus a paid price with a 14-day trial."""
    text = resources.files("flask_flowglad.sandbox").joinpath("default_pricing.json").read_text()
    pricing: dict[str, Any] = json.loads(text)
    pro = next(p for p in pricing["products"] if p["slug"] == "pro")
    pro["prices"].append(
        {
            "slug": "pro_trial",
            "name": "Pro with a trial",
            "type": "subscription",
            "unitPrice": 2000,
            "intervalUnit": "month",
            "intervalCount": 1,
            "trialPeriodDays": 14,
        }
    )
    return pricing


def other_pricing() -> dict[str, Any]:
    """Another organization's pricing model: its ids, and slugs ours does not have."""
    pricing = demo_pricing()
    pricing["usageMeters"].append({"slug": "storage_gb", "name": "Storage", "prices": []})
    pricing["resources"].append({"slug": "projects", "name": "Projects"})
    pricing["products"].append(
        {
            "slug": "enterprise",
            "name": "Enterprise",
            "features": [],
            "prices": [
                {
                    "slug": "enterprise_free",
                    "name": "Enterprise pilot",
                    "type": "subscription",
                    "unitPrice": 0,
                    "intervalUnit": "month",
                    "intervalCount": 1,
                }
            ],
        }
    )
    return pricing


def sandbox_app(sandbox: Sandbox, **config: Any) -> Flask:
    """An app on ``sandbox`` that answers an unhandled exception as production does (500).

    ``POST /test-login/<user_id>`` logs a user in, for clients of a real server that need
    a real session cookie.
    """
    app = make_app(
        FLOWGLAD_SANDBOX=sandbox, FLOWGLAD_SECRET_KEY=None, PROPAGATE_EXCEPTIONS=False, **config
    )

    @app.post("/test-login/<user_id>")
    def log_in(user_id: str) -> str:
        login_user(User(user_id))
        return ""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        Flowglad(app)
    return app


def post(app: Flask, key: str, body: Any = None, user: str | None = "u1") -> Any:
    client = app.test_client(user=User(user)) if user else app.test_client()
    return client.post(URL + key, json=body if body is not None else {})


def writes(sandbox: Sandbox) -> list[Call]:
    """The calls that could have changed something at Flowglad."""
    return [call for call in sandbox.calls if call.method in WRITE_METHODS]


def described(calls: list[Call]) -> list[str]:
    return [f"{call.method} {call.path}" for call in calls]


def envelope(response: Any) -> dict[str, Any]:
    """The parsed ``{data, error}`` body; fails unless the answer is the JSON envelope."""
    where = f"{response.status_code} {response.headers.get('Content-Type')}"
    assert response.mimetype == "application/json", f"not JSON: {where} {response.data[:200]!r}"
    body = json.loads(response.data)
    assert isinstance(body, dict) and "data" in body, f"not an envelope: {where} {body!r:.300}"
    assert set(body) <= {"data", "error"}, f"not an envelope: {sorted(body)}"
    if response.status_code >= 400:
        error = body.get("error")
        assert body["data"] is None, f"an error with data: {body!r:.300}"
        assert isinstance(error, dict), f"an error without error: {body!r:.300}"
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
    return body


def error_code(response: Any) -> str | None:
    body = json.loads(response.data) if response.mimetype == "application/json" else {}
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def keys_outside_opaque(value: Any) -> Iterator[str]:
    """Every member name in a JSON value, except inside the app's and user's own data."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            if key not in OPAQUE_MEMBERS:
                yield from keys_outside_opaque(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_outside_opaque(item)


@dataclass
class Customer:
    """A customer with real objects in the sandbox, for attacks by or against it."""

    external_id: str
    customer_id: str = ""
    #: The current subscription (the plan), then every subscription ever.
    subscription_id: str = ""
    subscription_ids: list[str] = field(default_factory=list)
    checkout_session_ids: list[str] = field(default_factory=list)
    claim_ids: list[str] = field(default_factory=list)
    claim_external_ids: list[str] = field(default_factory=list)
    payment_method_ids: list[str] = field(default_factory=list)


class World:
    """One sandbox, one app on it, and customers made through the app's own actions."""

    def __init__(self, pricing: Mapping[str, Any] | None = None, **config: Any) -> None:
        # Several subscriptions per customer, so a seed body may start a free plan beside
        # the customer's own (Flowglad's default refuses a second one with a 409).
        self.sandbox = Sandbox(
            copy.deepcopy(dict(pricing or demo_pricing())), allow_multiple_subscriptions=True
        )
        self.app = sandbox_app(self.sandbox, **config)

    def post(self, key: str, body: Any = None, user: str | None = "u1") -> Any:
        return post(self.app, key, body, user)

    def data(self, key: str, body: Any = None, user: str = "u1") -> Any:
        response = self.post(key, body, user)
        assert response.status_code == 200, (key, response.status_code, response.data[:300])
        return response.json["data"]

    def customer(
        self, external_id: str, *, plan: str = "pro_monthly", claims: int = 1
    ) -> Customer:
        """A customer on ``plan`` with a checkout session, a named claim and a card."""
        self.sandbox.put_customer_on_plan(external_id, plan)
        customer = Customer(external_id)
        checkout = self.data(
            "checkout-sessions/create", {**SUCCESS, "priceSlug": "report_pack"}, external_id
        )
        customer.checkout_session_ids.append(checkout["checkoutSession"]["id"])
        for n in range(claims):
            name = f"{external_id}-member-{n}@example.com"
            self.data(
                "resources/claim", {"resourceSlug": "seats", "externalId": name}, external_id
            )
            customer.claim_external_ids.append(name)
        self.refresh(customer)
        return customer

    def refresh(self, customer: Customer) -> None:
        billing = self.sandbox.billing(customer.external_id)
        customer.customer_id = billing["customer"]["id"]
        customer.subscription_id = billing["currentSubscriptions"][-1]["id"]
        customer.subscription_ids = [s["id"] for s in billing["subscriptions"]]
        customer.payment_method_ids = [m["id"] for m in billing["paymentMethods"]]
        state = self.sandbox.records
        customer.claim_ids = [
            c["id"]
            for c in state.claims
            if c.get("subscriptionId") in customer.subscription_ids and not c.get("releasedAt")
        ]
