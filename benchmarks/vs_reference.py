"""Benchmark 1, the headline: flask-flowglad against Flowglad's own Node server SDK.

Both servers answer the same React SDK requests for the same customer of the same sandbox,
over real sockets. Each action is first checked to give equivalent ``data`` on both, then
timed with requests interleaved (ours, reference, reference, ours, ...), so drift in the
machine or in the sandbox's state hits both alike.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field

from .actions import ACTIONS, Action
from .load import Target, concurrent_wall_ns
from .report import Report, Result
from .serve_ours import THREADS
from .servers import PREFIX, reference_missing, reference_versions, start_servers
from .shapes import compare
from .stats import NS_PER_MS, interleaved, median_ms, percentile_ms
from .upstream import Upstream

NAME = "vs the Node reference"


@dataclass(frozen=True)
class Settings:
    requests: int = 300
    warmup: int = 50
    clients: int = 8
    per_client: int = 50
    rounds: int = 3
    latency_ms: float = 20.0
    latency_requests: int = 30


@dataclass
class Side:
    target: Target
    samples: list[int] = field(default_factory=list)
    calls: int = 0
    failures: int = 0


def run(upstream: Upstream, report: Report, settings: Settings) -> None:
    reason = reference_missing()
    if reason is not None:
        print(f"skipping '{NAME}': {reason}", flush=True)
        report.skipped.append({"benchmark": NAME, "reason": reason})
        return
    versions = reference_versions()
    report.environment["reference"] = versions
    baseline = (
        f"@flowglad/server {versions['@flowglad/server']} on Express {versions['express']},"
        f" Node {versions['node']}"
    )
    with ExitStack() as stack:
        ours_process, reference_process = start_servers(stack, upstream.url, upstream.secret_key)
        idle = (ours_process.rss_mib(), reference_process.rss_mib())
        ours = Target("ours", ours_process.url)
        reference = Target("reference", reference_process.url)
        verdicts = {a.key: _verify(a, ours, reference, upstream, report) for a in ACTIONS}

        for action in ACTIONS:
            print(f"  timing {action.key} ...", flush=True)
            a, b = _sequential(
                action, ours, reference, upstream, settings.requests, settings.warmup
            )
            report.results += _latency_rows(action, a, b, baseline, settings, verdicts)

        print("  concurrent clients ...", flush=True)
        report.results.append(_concurrent(ours, reference, baseline, settings))

        upstream.latency_s = settings.latency_ms / 1000
        try:
            for action in ACTIONS:
                print(f"  timing {action.key} with upstream latency ...", flush=True)
                a, b = _sequential(
                    action, ours, reference, upstream, settings.latency_requests, warmup=3
                )
                report.results.append(
                    Result(
                        f"{action.key}: median, +{settings.latency_ms:g} ms upstream",
                        f"median latency of {settings.latency_requests} sequential POST"
                        f" {PREFIX}/{action.key}, interleaved with the other server's, every"
                        f" upstream answer delayed {settings.latency_ms:g} ms",
                        "ms",
                        median_ms(a.samples),
                        median_ms(b.samples),
                        baseline,
                    )
                )
        finally:
            upstream.latency_s = 0.0

        report.results.append(
            Result(
                "server peak RSS",
                "peak resident memory (VmHWM) of the server process after every run above",
                "MiB",
                ours_process.rss_mib(peak=True),
                reference_process.rss_mib(peak=True),
                baseline,
                {
                    "idle_rss_mib": {"ours": idle[0], "baseline": idle[1]},
                    "ours_server": f"waitress, 1 process, {THREADS} threads",
                },
            )
        )
        ours.session.close()
        reference.session.close()


def _verify(
    action: Action, ours: Target, reference: Target, upstream: Upstream, report: Report
) -> str:
    """Post the same body to both; a difference is reported as a finding, not hidden."""
    body = action.body(upstream.subscription_id)
    mine, theirs = ours.post(action.key, body), reference.post(action.key, body)
    if mine.status != theirs.status:
        report.findings.append(
            f"{action.key}: status {mine.status} from ours, {theirs.status} from the reference"
            f" (ours: {str(mine.payload)[:200]}; reference: {str(theirs.payload)[:200]})"
        )
        return "different status"
    verdict, where = compare(_data(mine.payload), _data(theirs.payload))
    if verdict == "different" or (verdict == "same shape" and action.deterministic):
        detail = "; ".join(where) or "same shape, other values"
        report.findings.append(f"{action.key}: data {verdict} from the reference: {detail}")
    return verdict


def _data(payload: object) -> object:
    return payload.get("data") if isinstance(payload, dict) else payload


def _sequential(
    action: Action, ours: Target, reference: Target, upstream: Upstream, n: int, warmup: int
) -> tuple[Side, Side]:
    a, b = Side(ours), Side(reference)
    for _ in range(warmup):
        for side in (a, b):
            side.target.post(action.key, action.body(upstream.subscription_id))
    for i in range(n):
        for side in interleaved(i, (a, b)):
            before = upstream.call_count()
            reply = side.target.post(action.key, action.body(upstream.subscription_id))
            side.calls += upstream.call_count() - before
            side.samples.append(reply.elapsed_ns)
            side.failures += reply.status != 200
    return a, b


def _latency_rows(
    action: Action,
    a: Side,
    b: Side,
    baseline: str,
    settings: Settings,
    verdicts: dict[str, str],
) -> list[Result]:
    n = len(a.samples)
    how = (
        f"{n} sequential POST {PREFIX}/{action.key} on a keep-alive connection after"
        f" {settings.warmup} warm-up requests, interleaved with the other server's"
    )
    details = {
        "answers_vs_reference": verdicts[action.key],
        "non_200": {"ours": a.failures, "baseline": b.failures},
    }
    return [
        Result(
            f"{action.key}: median",
            f"median latency of {how}",
            "ms",
            median_ms(a.samples),
            median_ms(b.samples),
            baseline,
            details,
        ),
        Result(
            f"{action.key}: p95",
            f"95th percentile latency of {how}",
            "ms",
            percentile_ms(a.samples, 95),
            percentile_ms(b.samples, 95),
            baseline,
        ),
        Result(
            f"{action.key}: upstream calls",
            f"sandbox API requests per request, over {how}",
            "calls",
            a.calls / n,
            b.calls / n,
            baseline,
        ),
    ]


def _concurrent(ours: Target, reference: Target, baseline: str, settings: Settings) -> Result:
    key = "customers/billing"
    walls: dict[str, list[int]] = {"ours": [], "reference": []}
    failures = 0
    for _ in range(settings.rounds):
        for target in (ours, reference):
            wall, failed = concurrent_wall_ns(
                target.url, key, dict, settings.clients, settings.per_client
            )
            walls[target.name].append(wall)
            failures += failed
    total = settings.clients * settings.per_client
    return Result(
        f"{key}: {settings.clients} concurrent clients",
        f"median over {settings.rounds} rounds of the wall time for {total} POST"
        f" {PREFIX}/{key} from {settings.clients} concurrent keep-alive clients",
        "ms",
        median_ms(walls["ours"]),
        median_ms(walls["reference"]),
        baseline,
        {
            "requests_per_second": {
                "ours": total / (median_ms(walls["ours"]) / 1000),
                "baseline": total / (median_ms(walls["reference"]) / 1000),
            },
            "non_200": failures,
            "wall_ms": {k: [w / NS_PER_MS for w in v] for k, v in walls.items()},
        },
    )
