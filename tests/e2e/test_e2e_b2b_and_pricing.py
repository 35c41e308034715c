"""The B2B switch and the server-rendered pricing page, in the browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .e2e_harness import LiveApp, dump, sign_up

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_team_mode_bills_the_team(make_live_app: Callable[..., LiveApp], page: Page) -> None:
    from playwright.sync_api import expect

    live_app = make_live_app(SAAS_BILLING_MODE="team")
    sign_up(page, live_app, "Grace Hopper", "grace@example.com")
    expect(page.get_by_test_id("current-plan-name")).to_have_text("Free")

    created = live_app.upstream_calls("POST", "/api/v1/customers")
    customers = [c["json"]["customer"] for c in created]
    assert [(c["externalId"], c["name"]) for c in customers] == [
        ("team-1", "Grace Hopper's team")
    ], dump(created)
    # The React SDK's billing call was answered with the team's billing.
    assert live_app.upstream_calls("GET", "/api/v1/customers/team-1/billing")
    assert not live_app.upstream_calls("GET", "/api/v1/customers/1/billing")


def test_pricing_page_for_visitors_uses_the_default_pricing_model(
    live_app: LiveApp, page: Page
) -> None:
    from playwright.sync_api import expect

    page.goto(live_app("/pricing"))
    expect(page.get_by_test_id("pricing-free")).to_contain_text("$0.00 / month")
    expect(page.get_by_test_id("pricing-pro")).to_contain_text("$20.00 / month")
    expect(page.get_by_test_id("pricing-pro")).to_contain_text("Advanced analytics")
    expect(page.get_by_test_id("pricing-report_pack")).to_contain_text("$49.00 once")
    assert live_app.upstream_calls("GET", "/api/v1/pricing-models/default")


def test_pricing_page_marks_the_customers_plan(live_app: LiveApp, page: Page) -> None:
    from playwright.sync_api import expect

    sign_up(page, live_app, "Alan Turing", "alan@example.com")
    page.goto(live_app("/pricing"))
    expect(page.get_by_test_id("pricing-free")).to_contain_text("Your plan")
    expect(page.get_by_test_id("pricing-pro").get_by_role("link", name="Choose")).to_be_visible()
