"""``flask flowglad sandbox``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

from flask_flowglad import cli


def _invoke(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[Any, dict[str, Any]]:
    served: dict[str, Any] = {}

    def fake_run_simple(host: str, port: int, app: Any, **kwargs: Any) -> None:
        served.update(host=host, port=port, app=app, **kwargs)

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    group = FlaskGroup(create_app=lambda: Flask("cli_test"))
    group.add_command(cli.flowglad_cli)
    result = CliRunner().invoke(group, ["flowglad", "sandbox", *args], obj=ScriptInfo())
    return result, served


def test_sandbox_command_prints_url_and_key_and_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    result, served = _invoke(monkeypatch, "--port", "5077", "--secret-key", "sk_test_cli")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5077" in result.output
    assert "FLOWGLAD_SECRET_KEY=sk_test_cli" in result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 5077)
    client = served["app"].test_client()
    response = client.get(
        "/api/v1/pricing-models/default", headers={"Authorization": "sk_test_cli"}
    )
    assert response.status_code == 200


def test_sandbox_command_loads_a_pricing_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        '{"products": [{"slug": "x", "default": true, '
        '"prices": [{"slug": "x_monthly", "unitPrice": 0}]}]}'
    )
    result, served = _invoke(monkeypatch, "--pricing", str(path))
    assert result.exit_code == 0, result.output
    response = (
        served["app"]
        .test_client()
        .get("/api/v1/pricing-models/default", headers={"Authorization": "sk_test_sandbox"})
    )
    assert response.get_json()["pricingModel"]["products"][0]["slug"] == "x"


def test_sandbox_command_rejects_an_invalid_pricing_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"products": [{"slug": "x", "prices": []}]}')
    result, served = _invoke(monkeypatch, "--pricing", str(path))
    assert result.exit_code == 2
    assert "at least one price" in result.output
    assert served == {}
