"""Benchmark: a Flowglad outage, under the deployment the docs recommend.

Ours with the shared cache in Redis (``FLOWGLAD_STALE_IF_ERROR`` at its default) serves a
view gated by ``@feature_required``, for the scale benchmark's 50 customers, all of whom
have the feature. Its TTL is cut to 10 s (a third of a shorter outage), so that every
customer's entry expires early in the outage and most of it is served stale. In turn:

1. every customer is seen (a warm-up), then the gated view is measured: the baseline;
2. the upstream fails every call (503) for ``outage_seconds``, while the gated view is
   measured again: every request must decide as before (no error), p99 under 50 ms;
3. Flowglad is back: how long until a billing read is fresh again (no
   ``X-Flowglad-Stale`` header), and the gated view measured once more.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from .servers import PREFIX, gunicorn_server, redis_server, upstream_server

if TYPE_CHECKING:
    from .processes import ServerProcess
    from .scale import Run, _Probe

GATE = "/bench/gate"
#: The TTL of the outage's server (at most): short, so the outage is mostly served stale.
TTL_SECONDS = 10


def ttl_for(seconds: int) -> int:
    """The TTL for an outage of ``seconds``: entries expire in its first third."""
    return max(1, min(TTL_SECONDS, seconds // 3))


STALE_HEADER = "X-Flowglad-Stale"
P99_TARGET_MS = 50.0


@dataclass
class Outage:
    before: Run
    during: Run
    after: Run
    #: Seconds from the end of the outage to the first fresh billing read.
    recovered_s: float | None
    #: Upstream calls that failed during the outage.
    failed_calls: int


def run(probe: _Probe, server: ServerProcess, upstream_url: str, seconds: int) -> Outage:
    probe._wrk(server, [GATE], "bench-", 50, probe.settings.warmup_seconds)
    before = probe.measure("ours + cache", "gated, before", server, [GATE], "bench-", 50)
    failed = _failed(upstream_url)
    requests.post(f"{upstream_url}/_bench/outage", json={"seconds": seconds}, timeout=10)
    ends = time.monotonic() + seconds
    during = probe.measure_for(
        "ours + cache", "gated, Flowglad down", server, [GATE], max(1, seconds - 2)
    )
    failed = _failed(upstream_url) - failed
    time.sleep(max(0.0, ends - time.monotonic()))
    recovered = _seconds_to_fresh(server, ends)
    after = probe.measure("ours + cache", "gated, after", server, [GATE], "bench-", 50)
    return Outage(before, during, after, recovered, failed)


def _failed(upstream_url: str) -> int:
    failed: int = requests.get(f"{upstream_url}/_bench/calls", timeout=10).json()["failed"]
    return failed


def _seconds_to_fresh(server: ServerProcess, since: float, limit: float = 60.0) -> float | None:
    """Poll one customer's billing until it is no longer stale."""
    session = requests.Session()
    url = f"{server.url}{PREFIX}/customers/billing"
    while time.monotonic() - since < limit:
        answer = session.post(url, json={}, headers={"X-User": "bench-7"}, timeout=10)
        if answer.status_code == 200 and STALE_HEADER not in answer.headers:
            return time.monotonic() - since
        time.sleep(0.1)
    return None


def main() -> None:
    """``python -m benchmarks.outage``: the outage run alone, as the scale benchmark runs it."""
    from .scale import SECRET_KEY, Settings, _Probe

    parser = argparse.ArgumentParser(prog="python -m benchmarks.outage", description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="how long Flowglad fails")
    args = parser.parse_args()
    settings = Settings(outage_seconds=args.seconds)
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        upstream = stack.enter_context(upstream_server(30, 50))
        redis = stack.enter_context(redis_server(directory))
        server = stack.enter_context(
            gunicorn_server(
                "flask-flowglad + Redis, short TTL",
                "ours",
                upstream.url,
                SECRET_KEY,
                f"redis://127.0.0.1:{redis.port}/0",
                env={"FLOWGLAD_BILLING_CACHE_TTL": str(ttl_for(args.seconds))},
            )
        )
        found = run(_Probe(upstream.url, settings), server, upstream.url, args.seconds)
    for run_ in (found.before, found.during, found.after):
        print(
            f"{run_.mix:<22} {run_.req_per_s:6.0f} req/s  p50 {run_.p50_ms:6.1f} ms"
            f"  p99 {run_.p99_ms:7.1f} ms  errors {run_.errors}"
        )
    for goal, measured, met in verdicts(found):
        print(f"{'met    ' if met else 'NOT met'}  {goal}: {measured}")


def verdicts(outage: Outage) -> list[tuple[str, str, bool]]:
    """The outage targets: what each asks, what was measured, whether it was met."""
    during = outage.during
    decided = during.requests - during.errors
    share = decided / during.requests if during.requests else 0.0
    recovered = outage.recovered_s
    return [
        (
            "outage: gated requests decided as before",
            f"{share:.2%} of {during.requests} ({outage.failed_calls} upstream calls failed)",
            during.requests > 0 and during.errors == 0 and outage.failed_calls > 0,
        ),
        (
            f"outage: gated p99 under {P99_TARGET_MS:g} ms",
            f"{during.p99_ms:.1f} ms (before: {outage.before.p99_ms:.1f} ms)",
            during.p99_ms < P99_TARGET_MS,
        ),
        (
            "outage: fresh reads resume when Flowglad is back",
            "never" if recovered is None else f"after {recovered:.1f} s",
            recovered is not None,
        ),
    ]


if __name__ == "__main__":
    main()
