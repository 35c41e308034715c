"""The React SDK's protocol at /api/flowglad/<subroute>, against a mocked Flowglad.

Each action: its happy path with the exact ``data`` shape, its error paths with status and
envelope, and the upstream calls it costs (see also test_call_counts.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from flask import Flask

from flask_flowglad.protocol.actions import ACTIONS

from .support import payloads
from .support.apps import API, User, calls, flowglad_of

URL = "/api/flowglad/"
SUCCESS = {"successUrl": "https://app.test/ok", "cancelUrl": "https://app.test/no"}
CHECKOUT = {"checkoutSession": {"id": "cs_1", "status": "open"}, "url": "https://pay.test/cs_1"}
USAGE = {
    "resourceSlug": "seats",
    "resourceId": "res_1",
    "capacity": 5,
    "claimed": 1,
    "available": 4,
}
CLAIM = {"id": "claim_1", "resourceId": "res_1", "subscriptionId": "sub_1", "externalId": None}


def post(app: Flask, key: str, body: Any = None, *, user: str | None = "u1", **kwargs: Any) -> Any:
    client = app.test_client(user=User(user)) if user else app.test_client()
    if body is None:
        return client.post(URL + key, headers={"Content-Type": "application/json"}, **kwargs)
    return client.post(URL + key, json=body, **kwargs)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.json
    body = response.json
    assert body["data"] is None
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["json"]["message"] == body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture
def billing_payload() -> dict[str, Any]:
    sub = payloads.subscription(features=("reports",), balances={"api_calls": 10})
    old = payloads.subscription("sub_old", status="canceled")
    invoices = [
        {"invoice": {"id": f"inv_{n}", "status": "paid"}, "invoiceLineItems": []} for n in range(4)
    ]
    purchases = [
        {"id": f"pur_{n}", "priceId": "price_pack_once", "name": "Pack"} for n in range(3)
    ]
    return payloads.billing(
        subscriptions=[sub, old], current=[sub], invoices=invoices, purchases=purchases
    )


@pytest.fixture
def flowglad_api(upstream: Any, billing_payload: dict[str, Any]) -> Any:
    """Flowglad answering for customer u1, who exists and has one current subscription."""
    upstream.get(f"{API}/customers/u1/billing", json=billing_payload)
    upstream.get(f"{API}/customers/u1", json={"customer": billing_payload["customer"]})
    # Claims and releases check the resource and the claim ids against these first.
    upstream.get(f"{API}/resource-claims/sub_1/usages", json=[{"usage": USAGE, "claims": [CLAIM]}])
    upstream.get(f"{API}/resource-claims/sub_1/claims", json={"claims": [CLAIM]})
    return upstream


# -- routing and transport ---------------------------------------------------------------


def test_unknown_subroute_is_404_before_authentication(app: Flask, upstream: Any) -> None:
    error = assert_error(post(app, "customers/nothing", {}, user=None), 404, "not_found")
    assert error["message"] == '"customers/nothing" is not a valid Flowglad API path'
    assert upstream.request_history == []


def test_wrong_method_is_405_with_allow(app: Flask, upstream: Any) -> None:
    response = app.test_client().get(URL + "customers/billing")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"
    assert_error(app.test_client().delete(URL + "subscriptions/cancel"), 405, "method_not_allowed")
    assert upstream.request_history == []


def test_trailing_slash_and_empty_segments_are_accepted(app: Flask, flowglad_api: Any) -> None:
    assert post(app, "customers/billing/", {}).status_code == 200
    assert post(app, "customers//billing", {}).status_code == 200


def test_case_matters_in_action_keys(app: Flask, upstream: Any) -> None:
    assert post(app, "customerdetails", {}).status_code == 404


def test_non_json_content_type_is_415(app: Flask, upstream: Any) -> None:
    client = app.test_client(user=User("u1"))
    response = client.post(URL + "customers/billing", data="{}", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    response = client.post(URL + "customers/billing", data={"a": "b"})
    assert_error(response, 415, "unsupported_media_type")
    assert upstream.request_history == []


def test_json_content_type_with_charset_is_accepted(app: Flask, flowglad_api: Any) -> None:
    client = app.test_client(user=User("u1"))
    response = client.post(
        URL + "customers/billing", data="{}", content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 200


def test_empty_body_is_an_empty_object(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.get(f"{API}/resource-claims/sub_1/usages", json=[{"usage": USAGE, "claims": []}])
    response = post(app, "resources/usages")  # the React SDK sends no body here
    assert response.status_code == 200
    assert response.json == {"data": {"resources": [USAGE]}}


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', '{"limit": NaN}'])
def test_unparseable_or_non_object_body_is_400(app: Flask, upstream: Any, raw: str) -> None:
    client = app.test_client(user=User("u1"))
    response = client.post(URL + "invoices/list", data=raw, content_type="application/json")
    assert_error(response, 400, "validation_error")
    assert upstream.request_history == []


# -- authentication ----------------------------------------------------------------------

AUTHENTICATED = sorted(key for key, action in ACTIONS.items() if action.requires_customer)


@pytest.mark.parametrize("key", AUTHENTICATED)
def test_logged_out_is_401_with_no_upstream_call(app: Flask, upstream: Any, key: str) -> None:
    error = assert_error(post(app, key, {}, user=None), 401, "unauthorized")
    assert error["message"] == "Not authenticated"
    assert upstream.request_history == []


def test_identity_in_the_body_is_never_used(app: Flask, flowglad_api: Any) -> None:
    response = post(app, "customers/billing", {"externalId": "someone-else"})
    assert response.status_code == 200
    assert calls(flowglad_api) == [("GET", "/api/v1/customers/u1/billing")]


def test_loader_returning_an_unusable_id_is_500_without_traceback(
    app: Flask, upstream: Any
) -> None:
    flowglad_of(app).customer_loader(lambda: "org/1")
    response = post(app, "customers/billing", {})
    assert_error(response, 500, "invalid_customer_id")
    assert "Traceback" not in response.text
    assert upstream.request_history == []


# -- validation --------------------------------------------------------------------------

INVALID_BODIES = {
    "customers/update": {"customer": {"email": "not-an-email"}},
    "checkout-sessions/create": {**SUCCESS, "priceSlug": "a", "priceId": "b"},
    "checkout-sessions/create-add-payment-method": {
        "successUrl": "javascript:alert(1)",
        "cancelUrl": "https://a.test",
    },
    "checkout-sessions/create-activate-subscription": SUCCESS,
    "checkout-sessions/retrieve": {},
    "subscriptions/cancel": {"id": "sub_1", "cancellation": {"timing": "yesterday"}},
    "subscriptions/uncancel": {"id": 5},
    "subscriptions/adjust": {"priceSlug": "pro", "priceId": "price_pro"},
    "subscriptions/preview-adjust": {"priceSlug": "pro", "timing": "later"},
    "subscriptions/cancel-scheduled-adjustment": {"subscriptionId": 5},
    "subscriptions/create": {"priceSlug": "free", "quantity": 0},
    "subscriptions/list": {"includeHistorical": "yes"},
    "usage-events/create": {"usageMeterSlug": "api_calls", "amount": True},
    "usage-meters/balances": {"subscriptionId": ""},
    "features/access": {"subscriptionId": 7},
    "invoices/list": {"limit": -1},
    "purchases/list": {"startingAfter": 3},
    "resources/usages": {"subscriptionId": ["sub_1"]},
    "resources/usages/retrieve": {"resourceSlug": "seats", "resourceId": "res_1"},
    "resources/claim": {"resourceSlug": "seats", "quantity": 1, "externalId": "x"},
    "resources/release": {"resourceSlug": "seats"},
    "resources/claims": {"resourceSlug": 7},
}
#: These read nothing from the body: the React SDK sends {}, and identity is the server's.
BODY_IGNORED = {
    "customers/billing",
    "customers/find-or-create",
    "customerDetails",
    "payment-methods/list",
    "pricing-models/retrieve",
}


def test_every_action_that_reads_a_body_has_an_invalid_body_case() -> None:
    assert set(INVALID_BODIES) == set(ACTIONS) - BODY_IGNORED


@pytest.mark.parametrize("key", sorted(BODY_IGNORED))
def test_actions_without_input_ignore_unknown_and_identity_keys(
    app: Flask, flowglad_api: Any, key: str
) -> None:
    response = post(app, key, {"externalId": "someone-else", "junk": 1})
    assert response.status_code == 200
    assert all("/u1" in path for _, path in calls(flowglad_api))


@pytest.mark.parametrize("key", sorted(INVALID_BODIES))
def test_invalid_body_is_400_with_issues_and_no_upstream_call(
    app: Flask, upstream: Any, key: str
) -> None:
    response = post(app, key, INVALID_BODIES[key])
    error = assert_error(response, 400, "validation_error")
    assert error["json"]["issues"], error
    assert all({"path", "message"} <= set(issue) for issue in error["json"]["issues"])
    assert upstream.request_history == []


# -- customers ---------------------------------------------------------------------------


def test_billing_returns_the_upstream_payload_unchanged(
    app: Flask, flowglad_api: Any, billing_payload: dict[str, Any]
) -> None:
    billing_payload["brandNewMember"] = {"kept": True}
    flowglad_api.get(f"{API}/customers/u1/billing", json=billing_payload)
    response = post(app, "customers/billing", {})
    assert response.json == {"data": billing_payload}
    assert calls(flowglad_api) == [("GET", "/api/v1/customers/u1/billing")]


def test_billing_error_has_null_data(app: Flask, upstream: Any) -> None:
    upstream.get(
        f"{API}/customers/u1/billing", status_code=500, json={"error": "Internal server error"}
    )
    response = post(app, "customers/billing", {})
    assert_error(response, 502, "billing_fetch_failed")
    assert "request_id" not in response.text


def test_find_or_create_returns_the_customer(app: Flask, flowglad_api: Any) -> None:
    response = post(app, "customers/find-or-create", {})
    assert response.json == {"data": {"customer": payloads.customer()}}


def test_find_or_create_creates_with_the_loaders_details(app: Flask, upstream: Any) -> None:
    upstream.get(f"{API}/customers/u1", status_code=404, json=payloads.not_found())
    upstream.post(
        f"{API}/customers",
        json={"data": {"customer": payloads.customer(), "subscription": {"id": "sub_new"}}},
    )
    response = post(app, "customers/find-or-create", {})
    assert response.json == {"data": {"customer": payloads.customer()}}
    assert upstream.request_history[1].json()["customer"] == {
        "externalId": "u1",
        "name": "User u1",
        "email": "u1@example.com",
    }


def test_update_customer_sends_only_name_and_email(app: Flask, upstream: Any) -> None:
    upstream.put(f"{API}/customers/u1", json={"customer": payloads.customer(name="New")})
    response = post(
        app,
        "customers/update",
        {"externalId": "other", "customer": {"id": "cust_x", "name": "New", "phone": "123"}},
    )
    assert response.json == {"data": {"customer": payloads.customer(name="New")}}
    assert upstream.last_request.json() == {"customer": {"name": "New"}}


def test_customer_details_formats_dates_like_javascript(app: Flask, flowglad_api: Any) -> None:
    response = post(app, "customerDetails", {})
    assert response.json == {
        "data": {
            "customer": {
                "id": "cust_u1",
                "livemode": False,
                "email": "u1@example.com",
                "name": "User u1",
                "externalId": "u1",
                "createdAt": "2026-01-01T00:00:00.000Z",
                "updatedAt": "2026-01-01T00:00:00.001Z",
            }
        }
    }


# -- checkout ----------------------------------------------------------------------------


def test_product_checkout_sends_the_customer_and_strips_client_identity(
    app: Flask, flowglad_api: Any
) -> None:
    upstream = flowglad_api
    upstream.post(f"{API}/checkout-sessions", json=CHECKOUT)
    body = {
        **SUCCESS,
        "priceSlug": "pro_monthly",
        "type": "product",
        "autoRedirect": True,
        "customerExternalId": "attacker",
        "outputMetadata": {"plan": "pro"},
    }
    response = post(app, "checkout-sessions/create", body)
    assert response.json == {"data": CHECKOUT}
    assert upstream.last_request.json() == {
        "checkoutSession": {
            **SUCCESS,
            "priceSlug": "pro_monthly",
            "quantity": 1,
            "outputMetadata": {"plan": "pro"},
            "type": "product",
            "customerExternalId": "u1",
        }
    }
    # The price is checked against the customer's pricing model first.
    assert calls(upstream) == [
        ("GET", "/api/v1/customers/u1/billing"),
        ("POST", "/api/v1/checkout-sessions"),
    ]


def test_checkout_for_a_customer_not_yet_created_creates_it_first(
    app: Flask, upstream: Any
) -> None:
    upstream.get(
        f"{API}/customers/u1/billing",
        [{"status_code": 404, "json": payloads.not_found()}, {"json": payloads.billing()}],
    )
    upstream.post(f"{API}/customers", json={"data": {"customer": payloads.customer()}})
    upstream.post(f"{API}/checkout-sessions", json=CHECKOUT)
    response = post(app, "checkout-sessions/create", {**SUCCESS, "priceId": "price_pro_monthly"})
    assert response.json == {"data": CHECKOUT}
    assert [p for _, p in calls(upstream)].count("/api/v1/checkout-sessions") == 1


def test_checkout_that_fails_with_a_5xx_is_never_posted_again(
    app: Flask, flowglad_api: Any
) -> None:
    # The first session may exist: a second post could open two.
    flowglad_api.post(
        f"{API}/checkout-sessions", status_code=500, json={"error": "Internal server error"}
    )
    flowglad_api.post(f"{API}/customers", json={"data": {"customer": payloads.customer()}})
    response = post(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "pro_monthly"})
    assert_error(response, 502, "checkout_session_create_failed")
    posts = [p for m, p in calls(flowglad_api) if m == "POST"]
    assert posts == ["/api/v1/checkout-sessions"]


@pytest.mark.parametrize("status", [400, 500])
def test_checkout_posted_again_only_when_the_customer_is_proved_missing(
    app: Flask, upstream: Any, status: int
) -> None:
    # No session can exist for a customer Flowglad does not know: safe to post again.
    upstream.post(
        f"{API}/checkout-sessions",
        [{"status_code": status, "json": {"error": "Customer not found"}}, {"json": CHECKOUT}],
    )
    upstream.get(f"{API}/customers/u1", status_code=404, json=payloads.not_found())
    upstream.post(f"{API}/customers", json={"data": {"customer": payloads.customer()}})
    response = post(app, "checkout-sessions/create-add-payment-method", SUCCESS)
    assert response.json == {"data": CHECKOUT}
    assert calls(upstream) == [
        ("POST", "/api/v1/checkout-sessions"),
        ("GET", "/api/v1/customers/u1"),
        ("POST", "/api/v1/customers"),
        ("POST", "/api/v1/checkout-sessions"),
    ]


def test_checkout_5xx_for_a_customer_that_exists_is_not_posted_again(
    app: Flask, upstream: Any
) -> None:
    upstream.post(f"{API}/checkout-sessions", status_code=503, json={"error": "down"})
    upstream.get(f"{API}/customers/u1", json={"customer": payloads.customer()})
    response = post(app, "checkout-sessions/create-add-payment-method", SUCCESS)
    assert_error(response, 502, "checkout_session_create_failed")
    assert [m for m, _ in calls(upstream)] == ["POST", "GET"]


def test_checkout_without_a_url_is_502(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.post(f"{API}/checkout-sessions", json={"checkoutSession": {"id": "cs_1"}})
    response = post(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "pro_monthly"})
    assert_error(response, 502, "checkout_session_create_failed")


@pytest.mark.parametrize(
    "price",
    [{"priceSlug": "nope"}, {"priceId": "price_other_model"}, {"priceSlug": "api_call_usage"}],
)
def test_checkout_of_a_price_outside_the_pricing_model_writes_nothing(
    app: Flask, flowglad_api: Any, price: dict[str, str]
) -> None:
    response = post(app, "checkout-sessions/create", {**SUCCESS, **price})
    assert_error(response, 404, "price_not_found")
    assert all(m == "GET" for m, _ in calls(flowglad_api))


def test_add_payment_method_checkout(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.post(f"{API}/checkout-sessions", json=CHECKOUT)
    response = post(
        app,
        "checkout-sessions/create-add-payment-method",
        {**SUCCESS, "targetSubscriptionId": "sub_1"},
    )
    assert response.json == {"data": CHECKOUT}
    assert flowglad_api.last_request.json()["checkoutSession"] == {
        **SUCCESS,
        "targetSubscriptionId": "sub_1",
        "type": "add_payment_method",
        "customerExternalId": "u1",
    }


@pytest.mark.parametrize(
    "key",
    [
        "checkout-sessions/create-add-payment-method",
        "checkout-sessions/create-activate-subscription",
    ],
)
def test_checkout_targeting_another_customers_subscription_is_403(
    app: Flask, flowglad_api: Any, key: str
) -> None:
    assert_error(
        post(app, key, {**SUCCESS, "targetSubscriptionId": "sub_of_someone_else"}),
        403,
        "forbidden",
    )
    assert all(method == "GET" for method, _ in calls(flowglad_api))


def test_activate_subscription_checkout(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.post(f"{API}/checkout-sessions", json=CHECKOUT)
    response = post(
        app,
        "checkout-sessions/create-activate-subscription",
        {**SUCCESS, "targetSubscriptionId": "sub_1", "priceId": "ignored"},
    )
    assert response.json == {"data": CHECKOUT}
    sent = flowglad_api.last_request.json()["checkoutSession"]
    assert sent["type"] == "activate_subscription" and "priceId" not in sent


def test_retrieve_own_checkout_session(app: Flask, flowglad_api: Any) -> None:
    session = {
        "checkoutSession": {"id": "cs_1", "status": "succeeded", "customerId": "cust_u1"},
        "url": "https://pay.test",
    }
    flowglad_api.get(f"{API}/checkout-sessions/cs_1", json=session)
    assert post(app, "checkout-sessions/retrieve", {"id": "cs_1"}).json == {"data": session}


def test_retrieve_another_customers_checkout_session_is_404(app: Flask, flowglad_api: Any) -> None:
    session = {
        "checkoutSession": {"id": "cs_2", "status": "succeeded", "customerId": "cust_other"},
        "url": "u",
    }
    flowglad_api.get(f"{API}/checkout-sessions/cs_2", json=session)
    response = post(app, "checkout-sessions/retrieve", {"id": "cs_2"})
    assert_error(response, 404, "checkout_session_not_found")
    assert "cust_other" not in response.text


# -- subscriptions -----------------------------------------------------------------------


def test_cancel_own_subscription(app: Flask, flowglad_api: Any) -> None:
    scheduled = payloads.subscription(status="cancellation_scheduled")
    flowglad_api.post(f"{API}/subscriptions/sub_1/cancel", json={"subscription": scheduled})
    response = post(
        app,
        "subscriptions/cancel",
        {"id": "sub_1", "cancellation": {"timing": "at_end_of_current_billing_period"}},
    )
    assert response.json == {"data": {"subscription": scheduled}}
    assert flowglad_api.last_request.json() == {
        "cancellation": {"timing": "at_end_of_current_billing_period"}
    }
    assert len(flowglad_api.request_history) == 2


WRITES_ON_A_SUBSCRIPTION = [
    ("subscriptions/cancel", {"id": "sub_x", "cancellation": {"timing": "immediately"}}),
    ("subscriptions/uncancel", {"id": "sub_x"}),
    ("subscriptions/adjust", {"subscriptionId": "sub_x", "priceSlug": "pro_monthly"}),
    ("usage-events/create", {"subscriptionId": "sub_x", "usageMeterSlug": "api_calls"}),
    ("usage-meters/balances", {"subscriptionId": "sub_x"}),
    ("resources/usages", {"subscriptionId": "sub_x"}),
    ("resources/usages/retrieve", {"subscriptionId": "sub_x", "resourceSlug": "seats"}),
    ("resources/claim", {"subscriptionId": "sub_x", "resourceSlug": "seats", "quantity": 1}),
    ("resources/release", {"subscriptionId": "sub_x", "resourceSlug": "seats", "quantity": 1}),
    ("resources/claims", {"subscriptionId": "sub_x"}),
]


@pytest.mark.parametrize(("key", "body"), WRITES_ON_A_SUBSCRIPTION)
def test_another_customers_subscription_is_403_with_no_upstream_write(
    app: Flask, flowglad_api: Any, key: str, body: dict[str, Any]
) -> None:
    error = assert_error(post(app, key, body), 403, "forbidden")
    assert "sub_x" not in error["message"] or key == "usage-events/create"
    assert calls(flowglad_api) == [("GET", "/api/v1/customers/u1/billing")]


def test_cancel_already_canceled_subscription_is_409(app: Flask, flowglad_api: Any) -> None:
    response = post(
        app, "subscriptions/cancel", {"id": "sub_old", "cancellation": {"timing": "immediately"}}
    )
    assert_error(response, 409, "subscription_already_canceled")
    assert len(flowglad_api.request_history) == 1


def test_uncancel_not_scheduled_is_a_no_op(app: Flask, flowglad_api: Any) -> None:
    response = post(app, "subscriptions/uncancel", {"id": "sub_1"})
    subscription = response.json["data"]["subscription"]
    assert subscription["id"] == "sub_1" and subscription["status"] == "active"
    assert "experimental" not in subscription and "subscriptionItems" not in subscription
    assert len(flowglad_api.request_history) == 1


def test_uncancel_scheduled_subscription(
    app: Flask, upstream: Any, billing_payload: dict[str, Any]
) -> None:
    billing_payload["subscriptions"][0]["status"] = "cancellation_scheduled"
    upstream.get(f"{API}/customers/u1/billing", json=billing_payload)
    upstream.post(
        f"{API}/subscriptions/sub_1/uncancel", json={"subscription": payloads.subscription()}
    )
    response = post(app, "subscriptions/uncancel", {"id": "sub_1"})
    assert response.json == {"data": {"subscription": payloads.subscription()}}


ADJUSTMENTS = [
    (
        {"priceSlug": "pro_monthly"},
        {
            "timing": "auto",
            "newSubscriptionItems": [{"priceSlug": "pro_monthly", "quantity": 1}],
            "prorateCurrentBillingPeriod": True,
        },
    ),
    (
        {"priceId": "price_pro_monthly", "quantity": 3, "timing": "immediately", "prorate": False},
        {
            "timing": "immediately",
            "newSubscriptionItems": [{"priceId": "price_pro_monthly", "quantity": 3}],
            "prorateCurrentBillingPeriod": False,
        },
    ),
    (
        {
            "subscriptionItems": [
                {"priceSlug": "free"},
                {"priceId": "price_pro_trial", "quantity": 2},
            ],
            "timing": "at_end_of_current_billing_period",
        },
        {
            "timing": "at_end_of_current_billing_period",
            "newSubscriptionItems": [
                {"priceSlug": "free", "quantity": 1},
                {"priceId": "price_pro_trial", "quantity": 2},
            ],
        },
    ),
]


@pytest.mark.parametrize(
    "body",
    [
        {"priceSlug": "cheap_from_another_model"},
        {"priceId": "price_elsewhere"},
        {"subscriptionItems": [{"priceSlug": "pro_monthly"}, {"priceId": "price_elsewhere"}]},
    ],
)
def test_adjust_to_a_price_outside_the_pricing_model_writes_nothing(
    app: Flask, flowglad_api: Any, body: dict[str, Any]
) -> None:
    assert_error(post(app, "subscriptions/adjust", body), 404, "price_not_found")
    assert all(m == "GET" for m, _ in calls(flowglad_api))


@pytest.mark.parametrize(("body", "adjustment"), ADJUSTMENTS)
def test_adjust_builds_the_adjustment(
    app: Flask, flowglad_api: Any, body: dict[str, Any], adjustment: dict[str, Any]
) -> None:
    result = {
        "subscription": payloads.subscription(),
        "subscriptionItems": [],
        "resolvedTiming": "immediately",
        "isUpgrade": True,
    }
    flowglad_api.post(f"{API}/subscriptions/sub_1/adjust", json=result)
    response = post(app, "subscriptions/adjust", body)  # no subscriptionId: the only current one
    assert response.json == {"data": result}
    assert flowglad_api.last_request.json() == {"adjustment": adjustment}


def test_adjust_with_several_current_subscriptions_needs_an_id(app: Flask, upstream: Any) -> None:
    subs = [payloads.subscription("sub_a"), payloads.subscription("sub_b")]
    upstream.get(f"{API}/customers/u1/billing", json=payloads.billing(subscriptions=subs))
    error = assert_error(
        post(app, "subscriptions/adjust", {"priceSlug": "pro_monthly"}),
        400,
        "ambiguous_subscription",
    )
    assert (
        error["message"]
        == "Customer has multiple active subscriptions. Please specify subscriptionId in params."
    )


def test_list_subscriptions(
    app: Flask, flowglad_api: Any, billing_payload: dict[str, Any]
) -> None:
    current = billing_payload["currentSubscriptions"]
    assert post(app, "subscriptions/list", {}).json == {
        "data": {
            "subscriptions": current,
            "currentSubscriptions": current,
            "currentSubscription": current[0],
        }
    }
    historical = post(app, "subscriptions/list", {"includeHistorical": True}).json["data"]
    assert historical["subscriptions"] == billing_payload["subscriptions"]


def test_list_subscriptions_without_any(app: Flask, upstream: Any) -> None:
    upstream.get(
        f"{API}/customers/u1/billing", json=payloads.billing(subscriptions=[], current=[])
    )
    assert post(app, "subscriptions/list", {}).json == {
        "data": {"subscriptions": [], "currentSubscriptions": [], "currentSubscription": None}
    }


def test_create_subscription_to_a_free_price(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.post(
        f"{API}/subscriptions", json={"subscription": payloads.subscription("sub_new")}
    )
    response = post(app, "subscriptions/create", {"priceSlug": "free"})
    assert response.json == {"data": {"subscription": payloads.subscription("sub_new")}}
    assert flowglad_api.last_request.json() == {
        "customerExternalId": "u1",
        "priceId": "price_free",
        "quantity": 1,
    }


def test_the_browser_never_sets_the_terms_of_a_subscription(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.post(
        f"{API}/subscriptions", json={"subscription": payloads.subscription("sub_new")}
    )
    terms = {
        "trialEnd": 9007199254740991,
        "interval": "year",
        "intervalCount": 99,
        "startDate": "2020-01-01T00:00:00Z",
        "doNotCharge": True,
        "name": "Forever free",
        "metadata": {"vip": True},
        "defaultPaymentMethodId": "pm_someone_else",
        "backupPaymentMethodId": "pm_someone_else",
    }
    response = post(app, "subscriptions/create", {"priceSlug": "free", **terms})
    assert response.status_code == 200
    assert flowglad_api.last_request.json() == {
        "customerExternalId": "u1",
        "priceId": "price_free",
        "quantity": 1,
    }


def test_a_trial_price_is_started_through_checkout_only(app: Flask, flowglad_api: Any) -> None:
    # A trial started from the browser could be cancelled and restarted for free forever.
    response = post(app, "subscriptions/create", {"priceId": "price_pro_trial"})
    assert_error(response, 402, "checkout_required")
    assert all(m == "GET" for m, _ in calls(flowglad_api))


def test_the_service_refuses_another_customers_payment_method(
    app: Flask, flowglad_api: Any
) -> None:
    from flask_flowglad.errors import SubscriptionNotOwned

    with app.test_request_context():
        customer = flowglad_of(app).for_customer("u1")
        with pytest.raises(SubscriptionNotOwned):
            customer.create_subscription(price_slug="free", default_payment_method_id="pm_x")
    assert all(m == "GET" for m, _ in calls(flowglad_api))


def test_create_subscription_to_a_paid_price_asks_for_checkout(
    app: Flask, flowglad_api: Any
) -> None:
    error = assert_error(
        post(app, "subscriptions/create", {"priceSlug": "pro_monthly"}), 402, "checkout_required"
    )
    assert "checkout" in error["message"]
    assert all(m == "GET" for m, _ in calls(flowglad_api))


def test_create_subscription_to_an_unknown_price_is_404(app: Flask, flowglad_api: Any) -> None:
    assert_error(post(app, "subscriptions/create", {"priceSlug": "nope"}), 404, "price_not_found")


# -- usage -------------------------------------------------------------------------------


def test_usage_event_fills_subscription_amount_and_transaction_id(
    app: Flask, flowglad_api: Any
) -> None:
    flowglad_api.post(f"{API}/usage-events", json={"usageEvent": {"id": "ue_1"}})
    response = post(app, "usage-events/create", {"usageMeterSlug": "api_calls"})
    assert response.json == {"data": {"usageEvent": {"id": "ue_1"}}}
    sent = flowglad_api.last_request.json()["usageEvent"]
    assert sent["subscriptionId"] == "sub_1"
    assert sent["amount"] == 1
    assert re.fullmatch(r"txn_[0-9a-f]{32}", sent["transactionId"])


def test_usage_event_keeps_the_clients_transaction_id(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.post(f"{API}/usage-events", json={"usageEvent": {"id": "ue_1"}})
    post(
        app,
        "usage-events/create",
        {
            "priceSlug": "api_call_usage",
            "amount": 5,
            "transactionId": "t-1",
            "properties": {"user": "x"},
            "usageDate": 1767225600000,
        },
    )
    assert flowglad_api.last_request.json() == {
        "usageEvent": {
            "priceSlug": "api_call_usage",
            "amount": 5,
            "transactionId": "t-1",
            "properties": {"user": "x"},
            "usageDate": 1767225600000,
            "subscriptionId": "sub_1",
        }
    }


def test_usage_event_retried_after_outage_keeps_one_transaction_id(flowglad_api: Any) -> None:
    from flask_flowglad import Flowglad

    from .support.apps import make_app

    app = make_app(FLOWGLAD_MAX_RETRIES=2)
    app.extensions.pop("flowglad", None)
    flowglad = Flowglad(app)
    with app.app_context():
        flowglad.client._sleep = lambda seconds: None  # type: ignore[attr-defined]
    flowglad_api.post(
        f"{API}/usage-events",
        [
            {"status_code": 503, "text": "busy"},
            {"exc": requests.exceptions.ReadTimeout},
            {"json": {"usageEvent": {"id": "ue_1"}}},
        ],
    )
    response = post(app, "usage-events/create", {"usageMeterSlug": "api_calls"})
    assert response.status_code == 200
    sent = [
        r.json()["usageEvent"]["transactionId"]
        for r in flowglad_api.request_history
        if r.method == "POST"
    ]
    assert len(sent) == 3 and len(set(sent)) == 1


def test_usage_event_without_current_subscription_is_400(app: Flask, upstream: Any) -> None:
    upstream.get(
        f"{API}/customers/u1/billing", json=payloads.billing(subscriptions=[], current=[])
    )
    error = assert_error(
        post(app, "usage-events/create", {"usageMeterSlug": "api_calls"}),
        400,
        "missing_subscription_id",
    )
    assert error["message"] == "subscriptionId required: no current subscription found"


def test_usage_event_on_a_past_subscription_is_403(app: Flask, flowglad_api: Any) -> None:
    error = assert_error(
        post(
            app,
            "usage-events/create",
            {"usageMeterSlug": "api_calls", "subscriptionId": "sub_old"},
        ),
        403,
        "forbidden",
    )
    assert (
        error["message"]
        == "Subscription sub_old is not found among the customer's current subscriptions"
    )


def test_usage_meter_balances_come_from_billing(app: Flask, flowglad_api: Any) -> None:
    response = post(app, "usage-meters/balances", {})
    assert response.json == {
        "data": {"usageMeterBalances": [payloads.balance("api_calls", 10, "sub_1")]}
    }
    assert len(flowglad_api.request_history) == 1
    assert post(app, "usage-meters/balances", {"subscriptionId": "sub_1"}).json == response.json


def test_features_access(app: Flask, upstream: Any) -> None:
    a = payloads.subscription("sub_a", features=("reports", "exports"))
    b = payloads.subscription("sub_b", features=("reports", "api"))
    b["experimental"]["featureItems"][0]["name"] = "Second"
    b["experimental"]["featureItems"].append(
        {
            "id": "fi_c",
            "type": "usage_credit_grant",
            "slug": "credits",
            "name": "C",
            "livemode": False,
        }
    )
    upstream.get(f"{API}/customers/u1/billing", json=payloads.billing(subscriptions=[a, b]))
    features = post(app, "features/access", {}).json["data"]["features"]
    assert features == [
        {"id": "fi_reports", "livemode": False, "slug": "reports", "name": "Reports"},
        {"id": "fi_exports", "livemode": False, "slug": "exports", "name": "Exports"},
        {"id": "fi_api", "livemode": False, "slug": "api", "name": "Api"},
    ]
    only_b = post(app, "features/access", {"subscriptionId": "sub_b"}).json["data"]["features"]
    assert [f["slug"] for f in only_b] == ["reports", "api"]
    # Not one of the customer's: refused, as every subscription-scoped action does.
    assert_error(post(app, "features/access", {"subscriptionId": "sub_zzz"}), 403, "forbidden")


# -- payment methods, invoices, purchases ------------------------------------------------


def test_payment_methods(app: Flask, flowglad_api: Any, billing_payload: dict[str, Any]) -> None:
    assert post(app, "payment-methods/list", {}).json == {
        "data": {
            "paymentMethods": billing_payload["paymentMethods"],
            "billingPortalUrl": "https://billing.example/portal",
        }
    }


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({}, [0, 1, 2, 3]),
        ({"limit": 2}, [0, 1]),
        ({"startingAfter": "inv_1"}, [2, 3]),
        ({"startingAfter": "inv_1", "limit": 1}, [2]),
        ({"startingAfter": "inv_zzz"}, [0, 1, 2, 3]),
        ({"limit": 0}, []),
    ],
)
def test_invoices_paging(
    app: Flask, flowglad_api: Any, params: dict[str, Any], ids: list[int]
) -> None:
    invoices = post(app, "invoices/list", params).json["data"]["invoices"]
    assert [entry["invoice"]["id"] for entry in invoices] == [f"inv_{n}" for n in ids]


def test_purchases_paging(app: Flask, flowglad_api: Any) -> None:
    purchases = post(app, "purchases/list", {"startingAfter": "pur_0", "limit": 1}).json["data"][
        "purchases"
    ]
    assert [p["id"] for p in purchases] == ["pur_1"]


# -- resources ---------------------------------------------------------------------------


def test_resource_usage_retrieve_sends_only_the_resource(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.get(
        f"{API}/resource-claims/sub_1/usage", json={"usage": USAGE, "claims": [CLAIM]}
    )
    response = post(
        app, "resources/usages/retrieve", {"resourceSlug": "seats", "subscriptionId": "sub_1"}
    )
    assert response.json == {"data": {"usage": USAGE, "claims": [CLAIM]}}
    assert flowglad_api.last_request.qs == {"resourceslug": ["seats"]}


def test_resource_claim_and_release(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.post(
        f"{API}/resource-claims/sub_1/claim", json={"claims": [CLAIM], "usage": USAGE}
    )
    response = post(
        app,
        "resources/claim",
        {"resourceSlug": "seats", "externalId": "invitee@x.test", "metadata": {"a": 1}},
    )
    assert response.json == {"data": {"claims": [CLAIM], "usage": USAGE}}
    assert flowglad_api.last_request.json() == {
        "resourceSlug": "seats",
        "externalId": "invitee@x.test",
        "metadata": {"a": 1},
    }
    flowglad_api.post(
        f"{API}/resource-claims/sub_1/release", json={"releasedClaims": [CLAIM], "usage": USAGE}
    )
    response = post(app, "resources/release", {"resourceSlug": "seats", "claimIds": ["claim_1"]})
    assert response.json == {"data": {"releasedClaims": [CLAIM], "usage": USAGE}}
    assert flowglad_api.last_request.json() == {"resourceSlug": "seats", "claimIds": ["claim_1"]}


def test_resource_claims_list(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.get(f"{API}/resource-claims/sub_1/claims", json={"claims": [CLAIM]})
    assert post(app, "resources/claims", {"resourceSlug": "seats"}).json == {
        "data": {"claims": [CLAIM]}
    }


def test_resource_capacity_refusal_keeps_the_reference_code(app: Flask, flowglad_api: Any) -> None:
    flowglad_api.post(
        f"{API}/resource-claims/sub_1/claim",
        status_code=400,
        json={"error": "Insufficient capacity", "code": "BAD_REQUEST", "request_id": "abc"},
    )
    response = post(app, "resources/claim", {"resourceSlug": "seats", "quantity": 99})
    assert_error(response, 400, "claim_resource_failed")
    assert "abc" not in response.text


# -- pricing model (hybrid) --------------------------------------------------------------


def test_pricing_model_for_anonymous_visitors_is_the_default(app: Flask, upstream: Any) -> None:
    upstream.get(f"{API}/pricing-models/default", json={"pricingModel": payloads.pricing_model()})
    response = post(app, "pricing-models/retrieve", {}, user=None)
    assert response.json == {
        "data": {"pricingModel": payloads.pricing_model(), "source": "default"}
    }
    assert app.test_client().get(URL + "pricing-models/retrieve").json == response.json


def test_pricing_model_for_a_customer_is_theirs(app: Flask, flowglad_api: Any) -> None:
    response = post(app, "pricing-models/retrieve", {})
    assert response.json == {
        "data": {"pricingModel": payloads.pricing_model(), "source": "customer"}
    }
    assert len(flowglad_api.request_history) == 1


def test_pricing_model_failures_have_their_reference_codes(app: Flask, upstream: Any) -> None:
    upstream.get(f"{API}/pricing-models/default", status_code=500, text="boom")
    assert_error(
        post(app, "pricing-models/retrieve", {}, user=None),
        502,
        "DEFAULT_PRICING_MODEL_FETCH_FAILED",
    )
    upstream.get(f"{API}/customers/u1/billing", status_code=500, text="boom")
    assert_error(post(app, "pricing-models/retrieve", {}), 502, "PRICING_MODEL_FETCH_FAILED")


def test_failing_loader_makes_the_pricing_route_anonymous(app: Flask, upstream: Any) -> None:
    def broken() -> None:
        raise LookupError("session store down")

    flowglad_of(app).customer_loader(broken)
    upstream.get(f"{API}/pricing-models/default", json={"pricingModel": {"id": "pm"}})
    assert post(app, "pricing-models/retrieve", {}).json["data"]["source"] == "default"


# -- upstream failures -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        ({"status_code": 502, "text": "Bad gateway"}, 502, "Billing is unavailable"),
        (
            {"status_code": 500, "json": {"error": "Internal server error", "request_id": "r1"}},
            502,
            "Billing is unavailable",
        ),
        ({"exc": requests.exceptions.ConnectionError}, 502, "could not be reached"),
        ({"exc": requests.exceptions.ReadTimeout}, 502, "did not answer in time"),
        ({"status_code": 401, "text": "API key invalid"}, 502, "not configured correctly"),
        (
            {"status_code": 429, "json": {"error": "Too many"}, "headers": {"Retry-After": "3"}},
            429,
            "Too many billing requests",
        ),
    ],
)
def test_upstream_failures_map_to_clear_statuses(
    app: Flask, upstream: Any, failure: dict[str, Any], status: int, message: str
) -> None:
    upstream.get(f"{API}/customers/u1/billing", **failure)
    response = post(app, "subscriptions/list", {})
    error = assert_error(response, status, "subscription_list_failed")
    assert message in error["message"]
    assert "Traceback" not in response.text and "r1" not in response.text
    if status == 429:
        assert response.headers["Retry-After"] == "3"
    assert "API key" not in error["message"]


def test_upstream_nan_is_never_sent_to_the_browser(app: Flask, upstream: Any) -> None:
    upstream.get(f"{API}/customers/u1/billing", text='{"customer": {"id": "c"}, "value": NaN}')
    response = post(app, "customers/billing", {})
    assert_error(response, 502, "billing_fetch_failed")
    assert "NaN" not in response.text


def test_a_mutation_drops_the_requests_cached_billing(
    app: Flask, flowglad_api: Any, billing_payload: dict[str, Any]
) -> None:

    flowglad = flowglad_of(app)
    flowglad_api.post(
        f"{API}/subscriptions/sub_1/cancel",
        json={"subscription": payloads.subscription(status="cancellation_scheduled")},
    )

    @app.route("/cancel-and-read")
    def cancel_and_read() -> dict[str, Any]:
        customer = flowglad.current_customer()
        assert customer is not None
        customer.get_billing()
        customer.cancel_subscription("sub_1", timing="immediately")
        customer.get_billing()
        return {}

    app.test_client(user=User("u1")).get("/cancel-and-read")
    assert [m for m, _ in calls(flowglad_api)] == ["GET", "POST", "GET"]


def test_answer_without_the_promised_object_is_502(app: Flask, upstream: Any) -> None:
    upstream.get(f"{API}/customers/u1", json={"unexpected": True})
    response = post(app, "customers/find-or-create", {})
    assert_error(response, 502, "customer_find_or_create_failed")


def test_shared_schemas_keep_concurrent_requests_apart(app: Flask, upstream: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def validate(n: int) -> tuple[int, Any]:
        body = {"limit": n} if n % 2 else {"limit": f"bad-{n}"}
        client = app.test_client(user=User(f"u{n}"))
        upstream.get(f"{API}/customers/u{n}/billing", json=payloads.billing(f"u{n}"))
        response = client.post(URL + "invoices/list", json=body)
        return n, response

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(validate, range(64)))
    for n, response in results:
        if n % 2:
            assert response.status_code == 200
        else:
            issues = response.json["error"]["json"]["issues"]
            assert response.status_code == 400 and issues[0]["path"] == ["limit"]


def test_logged_out_billing_can_answer_null_data(upstream: Any) -> None:
    from flask_flowglad import Flowglad

    from .support.apps import make_app

    app = make_app(FLOWGLAD_NULL_BILLING_WHEN_LOGGED_OUT=True)
    Flowglad(app)
    response = post(app, "customers/billing", {}, user=None)
    assert (response.status_code, response.json) == (200, {"data": None})
    # Only billing: every other action still needs a customer.
    assert_error(post(app, "subscriptions/list", {}, user=None), 401, "unauthorized")
    assert upstream.request_history == []
