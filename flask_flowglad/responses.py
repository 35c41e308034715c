"""Reading Flowglad's answers: error bodies and ``Retry-After``.

Kept next to the client, which is their only reader; :mod:`flask_flowglad.errors` holds
the exception tree these functions build.
"""

from __future__ import annotations

import json
import math
import time
import typing as t
from collections.abc import Iterable
from datetime import timezone
from email.utils import parsedate_to_datetime

from .errors import (
    FlowgladAPIError,
    FlowgladAuthenticationError,
    FlowgladBadRequest,
    FlowgladConflict,
    FlowgladNotFound,
    FlowgladRateLimited,
    FlowgladServerError,
)
from .headers import get_header
from .redaction import redact

__all__ = ["api_error_from_response", "parse_retry_after"]

#: Longest message kept from an error body, so an HTML error page does not
#: flood a log line.
_MAX_MESSAGE = 500

_STATUS_CLASSES: dict[int, type[FlowgladAPIError]] = {
    400: FlowgladBadRequest,
    422: FlowgladBadRequest,
    401: FlowgladAuthenticationError,
    403: FlowgladAuthenticationError,
    404: FlowgladNotFound,
    409: FlowgladConflict,
    429: FlowgladRateLimited,
}


def _seconds(text: str, scale: float = 1.0) -> float | None:
    """A finite number of seconds, or ``None`` for anything else (``inf``, ``nan``, words)."""
    try:
        value = float(text) / scale
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def parse_retry_after(
    headers: t.Mapping[str, t.Any] | None, now: float | None = None
) -> float | None:
    """Seconds the server asked us to wait before trying again, or ``None``.

    Reads ``retry-after-ms`` first (finer, sent by Flowglad's own stack), then
    ``Retry-After`` as seconds or as an HTTP date. A date in the past, or a negative
    number, gives 0; a value that is not a finite number or a date is ignored.
    """
    millis = get_header(headers, "retry-after-ms")
    if millis is not None:
        seconds = _seconds(millis.strip(), 1000)
        if seconds is not None:
            return seconds
    value = get_header(headers, "retry-after")
    if value is None:
        return None
    value = value.strip()
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC but parses as naive
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _describe_issue(issue: t.Any) -> str:
    """One validation issue as ``path: message``."""
    if isinstance(issue, dict):
        message = issue.get("message")
        if isinstance(message, str):
            path = issue.get("path")
            if isinstance(path, list) and path:
                return f"{'.'.join(str(part) for part in path)}: {message}"
            return message
    if isinstance(issue, str):
        return issue
    return json.dumps(issue, separators=(",", ":"), default=str)


def _describe(detail: t.Any) -> str:
    """Make a readable message of an ``error`` member or an ``issues`` list.

    Flowglad puts either a string there, or the parsed validation issues: a
    list of zod issues, or an object (one issue, or ``fieldErrors``).
    """
    if isinstance(detail, str):
        text = detail.strip()
        if text[:1] in ("[", "{"):
            try:
                return _describe(json.loads(text))
            except (ValueError, RecursionError):
                pass
        return text
    if isinstance(detail, list):
        return "; ".join(_describe_issue(issue) for issue in detail)
    if isinstance(detail, dict):
        if isinstance(detail.get("message"), str):
            return _describe_issue(detail)
        field_errors = detail.get("fieldErrors")
        if isinstance(field_errors, dict):
            parts = [str(e) for e in detail.get("formErrors") or []]
            for field, errors in field_errors.items():
                errors = errors if isinstance(errors, list) else [errors]
                parts.extend(f"{field}: {error}" for error in errors)
            return "; ".join(parts)
    return _describe_issue(detail)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        return text[: _MAX_MESSAGE - 3] + "..."
    return text


def _parse_body(body_text: str) -> t.Any:
    """The body as JSON when it is JSON, else the text itself."""
    if not body_text.strip():
        return body_text
    try:
        return json.loads(body_text)
    except (ValueError, RecursionError):
        return body_text


def api_error_from_response(
    status: int,
    body_text: str,
    headers: t.Mapping[str, t.Any] | None = None,
    *,
    secrets: Iterable[str | None] = (),
) -> FlowgladAPIError:
    """Build the right :class:`FlowgladAPIError` subclass for a response.

    The body is parsed defensively because Flowglad's real error bodies differ
    from its OpenAPI document: ``{"message", "code", "issues"}`` as documented,
    ``{"error", "code", "request_id"}`` as sent (``error`` being a string or
    the validation issues), or plain text for auth failures and unknown routes.

    Secret keys in the body (an echo of our own ``Authorization`` header, say) are
    masked before the body reaches the error's message or its ``body``.
    """
    body = _parse_body(redact(body_text, secrets))
    code: str | None = None
    message = ""
    request_id: str | None = None

    try:
        if isinstance(body, dict):
            code, message, request_id = _read_error_object(body)
        elif isinstance(body, str):
            message = body
        elif body is not None:
            message = _describe(body)
    except RecursionError:  # a deeply nested body the describers cannot walk
        message = "an error body too deeply nested to read"

    if request_id is None:
        request_id = get_header(headers, "x-request-id")

    message = redact(_shorten(message), secrets)
    if status == 429:
        return FlowgladRateLimited(
            status, code, message, request_id, body, retry_after=parse_retry_after(headers)
        )
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = FlowgladServerError if status >= 500 else FlowgladAPIError
    return cls(status, code, message, request_id, body)


def _read_error_object(body: dict[str, t.Any]) -> tuple[str | None, str, str | None]:
    """Code, message and request id of a JSON error body, in either of Flowglad's shapes."""
    code: str | None = None
    message = ""
    request_id: str | None = None
    error = body.get("error")
    if isinstance(body.get("code"), str):
        code = body["code"]
    elif isinstance(error, dict) and isinstance(error.get("code"), str):
        code = error["code"]  # nested ``{"error": {"message", "code"}}`` shape
    if body.get("message") not in (None, ""):
        message = _describe(body["message"])
        issues = body.get("issues")
        if issues:
            message = f"{message}: {_describe(issues)}"
    elif error not in (None, ""):
        message = _describe(error)
    elif body.get("issues"):
        message = _describe(body["issues"])
    for key in ("request_id", "requestId"):
        if isinstance(body.get(key), str):
            request_id = body[key]
            break
    return code, message, request_id
