"""A sandbox serving for days stays the same size: its call log and its webhook deliveries
are rings of a configurable size."""

from __future__ import annotations

import gc
import json
import os
import time

from flask import Flask

from flask_flowglad.sandbox import Sandbox, limits

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def receiving(sandbox: Sandbox) -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/hook", "hook", lambda: "", methods=["POST"])
    sandbox.webhooks.deliver_to_app(app, "/hook", SECRET)
    return app


def test_the_call_log_and_the_deliveries_keep_the_newest_only() -> None:
    sandbox = Sandbox(call_log_size=3, delivery_log_size=2)
    app = receiving(sandbox)
    key = {"Authorization": sandbox.secret_key}
    for external_id in ("a", "b", "c", "d"):
        sandbox.handle("GET", f"/api/v1/customers/{external_id}", headers=key)
    assert [c.path for c in sandbox.calls] == [f"/api/v1/customers/{x}" for x in "bcd"]
    assert sandbox.calls[-1].path == "/api/v1/customers/d"
    assert [c.path for c in sandbox.calls[1:]] == ["/api/v1/customers/c", "/api/v1/customers/d"]
    sandbox.create_customer("u1")  # customer.created, subscription.created
    sandbox.create_customer("u2")
    assert [json.loads(d.body)["customer"]["externalId"] for d in sandbox.webhooks.deliveries] == [
        "u2",
        "u2",
    ]
    assert app is not None
    assert (limits.CALL_LOG_SIZE, limits.DELIVERY_LOG_SIZE) == (
        Sandbox().calls.size,
        Sandbox().webhooks.deliveries.size,
    )


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_stays_bounded_over_100000_calls() -> None:
    """100,000 API calls (reads, repeated usage events, refusals, and updates that are
    delivered as webhooks) grow the process by less than 4 MiB once its logs are full."""
    sandbox = Sandbox()
    app = receiving(sandbox)
    key = {"Authorization": sandbox.secret_key}
    sub = sandbox.put_customer_on_plan("u1", "pro_monthly")
    usage = json.dumps(
        {
            "usageEvent": {
                "subscriptionId": sub["id"],
                "usageMeterSlug": "api_calls",
                "amount": 1,
                "transactionId": "the-same-event",
            }
        }
    ).encode()
    rename = json.dumps({"customer": {"name": "Ada"}}).encode()

    def calls(count: int, every: int = 100) -> None:
        for i in range(count):
            if i % every == 0:  # an update: announced, delivered to the app
                sandbox.handle("PUT", "/api/v1/customers/u1", body=rename, headers=key)
            elif i % 3 == 0:
                sandbox.handle("POST", "/api/v1/usage-events", body=usage, headers=key)
            elif i % 3 == 1:
                sandbox.handle("GET", "/api/v1/customers/u1", headers=key)
            else:
                sandbox.handle("GET", f"/api/v1/customers/nobody-{i}", headers=key)

    calls(limits.DELIVERY_LOG_SIZE + limits.CALL_LOG_SIZE, every=2)  # the logs are full
    gc.collect()
    before = _resident_bytes()
    started = time.perf_counter()
    calls(100_000)
    gc.collect()
    grown = _resident_bytes() - before
    print(f"100,000 calls in {time.perf_counter() - started:.1f}s: +{grown / 2**20:.2f} MiB")
    assert len(sandbox.calls) == limits.CALL_LOG_SIZE
    assert len(sandbox.webhooks.deliveries) == limits.DELIVERY_LOG_SIZE
    assert len(sandbox.records.usage_events) == 1
    assert grown < 4 * 2**20, f"grew by {grown / 2**20:.1f} MiB"
    assert app is not None
