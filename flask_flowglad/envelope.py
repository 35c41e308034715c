"""The ``{data, error}`` envelope every React SDK reader understands (PROTOCOL §1.4).

An error carries a string ``code`` (apps and the React hooks surface it), a human
``message``, and a ``json`` object holding at least ``message``. ``data`` is ``null`` on
every error, which ``useBilling`` needs in order not to mistake an error for a payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app


def success(data: Any) -> Response:
    return _json_response({"data": data}, 200)


def failure(
    status: int,
    code: str,
    message: str,
    *,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    error = {"code": code, "message": message, "json": {"message": message, **(details or {})}}
    response = _json_response({"data": None, "error": error}, status)
    response.headers.update(headers or {})
    return response


def _json_response(body: Mapping[str, Any], status: int) -> Response:
    # JavaScript's JSON.parse rejects NaN and Infinity, which Python writes by default.
    text = current_app.json.dumps(body, allow_nan=False)
    return current_app.response_class(text, status=status, mimetype="application/json")
