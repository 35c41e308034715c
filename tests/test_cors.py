"""A React app on another origin, with flask-cors: the preflight, credentials, cookies,
and ``OPTIONS`` naming only the methods of the action asked about."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_cors import CORS
from flask_login import login_user

from flask_flowglad.sandbox import Sandbox

from .support.apps import User, make_sandbox_app

FRONTEND = "https://shop.example"
API = "https://api.example"
BILLING = "/api/flowglad/customers/billing"


@pytest.fixture
def app(flowglad_sandbox: Sandbox) -> Flask:
    """The set-up the README shows for a cross-site frontend."""
    app = make_sandbox_app(
        flowglad_sandbox,
        SESSION_COOKIE_SAMESITE="None",
        SESSION_COOKIE_SECURE=True,
        REMEMBER_COOKIE_SAMESITE="None",
        REMEMBER_COOKIE_SECURE=True,
    )
    CORS(app, resources={r"/api/flowglad/*": {"origins": [FRONTEND]}}, supports_credentials=True)

    @app.post("/login")
    def login() -> str:
        login_user(User("u1"), remember=True)
        return "ok"

    @app.login_manager.request_loader  # type: ignore[attr-defined, untyped-decorator]
    def token_user(req: Any) -> User | None:
        # The header alternative: a token every React SDK call carries.
        token = req.headers.get("Authorization", "")
        return User("u2") if token == "Bearer token-of-u2" else None

    return app


def preflight(app: Flask, path: str, origin: str = FRONTEND, headers: str = "content-type") -> Any:
    return app.test_client().options(
        path,
        base_url=API,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_preflight_from_the_frontend_allows_a_credentialed_json_post(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    response = preflight(app, BILLING)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "content-type"
    assert response.headers["Allow"] == "OPTIONS, POST"
    assert flowglad_sandbox.calls == []  # a preflight carries no cookie and asks nothing


def test_preflight_from_another_origin_gets_no_cors_headers(app: Flask) -> None:
    response = preflight(app, BILLING, origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_session_cookie_is_sent_cross_site(app: Flask) -> None:
    client = app.test_client()
    login = client.post("/login", base_url=API)
    cookies = login.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "SameSite=None" in session_cookie and "Secure" in session_cookie
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    assert "SameSite=None" in remember_cookie and "Secure" in remember_cookie
    billing = client.post(BILLING, json={}, base_url=API, headers={"Origin": FRONTEND})
    assert billing.status_code == 200
    assert billing.json["data"]["customer"]["externalId"] == "u1"
    assert billing.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert billing.headers["Access-Control-Allow-Credentials"] == "true"


def test_logged_out_answer_is_readable_by_the_frontend(app: Flask) -> None:
    response = app.test_client().post(BILLING, json={}, base_url=API, headers={"Origin": FRONTEND})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.json["error"]["code"] == "unauthorized"


def test_a_bearer_token_header_identifies_the_customer_without_cookies(app: Flask) -> None:
    ask = preflight(app, BILLING, headers="authorization, content-type")
    assert ask.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    response = app.test_client().post(
        BILLING,
        json={},
        base_url=API,
        headers={"Origin": FRONTEND, "Authorization": "Bearer token-of-u2"},
    )
    assert response.status_code == 200
    assert response.json["data"]["customer"]["externalId"] == "u2"


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        (BILLING, "OPTIONS, POST"),
        ("/api/flowglad/pricing-models/retrieve", "GET, OPTIONS, POST"),
    ],
)
def test_options_names_only_the_actions_methods(
    flowglad_sandbox: Sandbox, path: str, allow: str
) -> None:
    app = make_sandbox_app(flowglad_sandbox)
    response = app.test_client().options(path)
    assert response.status_code == 200
    assert response.headers["Allow"] == allow
    assert response.get_data() == b""
    assert flowglad_sandbox.calls == []


def test_options_on_an_unknown_action_is_a_json_404(app: Flask) -> None:
    response = app.test_client().options("/api/flowglad/no/such/action")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
