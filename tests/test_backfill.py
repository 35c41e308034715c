"""The back-fill engine without Flask: what each answer of Flowglad makes of an account,
and the checkpoint file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask_flowglad.backfill import Backfill, Checkpoint, Result
from flask_flowglad.client import FlowgladClient
from flask_flowglad.identity import CustomerIdentity

from .support.apps import API, BASE_URL

ADA = CustomerIdentity("ada", "Ada", "ada@example.com")


def job(**options: Any) -> Backfill:
    client = FlowgladClient("sk_test_unit", base_url=BASE_URL, max_retries=0)
    return Backfill(client, rate=0, backoff=0.001, **options)


def test_a_409_after_a_failed_attempt_counts_as_existing(upstream: Any) -> None:
    # The first attempt may have made the customer before the 500: the 409 says it did.
    upstream.post(
        f"{API}/customers",
        [{"status_code": 500, "json": {"error": "boom"}}, {"status_code": 409, "json": {}}],
    )
    result = job().create(ADA)
    assert (result.outcome, result.retried_errors) == ("existing", 1)
    sent = [r.json()["customer"] for r in upstream.request_history]
    assert sent == [{"externalId": "ada", "name": "Ada", "email": "ada@example.com"}] * 2


def test_a_400_fails_the_account_at_once_with_flowglads_reason(upstream: Any) -> None:
    upstream.post(f"{API}/customers", status_code=400, json={"error": "email: Invalid email"})
    result = job().create(ADA)
    assert result.outcome == "failed"
    assert result.reason == "400: email: Invalid email"
    assert len(upstream.request_history) == 1


def test_429s_are_waited_out_and_not_counted_as_attempts(upstream: Any) -> None:
    limited = {"status_code": 429, "headers": {"Retry-After": "0"}, "json": {}}
    upstream.post(f"{API}/customers", [limited] * 5 + [{"json": {"data": {"customer": {}}}}])
    result = job(max_attempts=1).create(ADA)
    assert (result.outcome, result.rate_limited, result.retried_errors) == ("created", 5, 0)


def test_a_halted_run_sends_nothing_more(upstream: Any) -> None:
    backfill = job()
    backfill.halt()
    assert backfill.create(ADA).outcome == "interrupted"
    assert upstream.request_history == []


def test_checkpoint_skips_settled_accounts_and_retries_failed_ones(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.jsonl"
    first = Checkpoint(path)
    first.record(Result("a", "created"))
    first.record(Result("b", "existing"))
    first.record(Result("c", "failed", "400: bad"))
    first.record(Result("d", "interrupted"))
    first.close()
    with path.open("a") as file:
        file.write('{"id": "e", "outc')  # a crash cut this line short
    again = Checkpoint(path)
    assert ("a" in again, "b" in again, "c" in again, "d" in again, "e" in again) == (
        True,
        True,
        False,
        False,
        False,
    )
    again.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[2]) == {"id": "c", "outcome": "failed", "reason": "400: bad"}


def test_run_reports_every_outcome_with_the_failed_ids(upstream: Any) -> None:
    upstream.post(
        f"{API}/customers",
        [
            {"json": {"data": {"customer": {}}}},
            {"status_code": 409, "json": {}},
            {"status_code": 400, "json": {"error": "no"}},
        ],
    )

    def source() -> Any:
        for external_id in ("a", "b", "c"):
            yield CustomerIdentity(external_id)
        yield "bad/id"

    report = job(concurrency=1).run(source())
    assert (report.created, report.existing) == (1, 1)
    assert set(report.failed) == {"c", "'bad/id'"}
    assert not report.stopped


def test_a_refused_key_stops_the_run_instead_of_failing_every_account(upstream: Any) -> None:
    upstream.post(f"{API}/customers", status_code=401, text="API key invalid")
    accounts = (CustomerIdentity(f"acct-{n}") for n in range(1000))
    report = job(concurrency=2).run(accounts)
    assert report.stopped
    assert report.aborted == "Flowglad refused the secret key (401); nothing more was sent."
    assert report.failed == {} and report.created == 0
    assert len(upstream.request_history) <= 2  # at most the requests already in flight


def test_a_failure_reason_never_carries_a_secret_key(upstream: Any) -> None:
    upstream.post(
        f"{API}/customers", status_code=400, json={"error": "key sk_test_unit   is not allowed"}
    )
    assert job().create(ADA).reason == "400: key sk_test_\u2026 is not allowed"
