"""The docs page "Billing pages without React": its two apps do what it says."""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path
from types import ModuleType

from flask_login import FlaskLoginClient

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_ui_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sandbox says billing is simulated
        spec.loader.exec_module(module)
    module.app.test_client_class = FlaskLoginClient
    return module


def test_the_working_app_sells_pro_from_its_pricing_page() -> None:
    example = load("billing_pages")
    browser = example.app.test_client()
    pricing = browser.get("/billing/pricing").get_data(as_text=True)
    assert '<nav><a href="/billing/pricing">Pricing</a>' in pricing
    # A plan picked before logging in is kept through it.
    picked = browser.get("/billing/checkout?price=pro_monthly")
    assert picked.location == "/login?next=/billing/checkout?price%3Dpro_monthly"
    confirm = browser.get(picked.location, follow_redirects=True).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm)
    assert token and "$20.00" in confirm
    hosted = browser.post(
        "/billing/checkout", data={"csrf_token": token[1], "price": "pro_monthly"}
    )
    session_id = hosted.location.rsplit("/", 1)[-1]
    with example.app.app_context():
        example.flowglad.sandbox.complete_checkout(session_id)
    billing = browser.get("/billing/checkout/return", follow_redirects=True).get_data(as_text=True)
    assert "Payment received. You are on Pro." in billing
    assert 'data-testid="plan-name">Pro<' in billing


def test_team_billing_members_read_and_admins_change() -> None:
    example = load("team_billing")
    with example.app.app_context():
        example.flowglad.sandbox.put_customer_on_plan("org-acme", "pro_monthly")
    admin = example.app.test_client(user=example.USERS["ada"])
    member = example.app.test_client(user=example.USERS["bob"])
    assert 'data-testid="cancel-plan"' in admin.get("/billing/").get_data(as_text=True)
    page = member.get("/billing/").get_data(as_text=True)
    assert 'data-testid="plan-name">Pro<' in page and 'data-testid="cancel-plan"' not in page
    assert 'data-testid="buy-report_pack"' in page  # members may buy add-ons
    refused = member.post(
        "/api/flowglad/subscriptions/cancel",
        json={"id": "sub_x", "cancellation": {"timing": "immediately"}},
    )
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
