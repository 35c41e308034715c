"""The HTTP test controls: the pytest helpers, for suites in any language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.sandbox.controls import CONTROLS_PREFIX

from .sandbox_helpers import ApiClient

WEBHOOK_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


@pytest.fixture
def controls(sandbox: Sandbox) -> Iterator[requests.Session]:
    session = requests.Session()
    session.mount(sandbox.base_url, sandbox.adapter())
    session.headers["Authorization"] = sandbox.secret_key
    yield session
    session.close()


def _post(sandbox: Sandbox, session: requests.Session, route: str, **body: Any) -> Any:
    response = session.post(f"{sandbox.base_url}{CONTROLS_PREFIX}{route}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_controls_need_the_secret_key(sandbox: Sandbox, controls: requests.Session) -> None:
    url = f"{sandbox.base_url}{CONTROLS_PREFIX}/reset"
    assert controls.post(url, headers={"Authorization": "sk_test_other"}).status_code == 401
    sandbox.create_customer("user-1")
    assert controls.post(url, headers={"Authorization": ""}).status_code == 401
    assert sandbox.records.customers


def test_reset_forgets_customers_calls_and_webhook_deliveries(
    sandbox: Sandbox, controls: requests.Session, api: ApiClient
) -> None:
    receiver = Flask(__name__)
    receiver.add_url_rule("/hooks", "hooks", lambda: "", methods=["POST"])
    sandbox.webhooks.deliver_to_app(receiver, "/hooks", WEBHOOK_SECRET)
    api.create_customer()
    assert sandbox.webhooks.deliveries and all(d.delivered for d in sandbox.webhooks.deliveries)
    assert _post(sandbox, controls, "/reset") == {"reset": True}
    assert sandbox.records.customers.rows == {}
    assert sandbox.calls == []
    assert sandbox.webhooks.deliveries == []


def test_plan_usage_and_advance_drive_billing(
    sandbox: Sandbox, controls: requests.Session, api: ApiClient
) -> None:
    customer = _post(sandbox, controls, "/customers", externalId="user 1", name="Ada")
    assert customer["customer"]["externalId"] == "user 1"
    sub = _post(sandbox, controls, "/customers/user%201/plan", priceSlug="pro_monthly")
    assert sub["subscription"]["status"] == "active"
    event = _post(sandbox, controls, "/customers/user%201/usage", slug="api_calls", amount=7)
    assert event["usageEvent"]["amount"] == 7
    advanced = _post(sandbox, controls, "/billing-periods/advance", customerExternalId="user 1")
    [renewed] = advanced["subscriptions"]
    assert renewed["currentBillingPeriodStart"] == sub["subscription"]["currentBillingPeriodEnd"]
    [balance] = renewed["experimental"]["usageMeterBalances"]
    assert balance["availableBalance"] == 10_000
    purchase = _post(sandbox, controls, "/customers/user%201/plan", priceSlug="report_pack")
    assert purchase["purchase"]["priceType"] == "single_payment"


def test_checkout_complete_decline_and_expire(
    sandbox: Sandbox, controls: requests.Session, api: ApiClient
) -> None:
    api.create_customer()
    first = api.checkout(priceSlug="pro_monthly")["checkoutSession"]["id"]
    declined = _post(sandbox, controls, f"/checkout-sessions/{first}/decline")
    assert declined["declined"] is True
    assert declined["checkoutSession"]["status"] == "open"
    assert api.billing()["paymentMethods"] == []
    paid = _post(sandbox, controls, f"/checkout-sessions/{first}/complete", cardNumber="4242" * 4)
    assert paid["checkoutSession"]["status"] == "succeeded"
    second = api.checkout(priceSlug="report_pack")["checkoutSession"]["id"]
    expired = _post(sandbox, controls, f"/checkout-sessions/{second}/expire")
    assert expired["checkoutSession"]["status"] == "expired"
    again = controls.post(
        f"{sandbox.base_url}{CONTROLS_PREFIX}/checkout-sessions/{second}/complete", json={}
    )
    assert again.status_code == 400
    assert set(again.json()) == {"error", "code", "request_id"}


def test_faults_fail_the_next_api_calls_but_never_the_controls(
    sandbox: Sandbox, controls: requests.Session, api: ApiClient
) -> None:
    _post(sandbox, controls, "/faults", status=503, times=2, path="/customers")
    assert _post(sandbox, controls, "/customers", externalId="u") is not None
    for _ in range(2):
        assert api.session.get(f"{sandbox.base_url}/api/v1/customers/u").status_code == 503
    assert api.get("/api/v1/customers/u").status_code == 200
    calls = controls.get(f"{sandbox.base_url}{CONTROLS_PREFIX}/calls").json()["calls"]
    assert [(c["path"], c["status"]) for c in calls] == [("/api/v1/customers/u", 503)] * 2 + [
        ("/api/v1/customers/u", 200)
    ]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/faults", {"status": 99}, 400),
        ("/faults", {"status": 500, "times": 10**9}, 400),
        ("/customers", {"externalId": ""}, 400),
        ("/billing-periods/advance", {"customerExternalId": "ghost"}, 404),
        ("/customers", {"externalId": "u", "name": "n" * 10_000}, 400),
        ("/billing-periods/advance", {}, 400),
        ("/nope", {}, 404),
    ],
)
def test_bad_control_requests_answer_flowglad_like_errors(
    sandbox: Sandbox, controls: requests.Session, path: str, body: Any, status: int
) -> None:
    response = controls.post(f"{sandbox.base_url}{CONTROLS_PREFIX}{path}", json=body)
    assert response.status_code == status
    assert set(response.json()) == {"error", "code", "request_id"}


def test_an_unknown_price_in_a_control_is_a_400(
    sandbox: Sandbox, controls: requests.Session
) -> None:
    sandbox.create_customer("u")
    response = controls.post(
        f"{sandbox.base_url}{CONTROLS_PREFIX}/customers/u/plan", json={"priceSlug": "nope"}
    )
    assert response.status_code == 400
    assert "nope" in response.json()["error"]


def test_too_many_waiting_faults_are_refused(sandbox: Sandbox) -> None:
    from flask_flowglad.sandbox import limits

    for _ in range(limits.MAX_FAULTS):
        sandbox.fail_next(500)
    with pytest.raises(ValueError, match="at most"):
        sandbox.fail_next(500)
