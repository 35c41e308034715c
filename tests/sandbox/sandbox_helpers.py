"""Helpers shared by the sandbox tests: the contract validator and an API client.

Sandbox responses are checked against Flowglad's OpenAPI document, kept in the repository
at ``tests/data/flowglad-openapi.json`` (its source: ``tests/data/README.md``). Success
responses are validated against the OpenAPI; error responses against ``docs/protocol.md``
§7.4, because the real API's error bodies (``{error, code, request_id}``) differ from what
the OpenAPI declares (``{message, code, issues}``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import requests

from flask_flowglad.sandbox import Sandbox

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "flowglad-openapi.json"

#: The real error body (``docs/protocol.md`` §7.4); ``code`` is absent for "Invalid JSON in
#: request body".
ERROR_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "request_id"],
    "properties": {
        "error": {"type": ["string", "array", "object"]},
        "code": {
            "enum": [
                "BAD_REQUEST",
                "UNAUTHORIZED",
                "FORBIDDEN",
                "NOT_FOUND",
                "CONFLICT",
                "PAYMENT_FAILED",
                "INTERNAL_SERVER_ERROR",
            ]
        },
        "request_id": {"type": "string", "minLength": 8, "maxLength": 8},
        "trace_id": {"type": "string"},
        "sentry_event_id": {"type": "string"},
    },
    "additionalProperties": False,
}


def load_spec() -> dict[str, Any]:
    """The OpenAPI document; part of the repository, so never missing."""
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


class Contract:
    """Validates sandbox responses: the OpenAPI for successes, ``docs/protocol.md`` §7.4 for
    errors."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry = Registry().with_resource("urn:flowglad-openapi", resource)
        self._validator_class = Draft202012Validator
        self._routes: list[tuple[re.Pattern[str], int, str]] = []
        for template in spec["paths"]:
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            self._routes.append((re.compile(pattern + "$"), template.count("{"), template))
        self.seen: set[tuple[str, str, int]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        matches = sorted((n, t) for p, n, t in self._routes if p.match(path))
        for _, template in matches:
            op = self.spec["paths"][template].get(method.lower())
            if op is not None:
                return template, op
        raise AssertionError(f"{method} {path} is not an operation of the OpenAPI document")

    def _validate(self, instance: Any, pointer: str) -> None:
        schema = {"$ref": "urn:flowglad-openapi#" + pointer}
        validator = self._validator_class(schema, registry=self._registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            detail = "\n".join(
                f"- at {list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5]
            )
            raise AssertionError(f"response does not match {pointer}:\n{detail}")

    def check(self, method: str, path: str, status: int, body: bytes, headers: Any) -> None:
        """Raise AssertionError unless the response has the shape the contract requires."""
        template, op = self.operation(method, path)
        self.seen.add((method.upper(), template, status))
        assert headers.get("X-Request-Id"), "every response carries X-Request-Id"
        content_type = headers.get("Content-Type", "")
        if status == 401 or (status == 404 and not content_type.startswith("application/json")):
            assert content_type.startswith("text/plain"), (
                "auth failures are plain text (docs/protocol.md §7.4)"
            )
            return
        assert content_type.startswith("application/json"), content_type
        data = json.loads(body)
        if status >= 400:
            errors = list(self._validator_class(ERROR_BODY_SCHEMA).iter_errors(data))
            assert not errors, (
                f"error body {data} does not match docs/protocol.md §7.4: {errors[0].message}"
            )
            return
        assert str(status) in op["responses"], f"{status} is not declared for {template}"
        escaped = template.replace("~", "~0").replace("/", "~1")
        self._validate(
            data,
            f"/paths/{escaped}/{method.lower()}/responses/{status}/content/application~1json/schema",
        )

    def check_request(self, method: str, path: str, body: Any) -> None:
        """The tests' own request bodies follow the OpenAPI too (so they test real shapes)."""
        template, op = self.operation(method, path)
        if body is None or "requestBody" not in op:
            return
        escaped = template.replace("~", "~0").replace("/", "~1")
        self._validate(
            body, f"/paths/{escaped}/{method.lower()}/requestBody/content/application~1json/schema"
        )


def assert_file_holds_the_same(sandbox: Sandbox) -> None:
    """A sandbox opened afresh on ``sandbox``'s file holds exactly its records."""
    assert sandbox.path is not None
    fresh = Sandbox(path=sandbox.path)
    with fresh.transaction(), sandbox.transaction():  # each reads what it has not seen
        theirs = {(kind, row_id): body for kind, row_id, body in fresh.records.dump_all()}
        ours = {(kind, row_id): body for kind, row_id, body in sandbox.records.dump_all()}
    differ = sorted(key for key in ours.keys() | theirs.keys() if ours.get(key) != theirs.get(key))
    assert not differ, f"not written to the state file as held in memory: {differ[:5]}"


class ApiClient:
    """``requests`` through the sandbox's adapter, each answer checked against the contract."""

    def __init__(self, sandbox: Sandbox, contract: Contract | None) -> None:
        self.sandbox = sandbox
        self.contract = contract
        self.session = requests.Session()
        self.session.mount(sandbox.base_url, sandbox.adapter())
        self.session.headers["Authorization"] = sandbox.secret_key

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, self.sandbox.base_url + path, **kwargs)
        if self.contract is not None:
            url_path = path.split("?", 1)[0]
            self.contract.check(
                method, url_path, response.status_code, response.content, response.headers
            )
            if response.ok:
                self.contract.check_request(method, url_path, kwargs.get("json"))
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    # shortcuts for the common steps of a scenario

    def create_customer(self, external_id: str = "user-1") -> dict[str, Any]:
        body = {"customer": {"externalId": external_id, "name": "Ada", "email": "ada@example.com"}}
        response = self.post("/api/v1/customers", json=body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def billing(self, external_id: str = "user-1") -> dict[str, Any]:
        response = self.get(f"/api/v1/customers/{external_id}/billing")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def checkout(self, external_id: str = "user-1", **fields: Any) -> dict[str, Any]:
        body = {
            "checkoutSession": {
                "type": "product",
                "customerExternalId": external_id,
                "successUrl": "http://localhost/success",
                "cancelUrl": "http://localhost/cancel",
                **fields,
            }
        }
        response = self.post("/api/v1/checkout-sessions", json=body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


#: One validator for the whole run (building it parses the 650 KB document).
SHARED_CONTRACT = Contract(load_spec())
