"""A microblog-shaped app mounts the billing pages in a few lines and gets its own look:
its Bootstrap layout and navbar, its block, Flask-WTF's CSRF token, its flashed messages,
its templates using the components and ``current_billing``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from flask_flowglad.sandbox import Sandbox

from .microblog import create_app


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def microblog(sandbox: Sandbox) -> Flask:
    with pytest.warns(UserWarning, match="simulated"):
        return create_app({"FLOWGLAD_SANDBOX": sandbox, "WTF_CSRF_ENABLED": True})


def signed_in(app: Flask, username: str = "susan") -> Any:
    browser = app.test_client()
    page = browser.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, page
    response = browser.post("/auth/login", data={"username": username, "csrf_token": token[1]})
    assert response.status_code == 302
    return browser


def test_the_pages_wear_the_apps_layout(microblog: Flask, sandbox: Sandbox) -> None:
    page = microblog.test_client().get("/billing/pricing").get_data(as_text=True)
    assert 'data-testid="microblog-navbar"' in page and 'data-testid="bootstrap"' in page
    assert '<div class="container mt-3">' in page and 'id="flowglad-main"' in page
    assert "<title>Pricing - Microblog</title>" in page


def test_flask_wtfs_token_works_on_the_kits_forms_and_forgeries_fail(
    microblog: Flask, sandbox: Sandbox
) -> None:
    browser = signed_in(microblog)
    sub = sandbox.put_customer_on_plan("susan", "pro_monthly")
    page = browser.get("/billing/cancel").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    assert browser.post("/billing/cancel", data={"csrf_token": "x"}).status_code == 400
    assert sandbox.subscription(sub["id"])["status"] == "active"
    done = browser.post("/billing/cancel", data={"csrf_token": token[1]}, follow_redirects=True)
    assert sandbox.subscription(sub["id"])["status"] == "cancellation_scheduled"
    # The message shows where the app shows its messages.
    assert 'class="alert alert-info" role="alert">Pro will end on' in done.get_data(as_text=True)


def test_the_apps_own_pages_use_the_components(microblog: Flask, sandbox: Sandbox) -> None:
    browser = signed_in(microblog)
    sandbox.put_customer_on_plan("susan", "pro_monthly")
    sandbox.record_usage("susan", "api_calls", 10)
    home = browser.get("/").get_data(as_text=True)
    assert 'data-testid="home-plan">Pro <span class="fg-badge fg-status-active"' in home
    assert "10 of 10,000 used" in home
    assert "text-bg-success" in home  # has_feature in the navbar


def test_no_react_routes_and_an_outage_keeps_the_navbar_up(
    microblog: Flask, sandbox: Sandbox
) -> None:
    browser = signed_in(microblog)
    assert browser.post("/api/flowglad/customers/billing", json={}).status_code == 404
    sandbox.fail_next(503, times=20)
    about = browser.get("/about")
    assert about.status_code == 200  # has_feature in the navbar does not raise
    billing = browser.get("/billing/")
    assert billing.status_code == 503
    assert 'data-testid="microblog-navbar"' in billing.get_data(as_text=True)
