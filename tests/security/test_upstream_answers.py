"""Flowglad's answers the server cannot use, and writes that must not be sent twice.

A 200 that lacks what the action needs is Flowglad misbehaving: a 502 envelope, never a
success carrying the wrong thing and never a 500. On a ``@feature_required`` view it is an
outage (503, or the view runs when ``FLOWGLAD_FAIL_OPEN`` is on), never a 402 "upgrade".
A checkout that failed upstream may have created a session: it is never posted again,
except after a JSON ``NOT_FOUND`` for the customer, which proves nothing was created.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
import requests_mock
from flask import Flask

from flask_flowglad import Flowglad, feature_required

from ..support import payloads
from ..support.apps import API, User, make_app
from .world import envelope

BILLING = f"{API}/customers/u1/billing"
CHECKOUTS = f"{API}/checkout-sessions"
CHECKOUT = {
    "priceSlug": "pro_monthly",
    "successUrl": "https://a.test/ok",
    "cancelUrl": "https://a.test/no",
}


def billing_with(**changes: Any) -> dict[str, Any]:
    billing = payloads.billing(subscriptions=[payloads.subscription(features=("reports",))])
    for path, value in changes.items():
        target = billing
        *head, last = path.split("__")
        for key in head:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value
    return billing


#: (action, body, upstream method, URL, the 200 body) of answers the action cannot use.
UNUSABLE: list[tuple[str, dict[str, Any], str, str, Any]] = [
    ("customers/billing", {}, "GET", BILLING, {}),
    ("customers/billing", {}, "GET", BILLING, []),
    ("customers/billing", {}, "GET", BILLING, {"customer": "cust_u1"}),
    ("customerDetails", {}, "GET", BILLING, billing_with(customer__createdAt=10**30)),
    ("customerDetails", {}, "GET", BILLING, billing_with(customer__createdAt=1e308)),
    ("customerDetails", {}, "GET", BILLING, billing_with(customer__updatedAt=-(10**20))),
    (
        "features/access",
        {},
        "GET",
        BILLING,
        billing_with(subscriptions__0__experimental={"featureItems": [1, "x", None]}),
    ),
    ("invoices/list", {}, "GET", BILLING, billing_with(invoices=["x", 1, None])),
    ("purchases/list", {}, "GET", BILLING, billing_with(purchases="x")),
    ("subscriptions/list", {}, "GET", BILLING, billing_with(subscriptions="x")),
    ("pricing-models/retrieve", {}, "GET", BILLING, billing_with(pricingModel="x")),
    (
        "pricing-models/retrieve",
        {},
        "GET",
        BILLING,
        billing_with(pricingModel={"products": "x", "usageMeters": 1}),
    ),
    ("checkout-sessions/create", CHECKOUT, "POST", CHECKOUTS, {}),
    ("checkout-sessions/create", CHECKOUT, "POST", CHECKOUTS, {"checkoutSession": {"id": "cs_1"}}),
    ("checkout-sessions/create", CHECKOUT, "POST", CHECKOUTS, {"url": "https://pay.test/x"}),
    (
        "usage-events/create",
        {"usageMeterSlug": "api_calls"},
        "POST",
        f"{API}/usage-events",
        {},
    ),
]


def with_billing(upstream: requests_mock.Mocker) -> None:
    upstream.get(BILLING, json=payloads.billing())


@pytest.mark.parametrize(
    ("key", "body", "method", "url", "answer"),
    UNUSABLE,
    ids=[f"{case[0]}-{n}" for n, case in enumerate(UNUSABLE)],
)
def test_an_unusable_200_is_a_502_envelope(
    app: Flask,
    upstream: requests_mock.Mocker,
    key: str,
    body: Any,
    method: str,
    url: str,
    answer: Any,
) -> None:
    if url != BILLING:
        with_billing(upstream)
    upstream.register_uri(method, url, json=copy.deepcopy(answer))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client(user=User("u1")).post("/api/flowglad/" + key, json=body)
    assert response.status_code == 502, (key, answer, response.status_code, response.data[:300])
    envelope(response)


@pytest.mark.parametrize("answer", [{}, {"pricingModel": "x"}, {"pricingModel": {"products": 7}}])
def test_an_unusable_default_pricing_model_is_a_502_for_visitors(
    app: Flask, upstream: requests_mock.Mocker, answer: Any
) -> None:
    upstream.get(f"{API}/pricing-models/default", json=answer)
    response = app.test_client().post("/api/flowglad/pricing-models/retrieve", json={})
    assert response.status_code == 502, (answer, response.status_code, response.json)
    envelope(response)


def gated(**config: Any) -> Flask:
    app = make_app(PROPAGATE_EXCEPTIONS=False, **config)
    Flowglad(app)

    @app.route("/reports")
    @feature_required("reports")
    def reports() -> str:
        return "the reports"

    return app


GATE_ANSWERS = [
    {},
    {"customer": payloads.customer(), "currentSubscriptions": "x"},
    billing_with(subscriptions__0__experimental={"featureItems": [1, None]}),
    billing_with(subscriptions__0__experimental="x"),
]


@pytest.mark.parametrize("answer", GATE_ANSWERS)
def test_an_unusable_billing_on_a_gated_view_is_an_outage_not_an_upgrade(
    upstream: requests_mock.Mocker, answer: Any
) -> None:
    upstream.get(BILLING, json=answer)
    closed = gated().test_client(user=User("u1"))
    response = closed.get("/reports", headers={"Accept": "application/json"})
    assert response.status_code == 503, (answer, response.status_code, response.data[:200])
    envelope(response)
    opened = gated(FLOWGLAD_FAIL_OPEN=True).test_client(user=User("u1"))
    response = opened.get("/reports")
    assert (response.status_code, response.text) == (200, "the reports"), answer


WRITE_FAILURES: list[dict[str, Any]] = [
    {"status_code": 500, "json": {"error": "Internal server error"}},
    {"status_code": 502, "text": "<html>Bad gateway</html>"},
    {"status_code": 503, "json": {"error": "unavailable"}},
    {"status_code": 504, "text": ""},
    {"status_code": 400, "json": {"error": "Customer not found", "code": "BAD_REQUEST"}},
    {"status_code": 404, "text": "Not Found"},
    {"exc": requests.exceptions.ReadTimeout},
    {"exc": requests.exceptions.ConnectionError},
]


@pytest.mark.parametrize("customer_known", [True, False], ids=["billing-read", "first-call"])
@pytest.mark.parametrize(
    "failure",
    WRITE_FAILURES,
    ids=lambda f: str(f["status_code"]) if "status_code" in f else f["exc"].__name__,
)
def test_a_failed_checkout_is_never_posted_again(
    upstream: requests_mock.Mocker, failure: dict[str, Any], customer_known: bool
) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False, FLOWGLAD_MAX_RETRIES=2)
    Flowglad(app)
    missing = {"status_code": 404, "json": payloads.not_found()}
    if customer_known:
        upstream.get(BILLING, json=payloads.billing())
    else:
        # Missing until the price check's billing read creates it.
        upstream.get(BILLING, [missing, {"json": payloads.billing()}])
    upstream.get(f"{API}/customers/u1", **missing)
    upstream.post(f"{API}/customers", json={"data": {"customer": payloads.customer()}})
    upstream.post(CHECKOUTS, **failure)
    client = app.test_client(user=User("u1"))
    if customer_known:
        client.post("/api/flowglad/customers/billing", json={})
    response = client.post("/api/flowglad/checkout-sessions/create", json=CHECKOUT)
    posts = [
        r
        for r in upstream.request_history
        if r.method == "POST" and r.path == "/api/v1/checkout-sessions"
    ]
    assert len(posts) == 1, f"the checkout was posted {len(posts)} times after {failure}"
    assert 400 <= response.status_code < 600 and response.status_code != 500, response.status_code
    envelope(response)


def test_a_json_not_found_for_the_customer_may_create_it_and_retry_once(
    upstream: requests_mock.Mocker,
) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    Flowglad(app)
    upstream.post(
        CHECKOUTS,
        [
            {"status_code": 404, "json": payloads.not_found()},
            {
                "json": {
                    "checkoutSession": {"id": "cs_1", "customerId": "cust_u1"},
                    "url": "https://pay.test/cs_1",
                }
            },
        ],
    )
    upstream.get(BILLING, status_code=404, json=payloads.not_found())
    upstream.get(f"{API}/customers/u1", status_code=404, json=payloads.not_found())
    upstream.post(f"{API}/customers", json={"data": {"customer": payloads.customer()}})
    response = app.test_client(user=User("u1")).post(
        "/api/flowglad/checkout-sessions/create", json=CHECKOUT
    )
    posts = [(r.method, r.path) for r in upstream.request_history if r.method == "POST"]
    assert posts.count(("POST", "/api/v1/checkout-sessions")) <= 2, posts
    assert posts.count(("POST", "/api/v1/customers")) <= 1, posts
    assert response.status_code in (200, 404, 502), response.status_code
    envelope(response)
