"""@feature_required on the app's own views."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask, redirect

from flask_flowglad import FeatureNotAvailable, Flowglad, feature_required

from .support import payloads
from .support.apps import API, User, make_app

BILLING = f"{API}/customers/u1/billing"


@pytest.fixture
def gated_app() -> Flask:
    app = make_app()
    Flowglad(app)
    app.login_manager.login_view = "login"  # type: ignore[attr-defined]

    @app.route("/login")
    def login() -> str:
        return "login page"

    @app.route("/reports", methods=["GET", "POST", "OPTIONS"])
    @feature_required("reports")
    def reports() -> str:
        return "the reports"

    @app.route("/async-reports")
    @feature_required("reports")
    async def async_reports() -> str:
        return "async reports"

    @app.route("/exports")
    @feature_required("exports", on_denied=lambda slug: redirect(f"/upgrade?feature={slug}"))
    def exports() -> str:
        return "the exports"

    return app


def on_plan(upstream: Any, *features: str) -> None:
    upstream.get(
        BILLING, json=payloads.billing(subscriptions=[payloads.subscription(features=features)])
    )


def test_customer_with_the_feature_gets_the_view(gated_app: Flask, upstream: Any) -> None:
    on_plan(upstream, "reports")
    response = gated_app.test_client(user=User("u1")).get("/reports")
    assert response.status_code == 200
    assert response.text == "the reports"


def test_customer_without_the_feature_gets_402(gated_app: Flask, upstream: Any) -> None:
    on_plan(upstream, "other")
    response = gated_app.test_client(user=User("u1")).get("/reports")
    assert response.status_code == 402
    assert "reports" in response.text
    assert response.mimetype == "text/html"


def test_denied_json_request_gets_the_envelope(gated_app: Flask, upstream: Any) -> None:
    on_plan(upstream)
    response = gated_app.test_client(user=User("u1")).get(
        "/reports", headers={"Accept": "application/json"}
    )
    assert response.status_code == 402
    assert response.json["data"] is None
    assert response.json["error"]["code"] == "feature_not_available"
    assert response.json["error"]["json"]["feature"] == "reports"


def test_app_can_render_feature_not_available_itself(gated_app: Flask, upstream: Any) -> None:
    on_plan(upstream)

    @gated_app.errorhandler(FeatureNotAvailable)
    def upgrade(error: FeatureNotAvailable) -> tuple[str, int]:
        return f"upgrade for {error.feature_slug}", 402

    response = gated_app.test_client(user=User("u1")).get("/reports")
    assert response.text == "upgrade for reports"


def test_on_denied_supplies_the_response(gated_app: Flask, upstream: Any) -> None:
    on_plan(upstream, "reports")
    response = gated_app.test_client(user=User("u1")).get("/exports")
    assert response.status_code == 302
    assert response.location == "/upgrade?feature=exports"


def test_anonymous_visitor_gets_flask_logins_unauthorized_handling(
    gated_app: Flask, upstream: Any
) -> None:
    response = gated_app.test_client().get("/reports")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert upstream.request_history == []


def test_anonymous_without_login_view_is_401() -> None:
    app = make_app()
    Flowglad(app)

    @app.route("/reports")
    @feature_required("reports")
    def reports() -> str:
        return "the reports"

    assert app.test_client().get("/reports").status_code == 401


def test_async_view_is_supported(gated_app: Flask, upstream: Any) -> None:
    on_plan(upstream, "reports")
    response = gated_app.test_client(user=User("u1")).get("/async-reports")
    assert response.text == "async reports"


def test_options_passes_without_a_billing_read(gated_app: Flask, upstream: Any) -> None:
    response = gated_app.test_client().options("/reports")
    assert response.status_code == 200
    assert upstream.request_history == []


def test_decorator_keeps_the_views_name(gated_app: Flask) -> None:
    assert gated_app.view_functions["reports"].__name__ == "reports"


@pytest.mark.parametrize(
    "failure",
    [
        {"status_code": 503, "text": "unavailable"},
        {"exc": requests.exceptions.ConnectTimeout},
        {"exc": requests.exceptions.ReadTimeout},
        {"status_code": 429, "json": {"error": "slow down"}},
    ],
)
def test_outage_fails_closed_with_503(
    gated_app: Flask, upstream: Any, failure: dict[str, Any]
) -> None:
    upstream.get(BILLING, **failure)
    response = gated_app.test_client(user=User("u1")).get("/reports")
    assert response.status_code == 503
    assert "the reports" not in response.text


@pytest.fixture
def fail_open_app() -> Flask:
    app = make_app(FLOWGLAD_FAIL_OPEN=True)
    Flowglad(app)

    @app.route("/reports")
    @feature_required("reports")
    def reports() -> str:
        return "the reports"

    return app


def test_outage_fails_open_when_configured(fail_open_app: Flask, upstream: Any) -> None:
    upstream.get(BILLING, exc=requests.exceptions.ConnectionError)
    response = fail_open_app.test_client(user=User("u1")).get("/reports")
    assert response.status_code == 200
    assert response.text == "the reports"


def test_refused_secret_key_never_fails_open(fail_open_app: Flask, upstream: Any) -> None:
    upstream.get(BILLING, status_code=401, text="Unauthorized")
    response = fail_open_app.test_client(user=User("u1")).get(
        "/reports", headers={"Accept": "application/json"}
    )
    assert response.status_code == 503
    assert response.json["error"]["code"] == "billing_unavailable"
