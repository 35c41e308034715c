"""Flowglad's own published SDKs cannot tell the sandbox from Flowglad.

``@flowglad/server`` 0.18.0 (behind Express, as an app on Node would run it) talks to the
sandbox over HTTP as its Flowglad; ``@flowglad/react`` 0.18.0 runs in Chromium against that
server. The scenario walks a customer from the free plan through a paid checkout on the
sandbox's hosted page, usage, cancel/uncancel/adjust, seats and a one-time purchase, and
each step asserts what Flowglad answers (the rules cite Flowglad's source in the sandbox and
in ``tests/sandbox/test_sandbox_fidelity.py``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import requests

from tests.e2e.e2e_harness import TEST_CARD, dump

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from .stack import Stack

#: What the page's billing object says, reduced to what the steps assert.
SNAPSHOT = """() => {
  const b = window.fidelity.billing, r = window.fidelity.resources
  const cur = b.currentSubscription
  const balance = b.checkUsageBalance('api_calls')
  return {
    errors: b.errors ? b.errors.map(String) : null,
    plan: cur ? cur.name : null,
    status: cur ? cur.status : null,
    isFreePlan: cur ? cur.isFreePlan : null,
    subscriptionId: cur ? cur.id : null,
    price: cur ? cur.subscriptionItems.map((i) => i.price.slug).join(',') : null,
    current: b.currentSubscriptions.length,
    analytics: b.checkFeatureAccess('analytics'),
    balance: balance === null ? null : balance.availableBalance,
    purchased: { pro: b.hasPurchased('pro'), pack: b.hasPurchased('pack') },
    purchases: b.purchases.map((p) => p.priceType),
    methods: b.paymentMethods.map((m) => [m.paymentMethodData.last4, m.default]),
    invoices: b.invoices.map((i) => [i.invoice.type, i.invoice.status]),
    seats: r.resources === undefined ? null
      : r.resources.map((u) => [u.resourceSlug, u.capacity, u.claimed, u.available]),
  }
}"""

#: Runs an action of the SDK; a rejection comes back as its message instead of throwing.
CALL = """async (source) => {
  const b = window.fidelity.billing, r = window.fidelity.resources
  try {
    const value = await (new Function('b', 'r', 'return ' + source))(b, r)
    return { ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) }
  } catch (error) {
    return { ok: false, message: String(error && error.message ? error.message : error) }
  }
}"""


class Sdk:
    """The React SDK on the page: its billing object, its actions, fresh reads."""

    def __init__(self, page: Page, stack: Stack, user: str) -> None:
        self.page = page
        self.stack = stack
        self.home = f"{stack.app_url}/?user={user}"

    def open(self, url: str | None = None) -> None:
        self.page.goto(url or self.home)
        self.loaded()

    def loaded(self) -> None:
        self.page.wait_for_selector('#state[data-loaded="true"]')
        self.page.wait_for_function("() => window.fidelity.resources.resources !== undefined")

    def call(self, source: str) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate(CALL, source)
        return result

    def ok(self, source: str) -> Any:
        result = self.call(source)
        assert result["ok"], f"{source} failed: {result['message']}"
        return result["value"]

    def refused(self, source: str, action: str) -> str:
        """Run an action Flowglad refuses; the app's error, as the SDK's server relays it.

        The React SDK resolves even then (it logs the error), so the answer of the app's
        route is read off the network.
        """
        with self.page.expect_response(
            lambda r: r.url.endswith(f"/api/flowglad/{action}")
        ) as info:
            self.call(source)
        body = info.value.json()
        assert body.get("error"), dump(body)
        message: str = body["error"]["json"]["message"]
        return message

    def read(self, until: str = "true") -> dict[str, Any]:
        """Reload billing, wait until ``until`` holds of the snapshot.

        The resources hook has no reload: it refreshes after its own claims and releases,
        and on a new page (:meth:`open`).
        """
        self.ok("b.reload()")
        self.page.wait_for_function(f"() => (s => {until})(({SNAPSHOT})())")
        snapshot: dict[str, Any] = self.page.evaluate(SNAPSHOT)
        assert snapshot["errors"] is None, dump(snapshot)
        return snapshot

    def pay(self, price_slug: str, label: str) -> None:
        """Checkout on the sandbox's hosted page, back to the app on success."""
        success = f"{self.home}&paid={price_slug}"
        # Not awaited: the SDK sends the browser to the hosted page (autoRedirect).
        self.page.evaluate(
            """([priceSlug, successUrl, cancelUrl]) => {
              window.fidelity.billing.createCheckoutSession(
                { priceSlug, successUrl, cancelUrl, autoRedirect: true })
            }""",
            [price_slug, success, self.home],
        )
        self.page.wait_for_url(
            re.compile(re.escape(self.stack.sandbox_url + "/flowglad-sandbox/"))
        )
        self.page.get_by_label(re.compile("card number", re.I)).fill(TEST_CARD)
        button = self.page.get_by_role("button", name=re.compile("^pay", re.I))
        assert button.inner_text() == f"Pay {label}"
        button.click()
        self.page.wait_for_url(success)
        self.loaded()


def test_flowglads_own_sdks_drive_the_sandbox_through_a_customer_journey(
    page: Page, stack: Stack
) -> None:
    # The server SDK creates the customer on its first billing read. The page would read
    # billing and resources at once, and both would try to create it: the loser gets
    # Flowglad's 409 (as against Flowglad), so the first read comes first here.
    first = requests.post(
        f"{stack.app_url}/api/flowglad/customers/billing",
        json={},
        headers={"X-User": "ada"},
        timeout=30,
    ).json()["data"]
    assert first["customer"]["externalId"] == "ada"
    assert first["customer"]["email"] == "ada@example.com"
    assert first["currentSubscription"]["isFreePlan"] is True

    sdk = Sdk(page, stack, "ada")
    sdk.open()

    # The free plan: no feature, no balance on a meter it grants nothing on, no resources.
    free = sdk.read("s.plan !== null")
    assert free == {
        "errors": None,
        "plan": "Free - Free",
        "status": "active",
        "isFreePlan": True,
        "subscriptionId": free["subscriptionId"],
        "price": "free",
        "current": 1,
        "analytics": False,
        "balance": None,
        "purchased": {"pro": False, "pack": False},
        "purchases": [],
        "methods": [],
        "invoices": [],
        "seats": [],
    }, dump(free)

    # Cancelling the default free plan is refused, on both timings.
    for timing in ("at_end_of_current_billing_period", "immediately"):
        message = sdk.refused(
            f"b.cancelSubscription({{ id: '{free['subscriptionId']}', "
            f"cancellation: {{ timing: '{timing}' }} }})",
            "subscriptions/cancel",
        )
        assert message.startswith("400 "), message
        assert "Cannot cancel the default free plan" in message
    assert sdk.read()["status"] == "active"
    sub = stack.api(f"/subscriptions/{free['subscriptionId']}")["subscription"]
    assert isinstance(sub, dict) and sub["status"] == "active"

    # Checkout paid on the hosted page: Pro, its features, credits, seats and a purchase.
    sdk.pay("pro_monthly", "$20.00")
    pro = sdk.read("s.plan === 'Pro - Monthly'")
    assert pro["isFreePlan"] is False
    assert pro["current"] == 1, "the free plan ended as upgraded_to_paid"
    assert pro["analytics"] is True
    assert pro["balance"] == 100
    assert pro["purchased"] == {"pro": True, "pack": False}
    assert pro["purchases"] == ["subscription"]
    assert pro["methods"] == [["4242", True]]
    assert pro["invoices"] == [["subscription", "paid"]]
    assert pro["seats"] == [["seats", 3, 0, 3]]
    pro_id = pro["subscriptionId"]

    # Usage: credits are spent.
    event = sdk.ok("b.createUsageEvent({ usageMeterSlug: 'api_calls', amount: 7 })")
    assert event["usageEvent"]["id"].startswith("usage_event_")
    assert sdk.read("s.balance === 93")["balance"] == 93

    # Cancel at the period's end, take it back, then upgrade to yearly.
    cancel = (
        f"{{ id: '{pro_id}', cancellation: {{ timing: 'at_end_of_current_billing_period' }} }}"
    )
    sdk.ok(f"b.cancelSubscription({cancel})")
    assert sdk.read("s.status === 'cancellation_scheduled'")["subscriptionId"] == pro_id
    sdk.ok(f"b.uncancelSubscription({{ id: '{pro_id}' }})")
    assert sdk.read("s.status === 'active'")["status"] == "active"
    sdk.ok("b.adjustSubscription({ priceSlug: 'pro_yearly' })")
    yearly = sdk.read("s.price === 'pro_yearly'")
    assert (yearly["subscriptionId"], yearly["plan"], yearly["status"]) == (
        pro_id,
        "Yearly",
        "active",
    )
    assert [kind for kind, _ in yearly["invoices"]] == ["subscription", "subscription"]

    # Seats: claimed within capacity, refused beyond it, released oldest first.
    claimed = sdk.ok("r.claim({ resourceSlug: 'seats', quantity: 2 })")
    assert (claimed["usage"]["claimed"], claimed["usage"]["available"]) == (2, 1)
    assert not sdk.call("r.claim({ resourceSlug: 'seats', quantity: 2 })")["ok"]
    released = sdk.ok("r.release({ resourceSlug: 'seats', quantity: 1 })")
    assert len(released["releasedClaims"]) == 1
    assert sdk.read("s.seats[0][2] === 1")["seats"] == [["seats", 3, 1, 2]]

    # A one-time purchase: paid on the hosted page, its credits added once.
    sdk.pay("pack", "$9.00")
    pack = sdk.read("s.purchased.pack === true")
    assert pack["purchases"] == ["subscription", "single_payment"]
    assert pack["balance"] == 93 + 500
    assert pack["methods"] == [["4242", False], ["4242", True]]
    assert pack["invoices"][-1] == ["purchase", "paid"]
    assert pack["plan"] == "Yearly"

    # Ending the paid plan now puts the customer back on the default plan.
    now = f"{{ id: '{pro_id}', cancellation: {{ timing: 'immediately' }} }}"
    sdk.ok(f"b.cancelSubscription({now})")
    sdk.open()
    back = sdk.read("s.isFreePlan === true")
    assert (back["plan"], back["status"], back["current"]) == ("Free Subscription", "active", 1)
    assert back["analytics"] is False
    assert back["seats"] == []
    assert back["purchased"] == {"pro": True, "pack": True}
