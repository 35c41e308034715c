"""With Flask-WTF's CSRFProtect on, the extension's blueprints (React SDK routes, sandbox
pages, webhooks) work, whichever init_app ran first, and a cross-site form still cannot
post to them."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect

from flask_flowglad import Flowglad
from flask_flowglad.sandbox import Sandbox

from .support.apps import User, make_app

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
def app(request: pytest.FixtureRequest, flowglad_sandbox: Sandbox) -> Flask:
    """An app with CSRFProtect on, set up in each order."""
    set_up: Callable[[Flask], None] = request.param
    app = make_app(FLOWGLAD_SANDBOX=flowglad_sandbox, FLOWGLAD_SECRET_KEY=None)

    @app.post("/settings")
    def settings() -> str:
        return "saved"

    with pytest.warns(UserWarning, match="simulated"):
        set_up(app)
    # Another part of the extension, registered after both (as a webhook endpoint may be).
    webhooks = Blueprint("flowglad_webhooks", __name__)
    webhooks.add_url_rule("/flowglad/webhooks", "receive", lambda: "ok", methods=["POST"])
    app.register_blueprint(webhooks)
    own = Blueprint("shop", __name__)
    own.add_url_rule("/shop/order", "order", lambda: "ordered", methods=["POST"])
    app.register_blueprint(own)
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


def test_every_flowglad_blueprint_is_exempt(app: Flask, flowglad_sandbox: Sandbox) -> None:
    client = app.test_client(user=User("u1"))
    assert client.post("/flowglad/webhooks", data="{}").status_code == 200
    checkout = client.post(
        "/api/flowglad/checkout-sessions/create", json={**SUCCESS, "priceSlug": "pro_monthly"}
    ).json["data"]
    # The sandbox's hosted pay form is a plain HTML form, as Flowglad's own page is.
    paid = app.test_client().post(
        urlsplit(checkout["url"]).path, data={"card_number": "4242 4242 4242 4242", "name": "Ada"}
    )
    assert paid.status_code == 303
    assert paid.headers["Location"] == SUCCESS["successUrl"]
