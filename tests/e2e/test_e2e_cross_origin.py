"""A frontend on another origin, in Chromium: the README's flask-cors set-up, the
preflight, the session cookie sent with ``credentials: "include"``, and the token header
that every React SDK call carries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask, request
from flask.typing import ResponseReturnValue
from flask_cors import CORS
from flask_login import LoginManager, UserMixin, login_user
from werkzeug.serving import make_server

from flask_flowglad import Flowglad
from flask_flowglad.sandbox import Sandbox

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

BILLING = "/api/flowglad/customers/billing"


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


class Servers:
    """Real HTTP servers on loopback, stopped at the end of the test."""

    def __init__(self) -> None:
        self.running: list[tuple[Any, threading.Thread]] = []

    def serve(self, app: Flask, host: str) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.running.append((server, thread))
        return f"http://{host}:{server.server_port}"

    def stop(self) -> None:
        for server, thread in self.running:
            server.shutdown()
            thread.join(timeout=5)
            server.server_close()


@pytest.fixture
def servers() -> Iterator[Servers]:
    running = Servers()
    yield running
    running.stop()


def frontend() -> Flask:
    shop = Flask("shop")
    shop.add_url_rule("/", "index", lambda: "<!doctype html><title>shop</title><p>shop</p>")
    return shop


def api_app(sandbox: Sandbox, frontend_origin: str, seen: list[str]) -> Flask:
    """The README's set-up; ``localhost`` on two ports is one site, two origins."""
    app = Flask("api")
    app.config.update(SECRET_KEY="e2e", FLOWGLAD_SANDBOX=sandbox)
    login_manager = LoginManager(app)
    login_manager.user_loader(User)

    def token_user(req: Any) -> User | None:
        header = req.headers.get("Authorization", "")
        return User("u2") if header == "Bearer token-of-u2" else None

    login_manager.request_loader(token_user)
    Flowglad(app)
    allowed = {"origins": [frontend_origin]}
    CORS(
        app, resources={r"/api/flowglad/*": allowed, r"/login": allowed}, supports_credentials=True
    )

    @app.post("/login")
    def login() -> ResponseReturnValue:
        login_user(User("u1"))
        return {"ok": True}

    @app.after_request
    def record(response: Any) -> Any:
        seen.append(f"{request.method} {request.path} {response.status_code}")
        return response

    return app


def open_page(browser: Browser, url: str) -> Page:
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    page.goto(url)
    return page


CALLS = """async ([api, billing]) => {
  const json = {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"};
  const include = (url, init) => fetch(url, {...init, credentials: "include"});
  const out = {};
  out.login = (await include(api + "/login", {method: "POST"})).status;
  const read = await include(api + billing, json);
  out.billing = [read.status, (await read.json()).data.customer.externalId];
  out.plainFetch = (await fetch(api + billing, json)).status;
  const token = await fetch(api + billing, {...json, headers: {...json.headers,
    Authorization: "Bearer token-of-u2"}});
  out.token = [token.status, (await token.json()).data.customer.externalId];
  return out;
}"""


def test_cross_origin_frontend_with_cookies_or_a_token(browser: Browser, servers: Servers) -> None:
    sandbox = Sandbox()
    shop = servers.serve(frontend(), "localhost")
    seen: list[str] = []
    api = servers.serve(api_app(sandbox, shop, seen), "localhost")
    page = open_page(browser, shop + "/")
    result = page.evaluate(CALLS, [api, BILLING])
    assert result == {
        "login": 200,
        "billing": [200, "u1"],  # the cookie came along with credentials: "include"
        "plainFetch": 401,  # a fetch without it (as most 0.18.0 actions do) is logged out
        "token": [200, "u2"],  # a header reaches every call, cookie or not
    }
    # The browser asked first, and was told only this action's methods.
    assert f"OPTIONS {BILLING} 200" in seen


DISALLOWED = """async ([api, billing]) => {
  try {
    await fetch(api + billing, {method: "POST", credentials: "include",
      headers: {"Content-Type": "application/json"}, body: "{}"});
    return "sent";
  } catch (error) {
    return "blocked";
  }
}"""


def test_an_origin_not_allowed_never_gets_its_post_through(
    browser: Browser, servers: Servers
) -> None:
    sandbox = Sandbox()
    shop = servers.serve(frontend(), "localhost")
    seen: list[str] = []
    api = servers.serve(api_app(sandbox, shop, seen), "localhost")
    elsewhere = servers.serve(frontend(), "127.0.0.1")
    page = open_page(browser, elsewhere + "/")
    assert page.evaluate(DISALLOWED, [api, BILLING]) == "blocked"
    assert not [line for line in seen if line.startswith("POST")]
    assert sandbox.calls == []
