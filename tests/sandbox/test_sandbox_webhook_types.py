"""The event types: the package's list is Flowglad's contract, and the sandbox announces
nothing outside it."""

from __future__ import annotations

import json

import pytest
from flask import Flask, request

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.sandbox.rules.checkout import CardDeclined
from flask_flowglad.webhooks import EVENT_TYPES

from .sandbox_helpers import SHARED_CONTRACT, ApiClient

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def test_event_types_are_the_webhook_filter_types_of_flowglads_api() -> None:
    webhook = SHARED_CONTRACT.spec["paths"]["/api/v1/webhooks"]["post"]["requestBody"]["content"]
    schema = webhook["application/json"]["schema"]["properties"]["webhook"]
    assert set(schema["properties"]["filterTypes"]["items"]["enum"]) == EVENT_TYPES


def test_every_kind_of_change_is_announced_with_flowglads_types(
    sandbox: Sandbox, api: ApiClient
) -> None:
    received: list[dict[str, object]] = []
    app = Flask(__name__)

    @app.post("/hook")
    def hook() -> str:
        received.append(json.loads(request.get_data()))
        return ""

    sandbox.webhooks.deliver_to_app(app, "/hook", SECRET)
    api.create_customer("u1")
    api.put("/api/v1/customers/u1", json={"customer": {"name": "Ada"}})
    pro = sandbox.put_customer_on_plan("u1", "pro_monthly")
    api.post(
        f"/api/v1/subscriptions/{pro['id']}/cancel",
        json={"cancellation": {"timing": "at_end_of_current_billing_period"}},
    )
    sandbox.put_customer_on_plan("u1", "report_pack")
    session = api.checkout("u1", priceSlug="pro_yearly")["checkoutSession"]
    with pytest.raises(CardDeclined):
        sandbox.complete_checkout(session["id"], card_number="4000 0000 0000 0002")
    types = [d.type for d in sandbox.webhooks.deliveries]
    assert set(types) == EVENT_TYPES - {"sync.events_available"}
    assert all(d.delivered for d in sandbox.webhooks.deliveries)
    # The body names the kind of its type, and never the type itself.
    assert [body["object"] for body in received] == [t.split(".")[0] for t in types]
    assert all("type" not in body for body in received)
