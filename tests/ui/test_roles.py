"""Team billing: ``@flowglad.billing_authorizer`` decides what each user may do for the
organization, on the billing pages and on the React SDK's routes alike, before anything
reaches Flowglad."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from flask import Flask
from flask_login import current_user

from flask_flowglad import CustomerIdentity, Flowglad
from flask_flowglad.authorization import ALL_BILLING_ACTIONS
from flask_flowglad.protocol.actions import ACTIONS
from flask_flowglad.sandbox import Sandbox

from ..support.apps import User
from .ui_app import csrf_of, make_ui_app

#: Who is what in the organization "acme".
ROLES = {"alice": "admin", "bob": "member", "eve": "outsider"}


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def team(sandbox: Sandbox) -> tuple[Flask, Flowglad]:
    app, flowglad = make_ui_app(sandbox)

    @flowglad.customer_loader
    def organization() -> CustomerIdentity | None:
        if not current_user.is_authenticated:
            return None
        return CustomerIdentity("acme", name="Acme Inc.", email="billing@acme.test")

    @flowglad.billing_authorizer
    def roles(customer: CustomerIdentity) -> Iterable[str]:
        role = ROLES.get(current_user.id)
        if customer.external_id != "acme" or role == "outsider":
            return set()
        return ALL_BILLING_ACTIONS if role == "admin" else {"read"}

    sandbox.put_customer_on_plan("acme", "pro_monthly")
    return app, flowglad


def browser(app: Flask, user: str) -> Any:
    return app.test_client(user=User(user))


def upstream_writes(sandbox: Sandbox) -> list[Any]:
    return [call for call in sandbox.calls if call.method != "GET"]


def test_a_member_sees_the_plan_but_is_offered_no_change(team: tuple[Flask, Flowglad]) -> None:
    app, _ = team
    page = browser(app, "bob").get("/billing/").get_data(as_text=True)
    assert 'data-testid="plan-name">Pro<' in page
    assert 'data-testid="read-only"' in page
    for control in ("cancel-plan", "change-plan", "add-payment-method", "buy-report_pack"):
        assert f'data-testid="{control}"' not in page
    pricing = browser(app, "bob").get("/billing/pricing?interval=year").get_data(as_text=True)
    assert 'data-testid="forbidden-pro_yearly"' in pricing


def test_an_admin_is_offered_every_action(team: tuple[Flask, Flowglad]) -> None:
    app, _ = team
    page = browser(app, "alice").get("/billing/").get_data(as_text=True)
    for control in ("cancel-plan", "change-plan", "add-payment-method", "buy-report_pack"):
        assert f'data-testid="{control}"' in page


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/billing/cancel", {}),
        ("/billing/change", {"price": "pro_yearly"}),
        ("/billing/checkout", {"price": "report_pack"}),
        ("/billing/payment-methods", {}),
        ("/billing/uncancel", {}),
    ],
)
def test_a_members_post_to_the_pages_is_403_and_reaches_nothing(
    team: tuple[Flask, Flowglad], sandbox: Sandbox, path: str, form: dict[str, str]
) -> None:
    app, _ = team
    member = browser(app, "bob")
    with member.session_transaction() as session:
        session["_flowglad_csrf"] = "token"  # a member's pages have no form to read it from
    before = len(upstream_writes(sandbox))
    response = member.post(path, data={"csrf_token": "token", **form})
    assert response.status_code == 403
    assert "Your role does not allow this billing action" in response.get_data(as_text=True)
    assert len(upstream_writes(sandbox)) == before


def test_an_outsider_cannot_even_read(team: tuple[Flask, Flowglad], sandbox: Sandbox) -> None:
    app, _ = team
    sandbox.calls.clear()
    assert browser(app, "eve").get("/billing/").status_code == 403
    answer = browser(app, "eve").post("/api/flowglad/customers/billing", json={})
    assert answer.status_code == 403
    error = answer.get_json()["error"]
    assert error["code"] == "forbidden"
    assert error["message"] == "Your role does not allow this billing action (read)."
    assert sandbox.calls == []


#: A body each route accepts, so that only the role can refuse it.
BODIES = {
    "subscriptions/cancel": {
        "id": "sub_x",
        "cancellation": {"timing": "at_end_of_current_billing_period"},
    },
    "subscriptions/uncancel": {"id": "sub_x"},
    "subscriptions/adjust": {"priceSlug": "pro_yearly"},
    "subscriptions/cancel-scheduled-adjustment": {},
    "subscriptions/create": {"priceSlug": "free"},
    "checkout-sessions/create": {
        "priceSlug": "report_pack",
        "successUrl": "http://localhost/ok",
        "cancelUrl": "http://localhost/no",
    },
    "checkout-sessions/create-add-payment-method": {
        "successUrl": "http://localhost/ok",
        "cancelUrl": "http://localhost/no",
    },
    "checkout-sessions/create-activate-subscription": {
        "targetSubscriptionId": "sub_x",
        "successUrl": "http://localhost/ok",
        "cancelUrl": "http://localhost/no",
    },
    "customers/update": {"customer": {"name": "New name"}},
    "resources/claim": {"resourceSlug": "seats", "quantity": 1},
    "resources/release": {"resourceSlug": "seats", "quantity": 1},
}


@pytest.mark.parametrize("key", sorted(BODIES))
def test_a_members_write_through_the_react_sdk_routes_is_403_before_flowglad(
    team: tuple[Flask, Flowglad], sandbox: Sandbox, key: str
) -> None:
    app, _ = team
    assert ACTIONS[key].permission not in (None, "read")
    sandbox.calls.clear()
    answer = browser(app, "bob").post(f"/api/flowglad/{key}", json=BODIES[key])
    assert answer.status_code == 403, answer.get_json()
    assert answer.get_json()["error"]["code"] == "forbidden"
    assert sandbox.calls == []


def test_every_write_route_names_a_billing_action_beyond_read() -> None:
    writes = {key for key, action in ACTIONS.items() if action.permission not in ("read", None)}
    assert writes == set(BODIES)
    assert {key for key, action in ACTIONS.items() if action.permission is None} == {
        "usage-events/create",
        "pricing-models/retrieve",
    }


def test_a_member_reads_through_the_react_sdk_routes(team: tuple[Flask, Flowglad]) -> None:
    app, _ = team
    answer = browser(app, "bob").post("/api/flowglad/customers/billing", json={})
    assert answer.status_code == 200
    assert answer.get_json()["data"]["customer"]["externalId"] == "acme"


def test_an_admins_cancel_goes_through(team: tuple[Flask, Flowglad], sandbox: Sandbox) -> None:
    app, _ = team
    admin = browser(app, "alice")
    token = csrf_of(admin.get("/billing/cancel").get_data(as_text=True))
    assert admin.post("/billing/cancel", data={"csrf_token": token}).status_code == 303
    plan = sandbox.billing("acme")["currentSubscription"]
    assert plan["status"] == "cancellation_scheduled"


def test_an_authorizer_answering_a_typo_fails_loudly(sandbox: Sandbox) -> None:
    app, flowglad = make_ui_app(sandbox)
    flowglad.billing_authorizer(lambda customer: {"reed"})
    sandbox.create_customer("u1")
    with pytest.raises(ValueError, match="unknown actions"):
        app.test_client(user=User("u1")).get("/billing/")
