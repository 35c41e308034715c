"""The pytest plugin as the docs show it: a user's own test of their own app."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_login import FlaskLoginClient, LoginManager, UserMixin

from flask_flowglad import Flowglad, feature_required
from flask_flowglad.sandbox import Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")


def create_app(config: dict[str, object]) -> Flask:
    """Stands for your application factory."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", **config)
    app.test_client_class = FlaskLoginClient
    login_manager = LoginManager(app)
    Flowglad(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> UserMixin:
        user = UserMixin()
        user.id = user_id
        return user

    @app.get("/reports")
    @feature_required("advanced_analytics")
    def reports() -> str:
        return "reports"

    return app


def user(user_id: str) -> UserMixin:
    person = UserMixin()
    person.id = user_id
    return person


def test_pro_customers_see_reports(flowglad_sandbox: Sandbox) -> None:
    app = create_app({"FLOWGLAD_SANDBOX": flowglad_sandbox})
    flowglad_sandbox.put_customer_on_plan("1", "pro_monthly")
    client = app.test_client(user=user("1"))

    assert client.get("/reports").status_code == 200
    assert [call.path for call in flowglad_sandbox.calls] == ["/api/v1/customers/1/billing"]


def test_free_customers_are_asked_to_pay(flowglad_sandbox: Sandbox) -> None:
    app = create_app({"FLOWGLAD_SANDBOX": flowglad_sandbox})
    client = app.test_client(user=user("2"))
    assert client.get("/reports").status_code == 402
