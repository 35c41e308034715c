"""The OpenAPI document of the React SDK's routes: valid, complete, and in agreement with
the schemas that validate the bodies; served only when FLOWGLAD_OPENAPI_PATH asks."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from marshmallow import ValidationError
from openapi_spec_validator import validate

from flask_flowglad import ConfigurationError, Flowglad
from flask_flowglad.protocol.actions import ACTIONS
from flask_flowglad.protocol.openapi import openapi_document

from .support.apps import make_app

DOCUMENT = openapi_document()


def test_the_document_is_valid_openapi() -> None:
    validate(DOCUMENT)


def test_every_action_is_a_path_with_its_methods() -> None:
    expected = {f"/api/flowglad/{key}": action.methods for key, action in ACTIONS.items()}
    served = {
        path: frozenset(method.upper() for method in operations)
        for path, operations in DOCUMENT["paths"].items()
    }
    assert served == expected


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for ops in DOCUMENT["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_logged_out_answers_are_documented_only_where_a_customer_is_needed() -> None:
    for key, action in ACTIONS.items():
        for operation in DOCUMENT["paths"][f"/api/flowglad/{key}"].values():
            assert ("401" in operation["responses"]) is action.requires_customer, key


def _body_schema(key: str) -> dict[str, Any]:
    """The action's request body schema, references resolvable against the document."""
    operation = DOCUMENT["paths"][f"/api/flowglad/{key}"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return {"$ref": ref, "components": DOCUMENT["components"]}


def _document_accepts(key: str, body: dict[str, Any]) -> bool:
    try:
        jsonschema.validate(body, _body_schema(key), cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError:
        return False
    return True


def _server_accepts(key: str, body: dict[str, Any]) -> bool:
    try:
        ACTIONS[key].validator.load(body)
    except ValidationError:
        return False
    return True


URL = "https://app.test/done"
BODIES: list[tuple[str, dict[str, Any]]] = [
    ("checkout-sessions/create", {"priceSlug": "pro", "successUrl": URL, "cancelUrl": URL}),
    ("checkout-sessions/create", {"priceSlug": "pro", "successUrl": URL}),
    (
        "checkout-sessions/create",
        {"priceSlug": "pro", "priceId": "p", "successUrl": URL, "cancelUrl": URL},
    ),
    ("checkout-sessions/create", {"successUrl": URL, "cancelUrl": URL}),
    ("subscriptions/cancel", {"id": "sub_1", "cancellation": {"timing": "immediately"}}),
    ("subscriptions/cancel", {"id": "sub_1", "cancellation": {"timing": "tomorrow"}}),
    ("subscriptions/cancel", {"id": "", "cancellation": {"timing": "immediately"}}),
    ("subscriptions/adjust", {"subscriptionItems": [{"priceSlug": "a", "quantity": 2}]}),
    ("subscriptions/adjust", {"subscriptionItems": [{"priceSlug": "a", "priceId": "b"}]}),
    ("subscriptions/adjust", {"subscriptionItems": []}),
    ("usage-events/create", {"usageMeterSlug": "api_calls", "amount": 3}),
    ("usage-events/create", {"usageMeterSlug": "api_calls", "amount": 0}),
    ("usage-events/create", {"usageMeterSlug": "api_calls", "amount": "3"}),
    ("usage-events/create", {"usageMeterSlug": "api_calls", "surprise": 1}),
    ("usage-events/create", {"usageMeterSlug": "m", "usageMeterId": "m"}),
    ("customers/update", {"customer": {"name": "Ada", "email": "ada@example.com"}}),
    ("customers/update", {"customer": {"nickname": "Ada"}}),
    ("subscriptions/list", {"includeHistorical": True}),
    ("subscriptions/list", {"includeHistorical": "yes"}),
    ("resources/release", {"resourceSlug": "seats", "claimIds": ["c1"]}),
    ("resources/release", {"resourceSlug": "seats"}),
]


@pytest.mark.parametrize(("key", "body"), BODIES)
def test_the_document_accepts_a_body_exactly_when_the_server_does(
    key: str, body: dict[str, Any]
) -> None:
    assert _document_accepts(key, body) == _server_accepts(key, body)


def test_both_outcomes_are_exercised() -> None:
    outcomes = {_server_accepts(key, body) for key, body in BODIES}
    assert outcomes == {True, False}


def test_the_app_serves_the_document_at_the_configured_path_for_its_prefix() -> None:
    app = make_app(FLOWGLAD_OPENAPI_PATH="/billing/openapi.json", FLOWGLAD_URL_PREFIX="/bill")
    Flowglad(app)
    response = app.test_client().get("/billing/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert set(response.json["paths"]) == {f"/bill/{key}" for key in ACTIONS}
    validate(response.json)


def test_a_path_under_the_prefix_is_served_instead_of_a_404_action() -> None:
    app = make_app(FLOWGLAD_OPENAPI_PATH="/api/flowglad/openapi.json")
    Flowglad(app)
    client = app.test_client()
    assert client.get("/api/flowglad/openapi.json").json["openapi"] == "3.1.0"
    assert client.get("/api/flowglad/openapi.yaml").status_code == 404


def test_the_keyword_wins_over_the_config() -> None:
    app = make_app(FLOWGLAD_OPENAPI_PATH="/from-config.json")
    Flowglad(app, openapi_path="/from-keyword.json")
    client = app.test_client()
    assert client.get("/from-keyword.json").status_code == 200
    assert client.get("/from-config.json").status_code == 404


def test_nothing_is_served_by_default() -> None:
    app = make_app()
    Flowglad(app)
    assert "flowglad_openapi" not in app.view_functions


@pytest.mark.parametrize("value", ["", False])
def test_an_empty_path_turns_it_off(value: Any) -> None:
    app = make_app(FLOWGLAD_OPENAPI_PATH=value)
    Flowglad(app)
    assert "flowglad_openapi" not in app.view_functions


@pytest.mark.parametrize("value", ["openapi.json", "/open api.json", "/x?y=1", True])
def test_a_path_that_is_not_one_is_refused(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="FLOWGLAD_OPENAPI_PATH"):
        Flowglad(make_app(FLOWGLAD_OPENAPI_PATH=value))
