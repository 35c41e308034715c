"""Property-based fuzzing of every action's body, signed in and signed out.

Each example starts from a body the action accepts, then mutates it: a member deleted,
a member given another JSON type, a number at the edge, a lone surrogate, a malformed id,
a 1 MB string or 50,000 levels of nesting, unknown members. Whatever the body, the answer
is the JSON envelope and never a 5xx; a body that is invalid whatever the server's
internals is refused before anything reaches Flowglad; unknown members never reach it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_flowglad.protocol.actions import ACTIONS

from ..support.apps import User
from .bodies import SUBSCRIPTION_TERMS, Case, dumps, fuzzed, valid_bodies
from .world import URL, World, envelope, error_code, keys_outside_opaque

FUZZ = settings(settings.get_profile("flowglad-security"))
SIGNED_IN_ONLY = sorted(key for key, action in ACTIONS.items() if action.requires_customer)


def send(world: World, key: str, case: Case, user: str | None = "u1") -> Any:
    world.sandbox.calls.clear()
    client = world.app.test_client(user=User(user)) if user else world.app.test_client()
    return client.post(URL + key, data=dumps(case.body), content_type="application/json")


def check_answer(
    world: World, key: str, case: Case, response: Any, *, refusals: tuple[int, ...] = (400, 413)
) -> None:
    """The invariants of every answer; ``refusals`` are the statuses an invalid body may get."""
    calls = list(world.sandbox.calls)
    what = f"{key} with {case!r} answered {response.status_code}"
    assert response.status_code < 500, f"{what}: {response.data[:300]!r}"
    envelope(response)
    upstream = [f"{c.method} {c.path}" for c in calls]
    if response.status_code in (413, 415) or error_code(response) == "validation_error":
        assert not calls, f"{what} after calling Flowglad: {upstream}"
    if case.must_reject:
        assert response.status_code in refusals, f"{what}, not refused as invalid"
        assert not calls, f"{what}; an invalid body reached Flowglad: {upstream}"
    terms = case.unknown & set(SUBSCRIPTION_TERMS)
    for call in calls:
        names = set(keys_outside_opaque(call.json))
        leaked = {name for name in names if name.startswith("unknown")}
        if call.path == "/api/v1/subscriptions":
            leaked |= names & terms
        assert not leaked, f"{what}; {call.method} {call.path} forwarded {sorted(leaked)}"


def test_every_action_has_seed_bodies() -> None:
    world = World()
    assert set(valid_bodies(world.customer("u1"))) == set(ACTIONS)


def test_the_sandbox_records_the_bodies_that_reach_it() -> None:
    """The "never forwarded" checks read these bodies: they must be what was sent."""
    world = World()
    world.customer("u1")
    world.sandbox.calls.clear()
    world.data("usage-events/create", {"usageMeterSlug": "api_calls", "amount": 3})
    sent = [c.json for c in world.sandbox.calls if c.path == "/api/v1/usage-events"]
    assert len(sent) == 1 and "usageMeterSlug" in keys_outside_opaque(sent[0])


@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_every_seed_body_is_accepted(key: str) -> None:
    """The fuzzing starts from bodies that work, so its mutations are what it tests."""
    count = len(valid_bodies(World().customer("u1"))[key])
    for index in range(count):
        world = World()  # each body on a fresh customer: a cancel must not spoil the next
        body = valid_bodies(world.customer("u1"))[key][index]
        if key == "subscriptions/cancel-scheduled-adjustment":
            world.data("subscriptions/adjust", {"priceSlug": "free"})  # waits for the period end
        response = world.post(key, body)
        assert response.status_code == 200, (key, body, response.json)


@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_fuzzed_bodies_answer_the_envelope_and_invalid_ones_never_reach_flowglad(
    key: str,
) -> None:
    world = World()
    seeds = valid_bodies(world.customer("u1"))[key]
    extra = tuple(SUBSCRIPTION_TERMS) if key == "subscriptions/create" else ()

    @FUZZ
    @given(case=fuzzed(seeds, extra))
    def attack(case: Case) -> None:
        check_answer(world, key, case, send(world, key, case))

    attack()


def test_fuzzed_bodies_signed_out_are_401_or_invalid_and_never_reach_flowglad() -> None:
    world = World()
    seeds = valid_bodies(world.customer("u1"))
    cases = st.sampled_from(SIGNED_IN_ONLY).flatmap(
        lambda key: st.tuples(st.just(key), fuzzed(seeds[key]))
    )

    @FUZZ
    @given(attack=cases)
    def attack(attack: tuple[str, Case]) -> None:
        key, case = attack
        response = send(world, key, case, user=None)
        check_answer(world, key, case, response, refusals=(400, 401, 413))
        assert response.status_code in (400, 401, 413), f"{key} {case!r}: {response.status_code}"
        assert not world.sandbox.calls, f"{key} {case!r} signed out called Flowglad"

    attack()
