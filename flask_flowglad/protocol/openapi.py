"""An OpenAPI 3.1 document of the routes the React SDK calls, made from the actions table.

The request bodies are the marshmallow schemas that validate them, so the document cannot
drift from what the server accepts. Answers are described by their envelope only: ``data``
has the shape Flowglad's reference server gives it, which no schema here owns. The app
serves the document at ``FLOWGLAD_OPENAPI_PATH`` when that is set; the docs ship it too.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response, current_app
from marshmallow import Schema

from ..state import get_state
from . import schemas
from .actions import ACTIONS, Action

OPENAPI_VERSION = "3.1.0"

#: The failures every action can answer, before or after its own work (see the statuses
#: table of the docs); the service's refusals (403, 409, ...) come on top for some.
COMMON_FAILURES: dict[str, str] = {
    "400": "The body is not valid JSON or fails the action's schema (validation_error).",
    "404": "Flowglad does not know an object the body names.",
    "405": "The method is not one the action accepts (method_not_allowed).",
    "413": "The body is larger than FLOWGLAD_MAX_BODY_BYTES (payload_too_large).",
    "415": "A body that is not sent as application/json (unsupported_media_type).",
    "429": "Flowglad rate-limited the server; Retry-After says when to try again.",
    "500": "The server failed unexpectedly (internal_error, invalid_customer_id).",
    "502": "Flowglad could not be reached, timed out or answered unusably.",
}
UNAUTHORIZED = "Nobody is logged in (unauthorized)."

_ENVELOPE_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "json"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "json": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "issues": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "message"],
                        "properties": {
                            "path": {
                                "type": "array",
                                "items": {"type": ["string", "integer"]},
                            },
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}
SUCCESS: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"description": "Shaped as Flowglad's reference server shapes it."}},
}
FAILURE: dict[str, Any] = {
    "type": "object",
    "required": ["data", "error"],
    "properties": {"data": {"type": "null"}, "error": _ENVELOPE_ERROR},
}


def openapi_document(
    url_prefix: str = "/api/flowglad", *, session_cookie: str = "session"
) -> dict[str, Any]:
    """The OpenAPI document of every action, mounted at ``url_prefix``.

    ``session_cookie`` names the login cookie that authenticates the browser (Flask's
    ``SESSION_COOKIE_NAME``): the customer comes from it, never from a body.
    """
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="flask-flowglad: the routes of @flowglad/react",
        version=_package_version(),
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={
            "description": "The server side of Flowglad's React SDK. Every answer is the"
            " envelope {data, error}; the customer is the app's logged-in user."
        },
    )
    _map_fields(plugin)
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": session_cookie}
    )
    spec.components.schema("Success", SUCCESS)
    spec.components.schema("Failure", FAILURE)
    prefix = "/" + url_prefix.strip("/")
    for key, action in ACTIONS.items():
        name = _schema_name(action.schema)
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=action.schema)
        spec.path(path=f"{prefix}/{key}", operations=_operations(key, action, name))
    document = spec.to_dict()
    for schema in _wire_schemas():
        component = document["components"]["schemas"].get(_schema_name(schema))
        if component is not None:
            _add_one_of(component, schema)
    return document


def serve_openapi() -> Response:
    """The view at ``FLOWGLAD_OPENAPI_PATH``: the document for the current app's prefix."""
    text = _document_text(
        get_state().settings.url_prefix, current_app.config["SESSION_COOKIE_NAME"]
    )
    return current_app.response_class(text, mimetype="application/json")


@lru_cache(maxsize=8)
def _document_text(url_prefix: str, session_cookie: str) -> str:
    """Made once per prefix: the document only changes with the package."""
    return json.dumps(openapi_document(url_prefix, session_cookie=session_cookie), indent=2)


def _operations(key: str, action: Action, schema_name: str) -> dict[str, Any]:
    failures = dict(COMMON_FAILURES)
    if action.requires_customer:
        failures["401"] = UNAUTHORIZED
    responses: dict[str, Any] = {
        "200": _response("The action's result in data.", "Success"),
        **{status: _response(text, "Failure") for status, text in sorted(failures.items())},
    }
    operations: dict[str, Any] = {}
    for method in sorted(action.methods):
        operation: dict[str, Any] = {
            "operationId": _operation_id(key, method, len(action.methods) > 1),
            "tags": [key.split("/")[0]],
            "summary": key,
            "description": _first_line(action.schema.__doc__),
            "responses": responses,
        }
        if action.requires_customer:
            operation["security"] = [{"session": []}]
        else:
            operation["security"] = [{}, {"session": []}]
        if method != "GET":
            operation["requestBody"] = {
                "required": False,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
                },
            }
        operations[method.lower()] = operation
    return operations


def _response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


#: Our own marshmallow fields, as JSON Schema type and format.
FIELD_TYPES: dict[type[Any], tuple[str, str | None]] = {
    schemas.JSONInteger: ("integer", None),
    schemas.JSONBoolean: ("boolean", None),
    schemas.OpaqueObject: ("object", None),
    schemas.Metadata: ("object", None),
    schemas.HttpUrl: ("string", "uri"),
}


def _map_fields(plugin: MarshmallowPlugin) -> None:
    for field_class, (kind, format_) in FIELD_TYPES.items():
        plugin.map_to_openapi_type(field_class, kind, format_)  # type: ignore[no-untyped-call]


def _wire_schemas() -> list[type[schemas.WireSchema]]:
    """Every schema class of the protocol, nested ones included."""
    return [
        value
        for value in vars(schemas).values()
        if isinstance(value, type) and issubclass(value, schemas.WireSchema)
    ]


def _add_one_of(component: dict[str, Any], schema: type[schemas.WireSchema]) -> None:
    """``one_of`` groups as JSON Schema: exactly one member of each group is present."""
    if not schema.one_of:
        return
    instance = schema()
    component["allOf"] = [
        {"oneOf": [{"required": [instance.wire_name(name)]} for name in group]}
        for group in schema.one_of
    ]


def _schema_name(schema: type[Schema]) -> str:
    return re.sub(r"Schema$", "", schema.__name__)


def _operation_id(key: str, method: str, several: bool) -> str:
    words = [word for word in re.split(r"[^A-Za-z0-9]+", key) if word]
    name = words[0] + "".join(word[:1].upper() + word[1:] for word in words[1:])
    return f"{name}{method.title()}" if several else name


def _first_line(text: str | None) -> str:
    """A docstring's first line as CommonMark (reST's double backquotes made single)."""
    lines = (text or "").strip().splitlines()
    return lines[0].replace("``", "`") if lines else ""


def _package_version() -> str:
    try:
        return version("flask-flowglad")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
