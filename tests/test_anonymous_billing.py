"""``current_billing`` for a visitor who is not logged in, the flask-login way: an object
whose checks all answer no, never ``None``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_flowglad import AnonymousBilling, BillingSnapshot, current_billing
from flask_flowglad.sandbox import Sandbox

from .support.apps import User, make_sandbox_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(flowglad_sandbox: Sandbox) -> Flask:
    return make_sandbox_app(flowglad_sandbox)


def test_every_check_answers_no_for_an_anonymous_visitor() -> None:
    billing = AnonymousBilling()
    assert billing.is_anonymous is True
    assert not billing
    assert billing.check_feature_access("advanced_analytics") is False
    assert billing.check_feature_access("advanced_analytics", "sub_1") is False
    assert billing.check_usage_balance("api_calls") is None
    assert billing.usage_meter_balances() == []
    assert billing.has_purchased("report_pack") is False
    assert billing.get_price("pro_monthly") is None
    assert billing.get_product("pro") is None
    assert billing.find_subscription("sub_1") is None
    assert billing.current_subscription is None
    assert billing.current_subscriptions == []
    assert billing.billing_portal_url is None
    assert billing.customer == {}
    assert isinstance(billing, BillingSnapshot)


def test_a_customer_snapshot_is_not_anonymous() -> None:
    snapshot = BillingSnapshot({"customer": {"externalId": "u1"}})
    assert snapshot.is_anonymous is False
    assert snapshot


def test_current_billing_is_anonymous_billing_when_logged_out(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    seen: dict[str, Any] = {}

    @app.get("/plan")
    def plan() -> dict[str, Any]:
        seen["is_none"] = current_billing is None
        return {
            "anonymous": current_billing.is_anonymous,
            "pro": current_billing.check_feature_access("advanced_analytics"),
            "calls": current_billing.check_usage_balance("api_calls"),
            "repr": repr(current_billing),
        }

    answer = app.test_client().get("/plan").json
    assert answer == {"anonymous": True, "pro": False, "calls": None, "repr": "<AnonymousBilling>"}
    assert seen["is_none"] is False
    assert flowglad_sandbox.calls == []  # nothing to ask Flowglad about a visitor


def test_current_billing_is_the_customer_snapshot_when_logged_in(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")

    @app.get("/plan")
    def plan() -> dict[str, Any]:
        return {
            "anonymous": current_billing.is_anonymous,
            "pro": current_billing.check_feature_access("advanced_analytics"),
        }

    answer = app.test_client(user=User("u1")).get("/plan").json
    assert answer == {"anonymous": False, "pro": True}


def test_readme_example_passes_mypy_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path),
            "examples/minimal/app.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
