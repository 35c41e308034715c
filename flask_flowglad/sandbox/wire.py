"""The HTTP edge shared by the API and the test controls: bodies, keys, error answers.

Both answer errors the way Flowglad's live REST handler does, ``{"error", "code",
"request_id"}`` (not the ``{message, code, issues}`` its OpenAPI document declares), and
both read request bodies within :mod:`~flask_flowglad.sandbox.limits`.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable, Mapping
from typing import Any

from . import limits
from .errors import SandboxError, bad_request
from .ids import random_text

Response = tuple[int, dict[str, str], bytes]

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

#: Where the hosted pages live, in the standalone server and inside a user's app.
PAGES_PREFIX = "/flowglad-sandbox"


def new_request_id() -> str:
    """Eight lowercase letters and digits, like Flowglad's ``request_id``."""
    return random_text(string.ascii_lowercase + string.digits, 8)


def header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def check_key(
    headers: Mapping[str, str], secret_key: str, base_headers: dict[str, str]
) -> Response | None:
    """``None`` when the request carries the key (raw or ``Bearer``), else the 401."""
    auth = header(headers, "Authorization")
    if not auth:
        return 401, {**base_headers, "Content-Type": TEXT}, b"Unauthorized"
    key = auth[7:].strip() if auth[:7].lower() == "bearer " else auth.strip()
    if not secrets.compare_digest(key.encode(), secret_key.encode()):
        return (
            401,
            {**base_headers, "Content-Type": TEXT},
            b"API key invalid. Check that FLOWGLAD_SECRET_KEY is the sandbox's key.",
        )
    return None


def parse_body(body: bytes) -> Any:
    """The JSON body (``{}`` when empty), or the :class:`SandboxError` that refuses it.

    The size is checked before parsing and the nesting after, so neither a huge nor a
    deeply nested body costs more than :data:`~limits.MAX_BODY_BYTES` of work.
    """
    if len(body) > limits.MAX_BODY_BYTES:
        return bad_request(f"Request body larger than {limits.MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        return _too_deep()
    except ValueError:
        return SandboxError(400, None, "Invalid JSON in request body")
    if _depth(value) > limits.MAX_DEPTH:
        return _too_deep()
    return value


def _refuse_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON; echoed back they would break clients."""
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def _too_deep() -> SandboxError:
    return bad_request(f"Request body nested deeper than {limits.MAX_DEPTH} levels")


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if level > limits.MAX_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest


class Encoded(bytes):
    """A handler's result already encoded as JSON (inside the transaction it read)."""


def json_answer(
    run: Callable[[], tuple[int, Any]], request_id: str, base_headers: dict[str, str]
) -> Response:
    """Run a handler; its result or its :class:`SandboxError` as Flowglad's JSON."""
    json_headers = {**base_headers, "Content-Type": JSON}
    try:
        status, result = run()
    except SandboxError as exc:
        error: dict[str, Any] = {"error": exc.error}
        if exc.code is not None:
            error["code"] = exc.code
        error["request_id"] = request_id
        return exc.status, json_headers, json.dumps(error).encode()
    except Exception:  # noqa: BLE001 - a bug in a rule must not crash the user's app
        body_500 = {"error": "Internal server error", "request_id": request_id}
        return 500, json_headers, json.dumps(body_500).encode()
    body = result if isinstance(result, Encoded) else json.dumps(result).encode()
    return status, json_headers, bytes(body)
