"""Benchmark 2b: our pooled keep-alive client against a new connection per call.

Both read the same customer's billing from the sandbox over real HTTP: ours with
``FlowgladClient.get_billing`` (one ``requests.Session`` per thread, connections kept
alive), the baseline with ``requests.get`` (a new session and TCP connection every time).
On loopback a connection costs little; to a remote Flowglad over TLS it costs a handshake,
so this ratio understates the saving.
"""

from __future__ import annotations

from typing import Any

import requests

from flask_flowglad import FlowgladClient

from .report import Report, Result
from .stats import interleaved, median_ms, timed
from .upstream import USER, Upstream

BASELINE = "requests.get without a session (a new connection per call)"


def run(upstream: Upstream, report: Report, calls: int = 200) -> None:
    client = FlowgladClient(upstream.secret_key, base_url=upstream.url)
    url = f"{upstream.url}/api/v1/customers/{USER}/billing"
    headers = {"Authorization": upstream.secret_key, "Accept": "application/json"}

    def fresh() -> Any:
        response = requests.get(url, headers=headers, timeout=15)
        response.raise_for_status()
        return response.json()

    if client.get_billing(USER) != fresh():
        report.findings.append("pooling: the pooled and unpooled billing reads differ")
    samples: dict[str, list[int]] = {"ours": [], "baseline": []}
    for i in range(calls):
        order = [("ours", lambda: client.get_billing(USER)), ("baseline", fresh)]
        for name, fn in interleaved(i, order):
            samples[name].append(timed(fn)[1])
    client.close()
    report.results.append(
        Result(
            "billing GET, pooled: median",
            f"median time of one billing GET to the sandbox, {calls} calls each, interleaved",
            "ms",
            median_ms(samples["ours"]),
            median_ms(samples["baseline"]),
            BASELINE,
        )
    )
