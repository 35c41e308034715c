"""Usage events and outages with the shared cache on a real Redis, between apps that share
nothing else (two gunicorn workers, or two machines): a usage event never makes the next
one read billing again, yet no balance read after it is stale; while Flowglad fails,
reads and feature checks of customers seen lately are decided from the last billing kept,
and nothing else is (not after a change, not for a write, not past the window)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask, render_template_string

from flask_flowglad import cache as cache_module
from flask_flowglad import feature_required
from flask_flowglad.protocol.actions import STALE_HEADER

from ..support.apps import User
from ..support.cache_support import Clock, HTTPUpstream, RedisServer, billing_app

PREFIX = "/api/flowglad"
TTL = 60.0
STALE = 600.0
USAGE = {"usageMeterSlug": "api_calls", "amount": 3}
NAV = "{% if has_feature('advanced_analytics') %}Pro{% else %}Free{% endif %}"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each process asks a failing Flowglad again at once (instead of every 5 s)."""
    monkeypatch.setattr(cache_module, "RETRY_SECONDS", 0.0)


def make(upstream: HTTPUpstream, redis: RedisServer, clock: Clock, **config: Any) -> Flask:
    config.setdefault("FLOWGLAD_BILLING_CACHE_TTL", TTL)
    config.setdefault("FLOWGLAD_STALE_IF_ERROR", STALE)
    app, flowglad = billing_app(upstream, redis.url, **config)
    app.extensions["flowglad"].billing_cache._clock = clock

    @app.route("/use")
    def use() -> str:
        customer = flowglad.current_customer()
        assert customer is not None
        customer.create_usage_event(usage_meter_slug="api_calls", amount=2)
        return render_template_string("{{ usage_balance('api_calls') }}")

    @app.route("/reports")
    @feature_required("advanced_analytics")
    def reports() -> str:
        return "reports"

    @app.route("/nav")
    def nav() -> str:
        return render_template_string(NAV)

    @app.route("/credits")
    def credits() -> str:
        return render_template_string("{{ usage_balance('api_calls') }}")

    return app


def post(app: Flask, action: str, user: str = "u1", body: Any = None) -> Any:
    return app.test_client(user=User(user)).post(f"{PREFIX}/{action}", json=body or {})


def get(app: Flask, path: str, user: str = "u1") -> Any:
    return app.test_client(user=User(user)).get(path)


def balance(app: Flask, user: str = "u1") -> Any:
    response = post(app, "usage-meters/balances", user)
    assert response.status_code == 200, response.get_data(as_text=True)
    [record] = response.get_json()["data"]["usageMeterBalances"]
    return record["availableBalance"]


# -- usage events ----------------------------------------------------------------------


def test_usage_events_read_billing_once_and_no_balance_after_one_is_stale(
    upstream: HTTPUpstream, redis_server: RedisServer, clock: Clock
) -> None:
    one, two = (make(upstream, redis_server, clock) for _ in range(2))
    first = balance(one)
    assert balance(two) == first
    reads = upstream.billing_reads("u1")
    for _ in range(5):
        assert post(two, "usage-events/create", body=USAGE).status_code == 200
    # The events' checks were answered from the entry: no billing read for any of them.
    assert upstream.billing_reads("u1") == reads
    # Yet the next balance read, by any app, sees all of them.
    assert balance(one) == first - 15
    assert balance(two) == first - 15
    assert upstream.billing_reads("u1") == reads + 1


def test_feature_checks_after_a_usage_event_are_still_answered_from_the_cache(
    upstream: HTTPUpstream, redis_server: RedisServer, clock: Clock
) -> None:
    one, two = (make(upstream, redis_server, clock) for _ in range(2))
    assert get(one, "/reports").status_code == 200
    reads = upstream.billing_reads("u1")
    assert post(two, "usage-events/create", body=USAGE).status_code == 200
    assert get(one, "/reports").status_code == 200
    assert get(two, "/nav").get_data(as_text=True) == "Pro"
    assert upstream.billing_reads("u1") == reads


def test_a_usage_event_and_a_balance_in_one_request_agree(
    upstream: HTTPUpstream, redis_server: RedisServer, clock: Clock
) -> None:
    app = make(upstream, redis_server, clock)
    before = balance(app)
    assert get(app, "/use").get_data(as_text=True) == str(before - 2)


# -- stale if error ----------------------------------------------------------------------


def test_while_flowglad_fails_customers_seen_lately_are_decided_as_before(
    upstream: HTTPUpstream,
    redis_server: RedisServer,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    one, two = (make(upstream, redis_server, clock) for _ in range(2))
    fresh = post(one, "customers/billing")
    assert STALE_HEADER not in fresh.headers
    assert get(one, "/nav", "u2").get_data(as_text=True) == "Free"
    clock.now += TTL + 1  # past the TTL: every read asks Flowglad first
    upstream.failing = 503
    caplog.set_level(logging.INFO, logger="flask_flowglad")
    stale = post(two, "customers/billing")
    assert stale.status_code == 200
    assert stale.get_json() == fresh.get_json()
    assert stale.headers[STALE_HEADER] == str(int(TTL + 1))
    assert get(two, "/reports").status_code == 200
    assert get(one, "/nav").get_data(as_text=True) == "Pro"
    assert get(one, "/nav", "u2").get_data(as_text=True) == "Free"
    assert get(two, "/reports", "u2").status_code == 402
    assert get(one, "/credits").status_code == 200
    assert upstream.failed_calls  # Flowglad was asked, and failed
    decisions = [r for r in caplog.records if "served stale" in r.getMessage()]
    assert len(decisions) >= 5
    assert "Flowglad is failing" in caplog.text


def test_no_stale_billing_past_the_window(
    upstream: HTTPUpstream, redis_server: RedisServer, clock: Clock
) -> None:
    app = make(upstream, redis_server, clock)
    assert post(app, "customers/billing").status_code == 200
    upstream.failing = 503
    clock.now += TTL + STALE - 1
    assert post(app, "customers/billing").status_code == 200
    clock.now += 2
    assert post(app, "customers/billing").status_code == 502
    assert get(app, "/reports").status_code == 503


def test_stale_if_error_off_means_the_outage_shows(
    upstream: HTTPUpstream, redis_server: RedisServer, clock: Clock
) -> None:
    app = make(upstream, redis_server, clock, FLOWGLAD_STALE_IF_ERROR="off")
    assert post(app, "customers/billing").status_code == 200
    clock.now += TTL + 1
    upstream.failing = 503
    assert post(app, "customers/billing").status_code == 502
    assert get(app, "/reports").status_code == 503


def test_an_entry_a_change_dropped_is_never_served_stale(
    upstream: HTTPUpstream, redis_server: RedisServer, clock: Clock
) -> None:
    one, two = (make(upstream, redis_server, clock) for _ in range(2))
    subscription = post(one, "customers/billing").get_json()["data"]["currentSubscriptions"][0]
    cancel = {"id": subscription["id"], "cancellation": {"timing": "immediately"}}
    assert post(two, "subscriptions/cancel", body=cancel).status_code == 200
    upstream.failing = 503
    assert post(one, "customers/billing").status_code == 502
    assert get(one, "/reports").status_code == 503  # fail closed: no stale entry
    open_app = make(upstream, redis_server, clock, FLOWGLAD_FAIL_OPEN=True)
    assert get(open_app, "/reports").status_code == 200  # fail open governs it


def test_balances_a_usage_event_outdated_are_never_served_stale(
    upstream: HTTPUpstream, redis_server: RedisServer, clock: Clock
) -> None:
    one, two = (make(upstream, redis_server, clock) for _ in range(2))
    balance(one)
    assert post(two, "usage-events/create", body=USAGE).status_code == 200
    clock.now += TTL + 1
    upstream.failing = 503
    assert post(one, "usage-meters/balances").status_code == 502
    assert get(one, "/credits").status_code == 503
    # What the event did not change is still decided from the entry.
    assert get(one, "/reports").status_code == 200


@pytest.mark.parametrize(
    ("action", "body", "write"),
    [
        ("usage-events/create", USAGE, "POST /api/v1/usage-events"),
        ("subscriptions/cancel", None, "/cancel"),
    ],
)
def test_writes_never_use_stale_billing(
    upstream: HTTPUpstream,
    redis_server: RedisServer,
    clock: Clock,
    action: str,
    body: Any,
    write: str,
) -> None:
    app = make(upstream, redis_server, clock)
    data = post(app, "customers/billing").get_json()["data"]
    if body is None:
        sid = data["currentSubscriptions"][0]["id"]
        body = {"id": sid, "cancellation": {"timing": "immediately"}}
    clock.now += TTL + 1
    upstream.failing = 503
    assert post(app, "customers/billing").status_code == 200  # a read: stale
    response = post(app, action, body=body)
    assert response.status_code == 502
    assert response.get_json()["data"] is None
    # The write's checks asked Flowglad (and failed): the write itself was never sent.
    assert not [call for call in upstream.failed_calls if write in call]


def test_fresh_reads_resume_when_flowglad_is_back(
    upstream: HTTPUpstream,
    redis_server: RedisServer,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make(upstream, redis_server, clock)
    assert post(app, "customers/billing").status_code == 200
    clock.now += TTL + 1
    upstream.failing = 503
    assert STALE_HEADER in post(app, "customers/billing").headers
    upstream.failing = None
    reads = upstream.billing_reads("u1")
    back = post(app, "customers/billing")
    assert back.status_code == 200
    assert STALE_HEADER not in back.headers
    assert upstream.billing_reads("u1") == reads + 1
    assert "Flowglad answers again" in caplog.text
    # Stored again: the next read is a fresh hit.
    assert STALE_HEADER not in post(app, "customers/billing").headers
    assert upstream.billing_reads("u1") == reads + 1


def test_while_failing_one_read_per_retry_interval_asks_flowglad(
    upstream: HTTPUpstream,
    redis_server: RedisServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make(upstream, redis_server, clock)
    assert post(app, "customers/billing").status_code == 200
    clock.now += TTL + 1
    upstream.failing = 503
    monkeypatch.setattr(cache_module, "RETRY_SECONDS", 3600.0)
    for _ in range(5):
        assert post(app, "customers/billing").status_code == 200
        assert get(app, "/reports").status_code == 200
    # The first read found Flowglad failing; the others did not wait for it to fail again.
    assert len(upstream.failed_calls) == 1


def test_with_a_stale_entry_to_fall_back_on_a_read_is_not_retried(
    upstream: HTTPUpstream, redis_server: RedisServer, clock: Clock
) -> None:
    app = make(upstream, redis_server, clock, FLOWGLAD_MAX_RETRIES=2, FLOWGLAD_MAX_RETRY_WAIT=0.1)
    assert post(app, "customers/billing").status_code == 200
    clock.now += TTL + 1
    upstream.failing = 503
    assert post(app, "customers/billing").status_code == 200  # stale, after one attempt
    assert upstream.failed_calls == ["GET /api/v1/customers/u1/billing"]
    # A customer with nothing to fall back on gets every attempt the settings allow.
    assert post(app, "customers/billing", "u2").status_code == 502
    assert upstream.failed_calls.count("GET /api/v1/customers/u2/billing") == 3
