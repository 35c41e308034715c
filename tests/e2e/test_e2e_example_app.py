"""The example app's server side without a browser: CLI, metered endpoint, CSRF,
configuration. Quick, and they pin what the journey relies on."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_flowglad.sandbox import Sandbox


def form_token(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def signed_up_client(app: Flask, email: str = "kay@example.com") -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/signup",
        data={
            "csrf_token": form_token(client, "/signup"),
            "name": "Kay",
            "email": email,
            "password": "correct horse battery",
        },
    )
    assert response.status_code == 302, response.text
    return client


def json_of(response: TestResponse) -> dict[str, Any]:
    body = response.get_json()
    assert isinstance(body, dict), response.text
    return body


def created_external_ids(sandbox: Sandbox) -> list[str]:
    calls = [c if isinstance(c, dict) else vars(c) for c in sandbox.calls]
    return [
        c["json"]["customer"]["externalId"]
        for c in calls
        if c["method"] == "POST" and c["path"] == "/api/v1/customers" and c["status"] < 300
    ]


def test_backfill_creates_customers_for_existing_users(make_app: Callable[..., Flask]) -> None:
    from saas_app.models import create_user

    from flask_flowglad.cli import flowglad_cli

    app = make_app()
    with app.app_context():  # accounts from before the app billed through Flowglad
        create_user("a@example.com", "A", "password-a")
        create_user("b@example.com", "B", "password-b")
    result = app.test_cli_runner().invoke(flowglad_cli, ["backfill", "--rate", "0"])
    assert result.exit_code == 0, result.output
    assert "  created   2\n  existing  0\n  failed    0" in result.output
    assert sorted(created_external_ids(app.config["FLOWGLAD_SANDBOX"])) == ["1", "2"]

    again = app.test_cli_runner().invoke(flowglad_cli, ["backfill", "--rate", "0"])
    assert again.exit_code == 0, again.output  # existing customers are fine
    assert "  created   0\n  existing  2\n  failed    0" in again.output


def test_metered_endpoint_records_usage_and_refuses_when_spent(
    make_app: Callable[..., Flask],
) -> None:
    client = signed_up_client(make_app())
    first = client.post("/analytics/run", json={"calls": 1})
    assert first.status_code == 200, first.text
    balance = json_of(first)["availableBalance"]
    assert isinstance(balance, int)

    spend_all = client.post("/analytics/run", json={"calls": balance})
    assert spend_all.status_code == 200, spend_all.text
    assert json_of(spend_all)["availableBalance"] == 0

    refused = client.post("/analytics/run", json={"calls": 1})
    assert refused.status_code == 402
    assert "Out of API calls" in json_of(refused)["error"]
    # The number in the message and the member agree, so a client can show either.
    assert json_of(refused)["availableBalance"] == 0
    assert "0 are left" in json_of(refused)["error"]


def test_team_backfill_creates_each_team_once(make_app: Callable[..., Flask]) -> None:
    from saas_app.db import get_db
    from saas_app.models import create_user

    from flask_flowglad.cli import flowglad_cli

    app = make_app(SAAS_BILLING_MODE="team")
    with app.app_context():
        first = create_user("a@example.com", "A", "password-a")
        second = create_user("b@example.com", "B", "password-b")
        create_user("c@example.com", "C", "password-c")
        with get_db() as db:  # B joins A's team
            db.execute("UPDATE users SET team_id = ? WHERE id = ?", (first.team_id, second.id))
    result = app.test_cli_runner().invoke(flowglad_cli, ["backfill", "--rate", "0"])
    assert result.exit_code == 0, result.output
    assert "  created   2\n  existing  0\n  failed    0" in result.output
    assert sorted(created_external_ids(app.config["FLOWGLAD_SANDBOX"])) == ["team-1", "team-3"]


def test_same_transaction_id_is_billed_once(make_app: Callable[..., Flask]) -> None:
    client = signed_up_client(make_app())
    body = {"calls": 3, "transaction_id": "run_resubmitted"}
    first = json_of(client.post("/analytics/run", json=body))["availableBalance"]
    second = json_of(client.post("/analytics/run", json=body))["availableBalance"]
    assert first == second


def test_forms_without_csrf_token_are_refused(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    response = client.post(
        "/signup", data={"name": "M", "email": "m@example.com", "password": "long enough"}
    )
    assert response.status_code == 400


def test_signup_rejects_a_taken_email(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    signed_up_client(app, "dup@example.com")
    client = app.test_client()
    response = client.post(
        "/signup",
        data={
            "csrf_token": form_token(client, "/signup"),
            "name": "Other",
            "email": "DUP@example.com",
            "password": "correct horse battery",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.text


def test_demo_user_is_seeded_once_and_printed(
    make_app: Callable[..., Flask], capsys: pytest.CaptureFixture[str]
) -> None:
    from saas_app.config import DEMO_USER

    app = make_app(SAAS_DEMO_USER=DEMO_USER)
    assert f"Demo login: {DEMO_USER['email']} / {DEMO_USER['password']}" in capsys.readouterr().out
    client = app.test_client()
    response = client.post(
        "/login",
        data={
            "csrf_token": form_token(client, "/login"),
            "email": DEMO_USER["email"],
            "password": DEMO_USER["password"],
        },
    )
    assert response.status_code == 302
    assert created_external_ids(app.config["FLOWGLAD_SANDBOX"]) == ["1"]


def test_real_flowglad_when_a_secret_key_is_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from saas_app import create_app
    from saas_app.config import default_config

    monkeypatch.delenv("FLOWGLAD_SECRET_KEY", raising=False)
    database = str(tmp_path / "saas.sqlite3")
    app = create_app({"TESTING": True, "DATABASE": database, "SAAS_DEMO_USER": None})
    # Without a key, the sandbox, kept beside the database: a restart loses nothing.
    assert app.extensions["flowglad"].sandbox.path == str(tmp_path / "flowglad-sandbox.db")
    assert len(app.config["SECRET_KEY"]) == 64
    assert create_app({"DATABASE": database}).config["SECRET_KEY"] == app.config["SECRET_KEY"]
    monkeypatch.setenv("FLOWGLAD_SECRET_KEY", "sk_test_real")
    config = default_config()
    assert config["FLOWGLAD_SANDBOX"] is False
    assert config["FLOWGLAD_SECRET_KEY"] == "sk_test_real"


def test_unknown_billing_mode_is_refused(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ValueError, match="SAAS_BILLING_MODE"):
        make_app(SAAS_BILLING_MODE="org")


def test_the_metered_endpoints_usage_reaches_flowglad_through_the_outbox(
    make_app: Callable[..., Flask],
) -> None:
    """The run is recorded in the usage outbox; the app's worker thread (what `flask run`
    on the in-memory sandbox starts) sends it to Flowglad."""
    import time

    app = make_app(SAAS_USAGE_WORKER_THREAD=True, FLOWGLAD_USAGE_LINGER=0.05)
    client = signed_up_client(app)
    assert client.post("/analytics/run", json={"calls": 4}).status_code == 200
    sandbox: Sandbox = app.config["FLOWGLAD_SANDBOX"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with app.app_context():
            if app.extensions["flowglad"].usage_outbox.status().pending == 0:
                break
        time.sleep(0.05)
    billing = sandbox.billing("1")
    (balance,) = billing["currentSubscriptions"][0]["experimental"]["usageMeterBalances"]
    assert balance["availableBalance"] == 96
