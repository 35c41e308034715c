"""``@metered`` in a microblog-shaped token API: whatever authenticates it (flask-login's
``request_loader``, Flask-HTTPAuth, the extension's own customer loader), a success
records usage in the outbox and a failure does not, an exhausted balance is a 402 in the
app's own error format, and an outbox or a Flowglad that cannot be asked is a 503 before
the view runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cachelib import SimpleCache
from flask import Flask, g, jsonify, request
from flask_httpauth import HTTPTokenAuth
from flask_login import LoginManager, UserMixin
from werkzeug.exceptions import HTTPException

from flask_flowglad import Flowglad, metered
from flask_flowglad.sandbox import Sandbox
from tests.support.cache_support import free_port

PREFIX = "/api/flowglad"


class ApiUser(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


#: token -> user id, as microblog's ``User.check_token`` finds them.
TOKENS = {"tok-alice": "alice", "tok-bob": "bob"}


def microblog_app(
    sandbox: Sandbox, outbox: str, auth: str, **config: Any
) -> tuple[Flask, Flowglad, list[str]]:
    """A token API shaped as microblog's ``app/api``: ``POST /api/posts`` creates a post,
    errors are ``{"error", "message"}`` JSON. ``auth`` picks what authenticates it."""
    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY="test",
        FLOWGLAD_SANDBOX=sandbox,
        FLOWGLAD_USAGE_OUTBOX=outbox,
        **config,
    )
    posts: list[str] = []
    flowglad = Flowglad()
    protect = _authentication(app, flowglad, auth)

    @app.errorhandler(HTTPException)
    def error_response(error: HTTPException) -> Any:
        # microblog's app/api/errors.py
        return jsonify({"error": error.name, "message": error.description}), error.code

    @app.post("/api/posts")
    @protect
    @metered("api_calls")
    def create_post() -> Any:
        body = request.get_json(silent=True) or {}
        if not body.get("text"):
            return jsonify({"error": "Bad Request", "message": "text is required"}), 400
        if body["text"] == "crash":
            raise RuntimeError("the view failed")
        posts.append(body["text"])
        return jsonify({"id": len(posts)}), 201

    with pytest.warns(UserWarning, match="simulated"):
        flowglad.init_app(app)
    return app, flowglad, posts


def _authentication(app: Flask, flowglad: Flowglad, auth: str) -> Any:
    """The decorator that protects the API, and the customer loader it needs."""
    if auth == "flask-login":
        login_manager = LoginManager(app)

        @login_manager.request_loader
        def load_from_token(req: Any) -> ApiUser | None:
            token = (req.headers.get("Authorization") or "").removeprefix("Bearer ")
            return ApiUser(TOKENS[token]) if token in TOKENS else None

        return lambda view: view  # the default customer loader reads current_user
    if auth == "httpauth":
        token_auth = HTTPTokenAuth()

        @token_auth.verify_token
        def verify_token(token: str) -> str | None:
            return TOKENS.get(token)

        @flowglad.customer_loader
        def customer() -> str | None:
            return token_auth.current_user()

        return token_auth.login_required

    @app.before_request
    def load_api_user() -> None:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        g.api_user = TOKENS.get(token)

    @flowglad.customer_loader
    def customer_from_g() -> str | None:
        return g.get("api_user")

    return lambda view: view


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture(params=["flask-login", "httpauth", "customer-loader"])
def api(
    request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path: Path
) -> tuple[Flask, Flowglad, list[str]]:
    return microblog_app(sandbox, f"sqlite:///{tmp_path / 'outbox.db'}", request.param)


def one_customer_app(sandbox: Sandbox, tmp_path: Path, customer: str) -> tuple[Flask, Flowglad]:
    """An app whose every request is ``customer``'s, with an outbox in a SQLite file."""
    app = Flask(__name__)
    app.config.update(
        FLOWGLAD_SANDBOX=sandbox, FLOWGLAD_USAGE_OUTBOX=f"sqlite:///{tmp_path / 'o.db'}"
    )
    flowglad = Flowglad(customer_loader=lambda: customer)
    with pytest.warns(UserWarning):
        flowglad.init_app(app)
    return app, flowglad


def post(app: Flask, text: str, token: str = "tok-alice", **headers: str) -> Any:
    return app.test_client().post(
        "/api/posts", json={"text": text}, headers={"Authorization": f"Bearer {token}", **headers}
    )


def pending(app: Flask, flowglad: Flowglad, user: str = "alice") -> dict[str, int]:
    with app.app_context():
        return flowglad.usage_worker().outbox.pending_amounts(user)


def test_a_successful_call_records_one_usage_event(api: tuple[Flask, Flowglad, list[str]]) -> None:
    app, flowglad, posts = api
    response = post(app, "hello")
    assert response.status_code == 201 and posts == ["hello"]
    assert pending(app, flowglad) == {"meter:api_calls": 1}
    assert pending(app, flowglad, "bob") == {}


def test_a_failed_call_records_nothing(api: tuple[Flask, Flowglad, list[str]]) -> None:
    app, flowglad, posts = api
    assert post(app, "").status_code == 400
    app.testing = False  # the exception becomes a 500, as in production
    assert post(app, "crash").status_code == 500
    assert posts == [] and pending(app, flowglad) == {}


def test_nobody_authenticated_is_refused_before_the_view(
    api: tuple[Flask, Flowglad, list[str]],
) -> None:
    app, flowglad, posts = api
    response = post(app, "hello", token="stolen")
    assert response.status_code == 401
    assert posts == []


def test_an_exhausted_balance_is_a_402_in_the_apps_error_format(
    api: tuple[Flask, Flowglad, list[str]],
) -> None:
    app, flowglad, posts = api
    with app.app_context():
        customer = flowglad.for_customer("alice")
        customer.get_billing()
        # 99 of the free plan's 100 calls are used, and not yet sent to Flowglad.
        customer.record_usage("api_calls", amount=99)
    assert post(app, "last one").status_code == 201
    response = post(app, "one too many")
    assert response.status_code == 402
    assert response.get_json() == {
        "error": "Payment Required",
        "message": "This needs 1 of 'api_calls' and 0 is left.",
    }
    assert posts == ["last one"]
    assert pending(app, flowglad) == {"meter:api_calls": 100}
    # Bob's balance is his own.
    assert post(app, "bob's", token="tok-bob").status_code == 201


def test_pending_usage_counts_when_the_balance_comes_from_the_shared_cache(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # The billing of every call after the first is a sealed cache entry, whose balances
    # are prepared once: the pending usage must still be taken from them.
    app, flowglad, posts = microblog_app(
        sandbox,
        f"sqlite:///{tmp_path / 'outbox.db'}",
        "flask-login",
        FLOWGLAD_BILLING_CACHE=SimpleCache(),
    )
    for number in range(100):
        assert post(app, f"post {number}").status_code == 201
    assert post(app, "one too many").status_code == 402
    assert len(posts) == 100
    reads = [
        c for c in sandbox.calls if c.path.endswith("/customers/alice/billing") and c.status == 200
    ]
    assert len(reads) == 1  # the first call's; the other 100 answered from the cache


def test_without_an_error_handler_the_402_is_the_envelope(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    app, flowglad = one_customer_app(sandbox, tmp_path, "carol")

    @app.post("/work")
    @metered("api_calls", amount=101)
    def work() -> str:
        return "done"

    response = app.test_client().post("/work", headers={"Accept": "application/json"})
    assert response.status_code == 402
    assert response.get_json() == {
        "data": None,
        "error": {
            "code": "usage_limit_reached",
            "message": "This needs 101 of 'api_calls' and 100 is left.",
            "json": {
                "message": "This needs 101 of 'api_calls' and 100 is left.",
                "meter": "api_calls",
                "available": 100,
                "amount": 101,
            },
        },
    }


def test_overage_never_refuses(sandbox: Sandbox, tmp_path: Path) -> None:
    app, flowglad = one_customer_app(sandbox, tmp_path, "dave")

    @app.post("/work")
    @metered("api_calls", amount=150, overage=True)
    def work() -> str:
        return "done"

    assert app.test_client().post("/work").status_code == 200
    with app.app_context():
        assert flowglad.usage_worker().outbox.pending_amounts("dave") == {"meter:api_calls": 150}


def test_an_outbox_that_cannot_be_asked_refuses_before_the_view(sandbox: Sandbox) -> None:
    app, flowglad, posts = microblog_app(
        sandbox, f"redis://127.0.0.1:{free_port()}/0", "customer-loader"
    )
    response = post(app, "hello")
    assert response.status_code == 503
    assert posts == []


def test_fail_open_lets_the_call_run_when_the_balance_is_unknown(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    app, flowglad, posts = microblog_app(
        sandbox, f"sqlite:///{tmp_path / 'o.db'}", "customer-loader", FLOWGLAD_FAIL_OPEN=True
    )
    sandbox.fail_next(503, times=10, path="/billing")
    assert post(app, "hello").status_code == 201
    assert pending(app, flowglad) == {"meter:api_calls": 1}


def test_a_client_retry_with_the_same_idempotency_key_is_billed_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    app, flowglad = one_customer_app(sandbox, tmp_path, "erin")

    @app.post("/work")
    @metered("api_calls", transaction_id=lambda: request.headers.get("Idempotency-Key"))
    def work() -> str:
        return "done"

    client = app.test_client()
    for _ in range(2):
        assert client.post("/work", headers={"Idempotency-Key": "job-7"}).status_code == 200
    with app.app_context():
        # The outbox held the retry's event once; Flowglad would have recorded it once too.
        assert flowglad.usage_worker(linger=0.01).drain().sent == 1
        balance = flowglad.for_customer("erin").get_billing().usage_meter_balances()[0]
    assert balance["availableBalance"] == 99


def test_the_react_sdks_balances_stay_flowglads(
    api: tuple[Flask, Flowglad, list[str]], sandbox: Sandbox
) -> None:
    app, flowglad, posts = api
    assert post(app, "hello").status_code == 201
    with app.app_context():
        billing = flowglad.for_customer("alice").get_billing()
        checked = billing.check_usage_balance("api_calls")
        flowglads = billing.usage_meter_balances()[0]
    assert checked is not None
    assert (checked["availableBalance"], flowglads["availableBalance"]) == (99, 100)
