"""The hosted pages after the fact: a paid checkout reached again with the back button,
and the portal's cancel (confirmed first, then back to where the app sent the customer)."""

from __future__ import annotations

import re

from flask import Flask

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import ApiClient


def test_a_paid_checkout_reached_again_says_so_and_charges_nothing_more(
    app: Flask, sandbox: Sandbox, api: ApiClient
) -> None:
    api.create_customer("user-1")
    session = api.checkout("user-1", priceSlug="report_pack")["checkoutSession"]
    client = app.test_client()
    url = f"/flowglad-sandbox/checkout/{session['id']}"
    form = client.get(url)
    assert form.headers["Cache-Control"] == "no-store"  # the back button asks again
    assert 'id="checkout-form"' in form.get_data(as_text=True)
    paid = client.post(url, data={"card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 303
    again_get = client.get(url)
    again_post = client.post(url, data={"card_number": "4242424242424242"})
    assert (again_get.status_code, again_post.status_code) == (200, 400)
    for again in (again_get, again_post):
        html = again.get_data(as_text=True)
        assert 'id="checkout-form"' not in html
        assert "This payment went through: nothing more to pay." in html
        assert session["id"] not in re.sub(r'href="[^"]*"|action="[^"]*"', "", html)
    assert len(sandbox.billing("user-1")["purchases"]) == 1


def test_the_portal_asks_before_cancelling_and_keeps_the_way_back(
    app: Flask, sandbox: Sandbox
) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    customer_id = sub["customerId"]
    client = app.test_client()
    back = {"return_to": "http://app.test/billing/"}
    page = client.get(f"/flowglad-sandbox/portal/{customer_id}", query_string=back)
    html = page.get_data(as_text=True)
    assert not [a for a in re.findall(r'action="([^"]*)"', html) if a.endswith("/cancel")]
    assert f"?confirm={sub['id']}" in html  # one click asks; it does not cancel
    assert sandbox.subscription(sub["id"])["status"] == "active"
    confirm = client.get(
        f"/flowglad-sandbox/portal/{customer_id}", query_string={"confirm": sub["id"], **back}
    ).get_data(as_text=True)
    assert 'id="cancel-confirm"' in confirm and "Yes, cancel" in confirm
    done = client.post(
        f"/flowglad-sandbox/portal/{customer_id}/subscriptions/{sub['id']}/cancel",
        data={"timing": "at_end_of_current_billing_period", **back},
    )
    assert sandbox.subscription(sub["id"])["status"] == "cancellation_scheduled"
    after = client.get(done.location).get_data(as_text=True)
    assert 'id="back-to-app" href="http://app.test/billing/"' in after
