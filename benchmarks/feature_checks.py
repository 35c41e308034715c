"""Benchmark 2a: ten feature checks in one request, with our per-request billing cache.

Ours is what an app writes: ``current_billing.check_feature_access(slug)`` wherever it
needs to know (a decorator, a template, a view), ten times in one request. The baseline
does the same checks with the public client and no cache, one fresh billing read per
check: ``BillingSnapshot(client.get_billing(user)).check_feature_access(slug)``. Both run
in this process inside a Flask request; billing comes from the sandbox over real HTTP.
"""

from __future__ import annotations

from flask_flowglad import BillingSnapshot, FlowgladClient, current_billing

from .app import create_app
from .report import Report, Result
from .stats import interleaved, median_ms, timed
from .upstream import USER, Upstream

#: Ten checks, granted and denied ones, some repeated as real pages repeat them.
SLUGS = [
    "advanced_analytics",
    "pro_api_credits",
    "pro_seats",
    "free_seats",
    "advanced_analytics",
    "free_api_credits",
    "unknown_feature",
    "pro_seats",
    "advanced_analytics",
    "pro_api_credits",
]
BASELINE = "a fresh FlowgladClient.get_billing + BillingSnapshot per check"


def run(upstream: Upstream, report: Report, requests: int = 100) -> None:
    app, _ = create_app(upstream.url, upstream.secret_key)
    client = FlowgladClient(upstream.secret_key, base_url=upstream.url)
    headers = {"X-User": USER}

    def cached() -> list[bool]:
        with app.test_request_context(headers=headers):
            return [
                bool(current_billing and current_billing.check_feature_access(slug))
                for slug in SLUGS
            ]

    def uncached() -> list[bool]:
        with app.test_request_context(headers=headers):
            return [
                BillingSnapshot(client.get_billing(USER)).check_feature_access(slug)
                for slug in SLUGS
            ]

    if cached() != uncached():
        report.findings.append("feature checks: the cached and uncached answers differ")
    samples: dict[str, list[int]] = {"ours": [], "baseline": []}
    calls = dict.fromkeys(samples, 0)
    for i in range(requests):
        order = [("ours", cached), ("baseline", uncached)]
        for name, fn in interleaved(i, order):
            before = upstream.call_count()
            _, elapsed = timed(fn)
            calls[name] += upstream.call_count() - before
            samples[name].append(elapsed)
    client.close()
    how = f"{len(SLUGS)} check_feature_access calls in one Flask request, {requests} requests"
    report.results += [
        Result(
            "10 feature checks: median",
            f"median time of {how}",
            "ms",
            median_ms(samples["ours"]),
            median_ms(samples["baseline"]),
            BASELINE,
        ),
        Result(
            "10 feature checks: upstream calls",
            f"billing reads per request, {how}",
            "calls",
            calls["ours"] / requests,
            calls["baseline"] / requests,
            BASELINE,
        ),
    ]
