"""The sandbox delivers what Flowglad would announce to the app's own endpoint, signed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from flask_flowglad.errors import ConfigurationError
from flask_flowglad.identity import CustomerIdentity
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.sandbox import webhooks as sandbox_webhooks
from flask_flowglad.signals import payment_webhook, subscription_webhook, webhook_received
from flask_flowglad.state import get_state
from flask_flowglad.webhooks import parse_event
from flask_flowglad.webhooks.endpoint import dispatch

from ..support.apps import User
from ..support.servers import serving
from ..support.webhook_helpers import SECRET, recording, webhook_app

pytestmark = pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")

SUCCESS = {"successUrl": "http://localhost/ok", "cancelUrl": "http://localhost/no"}


@pytest.fixture
def app(tmp_path: Path, flowglad_sandbox: Sandbox) -> Flask:
    return webhook_app(tmp_path, FLOWGLAD_SANDBOX=flowglad_sandbox, FLOWGLAD_SECRET_KEY=None)


def _data(app: Flask, key: str, body: Any = None, user: str = "u1") -> Any:
    response = app.test_client(user=User(user)).post(f"/api/flowglad/{key}", json=body or {})
    assert response.status_code == 200, response.json
    return response.json["data"]


def _kinds(seen: list[tuple[Any, Any]]) -> list[tuple[str, str | None]]:
    return [(event.object, event.customer_external_id) for _, event in seen]


def test_paying_on_the_hosted_checkout_delivers_signed_webhooks_to_the_app(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    with recording(webhook_received) as seen:
        _data(app, "customers/billing")
        assert [d.type for d in flowglad_sandbox.webhooks.deliveries] == [
            "customer.created",
            "subscription.created",
        ]
        checkout = _data(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "pro_monthly"})
        page = urlsplit(checkout["url"]).path
        paid = app.test_client().post(page, data={"card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 303
    deliveries = flowglad_sandbox.webhooks.deliveries
    # As Flowglad's workflow: the paid plan is created, the free one ended, the first period
    # charged; the checkout's purchase is recorded last.
    assert [d.type for d in deliveries] == [
        "customer.created",
        "subscription.created",
        "subscription.created",
        "subscription.canceled",
        "payment.succeeded",
        "purchase.completed",
    ]
    assert all(d.delivered and d.attempts == 1 for d in deliveries)
    # What the app's receivers got is what was delivered, id for id.
    assert [event.id for _, event in seen] == [d.id for d in deliveries]
    assert _kinds(seen)[2:] == [
        ("subscription", "u1"),
        ("subscription", "u1"),
        ("payment", "u1"),
        ("purchase", "u1"),
    ]
    billing = flowglad_sandbox.billing("u1")
    new_sub = billing["currentSubscription"]["id"]
    assert seen[2][1].object_id == new_sub
    assert seen[3][1].object_id == seen[1][1].object_id != new_sub
    assert seen[4][1].object_id.startswith("pym_")
    assert seen[5][1].object_id == billing["purchases"][-1]["id"]


def test_delivered_body_has_flowglads_shape_and_no_event_type(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    customer = flowglad_sandbox.create_customer("u7")
    first = flowglad_sandbox.webhooks.deliveries[0]
    assert json.loads(first.body) == {
        "id": customer["id"],
        "object": "customer",
        "customer": {"id": customer["id"], "externalId": "u7"},
        "pricingModelId": customer["pricingModelId"],
    }
    assert first.id.startswith("msg_")


def test_test_helpers_deliver_too(app: Flask, flowglad_sandbox: Sandbox) -> None:
    with recording(subscription_webhook) as seen:
        details = flowglad_sandbox.put_customer_on_plan("u2", "pro_monthly")
        flowglad_sandbox.advance_billing_period("u2")
    ids = [event.object_id for _, event in seen]
    assert ids.count(details["id"]) == 2  # created, then renewed (updated)
    assert {event.customer_external_id for _, event in seen} == {"u2"}


def test_declined_card_delivers_payment_failed(app: Flask, flowglad_sandbox: Sandbox) -> None:
    _data(app, "customers/billing")
    checkout = _data(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "pro_monthly"})
    with recording(payment_webhook) as seen:
        declined = app.test_client().post(
            urlsplit(checkout["url"]).path, data={"card_number": "4000 0000 0000 0002"}
        )
    assert declined.status_code == 402
    assert flowglad_sandbox.webhooks.deliveries[-1].type == "payment.failed"
    [(_, event)] = seen
    assert event.customer_external_id == "u1"


def test_cancel_through_the_protocol_delivers_subscription_canceled(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    sub = flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    _data(
        app,
        "subscriptions/cancel",
        {"id": sub["id"], "cancellation": {"timing": "immediately"}},
    )
    # The ended paid plan, then the default plan the customer falls back to.
    ended, fallback = flowglad_sandbox.webhooks.deliveries[-2:]
    assert (ended.type, json.loads(ended.body)["id"], ended.delivered) == (
        "subscription.canceled",
        sub["id"],
        True,
    )
    current = flowglad_sandbox.billing("u1")["currentSubscription"]["id"]
    assert (fallback.type, json.loads(fallback.body)["id"]) == ("subscription.created", current)


def test_failed_delivery_is_redelivered_with_its_id(app: Flask, flowglad_sandbox: Sandbox) -> None:
    runs: list[str] = []

    def flaky(sender: Any, **kw: Any) -> None:
        runs.append(kw["event"].id)
        if len(runs) == 1:
            raise RuntimeError("down")

    webhook_received.connect(flaky)
    try:
        flowglad_sandbox.create_customer("u3")
        failed = [d for d in flowglad_sandbox.webhooks.deliveries if not d.delivered]
        assert [d.status for d in failed] == [500]
        retried = flowglad_sandbox.webhooks.redeliver()
    finally:
        webhook_received.disconnect(flaky)
    assert retried == failed
    assert failed[0].delivered and failed[0].attempts == 2
    assert runs[0] == runs[-1] == failed[0].id
    assert flowglad_sandbox.webhooks.redeliver() == []


def test_receiver_may_call_the_sandbox_and_its_changes_are_delivered_after(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    order: list[str] = []

    def rename_on_creation(sender: Any, **kw: Any) -> None:
        event = kw["event"]
        order.append(f"{event.object}:{event.object_id[:4]}")
        if event.object == "customer" and len(order) == 1:
            state = get_state(sender)
            state.client.update_customer(event.customer_external_id, {"name": "Renamed"})

    webhook_received.connect(rename_on_creation)
    try:
        flowglad_sandbox.create_customer("u4")
    finally:
        webhook_received.disconnect(rename_on_creation)
    # The update made inside the first delivery waits for the events announced before it.
    assert [d.type for d in flowglad_sandbox.webhooks.deliveries] == [
        "customer.created",
        "subscription.created",
        "customer.updated",
    ]
    assert flowglad_sandbox.billing("u4")["customer"]["name"] == "Renamed"


def test_webhook_drops_the_customers_cached_billing(app: Flask, flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.create_customer("u5")
    body = json.loads(flowglad_sandbox.webhooks.deliveries[0].body)
    event = parse_event("msg_x", "1", body)
    with app.test_request_context():
        customer = get_state().for_identity(CustomerIdentity("u5"))
        customer.get_billing()
        customer.get_billing()
        reads = len(flowglad_sandbox.calls)
        dispatch(event)
        customer.get_billing()
        assert len(flowglad_sandbox.calls) == reads + 1


def test_url_endpoint_receives_signed_posts_over_http(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_webhooks, "URL_RETRY_DELAYS", (0.05,))
    remote = Sandbox()
    with serving(app) as base_url, recording(webhook_received) as seen:
        remote.webhooks.deliver_to_url(f"{base_url}/webhooks/flowglad", SECRET)
        remote.webhooks.deliver_to_url("http://127.0.0.1:1/nothing-listens", SECRET)
        remote.create_customer("u6")
        assert remote.webhooks.wait(20)
    by_url = {d.endpoint: d for d in remote.webhooks.deliveries if d.type == "customer.created"}
    assert by_url[f"{base_url}/webhooks/flowglad"].status == 200
    unreachable = by_url["http://127.0.0.1:1/nothing-listens"]
    assert (unreachable.status, unreachable.attempts) == (None, 2)
    assert {event.customer_external_id for _, event in seen} == {"u6"}


@pytest.mark.parametrize(
    "secret", ["whsec_not*base64", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"]
)
def test_a_secret_that_could_never_sign_or_verify_is_refused_when_the_app_starts(
    tmp_path: Path, flowglad_sandbox: Sandbox, secret: str
) -> None:
    # The second is the test vector's secret without its padding: Svix's base64 is strict.
    with pytest.raises(ConfigurationError, match="FLOWGLAD_WEBHOOK_SECRET.*canonical base64"):
        webhook_app(
            tmp_path,
            FLOWGLAD_SANDBOX=flowglad_sandbox,
            FLOWGLAD_SECRET_KEY=None,
            FLOWGLAD_WEBHOOK_SECRET=secret,
        )
    assert flowglad_sandbox.webhooks.deliveries == []


def test_an_app_that_is_gone_receives_nothing(tmp_path: Path, flowglad_sandbox: Sandbox) -> None:
    import gc

    app = webhook_app(tmp_path, FLOWGLAD_SANDBOX=flowglad_sandbox, FLOWGLAD_SECRET_KEY=None)
    del app
    gc.collect()
    flowglad_sandbox.create_customer("u1")
    assert flowglad_sandbox.webhooks.deliveries == []


def test_reset_forgets_the_deliveries(app: Flask, flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.create_customer("u1")
    assert flowglad_sandbox.webhooks.deliveries
    flowglad_sandbox.reset()
    assert flowglad_sandbox.webhooks.deliveries == []
    flowglad_sandbox.create_customer("u1")
    assert [d.type for d in flowglad_sandbox.webhooks.deliveries][0] == "customer.created"


def test_a_delivery_is_a_request_of_its_own_after_the_customers_request(
    app: Flask, flowglad_sandbox: Sandbox
) -> None:
    """As Flowglad's deliveries: no cookie, so no logged-in user; its own ``g``, and it
    comes after the request that made the change has ended."""
    from flask import flash, g, request, session
    from flask_login import current_user

    order: list[str] = []
    seen: list[dict[str, Any]] = []

    @app.before_request
    def mark() -> None:
        g.marker = request.path

    @app.teardown_request
    def ended(exc: BaseException | None) -> None:
        order.append(f"ended {request.path}")

    def receiver(sender: Any, **kw: Any) -> None:
        seen.append(
            {
                "anonymous": current_user.is_anonymous,
                "marker": g.marker,
                "session": dict(session),
            }
        )
        flash("Your plan changed")  # lands in the delivery's own session
        order.append(f"delivered {kw['event'].object}")

    customer = app.test_client(user=User("u1"))
    _data(app, "customers/billing")
    checkout = _data(app, "checkout-sessions/create", {**SUCCESS, "priceSlug": "pro_monthly"})
    webhook_received.connect(receiver)
    try:
        order.clear()
        paid = customer.post(
            urlsplit(checkout["url"]).path, data={"card_number": "4242424242424242"}
        )
        assert paid.status_code == 303
        sub = flowglad_sandbox.billing("u1")["currentSubscription"]["id"]
        cancel = {"id": sub, "cancellation": {"timing": "immediately"}}
        answer = customer.post("/api/flowglad/subscriptions/cancel", json=cancel)
        assert answer.status_code == 200
    finally:
        webhook_received.disconnect(receiver)
    assert seen and all(s["anonymous"] for s in seen)
    assert {s["marker"] for s in seen} == {"/webhooks/flowglad"}
    assert all("_user_id" not in s["session"] for s in seen)
    # Each request's events after it ended: none while the customer's request ran.
    page = urlsplit(checkout["url"]).path
    first_delivery = order.index("delivered subscription")
    assert order[0] == f"ended {page}" and first_delivery > 0
    cancel_ended = order.index("ended /api/flowglad/subscriptions/cancel")
    assert order[cancel_ended + 1 :] and all(
        step.startswith(("delivered", "ended /webhooks")) for step in order[cancel_ended + 1 :]
    )
    # Nothing of the deliveries' flashes reached the customer's session.
    with customer.session_transaction() as customer_session:
        assert "_flashes" not in customer_session
