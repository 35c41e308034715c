"""The apps gunicorn serves in the scale benchmark, configured by the environment.

Factories for gunicorn's ``benchmarks.wsgi:ours()`` and ``benchmarks.wsgi:bare()``.

``ours``: the benchmark app (:mod:`benchmarks.app`), with the shared billing
cache when ``FLOWGLAD_BILLING_CACHE`` is set (its TTL from ``FLOWGLAD_BILLING_CACHE_TTL``
when set), a view doing ``n`` feature checks, a view gated by ``@feature_required``, and a
``@metered`` view (the usage outbox when ``FLOWGLAD_USAGE_OUTBOX`` is set).

``bare``: the baseline of the CPU row, a bare Flask view answering the
React SDK's billing route with the same JSON, from memory: what serving that answer costs
in Flask with no billing logic at all.
"""

from __future__ import annotations

import os

import requests
from flask import Flask

from flask_flowglad import current_billing, feature_required, metered

from .app import create_app
from .servers import PREFIX

#: Features the checks cycle through: granted ones, a denied one, an unknown one.
FEATURES = ("advanced_analytics", "pro_api_credits", "free_seats", "unknown_feature")


def ours() -> Flask:
    ttl = os.environ.get("FLOWGLAD_BILLING_CACHE_TTL")
    app, _ = create_app(
        os.environ["FLOWGLAD_BASE_URL"],
        os.environ["FLOWGLAD_SECRET_KEY"],
        billing_cache=os.environ.get("FLOWGLAD_BILLING_CACHE") or None,
        billing_cache_ttl=float(ttl) if ttl else None,
        usage_outbox=os.environ.get("FLOWGLAD_USAGE_OUTBOX") or None,
    )

    if os.environ.get("BENCH_TRACEMALLOC"):
        _trace_allocations(app)

    @app.post("/bench/gate")
    @feature_required("advanced_analytics")
    def gate() -> str:
        return "allowed"

    @app.post("/bench/metered")
    @metered("api_calls")
    def metered_call() -> dict[str, bool]:
        """A metered API call: the usage goes to the outbox (FLOWGLAD_USAGE_OUTBOX)."""
        return {"ok": True}

    @app.post("/bench/features/<int:n>")
    def features(n: int) -> dict[str, int]:
        granted = sum(
            bool(current_billing and current_billing.check_feature_access(FEATURES[i % 4]))
            for i in range(n)
        )
        return {"granted": granted}

    return app


def _trace_allocations(app: Flask) -> None:
    """``GET /_bench/tracemalloc``: this worker's pid, and the allocations that grew most
    since the previous call (``benchmarks.soak --tracemalloc``)."""
    import gc
    import tracemalloc

    tracemalloc.start(12)
    previous: list[tracemalloc.Snapshot] = []

    @app.get("/_bench/tracemalloc")
    def allocations() -> dict[str, object]:
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        grown: list[str] = []
        if previous:
            stats = snapshot.compare_to(previous[-1], "traceback")
            for stat in stats[:8]:
                lines = [f"{f.filename}:{f.lineno}" for f in stat.traceback[-6:]]
                where = " <- ".join(lines[::-1])
                grown.append(f"{stat.size_diff:+,} B {stat.count_diff:+,} blocks: {where}")
        previous[:] = [snapshot]
        traced, _ = tracemalloc.get_traced_memory()
        return {"pid": os.getpid(), "traced": traced, "grown": grown}


def bare() -> Flask:
    url = f"{os.environ['FLOWGLAD_BASE_URL']}/api/v1/customers/bench-0/billing"
    headers = {"Authorization": os.environ["FLOWGLAD_SECRET_KEY"]}
    payload = requests.get(url, headers=headers, timeout=10).json()
    app = Flask("bare")

    @app.post(f"{PREFIX}/customers/billing")
    def billing() -> dict[str, object]:
        return {"data": payload}

    return app
