"""The examples the docs show (``docs/examples/*.py``, included verbatim) do what the docs
say they do. Each builds its own app on a fresh sandbox."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask_login import FlaskLoginClient, UserMixin

from flask_flowglad.cli import flowglad_cli

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sandbox says billing is simulated
        spec.loader.exec_module(module)
    module.app.test_client_class = FlaskLoginClient
    return module


def user(user_id: str) -> UserMixin:
    person = UserMixin()
    person.id = user_id
    return person


def on_plan(example: ModuleType, external_id: str, plan: str = "pro_monthly") -> Any:
    with example.app.app_context():
        return example.flowglad.sandbox.put_customer_on_plan(external_id, plan)


# -- B2B -------------------------------------------------------------------------------


def test_b2b_members_of_a_team_share_the_team_customer() -> None:
    example = load("b2b")
    first = example.app.test_client(user=example.USERS["1"])
    second = example.app.test_client(user=example.USERS["2"])
    body = {"externalId": "someone-else"}  # ignored: the loader decides
    one = first.post("/api/flowglad/customers/billing", json=body).json["data"]
    two = second.post("/api/flowglad/customers/billing", json={}).json["data"]
    assert one["customer"]["externalId"] == two["customer"]["externalId"] == "team-1"
    assert one["customer"]["email"] == "billing@acme.test"


def test_b2b_logged_out_is_401() -> None:
    example = load("b2b")
    response = example.app.test_client().post("/api/flowglad/customers/billing", json={})
    assert response.status_code == 401


# -- gating ----------------------------------------------------------------------------


def test_gating_free_plan_gets_the_upgrade_page_and_the_redirect() -> None:
    example = load("gating")
    client = example.app.test_client(user=user("7"))
    reports = client.get("/reports")
    assert reports.status_code == 402
    assert "advanced_analytics is part of Pro" in reports.text
    export = client.get("/export")
    assert export.status_code == 302 and export.location.endswith("/pricing")
    assert "Unlock reports" in client.get("/").text


def test_gating_pro_plan_sees_reports_and_the_link() -> None:
    example = load("gating")
    on_plan(example, "7")
    client = example.app.test_client(user=user("7"))
    assert client.get("/reports").status_code == 200
    assert client.get("/export").status_code == 200
    assert "href='/reports'" in client.get("/").text


def test_gating_the_template_reads_billing_once_per_request() -> None:
    example = load("gating")
    on_plan(example, "7")
    client = example.app.test_client(user=user("7"))
    with example.app.app_context():
        sandbox = example.flowglad.sandbox
    before = len(sandbox.calls)
    client.get("/")
    assert [c.path for c in sandbox.calls[before:]] == ["/api/v1/customers/7/billing"]


# -- metering at scale -----------------------------------------------------------------


def test_metering_records_in_the_outbox_and_a_worker_sends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    example = load("metering")
    client = example.app.test_client()
    alice = {"Authorization": "Bearer token-alice"}
    assert client.post("/api/search", headers=alice).status_code == 200
    assert client.post("/api/reports", headers=alice, json={"title": "Q3"}).status_code == 201
    assert client.post("/api/reports", headers=alice, json={}).status_code == 400
    assert client.post("/api/exports", headers=alice).status_code == 201
    assert client.post("/api/search").status_code == 401
    with example.app.app_context():
        flowglad = example.flowglad
        assert flowglad.usage_status().pending == 3
        # 1 + 5 + 10 recorded, none sent yet: the balance already counts them.
        billing = flowglad.for_customer("alice").get_billing()
        assert billing.check_usage_balance("api_calls")["availableBalance"] == 84
        assert flowglad.usage_worker(linger=0.01).drain().sent == 3
        billing = flowglad.for_customer("alice").get_billing()
        assert billing.usage_meter_balances()[0]["availableBalance"] == 84
        # Spend the rest (committed with the session, as the app's own change would be):
        # a search needs 1 and 0 are left.
        flowglad.for_customer("alice").record_usage("api_calls", amount=84)
        example.db.session.commit()
    refused = client.post("/api/search", headers={**alice, "Accept": "application/json"})
    assert refused.status_code == 402
    assert refused.get_json()["error"]["code"] == "usage_limit_reached"


# -- usage -----------------------------------------------------------------------------


def balance_of(example: ModuleType, external_id: str) -> int:
    with example.app.app_context():
        snapshot = example.flowglad.for_customer(external_id).get_billing()
        return int(snapshot.check_usage_balance("api_calls")["availableBalance"])


def test_usage_a_retried_request_with_one_key_counts_once() -> None:
    example = load("usage")
    on_plan(example, "3")
    client = example.app.test_client(user=user("3"))
    start = balance_of(example, "3")
    for _ in range(2):
        response = client.post("/api/search", headers={"Idempotency-Key": "search-1"})
        assert response.status_code == 200
    assert balance_of(example, "3") == start - 1
    client.post("/api/search", headers={"Idempotency-Key": "search-2"})
    client.post("/api/search")
    assert balance_of(example, "3") == start - 3


def test_usage_once_the_credits_are_spent_is_402() -> None:
    example = load("usage")
    client = example.app.test_client(user=user("4"))
    assert client.post("/api/search").status_code == 200  # the free plan's credits
    with example.app.app_context():
        example.flowglad.sandbox.record_usage("4", "api_calls", balance_of(example, "4"))
    assert client.post("/api/search").status_code == 402


# -- cross origin ----------------------------------------------------------------------

FRONT_END = "https://app.example.com"


def test_cross_origin_preflight_is_allowed_for_the_front_end_only() -> None:
    example = load("cross_origin")
    client = example.app.test_client()
    preflight = {"Origin": FRONT_END, "Access-Control-Request-Method": "POST"}
    allowed = client.options("/api/flowglad/customers/billing", headers=preflight)
    assert allowed.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = {**preflight, "Origin": "https://evil.test"}
    refused = client.options("/api/flowglad/customers/billing", headers=other)
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_cross_origin_the_bearer_token_names_the_customer() -> None:
    example = load("cross_origin")
    client = example.app.test_client()
    headers = {"Origin": FRONT_END, "Authorization": "Bearer token-of-user-1"}
    response = client.post("/api/flowglad/customers/billing", json={}, headers=headers)
    assert response.status_code == 200
    assert response.json["data"]["customer"]["externalId"] == "1"
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    wrong = {"Origin": FRONT_END, "Authorization": "Bearer guessed"}
    refused = client.post("/api/flowglad/customers/billing", json={}, headers=wrong)
    assert refused.status_code == 401


# -- application factory ---------------------------------------------------------------


def test_factory_reads_the_prefixed_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("FLASK_FLOWGLAD_SECRET_KEY", "sk_test_from_the_environment")
    example = load_factory()
    app = example.create_app({"SECRET_KEY": "test"})
    assert app.config["FLOWGLAD_SECRET_KEY"] == "sk_test_from_the_environment"
    assert app.extensions["flowglad"].settings.key_mode == "test"


@pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")
def test_factory_backfill_creates_each_customer_once_however_often_it_runs(
    tmp_path: Path,
) -> None:
    example = load_factory()
    # A sandbox the command's process shares with the server's: a file.
    sandbox_file = str(tmp_path / "flowglad-sandbox.db")
    app = example.create_app({"SECRET_KEY": "test", "FLOWGLAD_SANDBOX": sandbox_file})
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(flowglad_cli, ["backfill"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        sandbox = example.flowglad.sandbox
        assert sandbox.billing("1")["customer"]["email"] == "ada@example.com"
        assert sandbox.billing("2")["customer"]["name"] == "Grace"
    created = [
        call
        for call in sandbox.calls
        if call.method == "POST" and call.path == "/api/v1/customers" and call.status < 300
    ]
    assert len(created) == 2


def load_factory() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_example_factory", EXAMPLES / "factory.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_the_docs_can_include_is_exercised_here() -> None:
    # webhooks.py is exercised by tests/test_docs_webhooks_example.py, billing_pages.py and
    # team_billing.py by tests/ui/test_docs_billing_pages.py.
    exercised = {"b2b", "gating", "usage", "cross_origin", "factory", "webhooks", "metering"}
    exercised |= {"billing_pages", "team_billing"}
    assert {path.stem for path in EXAMPLES.glob("*.py")} == exercised
