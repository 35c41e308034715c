"""With Flask-WTF's CSRFProtect on, the blueprints the extension registers (React SDK routes,
sandbox pages, webhooks) work, whichever init_app ran first, a cross-site form still cannot
post to them, and the app's own blueprints stay protected whatever their names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Blueprint, Flask, session
from flask_wtf.csrf import CSRFProtect, generate_csrf

from flask_flowglad import Flowglad
from flask_flowglad.sandbox import Sandbox

from .support.apps import User, make_app
from .support.webhook_helpers import PATH, SECRET, body_of, signed

SUCCESS = {"successUrl": "http://localhost/ok", "cancelUrl": "http://localhost/no"}


def csrf_first(app: Flask) -> None:
    CSRFProtect(app)
    Flowglad(app)


def flowglad_first(app: Flask) -> None:
    Flowglad(app)
    CSRFProtect().init_app(app)


ORDERS = [
    pytest.param(csrf_first, id="csrf-first"),
    pytest.param(flowglad_first, id="flowglad-first"),
]


@pytest.fixture(params=ORDERS)
def app(request: pytest.FixtureRequest, flowglad_sandbox: Sandbox, tmp_path: Path) -> Flask:
    """An app with CSRFProtect on, set up in each order, with the webhook endpoint on."""
    set_up: Callable[[Flask], None] = request.param
    app = make_app(
        FLOWGLAD_SANDBOX=flowglad_sandbox,
        FLOWGLAD_SECRET_KEY=None,
        FLOWGLAD_WEBHOOK_SECRET=SECRET,
        FLOWGLAD_WEBHOOK_STORE=str(tmp_path / "webhooks.sqlite3"),
    )

    @app.post("/settings")
    def settings() -> str:
        return "saved"

    with pytest.warns(UserWarning, match="simulated"):
        set_up(app)
    own = Blueprint("shop", __name__)
    own.add_url_rule("/shop/order", "order", lambda: "ordered", methods=["POST"])
    app.register_blueprint(own)
    # The app's own admin pages, whose name merely starts like the extension's.
    admin = Blueprint("flowglad_admin", __name__)
    admin.add_url_rule("/admin/refund", "refund", lambda: "refunded", methods=["POST"])
    app.register_blueprint(admin)
    return app


def test_logged_in_json_post_is_accepted(app: Flask, flowglad_sandbox: Sandbox) -> None:
    response = app.test_client(user=User("u1")).post("/api/flowglad/customers/billing", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["data"]["customer"]["externalId"] == "u1"


def test_cross_site_form_post_is_still_refused(app: Flask, flowglad_sandbox: Sandbox) -> None:
    client = app.test_client(user=User("u1"))
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain"):
        response = client.post(
            "/api/flowglad/checkout-sessions/create",
            data="priceSlug=pro_monthly",
            content_type=content_type,
            headers={"Origin": "https://evil.example"},
        )
        assert response.status_code == 415, content_type
        assert response.json["error"]["code"] == "unsupported_media_type"
    assert flowglad_sandbox.calls == []


def test_the_apps_own_views_stay_protected(app: Flask, flowglad_sandbox: Sandbox) -> None:
    client = app.test_client(user=User("u1"))
    assert client.post("/settings", data={"x": "1"}).status_code == 400
    assert client.post("/shop/order", data={"x": "1"}).status_code == 400


def test_an_apps_blueprint_named_like_the_extensions_stays_protected(app: Flask) -> None:
    client = app.test_client(user=User("u1"))
    refused = client.post("/admin/refund", data={"x": "1"})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    # With a token the same post goes through: the refusal above was CSRF's, not a 404.
    with app.test_request_context():
        token = generate_csrf()
        signed_in = dict(session)
    with client.session_transaction() as stored:
        stored.update(signed_in)
    assert client.post("/admin/refund", data={"csrf_token": token}).status_code == 200


def test_every_blueprint_the_extension_registers_is_exempt(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    client = app.test_client(user=User("u1"))
    body = body_of(external_id="u1")
    delivered = client.post(PATH, data=body, headers=signed(body, "msg_csrf"))
    assert delivered.status_code == 200, delivered.get_data(as_text=True)
    checkout = client.post(
        "/api/flowglad/checkout-sessions/create", json={**SUCCESS, "priceSlug": "pro_monthly"}
    ).json["data"]
    # The sandbox's hosted pay form is a plain HTML form, as Flowglad's own page is.
    paid = app.test_client().post(
        urlsplit(checkout["url"]).path, data={"card_number": "4242 4242 4242 4242", "name": "Ada"}
    )
    assert paid.status_code == 303
    assert paid.headers["Location"] == SUCCESS["successUrl"]
