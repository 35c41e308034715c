"""The browser never chooses billing terms: the price decides them.

``subscriptions/create`` takes a price and a quantity from the browser, nothing else: trial
ends, intervals, start dates, "do not charge", names, metadata and payment methods never
reach Flowglad, whatever their values. Only a free price starts without checkout; a paid
price, or a trial (which a cancel-and-restart would turn into a free plan), is a 402.
"""

from __future__ import annotations

from typing import Any

import pytest

from .bodies import SUBSCRIPTION_TERMS
from .world import World, described, envelope, error_code, writes

ALLOWED_UPSTREAM = {"customerExternalId", "priceId", "priceSlug", "quantity"}
ODD_TERMS: list[dict[str, Any]] = [
    {"trialEnd": 0},
    {"trialEnd": 2**53 - 1},
    {"interval": "day", "intervalCount": 2**40},
    {"intervalCount": 0},
    {"startDate": "1970-01-01T00:00:00Z"},
    {"doNotCharge": "yes"},
    {"metadata": {"plan": "enterprise"}, "name": "x" * 10_000},
]
PAID = ["pro_monthly", "pro_yearly", "pro_trial", "report_pack"]


@pytest.fixture
def world() -> World:
    world = World()
    # On a paid plan, which replaced the default free plan: Flowglad allows one free
    # subscription per customer, so a free price can be started beside the paid one.
    world.customer("u1")
    world.customer("u2")  # someone else, with a card
    return world


def created_upstream(world: World) -> list[Any]:
    return [
        c for c in world.sandbox.calls if c.method == "POST" and c.path == "/api/v1/subscriptions"
    ]


def terms_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [{name: value} for name, value in SUBSCRIPTION_TERMS.items()]
    return [*cases, dict(SUBSCRIPTION_TERMS), *ODD_TERMS]


@pytest.mark.parametrize("terms", terms_cases(), ids=lambda t: "+".join(t))
def test_browser_terms_never_reach_flowglad(world: World, terms: dict[str, Any]) -> None:
    if "defaultPaymentMethodId" in terms or "backupPaymentMethodId" in terms:
        card = world.sandbox.billing("u2")["paymentMethods"][0]["id"]
        terms = {k: card if k.endswith("PaymentMethodId") else v for k, v in terms.items()}
    world.sandbox.calls.clear()
    response = world.post("subscriptions/create", {"priceSlug": "free", **terms})
    assert response.status_code < 500, response.data[:300]
    envelope(response)
    for call in created_upstream(world):
        assert set(call.json) <= ALLOWED_UPSTREAM, (
            f"forwarded {sorted(set(call.json) - ALLOWED_UPSTREAM)}"
        )
    for sub in world.sandbox.billing("u1")["subscriptions"]:
        assert sub["trialEnd"] is None and sub["interval"] == "month" and sub["intervalCount"] == 1
        if "name" in terms:
            assert sub.get("name") != terms["name"]
        theirs = {method["id"] for method in world.sandbox.billing("u2")["paymentMethods"]}
        assert sub["defaultPaymentMethodId"] not in theirs
        assert sub["backupPaymentMethodId"] not in theirs


@pytest.mark.parametrize("by", ["slug", "id"])
@pytest.mark.parametrize("slug", PAID)
def test_a_paid_or_trial_price_needs_checkout_and_writes_nothing(
    world: World, slug: str, by: str
) -> None:
    price = world.sandbox.pricing.price_by_slug(slug)
    assert price is not None
    body = {"priceSlug": slug} if by == "slug" else {"priceId": price["id"]}
    for extra in ({}, {"trialEnd": 2**53 - 1, "doNotCharge": True}):
        world.sandbox.calls.clear()
        response = world.post("subscriptions/create", {**body, **extra})
        assert (response.status_code, error_code(response)) == (402, "checkout_required"), (
            slug,
            extra,
            response.status_code,
            response.json,
        )
        envelope(response)
        assert not writes(world.sandbox), described(writes(world.sandbox))


def test_a_usage_price_is_refused_and_writes_nothing(world: World) -> None:
    price = world.sandbox.pricing.price_by_slug("api_call_overage")
    assert price is not None
    for body in ({"priceSlug": "api_call_overage"}, {"priceId": price["id"]}):
        world.sandbox.calls.clear()
        response = world.post("subscriptions/create", body)
        assert response.status_code in (400, 402, 404), (body, response.status_code)
        envelope(response)
        assert not writes(world.sandbox), described(writes(world.sandbox))


def test_a_free_price_starts_on_the_prices_own_terms(world: World) -> None:
    world.sandbox.calls.clear()
    created = world.data("subscriptions/create", {"priceSlug": "free", "quantity": 1})
    subscription = created["subscription"]
    assert subscription["status"] == "active"
    record = world.sandbox.subscription(subscription["id"])
    assert record["trialEnd"] is None and record["interval"] == "month"
    assert [set(c.json) <= ALLOWED_UPSTREAM for c in created_upstream(world)] == [True]
