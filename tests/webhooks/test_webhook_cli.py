"""``flask flowglad send-test-webhook`` and ``flask flowglad sandbox --webhook-url``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

from flask_flowglad import Flowglad, cli
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.signals import payment_webhook, webhook_received

from ..support.apps import make_app
from ..support.servers import serving
from ..support.webhook_helpers import SECRET, recording, webhook_app

pytestmark = pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return webhook_app(tmp_path, FLOWGLAD_SANDBOX=Sandbox(), FLOWGLAD_SECRET_KEY=None)


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


def _send(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(cli.flowglad_cli, ["send-test-webhook", *args])


def test_send_test_webhook_runs_the_apps_receivers(app: Flask) -> None:
    sandbox = app.extensions["flowglad"].sandbox
    customer = sandbox.create_customer("u1")
    with recording(payment_webhook) as seen:
        result = _send(app, "--object", "payment", "--customer", "u1")
    assert result.exit_code == 0, result.output
    assert "-> 200" in result.output
    [(sender, event)] = seen
    assert sender is app
    assert (event.object, event.customer_external_id) == ("payment", "u1")
    # The customer's Flowglad id is read from Flowglad (here the sandbox).
    assert event.customer_id == customer["id"]
    assert event.object_id.startswith("pym_")


def test_send_test_webhook_with_a_repeated_id_shows_de_duplication(app: Flask) -> None:
    with recording(webhook_received) as seen:
        first = _send(app, "--customer", "u1", "--message-id", "msg_cli")
        second = _send(app, "--customer", "u1", "--message-id", "msg_cli")
    assert '"duplicate":false' in first.output.replace(" ", "")
    assert '"duplicate":true' in second.output.replace(" ", "")
    assert len(seen) == 1


def test_send_test_webhook_posts_to_a_running_server(app: Flask, live_url: str) -> None:
    with recording(webhook_received) as seen:
        result = _send(app, "--customer", "u9", "--object", "customer", "--url", live_url)
    assert result.exit_code == 0, result.output
    assert f"POST {live_url}/webhooks/flowglad" in result.output
    assert [event.customer_external_id for _, event in seen] == ["u9"]


def test_send_test_webhook_without_a_secret_is_a_usage_error(tmp_path: Path) -> None:
    plain = make_app()
    Flowglad(plain)
    result = plain.test_cli_runner().invoke(
        cli.flowglad_cli, ["send-test-webhook", "--customer", "u1"]
    )
    assert result.exit_code == 2
    assert "FLOWGLAD_WEBHOOK_SECRET" in result.output


def test_send_test_webhook_to_nothing_fails(app: Flask) -> None:
    result = _send(app, "--customer", "u1", "--url", "http://127.0.0.1:1")
    assert result.exit_code == 1
    assert "failed" in result.output


def _sandbox_command(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[Any, dict[str, Any]]:
    served: dict[str, Any] = {}
    monkeypatch.setattr(
        "werkzeug.serving.run_simple", lambda host, port, app, **kw: served.update(app=app)
    )
    group = FlaskGroup(create_app=lambda: Flask("cli_test"))
    group.add_command(cli.flowglad_cli)
    result = CliRunner().invoke(group, ["flowglad", "sandbox", *args], obj=ScriptInfo())
    return result, served


def test_sandbox_command_posts_webhooks_to_the_url(
    monkeypatch: pytest.MonkeyPatch, live_url: str
) -> None:
    url = f"{live_url}/webhooks/flowglad"
    with recording(webhook_received) as seen:
        result, served = _sandbox_command(
            monkeypatch, "--webhook-url", url, "--webhook-secret", SECRET
        )
        assert result.exit_code == 0, result.output
        assert f"webhooks: POST {url}" in result.output
        created = (
            served["app"]
            .test_client()
            .post(
                "/api/v1/customers",
                json={"customer": {"externalId": "u8", "name": "", "email": ""}},
                headers={"Authorization": "sk_test_sandbox"},
            )
        )
        assert created.status_code == 200, created.get_data(as_text=True)
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [(e.object, e.customer_external_id) for _, e in seen] == [
        ("customer", "u8"),
        ("subscription", "u8"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--webhook-url", "http://127.0.0.1:1/hooks"), "go together"),
        (("--webhook-url", "http://x/h", "--webhook-secret", "sk_test_1"), "whsec_"),
        (("--webhook-url", "http://x/h", "--webhook-secret", "whsec_"), "whsec_"),
    ],
)
def test_sandbox_command_refuses_half_or_wrong_webhook_options(
    monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    result, served = _sandbox_command(monkeypatch, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert served == {}
