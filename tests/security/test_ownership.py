"""Customer A attacks customer B through every action and every member that names an object.

Both customers are real in the sandbox: paid subscriptions, checkout sessions, named claims,
a card. Each attack sends one of A's valid bodies with one member replaced by B's object,
a made-up id, or an id or slug of another organization's pricing model. Every one is
refused (400, 403 or 404) with no write reaching Flowglad, B's billing unchanged, and none
of B's ids in the answer.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest

from flask_flowglad.sandbox import Sandbox

from .bodies import valid_bodies
from .world import SUCCESS, Customer, World, described, envelope, other_pricing, writes

MADE_UP = {
    "subscription": "sub_MadeUpMadeUpMadeUp1",
    "checkout": "chckt_session_MadeUpMadeUpMa",
    "claim": "resource_claim_MadeUpMadeUp",
    "priceId": "price_MadeUpMadeUpMadeUp1",
    "priceSlug": "made_up_price",
    "usageMeterId": "usage_meter_MadeUpMadeUp1",
    "usageMeterSlug": "made_up_meter",
    "resourceId": "resource_MadeUpMadeUpMade",
    "resourceSlug": "made_up_resource",
}
#: Members of one "exactly one of" group: setting one removes the others.
ALTERNATIVES = [
    {"priceId", "priceSlug", "usageMeterId", "usageMeterSlug", "subscriptionItems"},
    {"resourceId", "resourceSlug"},
    {"quantity", "externalId", "externalIds", "claimIds"},
]
SUBSCRIPTION_MEMBERS = ("id", "subscriptionId", "targetSubscriptionId")
PRICE_MEMBERS = ("priceId", "priceSlug")
USAGE_MEMBERS = ("priceId", "priceSlug", "usageMeterId", "usageMeterSlug")
RESOURCE_MEMBERS = ("resourceId", "resourceSlug")

#: action → the members of its body that name a Flowglad object.
TARGETS: dict[str, tuple[str, ...]] = {
    "checkout-sessions/create": PRICE_MEMBERS,
    "checkout-sessions/create-add-payment-method": ("targetSubscriptionId",),
    "checkout-sessions/create-activate-subscription": ("targetSubscriptionId",),
    "checkout-sessions/retrieve": ("id",),
    "subscriptions/cancel": ("id",),
    "subscriptions/uncancel": ("id",),
    "subscriptions/adjust": (
        "subscriptionId",
        *PRICE_MEMBERS,
        "subscriptionItems.priceId",
        "subscriptionItems.priceSlug",
    ),
    "subscriptions/preview-adjust": (
        "subscriptionId",
        *PRICE_MEMBERS,
        "subscriptionItems.priceId",
        "subscriptionItems.priceSlug",
    ),
    "subscriptions/cancel-scheduled-adjustment": ("subscriptionId",),
    "subscriptions/create": PRICE_MEMBERS,
    "usage-events/create": ("subscriptionId", *USAGE_MEMBERS),
    "usage-meters/balances": ("subscriptionId",),
    "features/access": ("subscriptionId",),
    "resources/usages": ("subscriptionId",),
    "resources/usages/retrieve": ("subscriptionId", *RESOURCE_MEMBERS),
    "resources/claim": ("subscriptionId", "resourceSlug"),
    "resources/release": ("subscriptionId", "resourceSlug", "claimIds"),
    "resources/claims": ("subscriptionId", "resourceSlug"),
}


def kinds(key: str, member: str) -> tuple[str, ...]:
    """A customer's own objects can be someone else's; the pricing model's, another model's."""
    name = member.rsplit(".", 1)[-1]
    if name in SUBSCRIPTION_MEMBERS or name == "claimIds":
        return ("theirs", "made-up")
    return ("made-up", "other-model")


ATTACKS = [
    (key, member, kind)
    for key, found in TARGETS.items()
    for member in found
    for kind in kinds(key, member)
]


@dataclass
class Battlefield:
    world: World
    a: Customer
    b: Customer
    other: Sandbox

    def b_state(self) -> Any:
        """Everything of B's that an attack could change."""
        state = self.world.sandbox.records
        return json.dumps(
            {
                "billing": self.world.sandbox.billing(self.b.external_id),
                "sessions": [
                    s
                    for s in state.checkout_sessions.values()
                    if s["customerId"] == self.b.customer_id
                ],
                "claims": [
                    c for c in state.claims if c["subscriptionId"] in self.b.subscription_ids
                ],
                "usage": [e for e in state.usage_events if e["customerId"] == self.b.customer_id],
            },
            sort_keys=True,
            default=str,
        )

    def b_ids(self) -> list[str]:
        return [
            self.b.customer_id,
            *self.b.subscription_ids,
            *self.b.checkout_session_ids,
            *self.b.claim_ids,
            *self.b.payment_method_ids,
        ]


@pytest.fixture
def field() -> Battlefield:
    world = World()
    a = world.customer("u-a")
    b = world.customer("u-b", claims=2)
    # B's plan is scheduled to end, so that an uncancel by A would be a real write.
    world.data(
        "subscriptions/cancel",
        {"id": b.subscription_id, "cancellation": {"timing": "at_end_of_current_billing_period"}},
        "u-b",
    )
    world.refresh(b)
    return Battlefield(world, a, b, Sandbox(other_pricing()))


def value_for(field: Battlefield, key: str, member: str, kind: str) -> Any:
    name = member.rsplit(".", 1)[-1]
    b, other = field.b, field.other.pricing
    if kind == "theirs":
        if name == "claimIds":
            return [b.claim_ids[0]]
        return (
            b.checkout_session_ids[0] if key == "checkout-sessions/retrieve" else b.subscription_id
        )
    if kind == "made-up":
        if name == "claimIds":
            return [MADE_UP["claim"]]
        if name in SUBSCRIPTION_MEMBERS:
            return MADE_UP["checkout" if key == "checkout-sessions/retrieve" else "subscription"]
        return MADE_UP[name]
    usage = key == "usage-events/create"
    return {
        "priceId": other.price_by_slug("api_call_overage" if usage else "pro_monthly")["id"],
        "priceSlug": "enterprise_free",
        "usageMeterId": other.meter_by_slug("api_calls")["id"],
        "usageMeterSlug": "storage_gb",
        "resourceId": other.resource_by_slug("seats")["id"],
        "resourceSlug": "projects",
    }[name]


def attack_body(field: Battlefield, key: str, member: str, kind: str) -> dict[str, Any]:
    """One of A's valid bodies for ``key``, with ``member`` set to the attacking value."""
    seeds = valid_bodies(field.a)[key]
    head, _, leaf = member.rpartition(".")
    body = copy.deepcopy(next((s for s in seeds if (head or leaf) in s), seeds[0]))
    target = body[head][0] if head else body
    for group in ALTERNATIVES:
        if leaf in group:
            for name in group - {leaf}:
                target.pop(name, None)
    target[leaf] = value_for(field, key, member, kind)
    return body


@pytest.mark.parametrize(("key", "member", "kind"), ATTACKS)
def test_a_foreign_or_unknown_id_is_refused_with_no_write(
    field: Battlefield, key: str, member: str, kind: str
) -> None:
    body = attack_body(field, key, member, kind)
    before = field.b_state()
    field.world.sandbox.calls.clear()
    response = field.world.post(key, body, "u-a")
    what = f"{key} with {member} = {kind} {body!r}"
    assert response.status_code in (400, 403, 404), (
        f"{what}: {response.status_code} {response.json}"
    )
    envelope(response)
    assert not writes(field.world.sandbox), (
        f"{what} wrote: {described(writes(field.world.sandbox))}"
    )
    assert field.b_state() == before, f"{what} changed B's billing"
    sent = json.dumps(body)
    leaked = [i for i in field.b_ids() if i.encode() in response.data and i not in sent]
    assert not leaked, f"{what} answered B's ids {leaked}"


def test_the_attack_table_covers_every_object_member_of_every_action() -> None:
    """A new action or id member must be added to TARGETS to be attacked."""
    from .bodies import OBJECT_ID_MEMBERS

    world = World()
    seeds = valid_bodies(world.customer("u1"))
    for key, bodies in seeds.items():
        named = {
            name
            for body in bodies
            for name in [*body, *(n for item in body.get("subscriptionItems", []) for n in item)]
            if name in OBJECT_ID_MEMBERS
        }
        attacked = {m.rsplit(".", 1)[-1] for m in TARGETS.get(key, ())}
        assert named <= attacked, (key, named - attacked)


def test_another_customers_checkout_session_reads_exactly_like_a_made_up_one(
    field: Battlefield,
) -> None:
    """Same status, code and message: a session id cannot be probed."""
    answers = []
    for session_id in (field.b.checkout_session_ids[0], MADE_UP["checkout"], "cs_" + "0" * 21):
        response = field.world.post("checkout-sessions/retrieve", {"id": session_id}, "u-a")
        body = envelope(response)
        error = body.get("error") or {}
        answers.append((response.status_code, error.get("code"), error.get("message")))
    assert answers[0][0] == 404, answers
    assert answers[0] == answers[1] == answers[2], answers


def test_the_customer_is_never_taken_from_the_body(field: Battlefield) -> None:
    """Members that could name B (their external id, customer id) reach Flowglad as A."""
    b = field.b
    impersonation = {
        "customerExternalId": b.external_id,
        "customerId": b.customer_id,
        "externalId": b.external_id,
        "customer": {"id": b.customer_id, "externalId": b.external_id},
    }
    before = field.b_state()
    for key, body in [
        ("checkout-sessions/create", {**SUCCESS, "priceSlug": "report_pack", **impersonation}),
        ("checkout-sessions/create-add-payment-method", {**SUCCESS, **impersonation}),
        ("customers/update", {"externalId": b.external_id, "customer": {"id": b.customer_id}}),
        ("customers/billing", impersonation),
        ("customers/find-or-create", impersonation),
    ]:
        field.world.sandbox.calls.clear()
        response = field.world.post(key, body, "u-a")
        assert response.status_code < 500, (key, response.status_code)
        envelope(response)
        for call in field.world.sandbox.calls:
            text = json.dumps(call.json) + call.path
            assert b.external_id not in text and b.customer_id not in text, (key, call)
        leaked = [i for i in field.b_ids() if i.encode() in response.data]
        assert not leaked, (key, leaked)
    assert field.b_state() == before


def test_b_state_sees_what_an_attack_would_change(field: Battlefield) -> None:
    """The attacks' "B unchanged" check is not vacuous: B's own changes show in it."""
    before = field.b_state()
    field.world.data("usage-events/create", {"usageMeterSlug": "api_calls"}, "u-b")
    assert field.b_state() != before
    before = field.b_state()
    release = {"resourceSlug": "seats", "externalId": field.b.claim_external_ids[0]}
    field.world.data("resources/release", release, "u-b")
    field.world.data("subscriptions/uncancel", {"id": field.b.subscription_id}, "u-b")
    assert field.b_state() != before
