from __future__ import annotations

import json
from typing import Any

import pytest
from marshmallow import ValidationError

from flask_flowglad.protocol.actions import ACTIONS
from flask_flowglad.protocol.schemas import validation_issues
from flask_flowglad.service import PriceQuantity

ACTION_SCHEMAS = {key: action.schema for key, action in ACTIONS.items()}

Path = list[str | int]

#: The 24 action keys of the protocol, plus checkout-sessions/retrieve,
#: subscriptions/preview-adjust and subscriptions/cancel-scheduled-adjustment (beyond the
#: reference).
ACTION_KEYS = {
    "customers/billing",
    "customers/find-or-create",
    "checkout-sessions/create",
    "checkout-sessions/create-add-payment-method",
    "checkout-sessions/create-activate-subscription",
    "checkout-sessions/retrieve",
    "subscriptions/cancel",
    "subscriptions/uncancel",
    "subscriptions/adjust",
    "subscriptions/preview-adjust",
    "subscriptions/cancel-scheduled-adjustment",
    "subscriptions/create",
    "subscriptions/list",
    "customers/update",
    "usage-events/create",
    "resources/usages",
    "resources/usages/retrieve",
    "resources/claim",
    "resources/release",
    "resources/claims",
    "pricing-models/retrieve",
    "usage-meters/balances",
    "features/access",
    "payment-methods/list",
    "customerDetails",
    "invoices/list",
    "purchases/list",
}

#: Keys whose schema drops unknown keys instead of rejecting them.
TOLERANT_KEYS = {
    "customers/billing",
    "customers/find-or-create",
    "checkout-sessions/create",
    "checkout-sessions/create-add-payment-method",
    "checkout-sessions/create-activate-subscription",
}

URLS = {"successUrl": "https://app.example.com/ok", "cancelUrl": "http://localhost:5000/cancel"}
LOADED_URLS = {
    "success_url": "https://app.example.com/ok",
    "cancel_url": "http://localhost:5000/cancel",
}
ADDRESS = {
    "line1": "1 Main St",
    "line2": None,
    "city": "Springfield",
    "state": None,
    "postal_code": "12345",
    "country": "US",
}


def load(key: str, body: Any) -> dict[str, Any]:
    result: dict[str, Any] = ACTION_SCHEMAS[key]().load(body)
    return result


def issue_paths(key: str, body: Any) -> list[Path]:
    with pytest.raises(ValidationError) as info:
        load(key, body)
    return [issue["path"] for issue in validation_issues(info.value)]


# (action key, body as sent, expected load result). The first case of each key is the
# smallest valid body.
VALID: list[tuple[str, Any, dict[str, Any]]] = [
    # customers
    ("customers/billing", {}, {}),
    ("customers/billing", {"externalId": "someone-else"}, {}),
    ("customers/find-or-create", {}, {}),
    ("customers/find-or-create", {"externalId": "someone-else"}, {}),
    (
        "customers/update",
        {"customer": {}},
        {},
    ),
    (
        "customers/update",
        {
            "externalId": "someone-else",
            "customer": {"id": "cus_1", "name": "Ada", "email": "ada@example.com"},
        },
        {"name": "Ada", "email": "ada@example.com"},
    ),
    (
        "customers/update",
        {
            "customer": {
                "phone": "+1 555 0100",
                "billingAddress": {
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "email": "billing@example.com",
                    "address": ADDRESS,
                },
            }
        },
        {},
    ),
    ("customerDetails", {}, {}),
    # checkout sessions
    (
        "checkout-sessions/create",
        {**URLS, "priceSlug": "pro", "type": "product", "autoRedirect": True},
        {**LOADED_URLS, "price_slug": "pro", "quantity": 1},
    ),
    (
        "checkout-sessions/create",
        {
            **URLS,
            "priceId": "price_1",
            "quantity": 3,
            "outputMetadata": {"plan": "pro", "seats": 3, "ratio": 0.5, "trial": False},
            "outputName": "Pro plan",
            "type": "product",
            "customerExternalId": "attacker",
        },
        {
            **LOADED_URLS,
            "price_id": "price_1",
            "quantity": 3,
            "output_metadata": {"plan": "pro", "seats": 3, "ratio": 0.5, "trial": False},
            "output_name": "Pro plan",
        },
    ),
    (
        "checkout-sessions/create-add-payment-method",
        {**URLS},
        {**LOADED_URLS},
    ),
    (
        "checkout-sessions/create-add-payment-method",
        {
            **URLS,
            "targetSubscriptionId": "sub_1",
            "outputName": "Card",
            "type": "add_payment_method",
            "autoRedirect": True,
        },
        {**LOADED_URLS, "target_subscription_id": "sub_1", "output_name": "Card"},
    ),
    (
        "checkout-sessions/create-activate-subscription",
        {**URLS, "targetSubscriptionId": "sub_1"},
        {**LOADED_URLS, "target_subscription_id": "sub_1"},
    ),
    (
        "checkout-sessions/create-activate-subscription",
        {
            **URLS,
            "targetSubscriptionId": "sub_1",
            "outputMetadata": {"source": "banner"},
            "priceId": "price_1",
            "type": "activate_subscription",
            "autoRedirect": False,
        },
        {
            **LOADED_URLS,
            "target_subscription_id": "sub_1",
            "output_metadata": {"source": "banner"},
        },
    ),
    ("checkout-sessions/retrieve", {"id": "cs_1"}, {"id": "cs_1"}),
    # subscriptions
    (
        "subscriptions/cancel",
        {"id": "sub_1", "cancellation": {"timing": "at_end_of_current_billing_period"}},
        {"id": "sub_1", "cancellation": {"timing": "at_end_of_current_billing_period"}},
    ),
    (
        "subscriptions/cancel",
        {"id": "sub_1", "cancellation": {"timing": "immediately"}},
        {"id": "sub_1", "cancellation": {"timing": "immediately"}},
    ),
    ("subscriptions/uncancel", {"id": "sub_1"}, {"id": "sub_1"}),
    (
        "subscriptions/adjust",
        {"priceSlug": "pro", "subscriptionId": "sub_1"},
        {"price_slug": "pro", "subscription_id": "sub_1", "timing": "auto"},
    ),
    (
        "subscriptions/preview-adjust",
        {"priceSlug": "pro_yearly"},
        {"price_slug": "pro_yearly", "timing": "auto"},
    ),
    ("subscriptions/cancel-scheduled-adjustment", {}, {}),
    (
        "subscriptions/adjust",
        {
            "priceId": "price_1",
            "quantity": 2,
            "timing": "immediately",
            "prorate": False,
            "subscriptionId": "sub_1",
        },
        {
            "price_id": "price_1",
            "quantity": 2,
            "timing": "immediately",
            "prorate": False,
            "subscription_id": "sub_1",
        },
    ),
    (
        "subscriptions/adjust",
        {
            "subscriptionItems": [{"priceSlug": "pro"}, {"priceId": "price_2", "quantity": 4}],
            "timing": "at_end_of_current_billing_period",
            "subscriptionId": "sub_1",
        },
        {
            "items": [
                PriceQuantity(price_slug="pro", quantity=1),
                PriceQuantity(price_id="price_2", quantity=4),
            ],
            "timing": "at_end_of_current_billing_period",
            "subscription_id": "sub_1",
        },
    ),
    ("subscriptions/create", {"priceSlug": "free"}, {"price_slug": "free", "quantity": 1}),
    # The terms of a subscription are never taken from a browser: dropped like any unknown.
    (
        "subscriptions/create",
        {
            "priceId": "price_free",
            "quantity": 2,
            "startDate": "2025-01-31T12:00:00.000Z",
            "trialEnd": 9007199254740991,
            "metadata": {"campaign": "launch"},
            "name": "Trial",
            "backupPaymentMethodId": "pm_2",
            "defaultPaymentMethodId": "pm_1",
            "interval": "year",
            "intervalCount": 99,
            "doNotCharge": True,
        },
        {"price_id": "price_free", "quantity": 2},
    ),
    ("subscriptions/list", {}, {}),
    ("subscriptions/list", {"includeHistorical": True}, {"include_historical": True}),
    # usage
    (
        "usage-events/create",
        {"usageMeterSlug": "api-calls"},
        {"usage_meter_slug": "api-calls", "amount": 1},
    ),
    (
        "usage-events/create",
        {
            "priceSlug": "api-calls-price",
            "amount": 5,
            "subscriptionId": "sub_1",
            "transactionId": "tx_1",
            "properties": {"user": {"id": 7, "tags": ["a"]}, "ok": None},
            "usageDate": 1767225600000,
        },
        {
            "price_slug": "api-calls-price",
            "amount": 5,
            "subscription_id": "sub_1",
            "transaction_id": "tx_1",
            "properties": {"user": {"id": 7, "tags": ["a"]}, "ok": None},
            "usage_date": 1767225600000,
        },
    ),
    (
        "usage-events/create",
        {"priceId": "price_1", "amount": 2.0},
        {"price_id": "price_1", "amount": 2},
    ),
    ("usage-events/create", {"usageMeterId": "um_1"}, {"usage_meter_id": "um_1", "amount": 1}),
    ("usage-meters/balances", {}, {}),
    ("usage-meters/balances", {"subscriptionId": "sub_1"}, {"subscription_id": "sub_1"}),
    ("features/access", {}, {}),
    ("features/access", {"subscriptionId": "sub_1"}, {"subscription_id": "sub_1"}),
    # resources
    ("resources/usages", {}, {}),
    ("resources/usages", {"subscriptionId": "sub_1"}, {"subscription_id": "sub_1"}),
    (
        "resources/usages/retrieve",
        {"resourceSlug": "seats"},
        {"resource_slug": "seats"},
    ),
    (
        "resources/usages/retrieve",
        {"resourceId": "res_1", "subscriptionId": "sub_1"},
        {"resource_id": "res_1", "subscription_id": "sub_1"},
    ),
    (
        "resources/claim",
        {"resourceSlug": "seats", "quantity": 2},
        {"resource_slug": "seats", "quantity": 2},
    ),
    (
        "resources/claim",
        {
            "resourceSlug": "seats",
            "externalId": "bob@example.com",
            "metadata": {"role": "admin"},
            "subscriptionId": "sub_1",
        },
        {
            "resource_slug": "seats",
            "external_id": "bob@example.com",
            "metadata": {"role": "admin"},
            "subscription_id": "sub_1",
        },
    ),
    (
        "resources/claim",
        {"resourceSlug": "seats", "externalIds": ["a@example.com", "b@example.com"]},
        {"resource_slug": "seats", "external_ids": ["a@example.com", "b@example.com"]},
    ),
    (
        "resources/release",
        {"resourceSlug": "seats", "quantity": 1},
        {"resource_slug": "seats", "quantity": 1},
    ),
    (
        "resources/release",
        {"resourceSlug": "seats", "externalId": "bob@example.com"},
        {"resource_slug": "seats", "external_id": "bob@example.com"},
    ),
    (
        "resources/release",
        {"resourceSlug": "seats", "externalIds": ["bob@example.com"]},
        {"resource_slug": "seats", "external_ids": ["bob@example.com"]},
    ),
    (
        "resources/release",
        {"resourceSlug": "seats", "claimIds": ["clm_1", "clm_2"], "subscriptionId": "sub_1"},
        {"resource_slug": "seats", "claim_ids": ["clm_1", "clm_2"], "subscription_id": "sub_1"},
    ),
    ("resources/claims", {}, {}),
    ("resources/claims", {"resourceSlug": "seats"}, {"resource_slug": "seats"}),
    # catalog and lists
    ("pricing-models/retrieve", {}, {}),
    ("payment-methods/list", {}, {}),
    ("invoices/list", {}, {}),
    (
        "invoices/list",
        {"limit": 10, "startingAfter": "inv_1"},
        {"limit": 10, "starting_after": "inv_1"},
    ),
    ("invoices/list", {"limit": 0}, {"limit": 0}),
    ("purchases/list", {}, {}),
    (
        "purchases/list",
        {"limit": 5, "startingAfter": "pur_1"},
        {"limit": 5, "starting_after": "pur_1"},
    ),
]

# (action key, invalid body, the one issue path expected)
INVALID: list[tuple[str, Any, Path]] = [
    # any body that is not a JSON object
    ("customers/billing", [], []),
    ("customers/find-or-create", None, []),
    ("customerDetails", [], []),
    ("pricing-models/retrieve", "x", []),
    ("payment-methods/list", 1, []),
    (
        "subscriptions/adjust",
        {"subscriptionItems": [{"priceSlug": "p"}] * 21},
        ["subscriptionItems"],
    ),
    ("subscriptions/preview-adjust", {"priceSlug": "pro", "timing": "later"}, ["timing"]),
    ("subscriptions/cancel-scheduled-adjustment", {"subscriptionId": ""}, ["subscriptionId"]),
    ("usage-events/create", {"priceSlug": "p", "amount": 2**31}, ["amount"]),
    ("usage-events/create", {"priceSlug": "p" * 256}, ["priceSlug"]),
    (
        "checkout-sessions/create",
        {**URLS, "priceSlug": "p", "outputName": "n" * 256},
        ["outputName"],
    ),
    ("invoices/list", "limit=1", []),
    # customers/update
    ("customers/update", {}, ["customer"]),
    ("customers/update", {"customer": "Ada"}, ["customer"]),
    ("customers/update", {"customer": {"email": "not-an-email"}}, ["customer", "email"]),
    ("customers/update", {"customer": {"name": 5}}, ["customer", "name"]),
    (
        "customers/update",
        {"customer": {"billingAddress": {"firstName": "Ada"}}},
        ["customer", "billingAddress", "address"],
    ),
    (
        "customers/update",
        {"customer": {"billingAddress": {"address": {**ADDRESS, "country": None}}}},
        ["customer", "billingAddress", "address", "country"],
    ),
    (
        "customers/update",
        {
            "customer": {
                "billingAddress": {"address": {k: v for k, v in ADDRESS.items() if k != "line2"}}
            }
        },
        ["customer", "billingAddress", "address", "line2"],
    ),
    (
        "customers/update",
        {"customer": {"billingAddress": {"address": ADDRESS, "email": "nope"}}},
        ["customer", "billingAddress", "email"],
    ),
    # checkout-sessions/create
    (
        "checkout-sessions/create",
        {"cancelUrl": URLS["cancelUrl"], "priceSlug": "pro"},
        ["successUrl"],
    ),
    (
        "checkout-sessions/create",
        {**URLS, "successUrl": "javascript:alert(1)", "priceSlug": "pro"},
        ["successUrl"],
    ),
    (
        "checkout-sessions/create",
        {**URLS, "successUrl": "/billing/ok", "priceSlug": "pro"},
        ["successUrl"],
    ),
    (
        "checkout-sessions/create",
        {**URLS, "cancelUrl": "ftp://files.example.com", "priceSlug": "pro"},
        ["cancelUrl"],
    ),
    (
        "checkout-sessions/create",
        {**URLS, "cancelUrl": "https://", "priceSlug": "pro"},
        ["cancelUrl"],
    ),
    (
        "checkout-sessions/create",
        {**URLS, "cancelUrl": "https://a.example/x y", "priceSlug": "pro"},
        ["cancelUrl"],
    ),
    (
        "checkout-sessions/create",
        {**URLS, "cancelUrl": "https://a.example:99999/", "priceSlug": "pro"},
        ["cancelUrl"],
    ),
    ("checkout-sessions/create", {**URLS, "cancelUrl": 42, "priceSlug": "pro"}, ["cancelUrl"]),
    ("checkout-sessions/create", {**URLS}, []),
    ("checkout-sessions/create", {**URLS, "priceId": "price_1", "priceSlug": "pro"}, []),
    ("checkout-sessions/create", {**URLS, "priceSlug": ""}, ["priceSlug"]),
    ("checkout-sessions/create", {**URLS, "priceSlug": "pro", "quantity": 0}, ["quantity"]),
    ("checkout-sessions/create", {**URLS, "priceSlug": "pro", "quantity": True}, ["quantity"]),
    ("checkout-sessions/create", {**URLS, "priceSlug": "pro", "quantity": 1.5}, ["quantity"]),
    ("checkout-sessions/create", {**URLS, "priceSlug": "pro", "quantity": "2"}, ["quantity"]),
    ("checkout-sessions/create", {**URLS, "priceSlug": "pro", "quantity": 2**53}, ["quantity"]),
    (
        "checkout-sessions/create",
        {**URLS, "priceSlug": "pro", "outputMetadata": {"note": "x" * 501}},
        ["outputMetadata", "note"],
    ),
    (
        "checkout-sessions/create",
        {**URLS, "priceSlug": "pro", "outputMetadata": {"nested": {"a": 1}}},
        ["outputMetadata", "nested"],
    ),
    (
        "checkout-sessions/create",
        {**URLS, "priceSlug": "pro", "outputMetadata": ["a"]},
        ["outputMetadata"],
    ),
    ("checkout-sessions/create", {**URLS, "priceSlug": "pro", "outputName": None}, ["outputName"]),
    # other checkout creators
    (
        "checkout-sessions/create-add-payment-method",
        {"successUrl": URLS["successUrl"]},
        ["cancelUrl"],
    ),
    (
        "checkout-sessions/create-add-payment-method",
        {**URLS, "targetSubscriptionId": 1},
        ["targetSubscriptionId"],
    ),
    ("checkout-sessions/create-activate-subscription", {**URLS}, ["targetSubscriptionId"]),
    (
        "checkout-sessions/create-activate-subscription",
        {**URLS, "targetSubscriptionId": "sub_1", "outputMetadata": {"n": None}},
        ["outputMetadata", "n"],
    ),
    ("checkout-sessions/retrieve", {}, ["id"]),
    ("checkout-sessions/retrieve", {"id": ""}, ["id"]),
    # subscriptions/cancel and uncancel
    ("subscriptions/cancel", {"cancellation": {"timing": "immediately"}}, ["id"]),
    ("subscriptions/cancel", {"id": "sub_1"}, ["cancellation"]),
    ("subscriptions/cancel", {"id": "sub_1", "cancellation": {}}, ["cancellation", "timing"]),
    (
        "subscriptions/cancel",
        {"id": "sub_1", "cancellation": {"timing": "later"}},
        ["cancellation", "timing"],
    ),
    ("subscriptions/uncancel", {}, ["id"]),
    ("subscriptions/uncancel", {"id": None}, ["id"]),
    ("subscriptions/uncancel", {"id": 7}, ["id"]),
    # subscriptions/adjust
    ("subscriptions/adjust", {"subscriptionId": "sub_1"}, []),
    ("subscriptions/adjust", {"priceSlug": "pro", "priceId": "price_1"}, []),
    (
        "subscriptions/adjust",
        {"priceSlug": "pro", "subscriptionItems": [{"priceSlug": "pro"}]},
        [],
    ),
    (
        "subscriptions/adjust",
        {"subscriptionItems": [{"priceSlug": "pro"}], "quantity": 2},
        ["quantity"],
    ),
    ("subscriptions/adjust", {"subscriptionItems": []}, ["subscriptionItems"]),
    ("subscriptions/adjust", {"subscriptionItems": {"priceSlug": "pro"}}, ["subscriptionItems"]),
    (
        "subscriptions/adjust",
        {"subscriptionItems": [{"priceSlug": "pro"}, {"priceSlug": "a", "priceId": "b"}]},
        ["subscriptionItems", 1],
    ),
    ("subscriptions/adjust", {"subscriptionItems": [{"quantity": 1}]}, ["subscriptionItems", 0]),
    (
        "subscriptions/adjust",
        {"subscriptionItems": [{"priceSlug": "pro", "quantity": 0}]},
        ["subscriptionItems", 0, "quantity"],
    ),
    ("subscriptions/adjust", {"priceSlug": "pro", "quantity": False}, ["quantity"]),
    ("subscriptions/adjust", {"priceSlug": "pro", "quantity": -1}, ["quantity"]),
    ("subscriptions/adjust", {"priceSlug": "pro", "timing": "now"}, ["timing"]),
    ("subscriptions/adjust", {"priceSlug": "pro", "prorate": "yes"}, ["prorate"]),
    ("subscriptions/adjust", {"priceSlug": "pro", "prorate": 1}, ["prorate"]),
    # subscriptions/create
    ("subscriptions/create", {}, []),
    ("subscriptions/create", {"priceSlug": "free", "priceId": "price_1"}, []),
    ("subscriptions/create", {"priceSlug": "free", "quantity": 0}, ["quantity"]),
    ("subscriptions/list", {"includeHistorical": "true"}, ["includeHistorical"]),
    ("subscriptions/list", {"includeHistorical": 1}, ["includeHistorical"]),
    # usage-events/create
    ("usage-events/create", {}, []),
    ("usage-events/create", {"priceSlug": "p", "usageMeterSlug": "m"}, []),
    ("usage-events/create", {"priceId": "p", "usageMeterId": "m"}, []),
    ("usage-events/create", {"priceSlug": "p", "amount": 0}, ["amount"]),
    ("usage-events/create", {"priceSlug": "p", "amount": True}, ["amount"]),
    ("usage-events/create", {"priceSlug": "p", "amount": 1.5}, ["amount"]),
    ("usage-events/create", {"priceSlug": "p", "amount": float("nan")}, ["amount"]),
    ("usage-events/create", {"priceSlug": "p", "amount": float("inf")}, ["amount"]),
    ("usage-events/create", {"priceSlug": "p", "transactionId": ""}, ["transactionId"]),
    ("usage-events/create", {"priceSlug": "p", "transactionId": 12}, ["transactionId"]),
    ("usage-events/create", {"priceSlug": "p", "usageDate": "2025-01-31"}, ["usageDate"]),
    ("usage-events/create", {"priceSlug": "p", "usageDate": 1.5}, ["usageDate"]),
    ("usage-events/create", {"priceSlug": "p", "properties": ["a"]}, ["properties"]),
    (
        "usage-events/create",
        {"priceSlug": "p", "properties": {"x": [float("inf")]}},
        ["properties"],
    ),
    ("usage-events/create", {"priceSlug": "p", "subscriptionId": ""}, ["subscriptionId"]),
    ("usage-meters/balances", {"subscriptionId": 1}, ["subscriptionId"]),
    ("features/access", {"subscriptionId": None}, ["subscriptionId"]),
    # resources
    ("resources/usages", {"subscriptionId": 5}, ["subscriptionId"]),
    ("resources/usages/retrieve", {}, []),
    ("resources/usages/retrieve", {"resourceSlug": "seats", "resourceId": "res_1"}, []),
    ("resources/claim", {"quantity": 1}, ["resourceSlug"]),
    ("resources/claim", {"resourceSlug": "seats"}, []),
    ("resources/claim", {"resourceSlug": "seats", "quantity": 1, "externalId": "a"}, []),
    ("resources/claim", {"resourceSlug": "seats", "externalId": "a", "externalIds": ["b"]}, []),
    ("resources/claim", {"resourceSlug": "seats", "quantity": 0}, ["quantity"]),
    ("resources/claim", {"resourceSlug": "seats", "quantity": True}, ["quantity"]),
    ("resources/claim", {"resourceSlug": "seats", "externalId": "x" * 256}, ["externalId"]),
    ("resources/claim", {"resourceSlug": "seats", "externalIds": []}, ["externalIds"]),
    ("resources/claim", {"resourceSlug": "seats", "externalIds": ["a", 3]}, ["externalIds", 1]),
    (
        "resources/claim",
        {"resourceSlug": "seats", "externalIds": ["a", "x" * 256]},
        ["externalIds", 1],
    ),
    (
        "resources/claim",
        {"resourceSlug": "seats", "quantity": 1, "metadata": {"n": [1]}},
        ["metadata", "n"],
    ),
    ("resources/release", {"resourceSlug": "seats"}, []),
    ("resources/release", {"resourceSlug": "seats", "quantity": 1, "claimIds": ["clm_1"]}, []),
    ("resources/release", {"resourceSlug": "seats", "claimIds": []}, ["claimIds"]),
    ("resources/release", {"resourceSlug": "seats", "claimIds": [""]}, ["claimIds", 0]),
    ("resources/claims", {"resourceSlug": 1}, ["resourceSlug"]),
    # lists
    ("invoices/list", {"limit": -1}, ["limit"]),
    ("invoices/list", {"limit": "10"}, ["limit"]),
    ("invoices/list", {"limit": True}, ["limit"]),
    ("invoices/list", {"limit": 2.5}, ["limit"]),
    ("invoices/list", {"startingAfter": 5}, ["startingAfter"]),
    ("purchases/list", {"limit": -1}, ["limit"]),
    ("purchases/list", {"startingAfter": None}, ["startingAfter"]),
]


def _case_id(case: tuple[str, Any, Any]) -> str:
    return f"{case[0]}:{json.dumps(case[1], default=str)[:60]}"


def test_action_schemas_cover_exactly_the_protocol_keys() -> None:
    assert set(ACTION_SCHEMAS) == ACTION_KEYS
    assert len(ACTION_SCHEMAS) == 27


def test_each_action_has_its_own_named_schema_class() -> None:
    classes = list(ACTION_SCHEMAS.values())
    assert len(set(classes)) == len(classes)
    assert all(cls.__name__.endswith("Schema") for cls in classes)


def test_every_action_has_valid_and_invalid_cases() -> None:
    assert {key for key, _, _ in VALID} == ACTION_KEYS
    assert {key for key, _, _ in INVALID} == ACTION_KEYS


@pytest.mark.parametrize(("key", "body", "expected"), VALID, ids=[_case_id(c) for c in VALID])
def test_valid_body_loads_to_snake_case(key: str, body: Any, expected: dict[str, Any]) -> None:
    assert load(key, body) == expected


@pytest.mark.parametrize(("key", "body", "path"), INVALID, ids=[_case_id(c) for c in INVALID])
def test_invalid_body_is_rejected_at_path(key: str, body: Any, path: Path) -> None:
    assert issue_paths(key, body) == [path]


def _smallest_valid_body(key: str) -> dict[str, Any]:
    body: dict[str, Any] = next(body for k, body, _ in VALID if k == key)
    return body


@pytest.mark.parametrize("key", sorted(ACTION_KEYS))
def test_unknown_members_are_dropped_unread(key: str) -> None:
    # A newer @flowglad/react may send members this server does not know yet.
    body = _smallest_valid_body(key)
    known = {field.data_key for field in ACTION_SCHEMAS[key]().load_fields.values()}
    extras = {
        name: value
        for name, value in {
            "type": "product",
            "autoRedirect": True,
            "customerExternalId": "x",
            "externalId": "y",
            "subscription_id": "sub_1",
            "unexpectedKey": {"deep": [1]},
        }.items()
        if name not in known
    }
    assert load(key, {**body, **extras}) == load(key, body)


def test_unknown_members_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG", logger="flask_flowglad"):
        load("subscriptions/uncancel", {"id": "sub_1", "newField": 1})
    assert any("newField" in record.getMessage() for record in caplog.records)


def test_nested_unknown_members_are_dropped_too() -> None:
    body = {"id": "sub_1", "cancellation": {"timing": "immediately", "reason": "x"}}
    assert load("subscriptions/cancel", body) == {
        "id": "sub_1",
        "cancellation": {"timing": "immediately"},
    }


@pytest.mark.parametrize("key", ["customers/billing", "customers/find-or-create"])
def test_customer_actions_never_require_or_return_external_id(key: str) -> None:
    assert load(key, {}) == {}
    assert load(key, {"externalId": "someone-else"}) == {}
    assert load(key, {"externalId": 123}) == {}


def test_checkout_never_returns_client_customer_external_id() -> None:
    body = {**URLS, "priceSlug": "pro", "customerExternalId": "attacker"}
    loaded = load("checkout-sessions/create", body)
    assert "customer_external_id" not in loaded
    assert "customerExternalId" not in loaded


def test_update_drops_external_id_and_customer_id() -> None:
    loaded = load(
        "customers/update",
        {"externalId": "someone-else", "customer": {"id": "cus_other", "name": "Ada"}},
    )
    assert loaded == {"name": "Ada"}


def test_url_surrounding_whitespace_is_trimmed() -> None:
    body = {**URLS, "successUrl": "  https://app.example.com/ok\n", "priceSlug": "pro"}
    assert load("checkout-sessions/create", body)["success_url"] == "https://app.example.com/ok"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:5173/billing",
        "https://127.0.0.1:8443/ok?x=1#top",
        "https://[::1]/ok",
        "https://my_host.internal/ok",
        "HTTPS://APP.EXAMPLE.COM/",
    ],
)
def test_url_accepts_http_urls_used_in_development(url: str) -> None:
    body = {**URLS, "successUrl": url}
    assert load("checkout-sessions/create-add-payment-method", body)["success_url"] == url


def test_nan_parsed_from_json_is_rejected() -> None:
    body = json.loads('{"priceSlug": "p", "amount": NaN, "properties": {"x": Infinity}}')
    assert issue_paths("usage-events/create", body) == [["amount"], ["properties"]]


def test_opaque_user_data_is_returned_unchanged() -> None:
    properties = {"camelCase": {"snake_case": [1, "two", None]}}
    loaded = load("usage-events/create", {"priceSlug": "p", "properties": properties})
    assert loaded["properties"] == properties


def test_adjust_timing_defaults_to_auto_and_form_c_has_no_top_level_quantity() -> None:
    loaded = load("subscriptions/adjust", {"subscriptionItems": [{"priceId": "price_1"}]})
    assert loaded == {
        "items": [PriceQuantity(price_id="price_1", quantity=1)],
        "timing": "auto",
    }


def test_exclusivity_message_names_the_wire_fields() -> None:
    with pytest.raises(ValidationError) as info:
        load("checkout-sessions/create", {**URLS, "priceId": "a", "priceSlug": "b"})
    assert validation_issues(info.value) == [
        {"path": [], "message": "Provide exactly one of priceId, priceSlug."}
    ]
    with pytest.raises(ValidationError) as info:
        load("usage-events/create", {})
    assert validation_issues(info.value)[0]["message"] == (
        "Provide exactly one of priceId, priceSlug, usageMeterId, usageMeterSlug."
    )


def test_field_errors_skip_the_exclusivity_check() -> None:
    # A wrongly typed priceId is reported once, not also as "missing one of".
    body = {**URLS, "priceId": 5}
    assert issue_paths("checkout-sessions/create", body) == [["priceId"]]


def test_validation_issues_shape() -> None:
    with pytest.raises(ValidationError) as info:
        load(
            "subscriptions/cancel",
            {"cancellation": {"timing": "later"}, "extra": 1},
        )
    issues = validation_issues(info.value)
    assert sorted(issues, key=lambda issue: [str(part) for part in issue["path"]]) == [
        {
            "path": ["cancellation", "timing"],
            "message": "Must be one of: at_end_of_current_billing_period, immediately.",
        },
        {"path": ["id"], "message": "Missing data for required field."},
    ]
    for issue in issues:
        assert set(issue) == {"path", "message"}
        assert isinstance(issue["message"], str)
        json.dumps(issue)


def test_validation_issues_flattens_nested_messages() -> None:
    err = ValidationError(
        {
            "_schema": ["top"],
            "items": {0: {"_schema": ["item"], "priceId": ["a", "b"]}},
            "metadata": {"note": ["too long"]},
        }
    )
    assert validation_issues(err) == [
        {"path": [], "message": "top"},
        {"path": ["items", 0], "message": "item"},
        {"path": ["items", 0, "priceId"], "message": "a"},
        {"path": ["items", 0, "priceId"], "message": "b"},
        {"path": ["metadata", "note"], "message": "too long"},
    ]
    assert validation_issues(ValidationError("plain")) == [{"path": [], "message": "plain"}]
