"""The example app, run as docs/deployment.md says (gunicorn, the shipped config), answers
Prometheus' scrape of ``/metrics`` with billing's metrics."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from ..support.cache_support import free_port
from ..support.example import EXAMPLE, gunicorn_argv, logged_in
from ..support.servers import running


def test_prometheus_scrapes_billing_metrics_from_the_example(tmp_path: Path) -> None:
    port = free_port()
    argv = gunicorn_argv(port, str(tmp_path / "saas.sqlite3"))
    env = {
        "SAAS_METRICS": "1",
        "FLOWGLAD_BILLING_CACHE": str(tmp_path / "billing-cache.sqlite3"),
        "GUNICORN_THREADS": "4",
        # One worker: each counts on its own (the docs' multi-process case), and the scrape
        # must reach the worker that served the reads.
        "WEB_CONCURRENCY": "1",
    }
    log = tmp_path / "gunicorn.log"
    with running(argv, port, cwd=EXAMPLE, env=env, log=log) as server:
        url = server.url
        browser = logged_in(url)
        for _ in range(3):
            answer = browser.post(f"{url}/api/flowglad/customers/billing", json={}, timeout=10)
            assert answer.status_code == 200
        scrape = requests.get(f"{url}/metrics", timeout=10)

    assert scrape.status_code == 200
    assert scrape.headers["Content-Type"].startswith("text/plain")
    text = scrape.text
    assert "# TYPE flowglad_client_request_duration_seconds histogram" in text
    read = re.search(
        r"^flowglad_client_request_duration_seconds_count\{([^}]*flowglad_operation="
        r'"customers.billing.read"[^}]*)\} (\d+)',
        text,
        re.M,
    )
    assert read is not None, text
    assert 'flowglad_status_class="2xx"' in read.group(1)
    assert int(read.group(2)) >= 1
    hits = re.search(
        r'^flowglad_billing_cache_lookups_total\{[^}]*result="hit"[^}]*\} (\S+)', text, re.M
    )
    assert hits is not None and float(hits.group(1)) >= 1, text
    misses = re.search(
        r'^flowglad_billing_cache_lookups_total\{[^}]*result="miss"[^}]*\} (\S+)', text, re.M
    )
    assert misses is not None and float(misses.group(1)) >= 1, text
    # The example's usage outbox (a SQLite file), read when Prometheus scrapes.
    for gauge in ("pending", "dead_letters"):
        found = re.search(rf"^flowglad_usage_outbox_{gauge}\{{[^}}]*\}} (\S+)", text, re.M)
        assert found is not None and float(found.group(1)) >= 0, text
    assert "flowglad_customer" not in text  # no customer in any label
    assert "demo@example.com" not in text
