"""``flask flowglad usage-worker --once``, ``usage-status`` and ``usage-dead-letters``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_flowglad import cli
from flask_flowglad.sandbox import Sandbox
from tests.support.apps import flowglad_of, make_sandbox_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_sandbox_app(Sandbox(), FLOWGLAD_USAGE_OUTBOX=f"sqlite:///{tmp_path / 'o.db'}")


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(cli.flowglad_cli, list(args))


def record(app: Flask, customer: str, n: int, **options: Any) -> None:
    with app.app_context():
        service = flowglad_of(app).for_customer(customer)
        service.get_billing()
        for _ in range(n):
            service.record_usage("api_calls", **options)


def test_status_then_once_then_status(app: Flask) -> None:
    record(app, "u1", 3)
    status = json.loads(run(app, "usage-status", "--json").output)
    assert status["pending"] == 3 and status["sent_last_minute"] == 0
    assert status["oldest_age_seconds"] >= 0
    result = run(app, "usage-worker", "--once")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent 3, dead letters 0, waiting 0")
    text = run(app, "usage-status").output
    assert "pending                  0" in text and "sent in the last minute  3" in text


def test_dead_letters_are_listed_requeued_and_discarded(app: Flask) -> None:
    record(app, "u1", 2, subscription_id="sub_gone")
    record(app, "u1", 1)
    assert run(app, "usage-worker", "--once").output.startswith("sent 1, dead letters 2")
    listed = [
        json.loads(line) for line in run(app, "usage-dead-letters", "--json").output.splitlines()
    ]
    assert len(listed) == 2 and all(item["status"] == 404 for item in listed)
    assert "Subscription" in listed[0]["reason"]
    table = run(app, "usage-dead-letters").output
    assert listed[0]["transactionId"] in table and "404" in table
    assert run(app, "usage-dead-letters", "--discard", listed[0]["id"]).output == "discarded 1\n"
    assert run(app, "usage-dead-letters", "--requeue-all").output == "requeued 1\n"
    # Still refused: back in the dead letters, and --once says the run was not clean.
    result = run(app, "usage-worker", "--once")
    assert result.output.startswith("sent 0, dead letters 1") and result.exit_code == 0


def test_once_exits_non_zero_while_flowglad_cannot_be_reached(app: Flask) -> None:
    record(app, "u1", 2)
    with app.app_context():
        flowglad_of(app).sandbox.fail_next(500, times=5, path="/usage-events/bulk")  # type: ignore[union-attr]
    result = run(app, "usage-worker", "--once")
    assert result.exit_code == 1
    assert result.output.startswith("sent 0, dead letters 0, waiting 2")


def test_without_an_outbox_the_commands_say_what_to_set(tmp_path: Path) -> None:
    app = make_sandbox_app(Sandbox())
    for command in ("usage-status", "usage-dead-letters", "usage-worker"):
        result = run(app, command)
        assert result.exit_code == 2 and "FLOWGLAD_USAGE_OUTBOX is not set" in result.output


def test_the_worker_stops_on_sigterm_after_its_batch(tmp_path: Path) -> None:
    """A worker process started as an operator would, stopped as a supervisor would."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CHAOS_UPSTREAM": "http://127.0.0.1:9",
        "CHAOS_SECRET_KEY": "sk_test_sandbox",
        "CHAOS_OUTBOX": f"sqlite:///{tmp_path / 'o.db'}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "tests.usage.chaos_app",
            "flowglad",
            "usage-worker",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    assert "usage worker started" in process.stderr.readline()
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(20) == 0
    assert "usage worker stopped" in process.stderr.read()
    process.stderr.close()
