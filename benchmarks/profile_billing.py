"""Where the CPU of one uncached billing answer goes: ``python -m benchmarks.profile_billing``.

Our benchmark app (:mod:`benchmarks.app`, no shared cache) answers ``customers/billing``
through its WSGI callable in this process, so no HTTP server is measured; Flowglad is the
scale benchmark's upstream (:mod:`benchmarks.serve_upstream`) in a process of its own,
with no added latency and its answers memoized, so its CPU is not counted here.

For each payload (the benchmark customer, then +10, +100 and +1,000 invoices) it prints
the CPU milliseconds per request (``time.process_time``), and how many of them each part
took, timed by wrapping the function that does it:

- ``requests``: the client's HTTP exchange (requests, urllib3, the socket), body included
  (``FlowgladClient._send``);
- ``parse``: decoding Flowglad's JSON (``FlowgladClient._parse``);
- ``checks``: the billing answer's shape check (``billing_shape_problem``);
- ``encode``: writing the payload as JSON again (``encode_billing``), when it is;
- ``flask``: everything else (routing, the body schema, the customer, the envelope).

The same script measures any revision of the package (run it from a checkout of the one
to measure), so before and after are timed alike.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.test import EnvironBuilder

from .app import create_app
from .serve_upstream import PAYLOAD_SIZES
from .servers import PREFIX, upstream_server

SECRET_KEY = "sk_test_sandbox"
#: Each part of a request: the module and the attribute of the function that does it.
PARTS: dict[str, tuple[str, str, str]] = {
    "requests": ("flask_flowglad.client", "FlowgladClient", "_send"),
    "parse": ("flask_flowglad.client", "FlowgladClient", "_parse"),
    "checks": ("flask_flowglad.billing", "", "billing_shape_problem"),
    "encode": ("flask_flowglad.service", "", "encode_billing"),
}


@contextmanager
def upstream() -> Iterator[str]:
    with upstream_server(0, 2) as server:
        yield server.url


def _call(app: Any, user: str) -> bytes:
    builder = EnvironBuilder(
        path=f"{PREFIX}/customers/billing",
        method="POST",
        data=b"{}",
        content_type="application/json",
        headers={"X-User": user},
    )
    environ = builder.get_environ()
    statuses: list[str] = []
    body = b"".join(app.wsgi_app(environ, lambda status, headers: statuses.append(status)))
    if not statuses[0].startswith("200"):
        raise RuntimeError(f"{user}: {statuses[0]} {body[:300]!r}")
    return body


def cpu_ms_per_request(app: Any, user: str, requests: int) -> tuple[float, int]:
    """CPU ms per answer, and the answer's size in bytes."""
    size = len(_call(app, user))
    for _ in range(max(3, requests // 10)):
        _call(app, user)
    started = time.process_time()
    for _ in range(requests):
        _call(app, user)
    return (time.process_time() - started) * 1000 / requests, size


@contextmanager
def timed_parts() -> Iterator[dict[str, float]]:
    """CPU seconds spent in each part while the block runs (the functions wrapped)."""
    spent = dict.fromkeys(PARTS, 0.0)
    undo: list[tuple[Any, str, Any]] = []
    for part, (module_name, owner_name, attribute) in PARTS.items():
        owner = importlib.import_module(module_name)
        if owner_name:
            owner = getattr(owner, owner_name)
        original = getattr(owner, attribute, None)
        if original is None:
            continue
        undo.append((owner, attribute, original))
        setattr(owner, attribute, _timing(original, part, spent))
    try:
        yield spent
    finally:
        for owner, attribute, original in undo:
            setattr(owner, attribute, original)


def _timing(function: Callable[..., Any], part: str, spent: dict[str, float]) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[part] += time.process_time() - started

    return timed


def parts_ms(app: Any, user: str, requests: int) -> dict[str, float]:
    """CPU ms per request of each part, and of the rest (``flask``)."""
    with timed_parts() as spent:
        started = time.process_time()
        for _ in range(requests):
            _call(app, user)
        total = time.process_time() - started
    result = {part: seconds * 1000 / requests for part, seconds in spent.items()}
    result["flask"] = max(0.0, total * 1000 / requests - sum(result.values()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_billing")
    parser.add_argument("--requests", type=int, default=400, help="per payload size")
    args = parser.parse_args()
    with upstream() as url:
        app, _ = create_app(url, SECRET_KEY)
        users = [("benchmark customer", "bench-0", 1)]
        users += [(f"+{size} invoices", f"big-{size}-0", size) for size in PAYLOAD_SIZES]
        names = (*PARTS, "flask")
        heading = "  ".join(f"{name:>8}" for name in names)
        print(f"{'payload':<20} {'bytes':>9}  {'CPU ms/req':>10}  {heading}")
        for label, user, weight in users:
            count = max(20, args.requests * 10 // max(10, weight))
            cpu, size = cpu_ms_per_request(app, user, count)
            parts = parts_ms(app, user, count)
            shown = "  ".join(f"{parts[p]:8.3f}" for p in names)
            print(f"{label:<20} {size:>9,}  {cpu:10.3f}  {shown}", flush=True)
        print("CPU ms per request: in all, then of each part (flask: the rest)")


if __name__ == "__main__":
    main()
