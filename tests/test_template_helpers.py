"""Every Jinja template sees ``current_billing``, ``has_feature`` and ``usage_balance``,
and renders the branch of the visitor's plan."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string

from flask_flowglad.sandbox import Sandbox

from .support.apps import User, make_sandbox_app

PAGE = """
{%- if current_billing.is_anonymous -%}
  sign up
{%- elif has_feature('advanced_analytics') -%}
  pro, {{ usage_balance('api_calls') }} calls left
{%- else -%}
  free, {{ usage_balance('api_calls') }} calls left
{%- endif -%}
|{{ current_billing.check_feature_access('advanced_analytics') }}
"""


@pytest.fixture
def app(flowglad_sandbox: Sandbox) -> Flask:
    app = make_sandbox_app(flowglad_sandbox)

    @app.get("/page")
    def page() -> str:
        return render_template_string(PAGE)

    @app.get("/plain")
    def plain() -> str:
        return render_template_string("no billing here")

    return app


def render(app: Flask, user: str | None) -> str:
    client = app.test_client(user=User(user)) if user else app.test_client()
    response = client.get("/page")
    assert response.status_code == 200
    return response.get_data(as_text=True).strip()


def test_anonymous_visitor_sees_the_sign_up_branch(app: Flask, flowglad_sandbox: Sandbox) -> None:
    assert render(app, None) == "sign up|False"
    assert flowglad_sandbox.calls == []


def api_calls_left(sandbox: Sandbox, customer: str) -> int:
    (subscription,) = sandbox.billing(customer)["currentSubscriptions"]
    balances = subscription["experimental"]["usageMeterBalances"]
    return int(next(b["availableBalance"] for b in balances if b["slug"] == "api_calls"))


def test_free_customer_sees_the_free_branch(app: Flask, flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.put_customer_on_plan("u1", "free")
    flowglad_sandbox.record_usage("u1", "api_calls", 7)
    balance = api_calls_left(flowglad_sandbox, "u1")
    assert render(app, "u1") == f"free, {balance} calls left|False"


def test_customer_without_the_meter_has_zero_left(app: Flask, flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.put_customer_on_plan("u1", "free")

    @app.get("/other-meter")
    def other_meter() -> str:
        return render_template_string("{{ usage_balance('no_such_meter') }}")

    response = app.test_client(user=User("u1")).get("/other-meter")
    assert response.get_data(as_text=True) == "0"


def test_paying_customer_sees_the_paid_branch(app: Flask, flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    balance = api_calls_left(flowglad_sandbox, "u1")
    assert balance > 0
    flowglad_sandbox.calls.clear()
    assert render(app, "u1") == f"pro, {balance} calls left|True"
    # Three billing questions in one page, one read of Flowglad.
    assert [call.path for call in flowglad_sandbox.calls] == ["/api/v1/customers/u1/billing"]


def test_a_page_that_never_asks_costs_no_billing_read(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    flowglad_sandbox.calls.clear()
    response = app.test_client(user=User("u1")).get("/plain")
    assert response.get_data(as_text=True) == "no billing here"
    assert flowglad_sandbox.calls == []


HELPERS_ONLY = "{% if has_feature('advanced_analytics') %}pro{% else %}free{% endif %}"


@pytest.mark.parametrize(
    ("fail_open", "status", "body"), [(False, 200, "free"), (True, 200, "pro")]
)
def test_outage_follows_the_fail_open_policy_of_gated_views_and_never_raises(
    flowglad_sandbox: Sandbox, fail_open: bool, status: int, body: str | None
) -> None:
    app = make_sandbox_app(flowglad_sandbox, FLOWGLAD_FAIL_OPEN=fail_open)

    @app.get("/menu")
    def menu() -> str:
        return render_template_string(HELPERS_ONLY)

    flowglad_sandbox.put_customer_on_plan("u1", "free")
    flowglad_sandbox.fail_next(503, times=10)
    response = app.test_client(user=User("u1")).get("/menu")
    assert response.status_code == status
    if body is not None:
        assert response.get_data(as_text=True) == body


@pytest.mark.parametrize("default", [True, False])
def test_has_feature_answers_its_default_in_an_outage(
    flowglad_sandbox: Sandbox, default: bool
) -> None:
    app = make_sandbox_app(flowglad_sandbox, FLOWGLAD_FAIL_OPEN=not default)

    @app.get("/menu")
    def menu() -> str:
        return render_template_string(
            "{{ 'pro' if has_feature('advanced_analytics', default=default) else 'free' }}",
            default=default,
        )

    flowglad_sandbox.put_customer_on_plan("u1", "free")
    flowglad_sandbox.fail_next(503, times=10)
    response = app.test_client(user=User("u1")).get("/menu")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ("pro" if default else "free")


def test_usage_balance_in_an_outage_is_503(app: Flask, flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.put_customer_on_plan("u1", "free")
    flowglad_sandbox.fail_next(503, times=10)

    @app.get("/left")
    def left() -> str:
        return render_template_string("{{ usage_balance('api_calls') }}")

    assert app.test_client(user=User("u1")).get("/left").status_code == 503


def test_current_billing_in_an_outage_is_503_in_the_apps_own_error_page(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    """A template reading the plan during an outage answers 503 through the app's handler
    for BillingUnavailable, not a 500; the view's own proxy still raises FlowgladError."""
    from flask_flowglad import BillingUnavailable

    flowglad_sandbox.put_customer_on_plan("u1", "free")

    @app.errorhandler(BillingUnavailable)
    def unavailable(error: BillingUnavailable) -> tuple[str, int]:
        return "our layout: billing is down", 503

    @app.get("/plan")
    def plan() -> str:
        return render_template_string("{{ current_billing.plan.name }}")

    client = app.test_client(user=User("u1"))
    assert client.get("/plan").get_data(as_text=True) == "Free"
    flowglad_sandbox.fail_next(503, times=10)
    other = app.test_client(user=User("u2"))  # no billing of this request yet
    response = other.get("/plan")
    assert (response.status_code, response.get_data(as_text=True)) == (
        503,
        "our layout: billing is down",
    )
