"""Bad input and bad upstream shapes are answered in the envelope, with a 4xx or a 502,
never a 500 page, and invalid input never reaches Flowglad."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from flask_flowglad import Flowglad, feature_required

from .support import payloads
from .support.apps import API, User, calls, make_app
from .test_protocol import SUCCESS, assert_error, post


def raw_post(app: Flask, key: str, data: bytes | str, *, user: str | None = "u1") -> Any:
    client = app.test_client(user=User(user)) if user else app.test_client()
    return client.post(f"/api/flowglad/{key}", data=data, content_type="application/json")


@pytest.mark.parametrize("user", ["u1", None])
@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_deeply_nested_json_is_a_400_envelope(
    app: Flask, upstream: Any, user: str | None, depth: int
) -> None:
    body = '{"a":' * depth + "1" + "}" * depth
    response = raw_post(app, "customers/billing", body, user=user)
    if depth * 6 > 64 * 1024:
        assert_error(response, 413, "payload_too_large")
    else:
        assert_error(response, 400, "validation_error")
    assert upstream.request_history == []


def test_deep_usage_properties_are_refused_before_upstream(app: Flask, upstream: Any) -> None:
    properties: Any = 1
    for _ in range(40):
        properties = {"p": properties}
    body = {"usageMeterSlug": "api_calls", "properties": properties}
    assert_error(raw_post(app, "usage-events/create", json.dumps(body)), 400, "validation_error")
    assert upstream.request_history == []


@pytest.mark.parametrize(
    ("key", "member"),
    [
        ("subscriptions/cancel", "id"),
        ("checkout-sessions/retrieve", "id"),
        ("usage-events/create", "usageMeterSlug"),
        ("resources/claim", "resourceSlug"),
    ],
)
def test_lone_surrogates_are_a_400(app: Flask, upstream: Any, key: str, member: str) -> None:
    body = '{"' + member + '": "sub_\\ud800", "cancellation": {"timing": "immediately"}}'
    assert_error(raw_post(app, key, body), 400, "validation_error")
    assert upstream.request_history == []


def test_a_body_over_the_limit_is_413_before_anything(app: Flask, upstream: Any) -> None:
    body = json.dumps({"id": "x" * 70_000})
    assert_error(raw_post(app, "subscriptions/uncancel", body), 413, "payload_too_large")
    assert upstream.request_history == []


def test_the_body_limit_is_configurable(upstream: Any) -> None:
    app = make_app(FLOWGLAD_MAX_BODY_BYTES=100)
    Flowglad(app)
    body = json.dumps({"id": "sub_" + "x" * 100})
    assert_error(raw_post(app, "subscriptions/uncancel", body), 413, "payload_too_large")


@pytest.mark.parametrize("value", ["x" * 256, 2**31, 2**64, 1e308, -0.0, 1.5])
def test_values_out_of_range_are_a_400(app: Flask, upstream: Any, value: Any) -> None:
    body = {"usageMeterSlug": "api_calls", "amount": value}
    if isinstance(value, str):
        body = {"usageMeterSlug": value}
    assert_error(post(app, "usage-events/create", body), 400, "validation_error")
    assert upstream.request_history == []


@pytest.mark.parametrize(
    "payload",
    [{}, {"customer": "u1"}, [], {"subscriptions": []}],
    ids=["empty", "customer-not-object", "array", "no-customer"],
)
def test_billing_without_a_customer_is_502(app: Flask, upstream: Any, payload: Any) -> None:
    upstream.get(f"{API}/customers/u1/billing", json=payload)
    assert_error(post(app, "customers/billing", {}), 502, "billing_fetch_failed")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b["customer"].update(createdAt=10**30),
        lambda b: b["currentSubscriptions"][0]["experimental"].update(featureItems=[1, "x"]),
        lambda b: b.update(invoices=[{"invoice": 5}, 3, {"invoice": {"id": "in_1"}}]),
        lambda b: b.update(pricingModel={"products": [5, {"prices": "x"}]}),
        lambda b: b.update(pricingModel=[]),
    ],
    ids=["huge-createdAt", "non-object-feature", "odd-invoices", "bad-products", "model-list"],
)
@pytest.mark.parametrize(
    "key",
    [
        "customerDetails",
        "features/access",
        "invoices/list",
        "pricing-models/retrieve",
        "subscriptions/create",
    ],
)
def test_odd_upstream_shapes_never_give_a_500(
    app: Flask, upstream: Any, mangle: Any, key: str
) -> None:
    billing = payloads.billing()
    mangle(billing)
    upstream.get(f"{API}/customers/u1/billing", json=billing)
    upstream.post(f"{API}/subscriptions", json={"subscription": payloads.subscription()})
    response = post(app, key, {"priceSlug": "free"} if key == "subscriptions/create" else {})
    assert response.status_code < 500 or response.status_code == 502
    assert response.mimetype == "application/json"
    assert set(response.json) >= {"data"}


def test_made_up_and_foreign_checkout_sessions_answer_alike(app: Flask, upstream: Any) -> None:
    upstream.get(f"{API}/customers/u1/billing", json=payloads.billing())
    upstream.get(
        f"{API}/checkout-sessions/cs_theirs",
        json={"checkoutSession": {"id": "cs_theirs", "customerId": "cust_other"}, "url": "u"},
    )
    upstream.get(
        f"{API}/checkout-sessions/cs_made_up",
        status_code=404,
        json={"error": "Checkout session not found", "code": "NOT_FOUND"},
    )
    theirs = post(app, "checkout-sessions/retrieve", {"id": "cs_theirs"})
    made_up = post(app, "checkout-sessions/retrieve", {"id": "cs_made_up"})
    assert theirs.status_code == made_up.status_code == 404
    assert theirs.json == made_up.json


# -- feature access is read one way ------------------------------------------------------


def billing_with_diverging_feature_members() -> dict[str, Any]:
    """Top-level ``featureItems`` grants ``reports``; the experimental member grants
    ``exports``: the top-level member, when present, is the one read everywhere."""
    billing = payloads.billing()
    subscription = billing["currentSubscriptions"][0]
    subscription["featureItems"] = [payloads.toggle("reports")]
    subscription["experimental"]["featureItems"] = [payloads.toggle("exports")]
    return billing


def test_route_snapshot_and_decorator_agree_when_feature_members_differ(upstream: Any) -> None:
    upstream.get(f"{API}/customers/u1/billing", json=billing_with_diverging_feature_members())
    app = make_app()
    Flowglad(app)

    @app.get("/reports")
    @feature_required("reports")
    def reports() -> str:
        return "ok"

    @app.get("/exports")
    @feature_required("exports")
    def exports() -> str:
        return "ok"

    client = app.test_client(user=User("u1"))
    assert client.get("/reports").status_code == 200
    assert client.get("/exports").status_code == 402
    route = post(app, "features/access", {}).json["data"]["features"]
    assert [feature["slug"] for feature in route] == ["reports"]
    from flask_flowglad.billing import BillingSnapshot

    snapshot = BillingSnapshot(billing_with_diverging_feature_members())
    assert snapshot.check_feature_access("reports") is True
    assert snapshot.check_feature_access("exports") is False
    assert calls(upstream).count(("GET", "/api/v1/customers/u1/billing")) == 3


def test_feature_required_on_a_billing_without_customer_is_an_outage(upstream: Any) -> None:
    upstream.get(f"{API}/customers/u1/billing", json={})
    for fail_open, status in ((False, 503), (True, 200)):
        app = make_app(FLOWGLAD_FAIL_OPEN=fail_open)
        Flowglad(app)

        @app.get("/reports")
        @feature_required("reports")
        def reports() -> str:
            return "ok"

        assert app.test_client(user=User("u1")).get("/reports").status_code == status


def test_billing_usage_event_to_a_meter_outside_the_model_writes_nothing(
    app: Flask, upstream: Any
) -> None:
    upstream.get(f"{API}/customers/u1/billing", json=payloads.billing())
    for body in (
        {"usageMeterSlug": "other_meter"},
        {"usageMeterId": "um_elsewhere"},
        {"priceSlug": "price_elsewhere"},
    ):
        response = post(app, "usage-events/create", body)
        assert response.status_code == 404, response.json
    assert all(method == "GET" for method, _ in calls(upstream))


def test_checkout_retrieve_and_paid_checkout_keep_their_success_shapes(
    app: Flask, upstream: Any
) -> None:
    upstream.get(f"{API}/customers/u1/billing", json=payloads.billing())
    upstream.post(
        f"{API}/checkout-sessions", json={"checkoutSession": {"id": "cs_1"}, "url": "https://p"}
    )
    response = post(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "pro_monthly"})
    assert response.status_code == 200
