"""Customers: creation on the default plan, uniqueness, updates, archiving."""

from __future__ import annotations

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import ApiClient


def test_new_customer_starts_on_the_default_free_plan(api: ApiClient, sandbox: Sandbox) -> None:
    data = api.create_customer("user-1")
    free = sandbox.pricing.price_by_slug("free")
    assert free is not None
    assert data["customer"]["externalId"] == "user-1"
    assert data["customer"]["id"].startswith("cust_")
    assert data["subscription"]["priceId"] == free["id"]
    assert data["subscription"]["status"] == "active"
    assert data["subscription"]["isFreePlan"] is True
    assert [i["priceId"] for i in data["subscriptionItems"]] == [free["id"]]


def test_duplicate_external_id_is_409(api: ApiClient) -> None:
    api.create_customer("user-1")
    body = {"customer": {"externalId": "user-1", "name": "B", "email": "b@example.com"}}
    response = api.post("/api/v1/customers", json=body)
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT"
    assert len(response.json()["request_id"]) == 8
    assert response.headers["X-Request-Id"] == response.json()["request_id"]


def test_customer_without_required_fields_is_400_with_issues(api: ApiClient) -> None:
    response = api.post("/api/v1/customers", json={"customer": {"externalId": "u"}})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "BAD_REQUEST"
    assert {tuple(i["path"]) for i in body["error"]} == {
        ("customer", "email"),
        ("customer", "name"),
    }


def test_update_changes_only_the_fields_flowglad_allows(api: ApiClient) -> None:
    api.create_customer("user-1")
    body = {"customer": {"name": "Grace", "email": "grace@example.com", "phone": "+1 555"}}
    customer = api.put("/api/v1/customers/user-1", json=body).json()["customer"]
    assert (customer["name"], customer["email"]) == ("Grace", "grace@example.com")
    assert "phone" not in customer
    assert api.get("/api/v1/customers/user-1").json()["customer"]["name"] == "Grace"


def test_unknown_customer_is_404_not_found(api: ApiClient) -> None:
    for path in ("/api/v1/customers/ghost", "/api/v1/customers/ghost/billing"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"


def test_archived_customer_is_not_found_but_keeps_its_external_id(api: ApiClient) -> None:
    api.create_customer("user-1")
    assert api.post("/api/v1/customers/user-1/archive").json()["customer"]["archived"] is True
    assert api.get("/api/v1/customers/user-1").status_code == 404
    body = {"customer": {"externalId": "user-1", "name": "A", "email": "a@example.com"}}
    assert api.post("/api/v1/customers", json=body).status_code == 409


def test_external_ids_are_percent_decoded_from_the_path(api: ApiClient) -> None:
    api.create_customer("org 7@acme")
    assert api.get("/api/v1/customers/org%207%40acme").status_code == 200
