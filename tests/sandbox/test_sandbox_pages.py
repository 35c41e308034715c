"""The hosted pages say what they are, lead back to the app and read like a person's page."""

from __future__ import annotations

import re

from flask import Flask

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.sandbox.rules import subscriptions

from .sandbox_helpers import ApiClient


def test_every_page_says_it_is_a_local_page_open_to_anyone_with_the_id(
    app: Flask, sandbox: Sandbox, api: ApiClient
) -> None:
    customer = sandbox.create_customer("user-1")
    api.create_customer("user-2")
    session = api.checkout("user-2", priceSlug="pro_monthly")["checkoutSession"]
    client = app.test_client()
    for path in (f"/portal/{customer['id']}", f"/checkout/{session['id']}", "/"):
        html = client.get("/flowglad-sandbox" + path).get_data(as_text=True)
        assert "Local sandbox page" in html
        assert "anyone who knows a customer's id" in html
        assert 'id="back-to-app"' in html


def test_back_to_the_app_follows_return_to_then_the_referrer_then_the_root(
    app: Flask, sandbox: Sandbox
) -> None:
    customer = sandbox.create_customer("user-1")
    client = app.test_client()
    url = f"/flowglad-sandbox/portal/{customer['id']}"

    def back(**kwargs: object) -> str:
        html = client.get(url, **kwargs).get_data(as_text=True)  # type: ignore[arg-type]
        match = re.search(r'id="back-to-app" href="([^"]*)"', html)
        assert match is not None
        return match.group(1)

    assert back(query_string={"return_to": "http://app.test/billing"}) == (
        "http://app.test/billing"
    )
    assert back(headers={"Referer": "http://app.test/account"}) == "http://app.test/account"
    assert back(query_string={"return_to": "javascript:alert(1)"}) == "/"
    assert back(headers={"Referer": "http://localhost/flowglad-sandbox/checkout/x"}) == "/"
    assert back() == "/"


def test_portal_shows_readable_dates_and_statuses(app: Flask, sandbox: Sandbox) -> None:
    sub = sandbox.put_customer_on_plan("user-1", "pro_monthly")
    with sandbox.transaction(write=True) as account:
        subscriptions.cancel(
            account, account.get_sub(sub["id"]), "at_end_of_current_billing_period"
        )
    customer = sandbox.create_customer("user-1")
    html = app.test_client().get(f"/flowglad-sandbox/portal/{customer['id']}").get_data(True)
    assert "Cancels at period end" in html
    assert ">cancellation_scheduled<" not in html
    assert not re.search(r">\s*\d{12,}\s*<", html), "no epoch milliseconds on the page"
    assert re.search(r">\d{1,2} [A-Z][a-z]{2} \d{4}<", html)


def test_pay_button_shows_the_amount(app: Flask, api: ApiClient) -> None:
    api.create_customer()
    session = api.checkout(priceSlug="pro_monthly", quantity=2)["checkoutSession"]
    html = app.test_client().get(f"/flowglad-sandbox/checkout/{session['id']}").get_data(True)
    assert re.search(r'id="pay">Pay \$40\.00<', html)
