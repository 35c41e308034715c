"""A sandbox kept in a state file: shared by every process that opens it, kept across
restarts, and never losing an update to a race between processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.sandbox.store import StateFileError

from .sandbox_helpers import assert_file_holds_the_same
from .state_file_worker import AMOUNT, CLAIMS_PER_THREAD, EVENTS_PER_THREAD

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#: The demo model with a team plan of 50 seats and a million API calls a month.
TEAM_PRICING: dict[str, Any] = {
    "usageMeters": [{"slug": "api_calls", "prices": [{"slug": "overage", "unitPrice": 1}]}],
    "resources": [{"slug": "seats"}],
    "features": [
        {"slug": "seats50", "type": "resource", "resource": "seats", "amount": 50},
        {
            "slug": "calls",
            "type": "usage_credit_grant",
            "usageMeter": "api_calls",
            "amount": 1_000_000,
        },
    ],
    "products": [
        {"slug": "free", "default": True, "prices": [{"slug": "free", "unitPrice": 0}]},
        {
            "slug": "team",
            "features": ["seats50", "calls"],
            "prices": [{"slug": "team", "unitPrice": 9900}],
        },
    ],
}


def test_two_sandboxes_on_one_file_are_one_sandbox(tmp_path: Path) -> None:
    first, second = Sandbox(path=tmp_path / "s.db"), Sandbox(path=tmp_path / "s.db")
    assert first.pricing.record == second.pricing.record
    sub = first.put_customer_on_plan("u1", "pro_monthly")
    second.record_usage("u1", "api_calls", 40)
    assert second.billing("u1")["currentSubscription"]["id"] == sub["id"]
    [balance] = first.subscription(sub["id"])["experimental"]["usageMeterBalances"]
    assert balance["availableBalance"] == 10_000 - 40


def test_a_restart_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state" / "sandbox.db"  # the folder is made too
    before = Sandbox(path=path)
    hook = Flask(__name__)
    received: list[str] = []
    hook.add_url_rule(
        "/hook", "hook", lambda: received.append(request.json["id"]) or "", methods=["POST"]
    )
    before.webhooks.deliver_to_app(hook, "/hook", SECRET)
    before.put_customer_on_plan("u1", "pro_monthly")
    before.record_usage("u1", "api_calls", 7)
    session = before.handle(
        "POST",
        "/api/v1/checkout-sessions",
        body=json.dumps(
            {
                "checkoutSession": {
                    "type": "product",
                    "customerExternalId": "u1",
                    "priceSlug": "report_pack",
                    "successUrl": "http://app/ok",
                    "cancelUrl": "http://app/no",
                }
            }
        ).encode(),
        headers={"Authorization": before.secret_key},
    )
    session_id = json.loads(session[2])["checkoutSession"]["id"]
    moved = before.advance_time(days=3)
    billing = before.billing("u1")
    deliveries = [(d.id, d.type, d.status) for d in before.webhooks.deliveries]
    del before

    after = Sandbox(path=path)
    assert after.billing("u1") == billing
    # A day passed for the checkout session too: it expired, in the file as in memory.
    assert after.checkout_session(session_id)["status"] == "expired"
    assert after.now() >= moved["now"]
    assert [(d.id, d.type, d.status) for d in after.webhooks.deliveries] == deliveries
    assert len(received) == len(deliveries) > 0


def test_reset_empties_the_sandbox_for_every_process_and_keeps_its_time(tmp_path: Path) -> None:
    first, second = Sandbox(path=tmp_path / "s.db"), Sandbox(path=tmp_path / "s.db")
    first.put_customer_on_plan("u1", "pro_monthly")
    assert second.billing("u1")
    later = second.advance_time(days=40)["now"]
    second.reset()
    with pytest.raises(Exception, match="not found"):
        first.billing("u1")
    assert len(first.records.customers) == 0
    assert first.now() >= later
    first.create_customer("u1")
    assert [s["name"] for s in second.billing("u1")["subscriptions"]] == ["Free - Free"]


def test_a_file_that_is_no_sandboxs_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the records you are looking for" * 100)
    with pytest.raises(StateFileError, match="not a sandbox state file"):
        Sandbox(path=path)


def test_processes_racing_on_one_file_lose_no_update(tmp_path: Path) -> None:
    """2 processes x 8 threads claim 80 seats of 50 and record 400 usage events at once:
    exactly 50 claims are made, every event is counted, each exactly once."""
    state, pricing = tmp_path / "shared.db", tmp_path / "pricing.json"
    pricing.write_text(json.dumps(TEAM_PRICING))
    sandbox = Sandbox(str(pricing), path=state)
    sub_id = sandbox.put_customer_on_plan("team-1", "team")["id"]
    go = tmp_path / "go"
    worker = str(Path(__file__).with_name("state_file_worker.py"))
    argv = [sys.executable, worker, str(state), str(pricing), sub_id, str(go), "8"]
    processes = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    go.touch()
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        answers.append(json.loads(out))
    attempts = 2 * 8 * CLAIMS_PER_THREAD
    events = 2 * 8 * EVENTS_PER_THREAD
    assert sum(a["claimed"] for a in answers) == 50
    assert sum(a["refused"] for a in answers) == attempts - 50
    assert sum(a["recorded"] for a in answers) == events
    assert sum(a["failed"] for a in answers) == 0
    with sandbox.transaction() as account:
        claims = [c for c in account.records.claims if c["releasedAt"] is None]
        recorded = account.records.usage_events.values()
    assert len(claims) == len({c["id"] for c in claims}) == 50
    assert len(recorded) == events
    [balance] = sandbox.subscription(sub_id)["experimental"]["usageMeterBalances"]
    assert balance["availableBalance"] == 1_000_000 - events * AMOUNT


OPERATIONS = st.sampled_from(
    ["customer", "pro", "report", "usage", "claim", "cancel", "uncancel", "advance", "checkout"]
)


def _apply(sandbox: Sandbox, operation: str, who: str) -> None:
    """One change a process could make; refusals (a 4xx) are part of the game."""
    key = {"Authorization": sandbox.secret_key}

    def post(path: str, body: dict[str, Any]) -> None:
        sandbox.handle("POST", path, body=json.dumps(body).encode(), headers=key)

    if operation == "customer":
        sandbox.create_customer(who)
    elif operation in ("pro", "report"):
        sandbox.put_customer_on_plan(who, "pro_monthly" if operation == "pro" else "report_pack")
    elif operation == "advance":
        sandbox.advance_time(days=11)
    elif sandbox.records.customer_by_external_id(who) is None:
        return
    elif operation == "checkout":
        body = {"type": "product", "customerExternalId": who, "priceSlug": "pro_yearly"}
        body.update(successUrl="http://a/ok", cancelUrl="http://a/no")
        post("/api/v1/checkout-sessions", {"checkoutSession": body})
    else:
        current = sandbox.billing(who).get("currentSubscription")
        if current is None:
            return
        path = f"/api/v1/subscriptions/{current['id']}"
        if operation == "usage":
            sandbox.record_usage(who, "api_calls", 3)
        elif operation == "claim":
            post(f"/api/v1/resource-claims/{current['id']}/claim", {"resourceSlug": "seats"})
        elif operation == "cancel":
            post(
                path + "/cancel", {"cancellation": {"timing": "at_end_of_current_billing_period"}}
            )
        else:
            post(path + "/uncancel", {})


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from([0, 1]), OPERATIONS, st.sampled_from(["a", "b"])), max_size=25
    )
)
def test_two_processes_interleaving_changes_agree_with_the_file(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, str, str]]
) -> None:
    """Any interleaving of changes by two sandboxes on one file: each, and a third opened
    afresh, hold the same records."""
    path = tmp_path_factory.mktemp("interleaved") / "s.db"
    pair = [Sandbox(path=path), Sandbox(path=path)]
    for who, operation, customer in steps:
        _apply(pair[who], operation, customer)
    for sandbox in pair:
        assert_file_holds_the_same(sandbox)
