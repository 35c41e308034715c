"""The whole customer journey of the example app, in headless Chromium against the
real ``@flowglad/react`` bundle, with the sandbox playing Flowglad."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .e2e_harness import LiveApp, dump, pay_on_hosted_checkout, sign_up

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_journey_from_sign_up_to_log_out(
    live_app: LiveApp, page: Page, step: Callable[[str], Any]
) -> None:
    from playwright.sync_api import expect

    with step("sign up"):
        sign_up(page, live_app, "Ada Lovelace", "ada@example.com")
        # Sign-up created the Flowglad customer in the same flow.
        created = live_app.upstream_calls("POST", "/api/v1/customers")
        assert [c["json"]["customer"]["externalId"] for c in created] == ["1"], dump(created)
        assert created[0]["json"]["customer"]["email"] == "ada@example.com"

    with step("free plan shown"):
        expect(page.get_by_test_id("current-plan-name")).to_have_text("Free")
        expect(page.get_by_test_id("plan-pro")).to_be_visible()

    with step("gated page denied"):
        response = page.goto(live_app("/analytics/"))
        assert response is not None and response.status == 402
        expect(page.get_by_test_id("upgrade-prompt")).to_be_visible()

    with step("upgrade through the hosted checkout"):
        page.get_by_test_id("see-plans").click()
        page.get_by_test_id("checkout-pro_monthly").click()
        pay_on_hosted_checkout(page, live_app)
        page.wait_for_url(live_app("/billing?checkout=success"))
        expect(page.get_by_test_id("checkout-success")).to_be_visible()
        expect(page.get_by_test_id("current-plan-name")).to_have_text("Pro")
        expect(page.get_by_test_id("subscription-status")).to_have_text("Active")
        expect(page.get_by_test_id("payment-method")).to_contain_text("4242")

    with step("feature unlocked"):
        response = page.goto(live_app("/analytics/"))
        assert response is not None and response.status == 200
        expect(page.get_by_test_id("analytics-unlocked")).to_be_visible()
        calls_left = page.get_by_test_id("calls-left")
        before = int(calls_left.inner_text().replace(",", ""))
        assert before > 1

    with step("usage recorded, balance goes down"):
        page.get_by_test_id("run-analysis").click()
        expect(page.get_by_test_id("flash-success")).to_contain_text("1 API call used")
        expect(calls_left).to_have_text(f"{before - 1:,}")
        # Recorded in the usage outbox; the app's worker sends it in a batch.
        events = live_app.usage_sent(1)
        assert [e["amount"] for e in events] == [1], dump(events)
        assert live_app.upstream_calls("POST", "/api/v1/usage-events") == []
        # The billing page (useUsageMeters, Flowglad's own figure) shows the same balance.
        page.goto(live_app("/billing"))
        expect(page.get_by_test_id("usage-balance-api_calls")).to_have_text(f"{before - 1:,}")

    with step("usage refused when spent"):
        page.goto(live_app("/analytics/"))
        page.get_by_test_id("calls").fill(str(before - 1))
        page.get_by_test_id("run-analysis").click()
        expect(calls_left).to_have_text("0")
        page.get_by_test_id("run-analysis").click()
        expect(page.get_by_test_id("flash-error")).to_contain_text("Out of API calls")
        expect(calls_left).to_have_text("0")
        # The refused run recorded nothing: two events in all, what was spent to the unit.
        events = live_app.usage_sent(2)
        assert sorted(e["amount"] for e in events) == [1, before - 1], dump(events)
        assert live_app.usage_sent(3, timeout=0.5) == events

    with step("cancel at period end, after a confirmation"):
        page.goto(live_app("/billing"))
        page.get_by_test_id("cancel-subscription").click()
        expect(page.get_by_test_id("cancel-confirm")).to_contain_text("You keep it until")
        page.get_by_test_id("cancel-confirm-no").click()
        expect(page.get_by_test_id("subscription-status")).to_have_text("Active")
        assert not live_app.upstream_calls(
            "POST", "/api/v1/subscriptions/" + current_id(live_app) + "/cancel"
        )
        page.get_by_test_id("cancel-subscription").click()
        page.get_by_test_id("cancel-confirm-yes").click()
        expect(page.get_by_test_id("subscription-status")).to_have_text("Cancels at period end")
        expect(page.get_by_test_id("cancel-notice")).to_contain_text("Cancels on")

    with step("uncancel"):
        page.get_by_test_id("uncancel-subscription").click()
        expect(page.get_by_test_id("subscription-status")).to_have_text("Active")
        expect(page.get_by_test_id("cancel-subscription")).to_be_visible()

    with step("invoice listed"):
        page.reload()
        rows = page.get_by_test_id("invoice-row")
        expect(rows.first).to_be_visible()
        expect(rows.filter(has_text="$20.00")).to_have_count(1)

    with step("log out, then the API answers 401"):
        page.get_by_test_id("logout").click()
        expect(page.get_by_role("link", name="Log in")).to_be_visible()
        status = page.evaluate(
            """() => fetch('/api/flowglad/customers/billing', {
                method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'
            }).then((r) => r.status)"""
        )
        assert status == 401
        page.goto(live_app("/billing"))
        assert "/login" in page.url


def current_id(live_app: LiveApp) -> str:
    """The id of the signed-up customer's current subscription, from the sandbox."""
    return str(live_app.sandbox.billing("1")["currentSubscription"]["id"])
