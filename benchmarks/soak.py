"""Memory that stays flat: ``python -m benchmarks.soak``.

The deployment the docs recommend (gunicorn, the example's ``gunicorn.conf.py``: 2
workers x 32 threads, the shared billing cache in a real Redis) takes one mix of React SDK
calls after another from ``wrk`` (32 connections, 50 customers), on the scale benchmark's
upstream (30 ms per answer). After a warm-up round, each mix runs in rounds; after each
round it prints every worker's resident memory, requests per second and CPU per request.
A leak shows as RSS that keeps climbing round after round (and, often, CPU per request
that climbs with it); a cache that fills shows as a step that then stays flat.

``--minutes`` is each mix's measured time (10 by default: the target is RSS after the
warm-up flat within a few MiB over 10 minutes of each mix); ``--quick`` is 1 minute of
each, in 20-second rounds, to check that everything runs. ``--no-cache`` measures the same
without the shared cache. ``--tracemalloc`` runs one worker under ``tracemalloc`` and
prints, after each round, the allocations that grew most since the round before: where a
leak lives.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from .processes import ServerProcess
from .scale import MIXES, SECRET_KEY, Settings, _Probe
from .servers import PREFIX, gunicorn_server, redis_server, upstream_server

#: Allowed growth of a worker's RSS from the first measured round to the last.
FLAT_MIB = 4.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="measured minutes per mix")
    parser.add_argument("--round-seconds", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="1 minute per mix, 20 s rounds")
    parser.add_argument("--mix", choices=sorted(MIXES), action="append", help="only this mix")
    parser.add_argument("--no-cache", action="store_true", help="without the shared cache")
    parser.add_argument("--tracemalloc", action="store_true", help="1 worker, traced")
    parser.add_argument("--output", type=Path, help="write the rounds as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.round_seconds = 1.0, 20
    rounds = max(2, round(args.minutes * 60 / args.round_seconds))
    mixes = args.mix or list(MIXES)
    results: dict[str, list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        upstream = stack.enter_context(upstream_server(30, 50))
        cache = "" if args.no_cache else _redis_url(stack, directory)
        server = stack.enter_context(_server(upstream.url, cache, args.tracemalloc))
        probe = _Probe(
            upstream.url, Settings(seconds=args.round_seconds, warmup_seconds=args.round_seconds)
        )
        for mix in mixes:
            paths = [f"{PREFIX}/{action}" for action in MIXES[mix]]
            print(f"{mix}: warm-up {args.round_seconds} s, then {rounds} rounds", flush=True)
            probe._wrk(server, paths, "bench-", 50, args.round_seconds)
            _trace(server, args.tracemalloc)
            results[mix] = []
            for index in range(rounds):
                run = probe.measure_for("ours", mix, server, paths, args.round_seconds)
                row = {
                    "round": index + 1,
                    "req_per_s": run.req_per_s,
                    "cpu_ms_per_request": run.cpu_ms_per_request,
                    "p99_ms": run.p99_ms,
                    "errors": run.errors,
                    "rss_mib": server.children_rss_mib(),
                }
                results[mix].append(row)
                print(
                    f"  round {index + 1:2d}: {run.req_per_s:6.0f} req/s"
                    f"  CPU {run.cpu_ms_per_request:5.2f} ms/req  p99 {run.p99_ms:6.1f} ms"
                    f"  err {run.errors}  RSS MiB "
                    + ", ".join(f"{rss:.1f}" for rss in row["rss_mib"]),
                    flush=True,
                )
                _trace(server, args.tracemalloc)
            print(f"  {_verdict(results[mix])}", flush=True)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))


def _redis_url(stack: ExitStack, directory: Path) -> str:
    redis = stack.enter_context(redis_server(directory))
    return f"redis://127.0.0.1:{redis.port}/0"


def _server(upstream_url: str, cache: str, traced: bool) -> ServerProcess:
    # Traced: one worker, so every call of the tracing route reaches the same process.
    env = {"BENCH_TRACEMALLOC": "1", "WEB_CONCURRENCY": "1"} if traced else {}
    return gunicorn_server("flask-flowglad", "ours", upstream_url, SECRET_KEY, cache, env=env)


def _trace(server: ServerProcess, traced: bool) -> None:
    if not traced:
        return
    answer = requests.get(f"{server.url}/_bench/tracemalloc", timeout=60).json()
    print(f"  traced in worker {answer['pid']}: {answer['traced'] / 2**20:.1f} MiB", flush=True)
    for line in answer["grown"]:
        print(f"    {line}", flush=True)


def _verdict(rows: list[dict[str, Any]]) -> str:
    """Each worker's growth from the first measured round to the last."""
    first, last = rows[0]["rss_mib"], rows[-1]["rss_mib"]
    growth = [b - a for a, b in zip(first, last, strict=False)]
    flat = all(abs(g) <= FLAT_MIB for g in growth)
    shown = ", ".join(f"{g:+.1f}" for g in growth)
    verdict = "flat" if flat else "NOT flat"
    return f"{verdict}: RSS per worker {shown} MiB (target: within {FLAT_MIB:g})"


if __name__ == "__main__":
    main()
