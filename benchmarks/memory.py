"""Benchmark 2c: memory of 1,000 requests through our blueprint vs. a bare Flask view.

Each side runs in a fresh child process (``python -m benchmarks.memory KIND ...``) so that
tracemalloc, which sees every thread of a process, sees neither the sandbox nor the other
side. Requests go through Flask's test client: ours is ``customers/billing`` (one billing
read from the sandbox over real HTTP, its JSON parsed and sent on), the baseline a view that
returns an empty body. The peak is the largest working set while serving; what is still
allocated after the loop (and a garbage collection) is caches or a leak: a leak keeps
growing through the second half of the loop, a cache does not.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tracemalloc
from typing import Any

from flask import Flask

from .app import create_app
from .report import Report, Result
from .servers import PREFIX, ROOT
from .upstream import USER, Upstream

BASELINE = "a bare Flask view that returns an empty body"
KIB = 1024


def run(upstream: Upstream, report: Report, requests: int = 1000) -> None:
    ours, bare = (_child(kind, upstream, requests) for kind in ("ours", "bare"))
    how = f"{requests:,} requests through Flask's test client, measured by tracemalloc"
    report.results.append(
        Result(
            f"{requests:,} requests: peak traced memory",
            f"peak traced memory during {how}",
            "KiB",
            ours["peak_bytes"] / KIB,
            bare["peak_bytes"] / KIB,
            BASELINE,
            {
                "retained_kib": {
                    "ours": ours["retained_bytes"] / KIB,
                    "baseline": bare["retained_bytes"] / KIB,
                },
                "second_half_growth_bytes": {
                    "ours": ours["second_half_growth_bytes"],
                    "baseline": bare["second_half_growth_bytes"],
                },
            },
        )
    )


def _child(kind: str, upstream: Upstream, requests: int) -> dict[str, int]:
    argv = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        kind,
        upstream.url,
        upstream.secret_key,
        str(requests),
    ]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, int] = json.loads(done.stdout)
    return result


def measure(kind: str, upstream_url: str, secret_key: str, requests: int) -> dict[str, int]:
    """In the child: serve ``requests`` requests under tracemalloc."""
    if kind == "ours":
        app, _ = create_app(upstream_url, secret_key)
        path = f"{PREFIX}/customers/billing"
    else:
        app = Flask("bare")
        app.add_url_rule("/noop", "noop", _noop, methods=["POST"])
        path = "/noop"
    client = app.test_client()

    def post() -> Any:
        response = client.post(path, json={}, headers={"X-User": USER})
        if response.status_code != 200:
            raise RuntimeError(f"{kind}: {response.status_code} {response.get_data()[:200]!r}")

    for _ in range(20):  # imports, connections and caches settle before measuring
        post()
    gc.collect()
    tracemalloc.start()
    for _ in range(requests // 2):
        post()
    gc.collect()
    halfway, _ = tracemalloc.get_traced_memory()
    for _ in range(requests - requests // 2):
        post()
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Caches fill during the first half; a leak keeps growing through the second.
    return {
        "peak_bytes": peak,
        "retained_bytes": retained,
        "second_half_growth_bytes": retained - halfway,
    }


def _noop() -> str:
    return ""


if __name__ == "__main__":
    kind, url, key, count = sys.argv[1:]
    print(json.dumps(measure(kind, url, key, int(count))))
