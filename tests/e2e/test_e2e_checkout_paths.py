"""Other ways through checkout: a one-time purchase, a cancelled checkout, the portal."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .e2e_harness import LiveApp, pay_on_hosted_checkout, sign_up

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_one_time_purchase_is_shown_as_purchased(live_app: LiveApp, page: Page) -> None:
    from playwright.sync_api import expect

    sign_up(page, live_app, "Edsger Dijkstra", "edsger@example.com")
    page.get_by_test_id("checkout-report_pack").click()
    pay_on_hosted_checkout(page, live_app)
    page.wait_for_url(live_app("/billing?checkout=success"))
    expect(page.get_by_test_id("purchased-report_pack")).to_be_visible()
    expect(page.get_by_test_id("checkout-report_pack")).to_have_count(0)
    expect(page.get_by_test_id("invoice-row").filter(has_text="$49.00")).to_have_count(1)
    # A purchase is not a plan change.
    expect(page.get_by_test_id("current-plan-name")).to_have_text("Free")


def test_cancelled_checkout_changes_nothing(live_app: LiveApp, page: Page) -> None:
    from playwright.sync_api import expect

    sign_up(page, live_app, "Barbara Liskov", "barbara@example.com")
    page.get_by_test_id("checkout-pro_monthly").click()
    page.wait_for_url(re.compile(re.escape(live_app("/flowglad-sandbox/"))))
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(live_app("/billing?checkout=canceled"))
    expect(page.get_by_text("Checkout canceled")).to_be_visible()
    expect(page.get_by_test_id("current-plan-name")).to_have_text("Free")


def test_billing_portal_link_opens_the_customers_portal(live_app: LiveApp, page: Page) -> None:
    from playwright.sync_api import expect

    sign_up(page, live_app, "Donald Knuth", "donald@example.com")
    page.get_by_test_id("billing-portal").click()
    page.wait_for_url(re.compile(re.escape(live_app("/flowglad-sandbox/"))))
    expect(page.get_by_text("donald@example.com")).to_be_visible()
    expect(page.locator("#subscriptions")).to_contain_text(re.compile("active", re.I))
