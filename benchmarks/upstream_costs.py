"""What each upstream endpoint costs on its own: the context needed to read benchmark 1.

flask-flowglad answers most actions from one billing read, the reference from two smaller
reads (a customer lookup, then balances or a subscription). Which is faster on loopback
depends on how much heavier the billing read is; over a real network, on how many round
trips there are.
"""

from __future__ import annotations

import functools

import requests

from .stats import median_ms, timed
from .upstream import USER, Upstream


def measure(upstream: Upstream, calls: int = 100) -> dict[str, float]:
    """Median milliseconds of one pooled GET per endpoint, from this process."""
    paths = {
        "GET customers/{id}/billing": f"/api/v1/customers/{USER}/billing",
        "GET customers/{id}": f"/api/v1/customers/{USER}",
        "GET customers/{id}/usage-balances": f"/api/v1/customers/{USER}/usage-balances",
        "GET subscriptions/{id}": f"/api/v1/subscriptions/{upstream.subscription_id}",
    }
    medians: dict[str, float] = {}
    with requests.Session() as session:
        session.headers["Authorization"] = upstream.secret_key
        for name, path in paths.items():
            url = upstream.url + path
            samples = []
            for i in range(calls + 10):  # ten to warm up
                response, elapsed = timed(functools.partial(session.get, url, timeout=15))
                response.raise_for_status()
                if i >= 10:
                    samples.append(elapsed)
            medians[name] = round(median_ms(samples), 2)
    return medians
