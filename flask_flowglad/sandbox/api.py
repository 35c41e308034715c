"""``/api/v1/...`` requests in, Flowglad-shaped responses out.

:meth:`Api.handle` is the whole HTTP surface as one function of plain values, so the
in-process adapter and the real server answer identically. It checks the secret key, parses
and validates bodies (answering with the error shapes of ``docs/protocol.md`` §7.4), and
runs each route as one transaction on the account: ``GET`` reads, anything else writes.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from . import limits
from .account import Account
from .errors import SandboxError, bad_request
from .ids import new_id
from .ring import Ring
from .routes import Handler, Request, route_table
from .wire import TEXT as _TEXT
from .wire import Encoded, Response, check_key, json_answer, new_request_id, parse_body

Transaction = Callable[[bool], AbstractContextManager[Account]]


@dataclass(frozen=True)
class Call:
    """One request the sandbox answered, for tests that count or inspect upstream calls."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int


@dataclass
class Fault:
    """A canned failure for the next matching requests (outages, rate limits)."""

    status: int
    times: int
    method: str | None
    path: str | None
    body: bytes
    headers: dict[str, str]


class Api:
    """The REST API of one sandbox."""

    def __init__(
        self,
        transaction: Transaction,
        *,
        secret_key: str,
        pages_url: Callable[[], str],
        call_log_size: int = limits.CALL_LOG_SIZE,
    ) -> None:
        self._transaction = transaction
        self.secret_key = secret_key
        self.pages_url = pages_url
        #: The latest requests answered, oldest first.
        self.calls: Ring[Call] = Ring(call_log_size)
        self.faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        for method, template, handler in route_table():
            pattern = re.escape("/api/v1" + template).replace(re.escape("{}"), "([^/]+)")
            self._routes.append((method, re.compile(pattern + "/?$"), handler))

    def handle(
        self,
        method: str,
        path: str,
        query: str | Mapping[str, list[str]],
        body: bytes,
        headers: Mapping[str, str],
    ) -> Response:
        """Answer one request like Flowglad's API; record it in :attr:`calls`."""
        method = method.upper()
        too_long = len(query) > limits.MAX_QUERY_BYTES if isinstance(query, str) else False
        params = (
            {}
            if too_long
            else parse_qs(query, keep_blank_values=True)
            if isinstance(query, str)
            else dict(query)
        )
        parsed = parse_body(body)
        status, out_headers, out_body = self._answer(
            method, path, params, parsed, headers, query_too_long=too_long
        )
        recorded = None if isinstance(parsed, SandboxError) or not body else parsed
        self.calls.append(
            Call(method, path, {k: ",".join(v) for k, v in params.items()}, recorded, status)
        )
        return status, out_headers, out_body

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        payload: Any,
        headers: Mapping[str, str],
        *,
        query_too_long: bool = False,
    ) -> Response:
        request_id = new_request_id()
        base_headers = {"X-Request-Id": request_id, "X-Trace-Id": new_id("trace")[-16:]}
        fault = self._take_fault(method, path)
        if fault is not None:
            return fault.status, {**base_headers, **fault.headers}, fault.body
        if not path.startswith("/api/v1/"):
            return 404, {**base_headers, "Content-Type": _TEXT}, b"Not Found"
        refused = check_key(headers, self.secret_key, base_headers)
        if refused is not None:
            return refused
        found = self._find_route(method, path)
        if found is None:
            return 404, {**base_headers, "Content-Type": _TEXT}, b"Not Found"
        handler, match = found

        def run() -> tuple[int, Any]:
            if query_too_long:
                raise bad_request(f"Query string longer than {limits.MAX_QUERY_BYTES} bytes")
            if isinstance(payload, SandboxError):
                raise payload
            params = [unquote(p) for p in match.groups()]
            with self._transaction(method != "GET") as account:
                req = Request(method, path, params, query, payload, account, self.pages_url)
                status, result = handler(req)
                # Encoded inside the transaction: the answer shares the stored records.
                return status, Encoded(json.dumps(result).encode())

        return json_answer(run, request_id, base_headers)

    def _find_route(self, method: str, path: str) -> tuple[Handler, re.Match[str]] | None:
        """An unknown path and a known path with another method are both "Not Found"."""
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                return handler, match
        return None

    def add_fault(self, fault: Fault) -> None:
        with self._faults_lock:
            if len(self.faults) >= limits.MAX_FAULTS:
                raise ValueError(f"at most {limits.MAX_FAULTS} faults may wait at once")
            self.faults.append(fault)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._faults_lock:
            for fault in self.faults:
                if (fault.method is None or fault.method == method) and (
                    fault.path is None or fault.path in path
                ):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None
