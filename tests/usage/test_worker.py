"""The worker against the sandbox: one request per batch, refusals bisected into the dead
letters, 429 and 5xx waited out, an event that makes Flowglad fail isolated, a batch of a
dead worker sent again and recorded once, balances that count pending usage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string

from flask_flowglad import Flowglad
from flask_flowglad.errors import FlowgladServerError
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.usage import DeliverySettings, UsageWorker
from tests.support.apps import flowglad_of, make_sandbox_app

BULK = "/api/v1/usage-events/bulk"
FREE_CREDITS = 100


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def app(sandbox: Sandbox, tmp_path: Path) -> Flask:
    return make_sandbox_app(
        sandbox,
        FLOWGLAD_USAGE_OUTBOX=f"sqlite:///{tmp_path / 'outbox.sqlite3'}",
        FLOWGLAD_BILLING_CACHE=str(tmp_path / "cache.sqlite3"),
    )


def worker(app: Flask, **settings: Any) -> UsageWorker:
    with app.app_context():
        made = flowglad_of(app).usage_worker(linger=0.01, **settings)
    made._random = lambda: 0.0  # the shortest back-off, for a quick test
    return made


def used(app: Flask, external_id: str) -> int:
    """api_calls used, as Flowglad's balance says (not counting pending usage)."""
    with app.app_context():
        balances = flowglad_of(app).for_customer(external_id).get_billing().usage_meter_balances()
    (balance,) = [b for b in balances if b["slug"] == "api_calls"]
    return FREE_CREDITS - int(balance["availableBalance"])


def bulk_calls(sandbox: Sandbox) -> list[Any]:
    return [c for c in sandbox.calls if c.method == "POST" and c.path == BULK]


def record(app: Flask, external_id: str, n: int, **options: Any) -> list[str]:
    with app.app_context():
        customer = flowglad_of(app).for_customer(external_id)
        customer.get_billing()
        return [customer.record_usage("api_calls", **options).transaction_id for _ in range(n)]


def test_a_batch_reaches_flowglad_in_one_request(app: Flask, sandbox: Sandbox) -> None:
    for user in ("u1", "u2", "u3"):
        record(app, user, 10, amount=2)
    before = len(sandbox.calls)
    totals = worker(app).drain()
    assert (totals.sent, totals.dead, totals.requests) == (30, 0, 1)
    assert len(bulk_calls(sandbox)) == 1 and bulk_calls(sandbox)[0].status == 200
    # The subscriptions came from the shared billing cache: no billing read at all.
    assert len(sandbox.calls) - before == 1
    assert [used(app, user) for user in ("u1", "u2", "u3")] == [20, 20, 20]
    with app.app_context():
        status = flowglad_of(app).usage_status()
    assert (status.pending, status.sent_last_minute) == (0, 30)


def test_refused_events_are_bisected_into_the_dead_letters(app: Flask, sandbox: Sandbox) -> None:
    record(app, "u1", 15)
    poison = record(app, "u1", 1, subscription_id="sub_not_this_customers")
    record(app, "u1", 20)
    poison += record(app, "u1", 1, subscription_id="sub_nobodys")
    record(app, "u1", 5)
    totals = worker(app).drain()
    assert (totals.sent, totals.dead) == (40, 2)
    # About 2 k log2(n) requests to find k bad events in n, never one per event.
    assert totals.requests <= 1 + 2 * 2 * 6
    assert used(app, "u1") == 40
    with app.app_context():
        letters = flowglad_of(app).usage_worker().outbox.dead_letters()
    assert sorted(d.event.transaction_id for d in letters) == sorted(poison)
    assert all(d.status == 404 and "404" in d.reason for d in letters)


def test_what_the_billing_rules_out_is_refused_without_a_request(
    app: Flask, sandbox: Sandbox
) -> None:
    with app.app_context():
        # No billing at hand in this context, so recording cannot check the meter.
        flowglad_of(app).for_customer("u1").record_usage("no_such_meter")
        flowglad_of(app).for_customer("ghost").record_usage("api_calls")
    record(app, "u1", 3)
    totals = worker(app).drain()
    assert (totals.sent, totals.dead, totals.requests) == (3, 2, 1)
    with app.app_context():
        reasons = {
            d.event.customer_external_id: d.reason
            for d in flowglad_of(app).usage_worker().outbox.dead_letters()
        }
    assert "no usage meter 'no_such_meter'" in reasons["u1"]
    assert "no customer 'ghost'" in reasons["ghost"]


def test_a_rate_limit_is_waited_out_for_as_long_as_flowglad_asks(
    app: Flask, sandbox: Sandbox
) -> None:
    record(app, "u1", 5)
    sandbox.fail_next(429, path=BULK, headers={"Retry-After": "30"}, body='{"error": "slow down"}')
    result = worker(app).flush()
    assert (result.sent, result.retried) == (0, 5)
    assert 30 <= result.wait < 31
    # Nobody takes the events before Flowglad's 30 seconds are over.
    assert worker(app).flush().claimed == 0
    assert used(app, "u1") == 0


def test_a_server_error_is_retried_after_a_back_off(app: Flask, sandbox: Sandbox) -> None:
    record(app, "u1", 5)
    sandbox.fail_next(500, path=BULK)
    first = worker(app).flush()
    assert (first.sent, first.retried) == (0, 5) and 0.4 < first.wait <= 1.0
    time.sleep(first.wait + 0.1)
    totals = worker(app).drain()
    assert totals.sent == 5 and used(app, "u1") == 5


class PoisonedClient:
    """The app's client, except that Flowglad fails every batch holding one event."""

    def __init__(self, client: Any, poison: str) -> None:
        self._client = client
        self.poison = poison
        self.batches: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_usage_events(self, bodies: list[dict[str, Any]]) -> Any:
        self.batches.append(len(bodies))
        if any(body["transactionId"] == self.poison for body in bodies):
            raise FlowgladServerError(500, None, "Internal server error")
        return self._client.create_usage_events(bodies)


def test_an_event_that_makes_flowglad_fail_is_isolated(app: Flask) -> None:
    record(app, "u1", 12)
    (poison,) = record(app, "u1", 1)
    record(app, "u1", 19)
    made = worker(app)
    client = PoisonedClient(made.client, poison)
    made.client = client  # type: ignore[assignment]
    made.settings = DeliverySettings(batch_size=500, linger=0.01, max_backoff=0.02, max_attempts=6)
    sent = dead = 0
    for _ in range(40):
        result = made.flush()
        sent, dead = sent + result.sent, dead + result.dead
        if sent + dead == 32:
            break
        time.sleep(0.03)
    assert (sent, dead) == (31, 1)
    assert used(app, "u1") == 31
    letters = made.outbox.dead_letters()
    assert letters[0].event.transaction_id == poison
    assert "failed this event 6 times while accepting others" in letters[0].reason
    # The 31 others left after the first split; the poison alone after that.
    assert len(client.batches) < 30


def test_a_batch_of_a_worker_that_died_is_sent_again_and_recorded_once(app: Flask) -> None:
    record(app, "u1", 8)
    dead_worker = worker(app, lease=0.5)
    claim = dead_worker.outbox.claim(100, lease=0.5)
    with app.app_context():
        flowglad = flowglad_of(app)
        bodies = [
            e.wire(flowglad.for_customer("u1").get_billing().current_subscription["id"])
            for e in claim.events
        ]  # type: ignore[index]
        flowglad.client.create_usage_events(bodies)
    # ... and it died before settling: its lease ends, another worker sends it all again.
    time.sleep(0.6)
    totals = worker(app, lease=0.5).drain()
    assert totals.sent == 8
    assert used(app, "u1") == 8


def test_balances_count_pending_usage_until_flowglad_has_it(app: Flask) -> None:
    record(app, "u1", 3, amount=10)
    with app.test_request_context():
        flowglad = flowglad_of(app)
        billing = flowglad.for_customer("u1").get_billing()
        balance = billing.check_usage_balance("api_calls")
        assert balance is not None
        assert (balance["availableBalance"], balance["pendingUsage"]) == (70, 30)
        # The billing pages' summary counts it too...
        (usage,) = billing.summary.usage
        assert (usage.available, usage.used, usage.granted) == (70, 30, 100)
        # ...and usage recorded later in the same request.
        flowglad.for_customer("u1").record_usage("api_calls", amount=5)
        (usage,) = billing.summary.usage
        assert (usage.available, usage.used) == (65, 35)
        # What the React SDK is sent stays Flowglad's own figure.
        assert billing.usage_meter_balances()[0]["availableBalance"] == 100
    worker(app).drain()
    with app.test_request_context():
        balance = (
            flowglad_of(app).for_customer("u1").get_billing().check_usage_balance("api_calls")
        )
        assert balance is not None
        assert (balance["availableBalance"], balance["pendingUsage"]) == (65, 0)


def test_the_shared_cache_forgets_the_customers_of_a_delivered_batch(app: Flask) -> None:
    record(app, "u1", 2)
    with app.app_context():
        cache = flowglad_of(app).usage_worker().billing_cache
    assert cache is not None and cache.peek("u1") is not None
    worker(app).drain()
    assert cache.peek("u1") is None


def test_a_template_shows_the_balance_minus_pending_usage(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    app = make_sandbox_app(sandbox, FLOWGLAD_USAGE_OUTBOX=f"sqlite:///{tmp_path / 'o.db'}")

    @app.route("/balance")
    def balance() -> str:
        flowglad_of(app).current_customer().record_usage("api_calls", amount=4)  # type: ignore[union-attr]
        return render_template_string("{{ usage_balance('api_calls') }}")

    from tests.support.apps import User

    response = app.test_client(user=User("u9")).get("/balance")
    assert response.get_data(as_text=True) == "96"
    assert isinstance(flowglad_of(app), Flowglad)
