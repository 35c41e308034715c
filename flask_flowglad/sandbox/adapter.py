"""A ``requests`` transport that answers from the sandbox in process: no socket, no network.

Mounted on the client's session for the sandbox's base URL, it turns each prepared request
into a call of :meth:`Sandbox.handle` and builds a real :class:`requests.Response`, so the
client's error handling, retries and JSON parsing run exactly as against Flowglad.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class Handler(Protocol):
    """Anything that answers an HTTP request as plain values (a sandbox)."""

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]: ...


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class SandboxAdapter(BaseAdapter):
    """Answers every request sent through it from one sandbox."""

    def __init__(self, sandbox: Handler) -> None:
        super().__init__()
        self.sandbox = sandbox

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: None | float | tuple[float, float] | tuple[float, None] = None,
        verify: bool | str = True,
        cert: None | bytes | str | tuple[bytes | str, bytes | str] = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        parts = urlsplit(url)
        status, headers, body = self.sandbox.handle(
            request.method or "GET",
            parts.path or "/",
            query=parts.query,
            body=_body_bytes(request.body),
            headers=dict(request.headers),
        )
        response = requests.Response()
        response.status_code = status
        response.reason = _REASONS.get(status, "")
        response.headers = CaseInsensitiveDict(headers)
        response.url = url
        response.request = request
        response.encoding = "utf-8"
        response.raw = io.BytesIO(body)
        response._content = body
        return response

    def close(self) -> None:
        """Nothing to release: there is no connection pool."""


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(part if isinstance(part, bytes) else str(part).encode() for part in body)
