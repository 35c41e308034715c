"""``python -m flask_flowglad.sandbox``: a local Flowglad for apps on any stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flask_flowglad.sandbox.command import sandbox_command


def _invoke(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[Any, dict[str, Any]]:
    served: dict[str, Any] = {}

    def fake_run_simple(host: str, port: int, app: Any, **kwargs: Any) -> None:
        served.update(host=host, port=port, app=app, **kwargs)

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    return CliRunner().invoke(sandbox_command, list(args)), served


def test_command_prints_base_url_key_pages_and_controls(monkeypatch: pytest.MonkeyPatch) -> None:
    result, served = _invoke(monkeypatch, "--port", "5078", "--secret-key", "sk_test_any")
    assert result.exit_code == 0, result.output
    for line in (
        "FLOWGLAD_BASE_URL=http://127.0.0.1:5078",
        "FLOWGLAD_SECRET_KEY=sk_test_any",
        "http://127.0.0.1:5078/flowglad-sandbox/",
        "http://127.0.0.1:5078/_sandbox/v1/",
    ):
        assert line in result.output
    client = served["app"].test_client()
    reset = client.post("/_sandbox/v1/reset", headers={"Authorization": "sk_test_any"})
    assert reset.get_json() == {"reset": True}


def test_command_can_allow_several_subscriptions_per_customer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, served = _invoke(monkeypatch, "--allow-multiple-subscriptions")
    assert result.exit_code == 0, result.output
    key = {"Authorization": "sk_test_sandbox"}
    client = served["app"].test_client()
    client.post("/_sandbox/v1/customers/u/plan", json={"priceSlug": "pro_monthly"}, headers=key)
    body = {"customerExternalId": "u", "priceSlug": "pro_yearly"}
    assert client.post("/api/v1/subscriptions", json=body, headers=key).status_code == 200


def test_command_refuses_an_invalid_pricing_file_before_serving(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"bad": 1}))
    result, served = _invoke(monkeypatch, "--pricing", str(path))
    assert result.exit_code == 2
    assert "unknown member 'bad'" in result.output
    assert served == {}


def test_module_runs_without_a_flask_app() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flask_flowglad.sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--pricing" in done.stdout and "--secret-key" in done.stdout
