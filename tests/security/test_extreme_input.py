"""Extreme input, member by member: every id, every number, every type, deep and huge bodies.

The fuzzing samples these; here each is sent to every member it applies to, so a fix that
covers only the example the probe found fails. Every refusal is a 4xx envelope sent before
anything reaches Flowglad.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from flask_flowglad.protocol.actions import ACTIONS

from ..support.apps import User
from .bodies import (
    EDGE_NUMBERS,
    HUGE,
    LONE_SURROGATES,
    MALFORMED_IDS,
    OBJECT_ID_MEMBERS,
    OTHER_ID_MEMBERS,
    WRONG_TYPES,
    Raw,
    dumps,
    get_at,
    member_name,
    members,
    set_at,
    short,
    valid_bodies,
)
from .world import OPAQUE_MEMBERS, URL, World, described, envelope, keys_outside_opaque

SEEDS = valid_bodies(World().customer("u1"))
SIGNED_IN_ONLY = sorted(key for key, action in ACTIONS.items() if action.requires_customer)


def member_slots(kinds: frozenset[str] | None = None) -> list[tuple[str, int, tuple[Any, ...]]]:
    """(action, seed index, member path) of every member outside the user's own data."""
    slots = []
    for key, seeds in sorted(SEEDS.items()):
        for index, seed in enumerate(seeds):
            for path, opaque in members(seed):
                if opaque or (kinds is not None and member_name(path) not in kinds):
                    continue
                slots.append((key, index, path))
    return slots


def slot_id(slot: tuple[str, int, tuple[Any, ...]]) -> str:
    key, index, path = slot
    return f"{key}#{index}:" + ".".join(map(str, path))


def send_raw(world: World, key: str, text: str, user: str | None = "u1") -> Any:
    world.sandbox.calls.clear()
    client = world.app.test_client(user=User(user)) if user else world.app.test_client()
    return client.post(URL + key, data=text, content_type="application/json")


def assert_refused(
    world: World, response: Any, what: str, statuses: tuple[int, ...] = (400, 413)
) -> None:
    assert response.status_code in statuses, (
        f"{what}: {response.status_code} {response.data[:200]!r}"
    )
    envelope(response)
    assert not world.sandbox.calls, f"{what} reached Flowglad: {described(world.sandbox.calls)}"


def refuse_each(
    slot: tuple[str, int, tuple[Any, ...]], values: list[Any]
) -> list[tuple[str, int, list[str]]]:
    """Send the seed with the member set to each value; the values not refused."""
    key, index, path = slot
    world = World()
    seed = valid_bodies(world.customer("u1"))[key][index]
    accepted = []
    for value in values:
        body = json.loads(json.dumps(seed))
        set_at(body, path, value)
        response = send_raw(world, key, dumps(body))
        assert response.status_code < 500, f"{key} {short(body)}: {response.status_code}"
        envelope(response)
        if response.status_code not in (400, 413) or world.sandbox.calls:
            accepted.append((short(value), response.status_code, described(world.sandbox.calls)))
    return accepted


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
@pytest.mark.parametrize("depth", [1_200, 50_000])
@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_deeply_nested_json_is_refused_on_every_action(
    key: str, depth: int, signed_in: bool
) -> None:
    world = World()
    user = "u1" if signed_in else None
    refusals = (400, 413) if signed_in else (400, 401, 413)
    shapes = {
        "body": "[" * depth + "]" * depth,
        "member": '{"x":' + '{"a":' * depth + "1" + "}" * depth + "}",
        "properties": '{"usageMeterSlug":"api_calls","properties":'
        + '{"a":' * depth
        + "1"
        + "}" * depth
        + "}",
    }
    answers = {}
    for shape, text in shapes.items():
        response = send_raw(world, key, text, user)
        answers[shape] = (response.status_code, response.mimetype, described(world.sandbox.calls))
    refused = {shape: answer for shape, answer in answers.items() if answer[0] in refusals}
    assert refused == answers, f"{key}: JSON nested {depth} deep: {answers}"
    for _status, mimetype, calls in answers.values():
        assert mimetype == "application/json" and not calls


@pytest.mark.parametrize(
    ("key", "member"),
    [
        ("usage-events/create", "properties"),
        ("resources/claim", "metadata"),
        ("checkout-sessions/create", "outputMetadata"),
    ],
)
def test_user_data_nested_just_under_the_parser_limit_never_breaks_the_answer(
    key: str, member: str
) -> None:
    """900 levels parse; whatever the server then decides, it answers the envelope."""
    world = World()
    seed = next(s for s in valid_bodies(world.customer("u1"))[key] if member in s)
    depth = 900
    text = dumps({**seed, member: Raw('{"a":' * depth + "1" + "}" * depth, "deep")})
    response = send_raw(world, key, text)
    assert response.status_code < 500, (key, member, response.status_code, response.data[:200])
    envelope(response)
    if response.status_code in (400, 413):
        assert not world.sandbox.calls, described(world.sandbox.calls)


@pytest.mark.parametrize("slot", member_slots(OBJECT_ID_MEMBERS), ids=slot_id)
def test_malformed_object_ids_are_refused_before_flowglad(
    slot: tuple[str, int, tuple[Any, ...]],
) -> None:
    """Ids travel in Flowglad's URL paths and queries: RTL marks, NUL, emoji, ``..``, ``/``
    and ``%2F``, lone surrogates, blanks and 1 MB are refused as invalid, never looked up."""
    accepted = refuse_each(slot, MALFORMED_IDS + LONE_SURROGATES + [HUGE])
    assert not accepted, f"{slot_id(slot)} accepted: {accepted}"


@pytest.mark.parametrize("slot", member_slots(OTHER_ID_MEMBERS), ids=slot_id)
def test_lone_surrogates_and_huge_strings_in_other_ids_are_refused(
    slot: tuple[str, int, tuple[Any, ...]],
) -> None:
    accepted = refuse_each(slot, [*LONE_SURROGATES, HUGE])
    assert not accepted, f"{slot_id(slot)} accepted: {accepted}"


@pytest.mark.parametrize("slot", member_slots(), ids=slot_id)
def test_every_known_member_refuses_other_json_types_and_edge_numbers(
    slot: tuple[str, int, tuple[Any, ...]],
) -> None:
    key, index, path = slot
    original = get_at(SEEDS[key][index], path)
    values = WRONG_TYPES[type(original)] + [v for v in EDGE_NUMBERS if v is not original]
    if isinstance(original, str):
        values.append(HUGE)
    accepted = refuse_each(slot, values)
    assert not accepted, f"{slot_id(slot)} accepted: {accepted}"


@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_unknown_members_never_reach_flowglad(key: str) -> None:
    """A newer React SDK may send members this server does not know: never forwarded."""
    world = World()
    for seed in valid_bodies(world.customer("u1"))[key]:
        body = json.loads(json.dumps(seed))
        body["unknownFutureMember"] = {"nested": "x"}
        for path, opaque in list(members(body)):
            target = get_at(body, path)
            if not opaque and path[-1] not in OPAQUE_MEMBERS and isinstance(target, dict):
                target.setdefault("unknownNestedMember", 1)
        response = send_raw(world, key, dumps(body))
        assert response.status_code < 500, (key, body, response.status_code)
        envelope(response)
        for call in world.sandbox.calls:
            names = set(keys_outside_opaque(call.json))
            assert not {n for n in names if n.startswith("unknown")}, (key, call)


@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_duplicate_members_are_refused(key: str) -> None:
    """Parsers disagree on which duplicate wins; the server must not pick one silently."""
    world = World()
    seed = valid_bodies(world.customer("u1"))[key][-1]
    name, value = next(iter(seed.items()), ("x", 1))
    inner = dumps({k: v for k, v in seed.items() if k != name})[1:-1]
    duplicated = f"{{{json.dumps(name)}:{dumps(value)},{json.dumps(name)}:{dumps(value)}"
    text = duplicated + ("," + inner if inner else "") + "}"
    assert_refused(world, send_raw(world, key, text), f"{key}: {name} twice")


#: JSON text no browser's ``JSON.stringify`` writes: refused as invalid.
NOT_JSON_TEXT = [
    b'{"x": "\xff\xfe"}',
    b'{"x": NaN}',
    b'{"x": Infinity}',
    b'{"x": -Infinity}',
    b'{"x": 1e999}',
    b'{"x": 1} trailing',
    b'{"x": 1}{"x": 2}',
    b'{"x": "a\x00b"}',
    b"{'x': 1}",
    b'{"x": 1,}',
    b"{",
    b"\x00",
    b"9" * 10_000,
]
#: Encodings a parser may or may not accept; whichever it does, the answer is the envelope.
ODD_ENCODINGS = [
    b"\xef\xbb\xbf{}",
    "{}".encode("utf-16"),
    "{}".encode("utf-32"),
    b" \t\r\n{}\n",
]


@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_text_that_is_not_json_is_refused(key: str) -> None:
    world = World()
    client = world.app.test_client(user=User("u1"))
    answers = []
    for raw in NOT_JSON_TEXT:
        world.sandbox.calls.clear()
        response = client.post(URL + key, data=raw, content_type="application/json")
        if response.status_code != 400 or world.sandbox.calls:
            answers.append((raw[:30], response.status_code, described(world.sandbox.calls)))
        else:
            envelope(response)
    assert not answers, answers
    for raw in ODD_ENCODINGS:
        response = client.post(URL + key, data=raw, content_type="application/json")
        assert response.status_code < 500, (raw, response.status_code)
        envelope(response)


@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_a_body_over_the_size_limit_is_413(key: str) -> None:
    world = World()
    text = dumps({"x": HUGE * 12})
    assert_refused(world, send_raw(world, key, text), f"{key}: a 12 MB body", (413,))


def send_chunked(world: World, key: str, stream: io.BytesIO) -> Any:
    """A body without ``Content-Length``, as a server hands on ``Transfer-Encoding: chunked``."""
    world.sandbox.calls.clear()
    return world.app.test_client(user=User("u1")).post(
        URL + key,
        input_stream=stream,
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize("key", ["usage-events/create", "customers/billing", "resources/claim"])
def test_a_chunked_body_over_the_size_limit_is_413(key: str) -> None:
    """No ``Content-Length`` to refuse up front: the limit must hold while reading."""
    world = World()
    stream = io.BytesIO(b'{"x": "' + HUGE.encode() * 12 + b'"}')
    response = send_chunked(world, key, stream)
    assert_refused(world, response, f"{key}: a 12 MB chunked body", (413,))
    assert stream.tell() < 12 * len(HUGE), "the whole body was read before refusing it"


def test_a_small_chunked_body_is_read() -> None:
    world = World()
    world.customer("u1")
    body = io.BytesIO(b'{"usageMeterSlug": "api_calls", "amount": 2}')
    response = send_chunked(world, "usage-events/create", body)
    assert response.status_code == 200, response.data[:300]
    assert envelope(response)["data"]["usageEvent"]["amount"] == 2


@pytest.mark.parametrize("key", SIGNED_IN_ONLY)
def test_signed_out_is_401_and_flowglad_hears_nothing(key: str) -> None:
    world = World()
    seed = valid_bodies(world.customer("u1"))[key][-1]
    response = send_raw(world, key, dumps(seed), user=None)
    assert_refused(world, response, f"{key} signed out", (401,))


def test_raw_pieces_are_sent_as_written() -> None:
    """The helpers send what the tests say: a deep value really is deep on the wire."""
    raw = Raw("[[[]]]", "three deep")
    assert dumps({"a": raw, "b": "\ud800"}) == '{"a":[[[]]],"b":"\\ud800"}'
