"""flask-flowglad's server-rendered billing pages in headless Chromium, in the example app
(``SAAS_UI = "jinja"``): the whole journey with JavaScript off and the keyboard only, the
same journey again with htmx swapping pages in place, axe-core's WCAG 2.1 AA audit of
every page and state, and dates that stay on one line at a phone's width.

Screenshots of each page at 390 and 1280 px go to the folder ``FLOWGLAD_UI_SHOTS`` names,
when it is set (they are looked at, not compared).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .e2e_harness import ROOT, TEST_CARD, LiveApp, unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

NODE = ROOT / "tests" / "ui" / "node" / "node_modules"
AXE = NODE / "axe-core" / "axe.min.js"
HTMX = NODE / "htmx.org" / "dist" / "htmx.min.js"
INSTALL_NODE = (
    "The billing pages' browser tests need axe-core and htmx from npm:"
    " `cd tests/ui/node && npm ci` (scripts/test.sh does it)."
)
#: The WCAG 2.1 A and AA rules of axe-core.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {"390": (390, 844), "1280": (1280, 900)}
SHOTS = os.environ.get("FLOWGLAD_UI_SHOTS")


@pytest.fixture
def jinja_app(make_live_app: Callable[..., LiveApp]) -> LiveApp:
    if not AXE.is_file() or not HTMX.is_file():
        unavailable(INSTALL_NODE)
    return make_live_app(SAAS_UI="jinja")


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    made: list[BrowserContext] = []

    def make(*, javascript: bool = True, width: str = "1280") -> BrowserContext:
        w, h = WIDTHS[width]
        context = browser.new_context(
            java_script_enabled=javascript, viewport={"width": w, "height": h}
        )
        context.set_default_timeout(10_000)
        # The example loads htmx from its pinned CDN URL; here the same file comes from npm.
        context.route(
            re.compile(r"https://unpkg\.com/htmx\.org@.*"),
            lambda route: route.fulfill(path=str(HTMX), content_type="text/javascript"),
        )
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


# -- helpers -----------------------------------------------------------------------------


def audit(page: Page, state: str, results: dict[str, list[str]]) -> None:
    """axe-core's WCAG 2.1 AA rules on the page as it is; violations kept by state."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.nodes.map("
        "n => n.target + ' ' + n.failureSummary.replace(/\\s+/g, ' ')).join(' | ')))",
        WCAG_21_AA,
    )
    results[state] = found


def shoot(page: Page, name: str) -> None:
    """The page at both widths, into FLOWGLAD_UI_SHOTS when it is set."""
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, (w, h) in WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    if size:
        page.set_viewport_size(size)


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} never got the focus with Tab")


def press(page: Page, target: Locator) -> None:
    """Tab to a link or button and press Enter."""
    tab_to(page, target)
    page.keyboard.press("Enter")


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def pay(page: Page, keyboard: bool) -> None:
    """Pay on the sandbox's hosted checkout page."""
    page.wait_for_url(re.compile(r".*/flowglad-sandbox/checkout/.*"))
    card = page.get_by_label(re.compile("card number", re.I))
    button = page.get_by_role("button", name=re.compile("^(pay|save card)", re.I))
    if keyboard:
        type_into(page, card, TEST_CARD)
        press(page, button)
    else:
        card.fill(TEST_CARD)
        button.click()


def act(page: Page, target: Locator, keyboard: bool) -> None:
    if keyboard:
        press(page, target)
    else:
        target.click()


def on_one_line(page: Page, selector: str) -> list[str]:
    """The texts of ``selector`` that a line break splits."""
    return page.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.getClientRects().length > 1).map(e => e.textContent)",
    )


# -- the journey ---------------------------------------------------------------------------


@dataclass
class Journey:
    """One customer's journey through the pages: each page checked by ``check`` (an
    audit, screenshots), each step named by ``step``, every control reached with the
    keyboard when ``keyboard``, and no full page load inside the pages when ``htmx``."""

    app: LiveApp
    page: Page
    keyboard: bool
    htmx: bool
    check: Callable[[str], None]
    step: Callable[[str], Any]

    def act(self, target: Locator) -> None:
        act(self.page, target, self.keyboard)

    def fill(self, target: Locator, text: str) -> None:
        if self.keyboard:
            type_into(self.page, target, text)
        else:
            target.fill(text)

    def mark(self) -> None:
        """Mark the document, to tell an htmx swap from a full page load."""
        if self.htmx:
            self.page.wait_for_function("typeof htmx !== 'undefined'")
            self.page.evaluate("window.__journey = 1")

    def same_document(self) -> None:
        if self.htmx:
            assert self.page.evaluate("window.__journey === 1"), "a full page load happened"

    def run(self) -> None:
        self.sign_up_and_pay()
        next_year = self.switch_to_yearly()
        self.cancel_and_keep(next_year)
        self.buy_and_use()

    def sign_up_and_pay(self) -> None:
        """Pricing, sign-up with the plan kept, the hosted checkout, back after paying."""
        from playwright.sync_api import expect

        app, page = self.app, self.page
        with self.step("pricing, anonymous"):
            page.goto(app("/billing/pricing"))
            expect(page.get_by_test_id("choose-pro_monthly")).to_be_visible()
            self.check("pricing-anonymous")
            self.act(page.get_by_test_id("choose-pro_monthly"))
        with self.step("sign up, the plan kept"):
            page.wait_for_url(re.compile(r".*/signup\?next=.*"))
            self.fill(page.get_by_label("Name"), "Ada Lovelace")
            self.fill(page.get_by_label("Email"), "ada@example.com")
            self.fill(page.get_by_label("Password"), "correct horse battery")
            self.act(page.get_by_test_id("signup-submit"))
            page.wait_for_url(app("/billing/checkout?price=pro_monthly"))
            expect(page.get_by_test_id("checkout-confirm")).to_contain_text("$20.00")
            self.check("checkout-confirm")
            self.act(page.get_by_test_id("checkout-continue"))
        with self.step("hosted checkout, billing shows Pro at once"):
            pay(page, self.keyboard)
            page.wait_for_url(app("/billing/"))
            expect(page.get_by_test_id("plan-name")).to_have_text("Pro")
            expect(page.get_by_test_id("plan-status")).to_have_text("Active")
            expect(page.get_by_text("Payment received. You are on Pro.")).to_be_visible()
            expect(page.get_by_test_id("plan-renews")).to_be_visible()
            self.check("account-pro-monthly")
        with self.step("back after paying: the hosted page says it is paid"):
            page.go_back()
            page.wait_for_url(re.compile(r".*/flowglad-sandbox/checkout/.*"))
            expect(page.locator("#status")).to_have_text(
                "This payment went through: nothing more to pay."
            )
            expect(page.locator("#checkout-form")).to_have_count(0)
            self.act(page.locator("#continue"))
            page.wait_for_url(app("/billing/"))
            expect(page.get_by_text("Payment received")).to_have_count(0)
            self.mark()

    def switch_to_yearly(self) -> datetime:
        """Monthly to yearly: priced first, paid on the hosted page, a yearly period."""
        from playwright.sync_api import expect

        app, page = self.app, self.page
        with self.step("monthly to yearly: a new yearly period"):
            self.act(page.get_by_test_id("change-plan"))
            expect(page.get_by_test_id("interval-month")).to_be_visible()
            self.same_document()
            self.act(page.get_by_test_id("interval-year"))
            year = page.get_by_test_id("interval-year")
            expect(year).to_have_attribute("aria-current", "page")
            self.check("pricing-pro-yearly-toggle")
            self.act(page.get_by_test_id("change-pro_yearly"))
            next_year = datetime.now(timezone.utc) + timedelta(days=365)
            expect(page.get_by_test_id("interval-charge")).to_contain_text("$200.00")
            period = page.get_by_test_id("interval-period")
            expect(period).to_contain_text(str(next_year.year))
            self.same_document()
            self.check("change-interval-preview")
            self.act(page.get_by_test_id("interval-confirm"))
            pay(page, self.keyboard)
            page.wait_for_url(app("/billing/"))
            expect(page.get_by_test_id("plan-price")).to_contain_text("$200.00")
            expect(page.get_by_test_id("plan-price")).to_contain_text("a year")
            renews = page.get_by_test_id("plan-renews").locator("time")
            when = datetime.fromisoformat(renews.get_attribute("datetime") or "")
            assert when - datetime.now(timezone.utc) > timedelta(days=360)
            self.mark()
        return next_year

    def cancel_and_keep(self, next_year: datetime) -> None:
        from playwright.sync_api import expect

        page = self.page
        with self.step("cancel after a confirmation, at the period's end"):
            self.act(page.get_by_test_id("cancel-plan"))
            expect(page.get_by_test_id("cancel-confirm")).to_be_visible()
            assert page.get_by_label(re.compile("At the end of the period")).is_checked()
            self.same_document()
            self.check("cancel-confirm")
            self.act(page.get_by_test_id("cancel-yes"))
            expect(page.get_by_test_id("plan-ends")).to_contain_text(str(next_year.year))
            status = page.get_by_test_id("plan-status")
            expect(status).to_have_text("Ends at the end of the period")
            self.same_document()
            self.check("account-canceling")
        with self.step("uncancel"):
            self.act(page.get_by_test_id("uncancel"))
            expect(page.get_by_test_id("plan-renews")).to_be_visible()
            expect(page.get_by_test_id("plan-status")).to_have_text("Active")
            self.same_document()

    def buy_and_use(self) -> None:
        """The report pack, then usage: the bars move."""
        from playwright.sync_api import expect

        app, page = self.app, self.page
        with self.step("one-time purchase"):
            self.act(page.get_by_test_id("buy-report_pack"))
            pay(page, self.keyboard)
            page.wait_for_url(app("/billing/"))
            expect(page.get_by_text("Payment received for Report pack.")).to_be_visible()
            expect(page.get_by_test_id("purchase")).to_contain_text("10 premium reports")
            reports = page.get_by_test_id("usage-text-premium_reports")
            expect(reports).to_have_text("0 of 10 used")
            activity = page.get_by_test_id("billing-activity")
            for news in ("Switched to", "cancellation was withdrawn", "Bought Report pack"):
                expect(activity).to_contain_text(news)
            self.check("account-after-purchase")
        with self.step("usage bars move after usage"):
            page.goto(app("/analytics/"))
            self.fill(page.get_by_test_id("calls"), "250")
            self.act(page.get_by_test_id("run-analysis"))
            success = page.get_by_test_id("flash-success")
            expect(success).to_contain_text("250 API calls used")
            self.act(page.get_by_test_id("export-report"))
            expect(success).to_contain_text("Premium report exported")
            page.goto(app("/billing/"))
            calls = page.get_by_test_id("usage-text-api_calls")
            expect(calls).to_have_text("250 of 10,000 used")
            expect(reports).to_have_text("1 of 10 used")
            bar = page.get_by_test_id("usage-api_calls").locator(".fg-bar-fill")
            assert "width: 2%" in (bar.get_attribute("style") or "")


def test_journey_with_javascript_off_and_the_keyboard_only(
    jinja_app: LiveApp, contexts: Callable[..., BrowserContext], step: Callable[[str], Any]
) -> None:
    page = contexts(javascript=False).new_page()
    shots: list[str] = []

    def check(state: str) -> None:
        shots.append(state)
        shoot(page, f"nojs-{state}")

    Journey(jinja_app, page, keyboard=True, htmx=False, check=check, step=step).run()
    assert len(shots) == 8


def test_journey_with_htmx_swapping_pages_in_place_and_axe_finds_nothing(
    jinja_app: LiveApp, contexts: Callable[..., BrowserContext], step: Callable[[str], Any]
) -> None:
    page = contexts().new_page()
    violations: dict[str, list[str]] = {}

    def check(state: str) -> None:
        audit(page, state, violations)
        shoot(page, state)

    Journey(jinja_app, page, keyboard=False, htmx=True, check=check, step=step).run()
    assert len(violations) == 8
    assert {state: found for state, found in violations.items() if found} == {}


def test_every_other_state_passes_axe_and_dates_stay_on_one_line_at_390_px(
    jinja_app: LiveApp, contexts: Callable[..., BrowserContext]
) -> None:
    """The states the journey does not pass through: free plan, refused change, payment
    not completed, not allowed, billing unavailable; in light and dark."""
    sandbox = jinja_app.sandbox
    with jinja_app.app.app_context():
        from saas_app.models import create_user

        create_user("yearly@example.com", "Yearly", "correct horse battery")
        create_user("free@example.com", "Free", "correct horse battery")
    sandbox.put_customer_on_plan("1", "pro_yearly")
    for _ in range(3):  # invoices enough for a table
        sandbox.advance_billing_period("1")
    sandbox.create_customer("2")
    violations: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        context = contexts(width="390")
        page = context.new_page()
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        log_in(page, jinja_app, "yearly@example.com")
        for state, path in [
            ("account-yearly", "/billing/"),
            ("change-refused", "/billing/change?price=pro_monthly"),
            ("pricing-yearly-customer", "/billing/pricing"),
        ]:
            page.goto(jinja_app(path))
            audit(page, f"{state}-{scheme}", violations)
            shoot(page, f"{state}-{scheme}")
        page.goto(jinja_app("/billing/"))
        assert page.get_by_test_id("invoice-row").count() >= 3
        assert on_one_line(page, "[data-testid=invoices] time") == []
        assert on_one_line(page, "[data-testid=invoices] .fg-nowrap") == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        log_in(page, jinja_app, "free@example.com")
        page.goto(jinja_app("/billing/"))
        audit(page, f"account-free-{scheme}", violations)
        shoot(page, f"account-free-{scheme}")
        page.goto(jinja_app("/billing/checkout?price=pro_monthly"))
        page.get_by_test_id("checkout-continue").click()
        page.wait_for_url(re.compile(r".*/flowglad-sandbox/checkout/.*"))
        page.goto(jinja_app("/billing/checkout/return?left=1"))
        audit(page, f"checkout-not-paid-{scheme}", violations)
        shoot(page, f"checkout-not-paid-{scheme}")
        sandbox.fail_next(503, times=20)
        page.goto(jinja_app("/billing/"))
        audit(page, f"billing-unavailable-{scheme}", violations)
        shoot(page, f"billing-unavailable-{scheme}")
        sandbox.api.faults.clear()
        context.close()
    assert {state: found for state, found in violations.items() if found} == {}


def log_in(page: Page, app: LiveApp, email: str) -> None:
    page.context.clear_cookies()
    page.goto(app("/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(app("/"))
