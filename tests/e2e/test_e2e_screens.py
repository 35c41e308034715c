"""The example app as a person sees it, at a phone's width (390 px) and a desktop's:
nothing wider than the screen, statuses and dates in words, the plan-change preview
before anything is charged, the cancel confirmation, and the ``#plans`` link landing on
the plans. Each screen is kept as a screenshot in ``test-artifacts/screens/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from .e2e_harness import ARTIFACTS, LiveApp, pay_on_hosted_checkout, sign_up

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SCREENS = ARTIFACTS / "screens"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
#: A date as the page writes it: "Dec 27, 2026".
READABLE_DATE = r"[A-Z][a-z]{2} \d{1,2}, \d{4}"


@pytest.fixture(params=sorted(WIDTHS))
def screen(
    request: pytest.FixtureRequest, browser: Browser, frontend_built: None
) -> Iterator[Page]:
    """A page in a fresh browser context at one of :data:`WIDTHS`."""
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def width_name(page: Page) -> str:
    width = page.viewport_size["width"] if page.viewport_size else 0
    return next(name for name, (w, _) in WIDTHS.items() if w == width)


def shoot(page: Page, name: str) -> None:
    """Keep the screen, and check what a person would notice first: a sideways scroll."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}-{width_name(page)}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    overflow = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], f"{name}: page is {overflow[0]} px wide in {overflow[1]}"


def test_public_pages_fit_the_screen(live_app: LiveApp, screen: Page) -> None:
    for path, name in (("/", "home"), ("/pricing", "pricing"), ("/login", "login")):
        screen.goto(live_app(path))
        shoot(screen, name)


def test_billing_page_reads_in_words_and_fits_the_screen(live_app: LiveApp, screen: Page) -> None:
    from playwright.sync_api import expect

    sign_up(screen, live_app, "Ada Lovelace", "ada.lovelace.with.a.long.address@example.com")
    expect(screen.get_by_test_id("current-plan-name")).to_have_text("Free")
    shoot(screen, "billing-free")

    sub = live_app.sandbox.put_customer_on_plan("1", "pro_monthly")
    live_app.sandbox.advance_billing_period("1")
    screen.reload()
    expect(screen.get_by_test_id("subscription-status")).to_have_text("Active")
    expect(screen.get_by_test_id("current-plan")).to_contain_text(
        re.compile(f"Renews on {READABLE_DATE}")
    )
    screen.get_by_test_id("cancel-subscription").click()
    confirm = screen.get_by_test_id("cancel-confirm")
    expect(confirm).to_contain_text(re.compile(f"You keep it until {READABLE_DATE}"))
    shoot(screen, "billing-cancel-confirm")
    assert not live_app.upstream_calls("POST", f"/api/v1/subscriptions/{sub['id']}/cancel")
    screen.get_by_test_id("cancel-confirm-yes").click()

    status = screen.get_by_test_id("subscription-status")
    expect(status).to_have_text("Cancels at period end")
    expect(screen.get_by_test_id("cancel-notice")).to_have_text(
        re.compile(f"^Cancels on {READABLE_DATE}\\.$")
    )
    body = screen.locator("body").inner_text()
    assert "cancellation_scheduled" not in body
    assert not re.search(r"\b1\d{12}\b", body), "an epoch timestamp is shown"
    expect(screen.get_by_test_id("invoice-row").first).to_contain_text(re.compile(READABLE_DATE))
    shoot(screen, "billing-cancellation-scheduled")


def test_switching_to_yearly_is_a_new_yearly_plan_priced_before_checkout(
    live_app: LiveApp, screen: Page
) -> None:
    """Monthly to yearly is a new plan through checkout (Flowglad keeps a subscription's
    interval when it is adjusted): priced first, paid on the hosted page, renewing a year
    later. Back to monthly is refused with the reason."""
    from playwright.sync_api import expect

    sign_up(screen, live_app, "Ada", "ada@example.com")
    sub = live_app.sandbox.put_customer_on_plan("1", "pro_monthly")
    screen.reload()

    screen.get_by_test_id("switch-to-pro_yearly").click()
    charge = screen.get_by_test_id("switch-charge")
    expect(charge).to_contain_text("$200.00 is charged now on the payment page")
    expect(charge).to_contain_text(str(datetime.now(timezone.utc).year + 1))
    expect(screen.get_by_test_id("switch-ends")).to_contain_text("is not refunded")
    assert not live_app.upstream_calls("POST", f"/api/v1/subscriptions/{sub['id']}/adjust")
    before = live_app.sandbox.subscription(sub["id"])["status"]
    assert before == "active", "changed before confirming"
    shoot(screen, "billing-switch-preview")

    screen.get_by_test_id("switch-confirm").click()
    pay_on_hosted_checkout(screen, live_app)
    screen.wait_for_url(live_app("/billing?checkout=success"))
    expect(screen.get_by_test_id("checkout-success")).to_be_visible()
    expect(screen.get_by_test_id("current-price")).to_have_text("$200.00 / year")
    renewal = screen.get_by_text(re.compile(f"Renews on {READABLE_DATE}"))
    expect(renewal).to_contain_text(str(datetime.now(timezone.utc).year + 1))
    assert live_app.sandbox.subscription(sub["id"])["status"] == "canceled"

    screen.get_by_test_id("switch-to-pro_monthly").click()
    expect(screen.get_by_test_id("switch-refused")).to_contain_text("cannot be shortened")
    shoot(screen, "billing-switch-refused")


def test_see_plans_lands_on_the_plans(live_app: LiveApp, screen: Page) -> None:
    from playwright.sync_api import expect

    sign_up(screen, live_app, "Ada", "ada@example.com")
    screen.goto(live_app("/analytics/"))
    shoot(screen, "upgrade-prompt")
    screen.get_by_test_id("see-plans").click()
    plans = screen.get_by_test_id("plans")
    expect(plans).to_be_visible()
    screen.wait_for_function(
        """() => {
            const top = document.getElementById('plans').getBoundingClientRect().top;
            const bottom = document.documentElement.scrollHeight - window.innerHeight;
            return Math.abs(top) < 2 || (top > 0 && Math.abs(window.scrollY - bottom) < 2);
        }"""
    )
    if width_name(screen) == "phone":
        assert screen.evaluate("() => window.scrollY") > 0
