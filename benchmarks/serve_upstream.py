"""The scale benchmark's Flowglad: ``python -m benchmarks.serve_upstream PORT LATENCY_MS N``.

A sandbox in a process of its own (so its CPU is not the load generator's or a server's),
served by waitress with enough threads that a wait never queues, with:

* ``N`` customers ``bench-0`` ... ``bench-N-1`` on the paid plan, and ``big-10-0``,
  ``big-100-0``, ``big-1000-0`` whose billing carries that many extra invoices;
* every answer delayed ``LATENCY_MS``, as a network hop to Flowglad is;
* read answers memoized until a write for the same customer, so the sandbox's own CPU
  (which real Flowglad spends on its machines, not the app's) does not weigh on the
  servers measured;
* ``GET /_bench/calls``: how many API calls it has answered (and failed);
* ``POST /_bench/outage`` ``{"seconds": S, "status": N}``: for S seconds, every API call
  answers N after the usual delay, as a Flowglad outage would.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from waitress import serve

from flask_flowglad.sandbox import Sandbox

from .upstream import PLAN

#: Customers whose billing grows: ``big-<extra invoices>-0``.
PAYLOAD_SIZES = (10, 100, 1000)
#: Far more than the connections of the servers under test, so nobody queues for a thread.
THREADS = 256
_BIG = re.compile(r"/customers/big-(\d+)-\d+/billing$")
_CUSTOMER = re.compile(r"/customers/([^/?]+)")

StartResponse = Callable[..., Any]


class BenchUpstream:
    def __init__(self, latency_s: float, customers: int) -> None:
        self.sandbox = Sandbox()
        self.latency_s = latency_s
        self.calls = 0
        self.failed = 0
        #: Until when (monotonic) every call fails, and with which status.
        self.down_until = 0.0
        self.down_status = 503
        self._memo: dict[str, tuple[str, list[tuple[str, str]], bytes]] = {}
        self._lock = threading.Lock()
        names = [f"bench-{i}" for i in range(customers)]
        names += [f"big-{size}-0" for size in PAYLOAD_SIZES]
        #: Subscription id -> the customer's external id, to know whose data a write changes.
        self._owners = {
            self.sandbox.put_customer_on_plan(name, PLAN)["id"]: name for name in names
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/calls":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"calls": self.calls, "failed": self.failed}).encode()]
        if path == "/_bench/outage":
            return self._start_outage(environ, start_response)
        time.sleep(self.latency_s)
        if time.monotonic() < self.down_until:
            with self._lock:
                self.calls += 1
                self.failed += 1
            start_response(f"{self.down_status} Outage", [("Content-Type", "application/json")])
            return [b'{"error":"Flowglad is down (benchmark outage)","code":"OUTAGE"}']
        method = environ["REQUEST_METHOD"]
        key = f"{path}?{environ.get('QUERY_STRING', '')}"
        if method != "GET":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            self._forget(self._customer_of(path, body))
        with self._lock:
            self.calls += 1
            answer = self._memo.get(key) if method == "GET" else None
        if answer is None:
            answer = self._answer(environ, path)
            if method == "GET" and answer[0].startswith("200"):
                with self._lock:
                    self._memo[key] = answer
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    def _start_outage(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        asked = json.loads(environ["wsgi.input"].read(length) or b"{}")
        self.down_status = int(asked.get("status", 503))
        self.down_until = time.monotonic() + float(asked.get("seconds", 60))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    def _customer_of(self, path: str, body: bytes) -> str | None:
        """Whose data a write changes, when the path or body says (else: anyone's)."""
        match = _CUSTOMER.search(path)
        if match:
            return match.group(1)
        try:
            sent = json.loads(body) if body else {}
        except ValueError:
            return None
        # Flowglad wraps bodies ({"usageEvent": {...}}); look one level down too.
        objects = [sent] if isinstance(sent, dict) else []
        objects += [v for o in objects for v in o.values() if isinstance(v, dict)]
        for sent_object in objects:
            if isinstance(sent_object.get("customerExternalId"), str):
                return str(sent_object["customerExternalId"])
            owner = self._owners.get(str(sent_object.get("subscriptionId")))
            if owner is not None:
                return owner
        return None

    def _forget(self, external_id: str | None) -> None:
        """Drop memoized reads a write may change: the customer's, or all when unknown."""
        with self._lock:
            if external_id is None:
                self._memo.clear()
                return
            marker = f"/customers/{external_id}/"
            for key in [
                k for k in self._memo if marker in k or k.endswith(f"/customers/{external_id}?")
            ]:
                del self._memo[key]

    def _answer(
        self, environ: dict[str, Any], path: str
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []
        body = b"".join(self.sandbox.wsgi_app(environ, lambda *args: started.append(args)))
        status, headers = started[0][0], list(started[0][1])
        big = _BIG.search(path)
        if big and status.startswith("200"):
            body = _with_invoices(body, int(big.group(1)))
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        return status, headers, body


def _with_invoices(body: bytes, extra: int) -> bytes:
    """The billing payload with ``extra`` more invoices, each a copy with its own id."""
    payload = json.loads(body)
    template = payload["invoices"][0]
    for i in range(extra):
        invoice = copy.deepcopy(template)
        invoice["invoice"]["id"] = f"inv_bench_{i:05d}"
        payload["invoices"].append(invoice)
    return json.dumps(payload).encode()


def main(argv: list[str]) -> None:
    port, latency_ms, customers = argv
    logging.getLogger("waitress").setLevel(logging.ERROR)
    app = BenchUpstream(float(latency_ms) / 1000, int(customers))
    serve(app, host="127.0.0.1", port=int(port), threads=THREADS, connection_limit=2000)


if __name__ == "__main__":
    main(sys.argv[1:])
