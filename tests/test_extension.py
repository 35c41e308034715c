"""Setting the extension up, who the customer is, and billing read once per request."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g

import flask_flowglad
from flask_flowglad import (
    ConfigurationError,
    CustomerIdentity,
    Flowglad,
    InvalidCustomerId,
    current_billing,
)
from flask_flowglad.state import G_CACHE_ATTRIBUTE, FlowgladState

from .support import payloads
from .support.apps import API, BASE_URL, User, calls, flowglad_of, make_app


def billing_url(external_id: str = "u1") -> str:
    return f"{API}/customers/{external_id}/billing"


# -- setting up ------------------------------------------------------------------------


def test_extension_registers_itself_and_the_blueprint() -> None:
    app = make_app()
    flowglad = Flowglad(app)
    state = app.extensions["flowglad"]
    assert isinstance(state, FlowgladState)
    with app.test_request_context():
        assert flowglad.settings is state.settings
    assert "flowglad" in app.blueprints
    assert any(r.rule == "/api/flowglad/<path:subroute>" for r in app.url_map.iter_rules())


def test_app_factory_pattern_and_no_app_stored() -> None:
    flowglad = Flowglad()
    app = make_app()
    flowglad.init_app(app)
    assert isinstance(app.extensions["flowglad"], FlowgladState)
    assert not any(value is app for value in vars(flowglad).values())
    with app.app_context():
        assert flowglad.client.base_url == BASE_URL


def test_module_level_init_app_returns_the_extension() -> None:
    app = make_app()
    flowglad = flask_flowglad.init_app(app)
    assert isinstance(flowglad, Flowglad)
    assert isinstance(app.extensions["flowglad"], FlowgladState)


def test_one_extension_serves_two_apps_with_their_own_config() -> None:
    flowglad = Flowglad()
    first = make_app(FLOWGLAD_SECRET_KEY="sk_test_one", FLOWGLAD_BASE_URL="https://one.test")
    second = make_app(FLOWGLAD_SECRET_KEY="sk_test_two", FLOWGLAD_BASE_URL="https://two.test")
    flowglad.init_app(first)
    flowglad.init_app(second)
    with first.app_context():
        assert flowglad.client.base_url == "https://one.test"
    with second.app_context():
        assert flowglad.client.base_url == "https://two.test"


def test_second_init_app_on_the_same_app_is_an_error() -> None:
    app = make_app()
    Flowglad(app)
    with pytest.raises(RuntimeError, match="already set up"):
        Flowglad(app)


def test_missing_secret_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWGLAD_SECRET_KEY", raising=False)
    app = make_app(FLOWGLAD_SECRET_KEY=None)
    with pytest.raises(ConfigurationError, match="FLOWGLAD_SECRET_KEY is not set"):
        Flowglad(app)


def test_secret_key_falls_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch, upstream: Any
) -> None:
    monkeypatch.setenv("FLOWGLAD_SECRET_KEY", "sk_test_from_env")
    app = make_app(FLOWGLAD_SECRET_KEY=None)
    flowglad = Flowglad(app)
    upstream.get(f"{API}/pricing-models/default", json={"pricingModel": {"id": "pm"}})
    with app.app_context():
        flowglad.default_pricing_model()
    assert upstream.last_request.headers["Authorization"] == "sk_test_from_env"


def test_explicit_options_beat_config_and_config_beats_defaults() -> None:
    app = make_app(FLOWGLAD_READ_TIMEOUT=7, FLOWGLAD_URL_PREFIX="/billing-api/")
    flowglad = Flowglad(app, read_timeout=3)
    with app.app_context():
        assert flowglad.settings.read_timeout == 3
        assert flowglad.settings.url_prefix == "/billing-api"
        assert flowglad.settings.connect_timeout == 3.05
        assert flowglad.settings.fail_open is False
    assert any(r.rule == "/billing-api/<path:subroute>" for r in app.url_map.iter_rules())


def test_invalid_config_values_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="FLOWGLAD_READ_TIMEOUT"):
        Flowglad(make_app(FLOWGLAD_READ_TIMEOUT=0))
    with pytest.raises(ConfigurationError, match="FLOWGLAD_MAX_RETRIES"):
        Flowglad(make_app(FLOWGLAD_MAX_RETRIES=-1))
    with pytest.raises(TypeError, match="unexpected keyword argument 'secret'"):
        Flowglad(secret=1)  # type: ignore[call-arg]


def test_using_the_extension_on_an_app_without_it_is_a_clear_error() -> None:
    flowglad = Flowglad()
    other = make_app()
    with other.app_context(), pytest.raises(RuntimeError, match="init_app"):
        flowglad.client  # noqa: B018


# -- who the customer is ---------------------------------------------------------------


def test_default_customer_is_the_flask_login_user(app: Flask) -> None:
    flowglad = flowglad_of(app)
    with app.test_request_context():
        from flask_login import login_user

        login_user(User("42", name="Ada", email="ada@example.com"))
        assert flowglad.current_identity() == CustomerIdentity("42", "Ada", "ada@example.com")


def test_the_loader_is_asked_once_per_request_however_many_checks() -> None:
    app = make_app()
    flowglad = Flowglad(app)
    asked: list[str] = []

    @flowglad.customer_loader
    def load() -> CustomerIdentity:
        asked.append("asked")
        return CustomerIdentity("u1")

    with app.test_request_context():
        services = {id(flowglad.current_customer()) for _ in range(50)}
    with app.test_request_context():
        flowglad.current_customer()
    assert (len(services), len(asked)) == (1, 2)


def test_logging_in_or_out_mid_request_changes_the_customer(app: Flask) -> None:
    from flask_login import login_user, logout_user

    flowglad = flowglad_of(app)
    with app.test_request_context():
        assert flowglad.current_customer() is None
        login_user(User("u7"))
        customer = flowglad.current_customer()
        assert customer is not None and customer.external_id == "u7"
        logout_user()
        assert flowglad.current_customer() is None


def test_forget_current_customer_asks_a_b2b_loader_again() -> None:
    app = make_app()
    flowglad = Flowglad(app)

    @flowglad.customer_loader
    def load() -> str:
        return str(g.get("organization", "org-1"))

    with app.test_request_context():
        first = flowglad.current_customer()
        g.organization = "org-2"  # the view switched the request's organization
        assert flowglad.current_customer() is first
        flowglad.forget_current_customer()
        second = flowglad.current_customer()
    assert first is not None and second is not None
    assert (first.external_id, second.external_id) == ("org-1", "org-2")


def test_anonymous_user_has_no_customer(app: Flask) -> None:
    with app.test_request_context():
        assert flowglad_of(app).current_customer() is None
        assert not current_billing


def test_customer_loader_replaces_the_user_for_b2b(app: Flask) -> None:
    flowglad = flowglad_of(app)

    @flowglad.customer_loader
    def organization() -> CustomerIdentity:
        return CustomerIdentity("org_7", name="Acme", email="billing@acme.test")

    with app.test_request_context():
        customer = flowglad.current_customer()
        assert customer is not None
        assert customer.external_id == "org_7"
        assert customer.identity.name == "Acme"


def test_customer_loader_may_return_a_bare_id(app: Flask) -> None:
    flowglad = flowglad_of(app)
    flowglad.customer_loader(lambda: "team-3")
    with app.test_request_context():
        assert flowglad.current_identity() == CustomerIdentity("team-3")


@pytest.mark.parametrize("bad", ["", "   ", "a/b", ".."])
def test_unusable_external_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidCustomerId):
        CustomerIdentity(bad)


def test_customer_loader_returning_garbage_is_a_type_error(app: Flask) -> None:
    flowglad = flowglad_of(app)
    flowglad.customer_loader(lambda: {"id": "x"})
    with app.test_request_context(), pytest.raises(TypeError, match="customer loader"):
        flowglad.current_identity()


# -- billing, read once ----------------------------------------------------------------


def test_ten_feature_checks_in_one_request_cost_one_upstream_call(
    app: Flask, upstream: Any
) -> None:
    upstream.get(
        billing_url(),
        json=payloads.billing(subscriptions=[payloads.subscription(features=("pro",))]),
    )

    @app.route("/checks")
    def checks() -> dict[str, Any]:
        results = [bool(current_billing.check_feature_access("pro")) for _ in range(5)]  # type: ignore[union-attr]
        customer = flowglad_of(app).current_customer()
        results += [customer.get_billing().check_feature_access("pro") for _ in range(5)]
        return {"results": results}

    response = app.test_client(user=User("u1")).get("/checks")
    assert response.json == {"results": [True] * 10}
    assert calls(upstream) == [("GET", "/api/v1/customers/u1/billing")]


def test_missing_customer_is_created_once_then_read(app: Flask, upstream: Any) -> None:
    upstream.get(
        billing_url(),
        [{"status_code": 404, "json": payloads.not_found()}, {"json": payloads.billing()}],
    )
    upstream.post(f"{API}/customers", json={"data": {"customer": payloads.customer()}})
    with app.test_request_context():
        from flask_login import login_user

        login_user(User("u1", name="Ada", email="ada@example.com"))
        first = flowglad_of(app).current_customer().get_billing()
        again = flowglad_of(app).current_customer().get_billing()
    assert first is again
    assert calls(upstream) == [
        ("GET", "/api/v1/customers/u1/billing"),
        ("POST", "/api/v1/customers"),
        ("GET", "/api/v1/customers/u1/billing"),
    ]
    assert upstream.request_history[1].json() == {
        "customer": {"externalId": "u1", "name": "Ada", "email": "ada@example.com"}
    }


def test_creation_race_lost_with_409_reads_billing_again(app: Flask, upstream: Any) -> None:
    upstream.get(
        billing_url(),
        [{"status_code": 404, "json": payloads.not_found()}, {"json": payloads.billing()}],
    )
    upstream.post(
        f"{API}/customers",
        status_code=409,
        json={"error": "Customer already exists", "code": "CONFLICT", "request_id": "r"},
    )
    upstream.get(f"{API}/customers/u1", json={"customer": payloads.customer()})
    with app.app_context():
        snapshot = flowglad_of(app).for_customer("u1").get_billing()
    assert snapshot.customer["externalId"] == "u1"
    assert calls(upstream)[-1] == ("GET", "/api/v1/customers/u1/billing")


def test_plain_text_404_is_not_taken_for_a_missing_customer(app: Flask, upstream: Any) -> None:
    upstream.get(billing_url(), status_code=404, text="Not Found")
    with app.app_context(), pytest.raises(flask_flowglad.FlowgladNotFound):
        flowglad_of(app).for_customer("u1").get_billing()
    assert calls(upstream) == [("GET", "/api/v1/customers/u1/billing")]


def test_cache_does_not_survive_into_the_next_request(app: Flask, upstream: Any) -> None:
    upstream.get(billing_url(), json=payloads.billing())

    @app.route("/plan")
    def plan() -> dict[str, Any]:
        return {"has": current_billing.check_feature_access("x")}  # type: ignore[union-attr]

    client = app.test_client(user=User("u1"))
    client.get("/plan")
    client.get("/plan")
    assert len(upstream.request_history) == 2


def test_cache_does_not_survive_with_a_pushed_app_context(app: Flask, upstream: Any) -> None:
    upstream.get(billing_url(), json=payloads.billing())

    @app.route("/plan")
    def plan() -> dict[str, Any]:
        return {"has": current_billing.check_feature_access("x")}  # type: ignore[union-attr]

    with app.app_context():
        client = app.test_client(user=User("u1"))
        client.get("/plan")
        assert G_CACHE_ATTRIBUTE not in g
        client.get("/plan")
    assert len(upstream.request_history) == 2


def test_cache_is_keyed_by_customer(app: Flask, upstream: Any) -> None:
    upstream.get(billing_url("a"), json=payloads.billing("a"))
    upstream.get(billing_url("b"), json=payloads.billing("b"))
    flowglad = flowglad_of(app)
    with app.test_request_context():
        assert flowglad.for_customer("a").get_billing().customer["externalId"] == "a"
        assert flowglad.for_customer("b").get_billing().customer["externalId"] == "b"
        flowglad.for_customer("a").get_billing()
    assert len(upstream.request_history) == 2


def test_a_change_drops_the_cached_billing(app: Flask, upstream: Any) -> None:
    upstream.get(billing_url(), json=payloads.billing())
    upstream.post(
        f"{API}/subscriptions/sub_1/cancel",
        json={"subscription": payloads.subscription(status="cancellation_scheduled")},
    )
    flowglad = flowglad_of(app)
    with app.test_request_context():
        customer = flowglad.for_customer("u1")
        customer.get_billing()
        customer.cancel_subscription("sub_1", timing="at_end_of_current_billing_period")
        customer.get_billing()
    assert [m for m, _ in calls(upstream)] == ["GET", "POST", "GET"]


def test_create_customer_is_idempotent(app: Flask, upstream: Any) -> None:
    upstream.post(
        f"{API}/customers",
        [
            {"json": {"data": {"customer": payloads.customer()}}},
            {"status_code": 409, "json": {"error": "exists", "code": "CONFLICT"}},
        ],
    )
    upstream.get(f"{API}/customers/u1", json={"customer": payloads.customer()})
    with app.app_context():
        service = flowglad_of(app).for_customer("u1", name="Ada", email="a@x.test")
        assert service.create_customer()["externalId"] == "u1"
        assert service.create_customer()["externalId"] == "u1"


def test_service_outside_a_request_keeps_its_own_cache(app: Flask, upstream: Any) -> None:
    upstream.get(billing_url(), json=payloads.billing())
    with app.app_context():
        service = flowglad_of(app).for_customer("u1")
        service.get_billing()
        service.get_billing()
        flowglad_of(app).for_customer("u1").get_billing()
    assert len(upstream.request_history) == 2
