"""The ``{data, error}`` JSON envelope every answer of the extension is written in: the React
SDK's routes, the webhook endpoint, and ``@feature_required`` when the client wants JSON.

Every error carries a string ``code``, a human ``message``, and a ``json`` object holding at
least ``message``: the React hooks read each of them in one place or another
(docs/protocol.md §1.4, §1.5). ``data`` is ``null`` on every error, which ``useBilling``
needs in order not to mistake an error for a payload.

One convention for codes: an action's failure code is the reference server's, spelled as it
spells it (``subscription_cancel_failed``, ``forbidden``, ``missing_subscription_id``, and
the two it writes in capitals, ``PRICING_MODEL_FETCH_FAILED`` and
``DEFAULT_PRICING_MODEL_FETCH_FAILED``), since apps compare them; every code of the
extension's own (``not_found``, ``unauthorized``, ``validation_error``, ...) is lower-case
snake_case, like most of the reference's. Flowglad's Better Auth adapter writes
``UNAUTHORIZED`` and ``VALIDATION_ERROR``; the reference's request handler has no code for
those cases, so they follow the convention here. Flowglad's own API codes (``NOT_FOUND``)
never reach the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app

__all__ = ["EncodedJSON", "failure", "success"]


@dataclass(frozen=True)
class EncodedJSON:
    """A ``data`` member already encoded as JSON (the cached billing payload)."""

    body: bytes


def success(data: Any) -> Response:
    """``{"data": data}``, status 200; :class:`EncodedJSON` is put in as it is."""
    if isinstance(data, EncodedJSON):
        body = b'{"data":' + data.body + b"}"
        return current_app.response_class(body, status=200, mimetype="application/json")
    return _json_response({"data": data}, 200)


def failure(
    status: int,
    code: str,
    message: str,
    *,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``{"data": null, "error": {code, message, json}}`` with ``status``."""
    error = {"code": code, "message": message, "json": {"message": message, **(details or {})}}
    response = _json_response({"data": None, "error": error}, status)
    response.headers.update(headers or {})
    return response


def _json_response(body: Mapping[str, Any], status: int) -> Response:
    # JavaScript's JSON.parse rejects NaN and Infinity, which Python writes by default.
    text = current_app.json.dumps(body, allow_nan=False)
    return current_app.response_class(text, status=status, mimetype="application/json")
