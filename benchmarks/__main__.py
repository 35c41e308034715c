"""``python -m benchmarks``: run every benchmark, print the table, write results.json."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from . import feature_checks, memory, pooling, upstream_costs, vs_reference
from .environment import describe
from .report import Report
from .upstream import Upstream

RESULTS = Path(__file__).resolve().parent / "results.json"


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
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()

    settings = vs_reference.Settings(latency_ms=args.upstream_latency_ms)
    scale = 10 if args.quick else 1
    if args.quick:
        settings = dataclasses.replace(
            settings, requests=30, warmup=5, per_client=5, rounds=1, latency_requests=5
        )
    report = Report(describe())
    report.environment["settings"] = {**dataclasses.asdict(settings), "quick": args.quick}
    started = time.monotonic()
    with Upstream() as upstream:
        report.environment["upstream"] = "flask_flowglad Sandbox, waitress in a thread"
        costs = upstream_costs.measure(upstream, calls=100 // scale)
        report.environment["upstream_median_ms"] = costs
        if args.no_reference:
            report.skipped.append({"benchmark": vs_reference.NAME, "reason": "--no-reference"})
        else:
            print(f"benchmark: {vs_reference.NAME}", flush=True)
            vs_reference.run(upstream, report, settings)
        print("benchmark: feature checks", flush=True)
        feature_checks.run(upstream, report, requests=100 // scale)
        print("benchmark: pooled client", flush=True)
        pooling.run(upstream, report, calls=200 // scale)
        print("benchmark: memory", flush=True)
        memory.run(upstream, report, requests=1000 // scale)
    report.environment["duration_s"] = round(time.monotonic() - started, 1)

    print()
    print(report.table())
    print("\nratio = ours / baseline: below 1 means flask-flowglad used less time or memory.")
    print(
        "one upstream GET on its own (median ms): "
        + ", ".join(f"{k} {v}" for k, v in costs.items())
    )
    for finding in report.findings:
        print(f"finding: {finding}")
    for skipped in report.skipped:
        print(f"skipped: {skipped['benchmark']}: {skipped['reason']}")
    report.write(args.output)
    print(f"\nwrote {args.output.name} in {report.environment['duration_s']} s")


if __name__ == "__main__":
    main()
