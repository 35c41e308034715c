"""``flask flowglad sandbox``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

from flask_flowglad import Flowglad, cli
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.sandbox.command import sandbox_command


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


def _flask(create_app: Any, *args: str) -> Any:
    """``flask flowglad ...`` for the app ``create_app`` makes."""
    group = FlaskGroup(create_app=create_app)
    group.add_command(cli.flowglad_cli)
    return CliRunner().invoke(group, ["flowglad", *args], obj=ScriptInfo(create_app=create_app))


def _app_on(sandbox: object, instance: Path, **config: Any) -> Any:
    def create_app() -> Flask:
        app = Flask("cli_sandbox", instance_path=str(instance))
        app.config.update(FLOWGLAD_SANDBOX=sandbox, **config)
        flowglad = Flowglad(app)

        @flowglad.customer_source
        def accounts() -> list[str]:
            return ["a1", "a2", "a3"]

        return app

    return create_app


@pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")
def test_advance_and_reset_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    sandbox = Sandbox(path=state)
    sub = sandbox.put_customer_on_plan("u1", "pro_monthly")
    result = CliRunner().invoke(sandbox_command, ["advance", "1d12h", "--state", str(state)])
    assert result.exit_code == 0, result.output
    assert "Sandbox time moved 1d12h: now 20" in result.output
    assert "0 renewed" in result.output
    result = CliRunner().invoke(sandbox_command, ["advance", "5w", "--state", str(state)])
    assert "1 renewed" in result.output, result.output
    assert (
        sandbox.subscription(sub["id"])["currentBillingPeriodStart"]
        == (sub["currentBillingPeriodEnd"])
    )
    result = CliRunner().invoke(sandbox_command, ["reset", "--state", str(state)])
    assert result.exit_code == 0, result.output
    assert len(Sandbox(path=state).records.customers) == 0


@pytest.mark.parametrize("duration", ["30", "d30", "1d-1h", "", "1.5d", "30x"])
def test_advance_refuses_what_is_no_duration(tmp_path: Path, duration: str) -> None:
    result = CliRunner().invoke(
        sandbox_command, ["advance", duration, "--state", str(tmp_path / "s.db")]
    )
    assert result.exit_code == 2
    assert "is not a duration such as 30d" in result.output


@pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")
def test_flask_commands_use_the_apps_sandbox_when_it_is_a_file(tmp_path: Path) -> None:
    """``flask flowglad backfill`` and ``... sandbox advance`` in their own process write
    into the file the server reads; relative to the instance folder."""
    create_app = _app_on("flowglad-sandbox.db", tmp_path / "instance")
    made = _flask(create_app, "backfill", "--rate", "0")
    assert made.exit_code == 0, made.output
    assert f"the sandbox in {tmp_path / 'instance' / 'flowglad-sandbox.db'}" in made.output
    server = Sandbox(path=tmp_path / "instance" / "flowglad-sandbox.db")
    assert [server.billing(x)["customer"]["externalId"] for x in ("a1", "a2", "a3")] == [
        "a1",
        "a2",
        "a3",
    ]
    before = server.now()
    moved = _flask(create_app, "sandbox", "advance", "2d")
    assert moved.exit_code == 0, moved.output
    assert server.now() >= before + 2 * 24 * 3600 * 1000


@pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")
def test_flask_commands_refuse_a_sandbox_kept_in_memory(tmp_path: Path) -> None:
    create_app = _app_on(True, tmp_path)
    backfill = _flask(create_app, "backfill", "--rate", "0")
    assert backfill.exit_code == 2
    assert "FLOWGLAD_SANDBOX = True keeps the sandbox in each process's memory" in backfill.output
    assert "created" not in backfill.output
    dry = _flask(create_app, "backfill", "--dry-run")
    assert dry.exit_code == 0, dry.output
    advance = _flask(create_app, "sandbox", "advance", "30d")
    assert advance.exit_code == 2
    assert "kept in memory (FLOWGLAD_SANDBOX = True)" in advance.output


def test_advance_and_reset_a_running_sandbox_over_http(
    flowglad_sandbox: Sandbox, flowglad_sandbox_url: str
) -> None:
    sub = flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    target = ["--url", flowglad_sandbox_url, "--secret-key", flowglad_sandbox.secret_key]
    result = CliRunner().invoke(sandbox_command, ["advance", "32d", *target])
    assert result.exit_code == 0, result.output
    assert "1 renewed" in result.output
    assert (
        flowglad_sandbox.subscription(sub["id"])["currentBillingPeriodStart"]
        == (sub["currentBillingPeriodEnd"])
    )
    wrong = CliRunner().invoke(
        sandbox_command, ["reset", "--url", flowglad_sandbox_url, "--secret-key", "sk_test_no"]
    )
    assert wrong.exit_code == 1 and "answered 401" in wrong.output
    assert CliRunner().invoke(sandbox_command, ["reset", *target]).exit_code == 0
    assert len(flowglad_sandbox.records.customers) == 0
