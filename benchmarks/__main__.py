"""``python -m benchmarks``: run every benchmark, print the table, write results.json."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from . import (
    feature_checks,
    memory,
    pooling,
    sandbox_store,
    scale,
    telemetry,
    upstream_costs,
    usage,
    vs_reference,
)
from .environment import describe
from .report import Report
from .upstream import Upstream

RESULTS = Path(__file__).resolve().parent / "results.json"
PLOT = Path(__file__).resolve().parent / "scale.png"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few requests of each, to check that everything runs",
    )
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the comparison with the Node reference server",
    )
    parser.add_argument(
        "--upstream-latency-ms",
        type=float,
        default=20.0,
        help="delay added to each upstream answer in the latency rows",
    )
    parser.add_argument(
        "--scale-latency-ms",
        type=float,
        default=30.0,
        help="delay of each upstream answer in the scale benchmark",
    )
    parser.add_argument(
        "--scale-only", action="store_true", help="run only the scale benchmark (gunicorn, wrk)"
    )
    parser.add_argument("--no-scale", action="store_true", help="skip the scale benchmark")
    parser.add_argument(
        "--telemetry-only",
        action="store_true",
        help="run only the telemetry overhead benchmark (a few minutes)",
    )
    parser.add_argument(
        "--telemetry-baseline",
        metavar="REV",
        help="also measure the package as it was at this git revision",
    )
    parser.add_argument(
        "--usage-only", action="store_true", help="run only the usage outbox benchmark"
    )
    parser.add_argument("--no-usage", action="store_true", help="skip the usage outbox benchmark")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--plot", type=Path, default=PLOT, help="where to save the scale plot")
    args = parser.parse_args()

    settings = vs_reference.Settings(latency_ms=args.upstream_latency_ms)
    if args.quick:
        settings = dataclasses.replace(
            settings, requests=30, warmup=5, per_client=5, rounds=1, latency_requests=5
        )
    report = Report(describe())
    report.environment["settings"] = {**dataclasses.asdict(settings), "quick": args.quick}
    started = time.monotonic()
    costs: dict[str, float] = {}
    only_one = args.scale_only or args.telemetry_only or args.usage_only
    if not args.scale_only and not args.usage_only:
        print(f"benchmark: {telemetry.NAME}", flush=True)
        telemetry_settings = telemetry.Settings(baseline=args.telemetry_baseline)
        if args.quick:
            telemetry_settings = dataclasses.replace(
                telemetry_settings, batch=50, pairs=10, warmup=50, rounds=1
            )
        telemetry.run(report, telemetry_settings)
    if not args.no_usage and not args.scale_only and not args.telemetry_only:
        usage_settings = usage.Settings(latency_ms=args.scale_latency_ms)
        if args.quick:
            usage_settings = dataclasses.replace(
                usage_settings, requests=50, events=2000, single_calls=20
            )
        usage.run(report, usage_settings, reference=not args.no_reference)
    if not only_one:
        costs = _single_process(args, settings, report)
    scale_runs: list[scale.Run] = []
    scale_memory: dict[str, Any] = {}
    if args.telemetry_only or args.usage_only:
        pass
    elif args.no_scale:
        report.skipped.append({"benchmark": scale.NAME, "reason": "--no-scale"})
    else:
        print(f"benchmark: {scale.NAME}", flush=True)
        scale_settings = scale.Settings(latency_ms=args.scale_latency_ms)
        if args.quick:
            scale_settings = dataclasses.replace(
                scale_settings, seconds=1, warmup_seconds=1, rounds=1, outage_seconds=6
            )
        scale_runs, scale_memory = scale.run(report, scale_settings)
    report.environment["duration_s"] = round(time.monotonic() - started, 1)
    report.write(args.output)

    print()
    print(report.table())
    if scale_runs:
        print(f"\nscale out: {scale.NAME}, {args.scale_latency_ms:g} ms per upstream answer")
        found = report.environment.get("scale", {}).get("outage", {})
        print(scale.table(scale_runs, scale_memory, found.get("verdicts")))
        if scale.plot(scale_runs, args.plot):
            print(f"saved {args.plot.name}")
    print("\nratio = ours / baseline: below 1 means flask-flowglad used less time or memory.")
    if costs:
        print(
            "one upstream GET on its own (median ms): "
            + ", ".join(f"{k} {v}" for k, v in costs.items())
        )
    for result in report.results:
        if "median_ratio" in result.details:
            details = result.details
            print(
                f"{result.name}: median ratio of the alternated pairs"
                f" {details['median_ratio']:.3f}x (10th to 90th percentile"
                f" {details['ratio_p10']:.3f}x to {details['ratio_p90']:.3f}x)"
            )
    for finding in report.findings:
        print(f"finding: {finding}")
    for skipped in report.skipped:
        print(f"skipped: {skipped['benchmark']}: {skipped['reason']}")
    print(f"\nwrote {args.output.name} in {report.environment['duration_s']} s")


def _single_process(
    args: argparse.Namespace, settings: vs_reference.Settings, report: Report
) -> dict[str, float]:
    """The benchmarks against an upstream in this process; the upstream's costs."""
    divisor = 10 if args.quick else 1
    with Upstream() as upstream:
        report.environment["upstream"] = "flask_flowglad Sandbox, waitress in a thread"
        costs: dict[str, float] = upstream_costs.measure(upstream, calls=100 // divisor)
        report.environment["upstream_median_ms"] = costs
        if args.no_reference:
            report.skipped.append({"benchmark": vs_reference.NAME, "reason": "--no-reference"})
        else:
            print(f"benchmark: {vs_reference.NAME}", flush=True)
            vs_reference.run(upstream, report, settings)
        print("benchmark: feature checks", flush=True)
        feature_checks.run(upstream, report, requests=100 // divisor)
        print("benchmark: pooled client", flush=True)
        pooling.run(upstream, report, calls=200 // divisor)
        print("benchmark: memory", flush=True)
        memory.run(upstream, report, requests=1000 // divisor)
    print(f"benchmark: {sandbox_store.NAME}", flush=True)
    sandbox_store.run(report, requests=2000 // divisor)
    return costs


if __name__ == "__main__":
    main()
