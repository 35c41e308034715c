"""No flask-login LoginManager and no @flowglad.customer_loader: a clear error, never a
silent 401 for everyone nor an HTML 500."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from flask import Flask

from flask_flowglad import ConfigurationError, Flowglad, current_billing, feature_required
from flask_flowglad.sandbox import Sandbox

PACKAGE = Path(__file__).resolve().parents[1] / "flask_flowglad"


def app_without_login(sandbox: Sandbox) -> tuple[Flask, Flowglad]:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="test", FLOWGLAD_SANDBOX=sandbox)
    with pytest.warns(UserWarning, match="simulated"):
        flowglad = Flowglad(app)
    return app, flowglad


def test_sdk_call_answers_a_json_500_naming_both_fixes(
    flowglad_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = app_without_login(flowglad_sandbox)
    with caplog.at_level(logging.ERROR, logger="flask_flowglad"):
        response = app.test_client().post("/api/flowglad/customers/billing", json={})
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == "configuration_error"
    assert "LoginManager" in error["message"]
    assert "@flowglad.customer_loader" in error["message"]
    assert "LoginManager" in caplog.text
    assert flowglad_sandbox.calls == []


def test_a_customer_loader_is_enough_without_flask_login(flowglad_sandbox: Sandbox) -> None:
    app, flowglad = app_without_login(flowglad_sandbox)
    flowglad.customer_loader(lambda: "team-1")
    response = app.test_client().post("/api/flowglad/customers/billing", json={})
    assert response.status_code == 200
    assert response.json["data"]["customer"]["externalId"] == "team-1"


def test_gated_view_raises_the_configuration_error(flowglad_sandbox: Sandbox) -> None:
    app, _ = app_without_login(flowglad_sandbox)

    @app.get("/reports")
    @feature_required("advanced_analytics")
    def reports() -> str:
        return "reports"

    with pytest.raises(ConfigurationError, match="customer_loader"):
        app.test_client().get("/reports")


def test_current_billing_raises_the_configuration_error(flowglad_sandbox: Sandbox) -> None:
    app, _ = app_without_login(flowglad_sandbox)
    with app.test_request_context(), pytest.raises(ConfigurationError, match="LoginManager"):
        current_billing.check_feature_access("advanced_analytics")


def test_login_manager_set_up_after_flowglad_is_found(flowglad_sandbox: Sandbox) -> None:
    from flask_login import LoginManager

    app, _ = app_without_login(flowglad_sandbox)
    LoginManager(app).user_loader(lambda user_id: None)
    response = app.test_client().post("/api/flowglad/customers/billing", json={})
    assert response.status_code == 401  # logged out, which is now knowable


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_identity_module_stays_free_of_flask() -> None:
    modules = imported_modules(PACKAGE / "identity.py")
    assert not {name for name in modules if name.split(".")[0].startswith("flask")}
