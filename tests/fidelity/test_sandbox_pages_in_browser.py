"""The sandbox's hosted pages as a person sees them, at a phone's width and a desktop's."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import requests

from tests.e2e.e2e_harness import ARTIFACTS

from .stack import SECRET_KEY

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from .stack import Stack

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("width", [390, 1200])
def test_portal_and_checkout_read_well_at_phone_and_desktop_widths(
    page: Page, stack: Stack, width: int
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 900})
    customer = stack.control("/customers", externalId="grace", name="Grace Hopper")["customer"]
    assert isinstance(customer, dict)
    sub = stack.control("/customers/grace/plan", priceSlug="pro_monthly")["subscription"]
    assert isinstance(sub, dict)
    cancel = requests.post(
        f"{stack.sandbox_url}/api/v1/subscriptions/{sub['id']}/cancel",
        json={"cancellation": {"timing": "at_end_of_current_billing_period"}},
        headers={"Authorization": SECRET_KEY},
        timeout=10,
    )
    assert cancel.ok

    portal = f"{stack.sandbox_url}/flowglad-sandbox/portal/{customer['id']}"
    page.goto(f"{portal}?return_to={stack.app_url}/account")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"sandbox-portal-{width}.png"), full_page=True)
    assert page.evaluate(NO_OVERFLOW), "the portal scrolls sideways"
    expect(page.get_by_role("note")).to_contain_text("Local sandbox page")
    expect(page.get_by_role("note")).to_contain_text("anyone who knows a customer's id")
    row = page.locator(f'tr[data-subscription-id="{sub["id"]}"]')
    expect(row).to_contain_text("Cancels at period end")
    expect(row).to_contain_text(re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}"))
    assert not re.search(r"\d{12,}|cancellation_scheduled", page.locator("main").inner_text())
    page.get_by_role("link", name="Back to the app").click()
    page.wait_for_url(f"{stack.app_url}/account")

    session = requests.post(
        f"{stack.sandbox_url}/api/v1/checkout-sessions",
        json={
            "checkoutSession": {
                "type": "product",
                "customerExternalId": "grace",
                "priceSlug": "pack",
                "quantity": 2,
                "successUrl": f"{stack.app_url}/ok",
                "cancelUrl": f"{stack.app_url}/no",
            }
        },
        headers={"Authorization": SECRET_KEY},
        timeout=10,
    ).json()
    page.goto(session["url"])
    page.screenshot(path=str(ARTIFACTS / f"sandbox-checkout-{width}.png"), full_page=True)
    assert page.evaluate(NO_OVERFLOW), "the checkout scrolls sideways"
    expect(page.get_by_role("button", name="Pay $18.00")).to_be_visible()
