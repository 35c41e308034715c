"""Benchmark: the sandbox kept in a state file, against the same sandbox in memory.

A developer's server on ``FLOWGLAD_SANDBOX = "flowglad-sandbox.db"`` pays for what the
file gives (a restart loses nothing, every worker shares it) on each request. Both sides
answer the same requests through :meth:`Sandbox.handle`, the whole API path the adapter
takes (key check, parsing, transaction, rules, JSON), interleaved:

- a billing read (``GET /customers/{id}/billing``), when nothing changed since the last
  request: the target is at most 2x;
- a billing read after another process wrote (the file's sandbox reads one changed row);
- a usage event (a write: one transaction on the file, the changed rows written).

    python -m benchmarks.sandbox_store [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask_flowglad.sandbox import Sandbox

from .report import Report, Result
from .stats import interleaved, median_ms, timed

NAME = "sandbox: state file vs memory"
BASELINE = "the same Sandbox in memory (Sandbox())"


def _setup(sandbox: Sandbox) -> str:
    sub = sandbox.put_customer_on_plan("u1", "pro_monthly")
    for i in range(5):
        sandbox.record_usage("u1", "api_calls", 1, transaction_id=f"setup-{i}")
    sub_id: str = sub["id"]
    return sub_id


def _requests(sandbox: Sandbox, sub_id: str) -> dict[str, Callable[[], object]]:
    key = {"Authorization": sandbox.secret_key}
    counter = iter(range(10**9))

    def billing() -> object:
        status, _, _ = sandbox.handle("GET", "/api/v1/customers/u1/billing", headers=key)
        assert status == 200
        return status

    def usage() -> object:
        event = {
            "subscriptionId": sub_id,
            "usageMeterSlug": "api_calls",
            "amount": 1,
            "transactionId": f"bench-{next(counter)}",
        }
        body = json.dumps({"usageEvent": event}).encode()
        status, _, _ = sandbox.handle("POST", "/api/v1/usage-events", body=body, headers=key)
        assert status == 200
        return status

    return {"billing": billing, "usage": usage}


def run(report: Report, requests: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.db"
        memory, kept = Sandbox(), Sandbox(path=path)
        other = Sandbox(path=path)  # another process's view of the file
        sides = {
            "ours": _requests(kept, _setup(kept)),
            "baseline": _requests(memory, _setup(memory)),
        }
        for side in sides.values():  # warm up
            for _ in range(50):
                side["billing"]()
        rows = [
            ("billing read", "billing", None),
            ("billing read after another process wrote", "billing", other),
            ("usage event (a write)", "usage", None),
        ]
        for label, kind, writer in rows:
            samples: dict[str, list[int]] = {"ours": [], "baseline": []}
            for i in range(requests):
                if writer is not None:  # one changed row to read back
                    writer.record_usage("u1", "api_calls", 1)
                    memory.record_usage("u1", "api_calls", 1)
                for name in interleaved(i, ["ours", "baseline"]):
                    _, elapsed = timed(sides[name][kind])
                    samples[name].append(elapsed)
            report.results.append(
                Result(
                    f"sandbox {label}: median",
                    f"median time of {requests} Sandbox.handle calls: {label}",
                    "ms",
                    median_ms(samples["ours"]),
                    median_ms(samples["baseline"]),
                    BASELINE,
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sandbox_store")
    parser.add_argument("--quick", action="store_true", help="200 requests of each, not 2,000")
    args = parser.parse_args()
    from .environment import describe

    report = Report(describe())
    run(report, requests=200 if args.quick else 2000)
    print(report.table())


if __name__ == "__main__":
    main()
