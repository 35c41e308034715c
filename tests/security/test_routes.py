"""Content types, methods and subroutes: every answer under the prefix is the envelope.

A cross-site form can send ``text/plain``, form or multipart bodies without a preflight;
only ``application/json`` is read. A wrong method is a JSON 405 whose ``Allow`` names the
action's own methods; an unknown subroute is a JSON 404. None of them calls Flowglad.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_flowglad.protocol.actions import ACTIONS

from ..support.apps import User
from .bodies import dumps, valid_bodies
from .world import URL, World, described, envelope, error_code

FUZZ = settings(settings.get_profile("flowglad-security"))
SEEDS = valid_bodies(World().customer("u1"))
POST_ACTIONS = sorted(key for key, action in ACTIONS.items() if "POST" in action.methods)

NOT_JSON = [
    None,
    "",
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "text/json",
    "text/html",
    "application/javascript",
    "application/json-patch+json",
    "application/vnd.api+json",
    "application/jsonx",
    "json",
    "*/*",
    "application/json\u0000",
]
JSON = ["application/json", "application/json; charset=utf-8", "Application/JSON"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "FOO"]
#: Subroutes that name no action, however a server might normalize them.
UNKNOWN_SUBROUTES = [
    "",
    "nope",
    "customers",
    "customers/billing/extra",
    "CUSTOMERS/BILLING",
    "customers/billing.json",
    "customers/billing;x=1",
    "customérs/billing",
    "customers/billing\u202e",
    "customers/billing%00",
    "customers/billing%20",
    "%ED%A0%80",
    "%FF%FE",
    "customers/%2E%2E/%2E%2E/admin",
    "\U0001f4b3/billing",
    "x" * 10_000,
]
#: Spellings of a real action: the action's answer or a 404, never anything else.
ODD_SPELLINGS = [
    "//customers/billing",
    "customers//billing",
    "customers/billing/",
    "customers/billing//",
    "./customers/billing",
    "customers/./billing",
    "customers/../customers/billing",
    "customers%2Fbilling",
    "%63ustomers/billing",
]


def client(world: World, user: str | None = "u1") -> Any:
    return world.app.test_client(user=User(user)) if user else world.app.test_client()


def assert_nothing_called(world: World, what: str) -> None:
    assert not world.sandbox.calls, f"{what} reached Flowglad: {described(world.sandbox.calls)}"


@pytest.mark.parametrize("key", POST_ACTIONS)
def test_only_json_bodies_are_read(key: str) -> None:
    world = World()
    body = dumps(SEEDS[key][0])
    for content_type in NOT_JSON:
        world.sandbox.calls.clear()
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = client(world).post(URL + key, data=body, headers=headers)
        what = f"{key} as {content_type!r}"
        assert response.status_code == 415, f"{what}: {response.status_code}"
        envelope(response)
        assert_nothing_called(world, what)
    for content_type in JSON:
        world.sandbox.calls.clear()
        response = client(world).post(URL + key, data=body, headers={"Content-Type": content_type})
        assert response.status_code not in (415,) and response.status_code < 500, content_type
        envelope(response)


WRONG_METHODS = [
    (key, method)
    for key, action in sorted(ACTIONS.items())
    for method in METHODS
    if method not in action.methods
    and method != "OPTIONS"  # a CORS preflight: answered below
    and not (method == "HEAD" and "GET" in action.methods)
]


@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_options_names_only_the_actions_methods(key: str) -> None:
    world = World()
    response = client(world, None).open(URL + key, method="OPTIONS")
    assert response.status_code == 200
    named = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert named == set(ACTIONS[key].methods) | {"OPTIONS"}
    assert response.data == b""
    assert_nothing_called(world, f"OPTIONS {key}")


@pytest.mark.parametrize(("key", "method"), WRONG_METHODS)
def test_a_wrong_method_is_a_json_405_naming_the_actions_methods(key: str, method: str) -> None:
    world = World()
    allowed = ACTIONS[key].methods
    response = client(world).open(URL + key, method=method, json=SEEDS[key][0])
    what = f"{method} {key}"
    assert response.status_code == 405, f"{what}: {response.status_code}"
    named = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert named - {"HEAD"} == set(allowed), f"{what}: Allow {named}"
    assert "HEAD" not in named or "GET" in allowed, f"{what}: Allow {named}"
    assert response.mimetype == "application/json", f"{what}: {response.mimetype}"
    if method != "HEAD":
        envelope(response)
    assert_nothing_called(world, what)


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "FOO"])
def test_unknown_subroutes_are_a_json_404(method: str, signed_in: bool) -> None:
    world = World()
    wrong = []
    for subroute in UNKNOWN_SUBROUTES:
        world.sandbox.calls.clear()
        response = client(world, "u1" if signed_in else None).open(
            URL + subroute, method=method, json={}
        )
        answer = (response.status_code, response.mimetype, error_code(response))
        if answer[:2] != (404, "application/json") or world.sandbox.calls:
            wrong.append((subroute[:40], answer, described(world.sandbox.calls)))
        else:
            envelope(response)
    assert not wrong, wrong


@pytest.mark.parametrize("subroute", ODD_SPELLINGS)
def test_odd_spellings_of_an_action_answer_the_envelope(subroute: str) -> None:
    world = World()
    response = client(world).post(URL + subroute, json={})
    assert response.status_code in (200, 404), (subroute, response.status_code)
    envelope(response)
    if response.status_code == 404:
        assert_nothing_called(world, subroute)


def test_fuzzed_subroutes_answer_a_json_404_without_calling_flowglad() -> None:
    world = World()
    segment = st.text(min_size=1, max_size=12).map(
        lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")
    )
    subroutes = st.lists(segment, min_size=1, max_size=4).map("/".join)

    @FUZZ
    @given(subroute=subroutes, method=st.sampled_from(["GET", "POST", "PUT"]))
    def attack(subroute: str, method: str) -> None:
        key = "/".join(part for part in subroute.split("/") if part not in ("", "."))
        if key in ACTIONS:
            return
        world.sandbox.calls.clear()
        response = client(world).open(URL + subroute, method=method, json={})
        assert response.status_code == 404, (subroute, response.status_code)
        envelope(response)
        assert_nothing_called(world, subroute)

    attack()
