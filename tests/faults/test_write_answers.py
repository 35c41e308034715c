"""Every write's answer checked for what is read of it: Flowglad (or a proxy in front of
it) answering a write with ``200 {}`` or a member of the wrong kind is a 502 envelope,
never a success with empty data. One table: each row a React action, the upstream write
it makes, a well-formed answer, and the members the SDK reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ..support import payloads
from .harness import BILLING, CHECKOUT_SESSION, CLAIM_RESULT, Answer, assert_failure
from .server import FaultServer, reply

SUBSCRIPTION = payloads.subscription()
SCHEDULED = {**payloads.subscription(), "status": "cancellation_scheduled"}


@dataclass(frozen=True)
class Write:
    subroute: str
    body: dict[str, Any]
    target: tuple[str, str]
    answer: dict[str, Any]
    #: The billing the ownership checks read, when the default does not allow the write.
    billing: dict[str, Any] | None = None
    #: Answers that lack what is read of this write's answer, besides the common ones.
    broken: list[Any] = field(default_factory=list)


WRITES = [
    Write(
        "subscriptions/cancel",
        {"id": "sub_1", "cancellation": {"timing": "immediately"}},
        ("POST", "/api/v1/subscriptions/sub_1/cancel"),
        {"subscription": {**SUBSCRIPTION, "status": "canceled"}},
        broken=[{"subscription": None}, {"subscription": []}],
    ),
    Write(
        "subscriptions/uncancel",
        {"id": "sub_1"},
        ("POST", "/api/v1/subscriptions/sub_1/uncancel"),
        {"subscription": SUBSCRIPTION},
        billing=payloads.billing(subscriptions=[SCHEDULED]),
        broken=[{"subscription": "sub_1"}],
    ),
    Write(
        "subscriptions/adjust",
        {"priceSlug": "pro_monthly", "subscriptionId": "sub_1"},
        ("POST", "/api/v1/subscriptions/sub_1/adjust"),
        {"subscription": SUBSCRIPTION, "subscriptionItems": [], "isUpgrade": True},
        broken=[{"subscriptionItems": []}],
    ),
    Write(
        "resources/claim",
        {"resourceSlug": "seats", "quantity": 1},
        ("POST", "/api/v1/resource-claims/sub_1/claim"),
        CLAIM_RESULT,
        broken=[{"claims": CLAIM_RESULT["claims"]}, {"usage": CLAIM_RESULT["usage"]}],
    ),
    Write(
        "resources/release",
        {"resourceSlug": "seats", "quantity": 1},
        ("POST", "/api/v1/resource-claims/sub_1/release"),
        {"releasedClaims": CLAIM_RESULT["claims"], "usage": CLAIM_RESULT["usage"]},
        broken=[{"claims": CLAIM_RESULT["claims"], "usage": CLAIM_RESULT["usage"]}],
    ),
    Write(
        "customers/update",
        {"customer": {"name": "Ann"}},
        ("PUT", "/api/v1/customers/u1"),
        {"customer": payloads.customer()},
        broken=[{"data": {"customer": payloads.customer()}}],
    ),
    Write(
        "checkout-sessions/create",
        {
            "priceSlug": "pro_monthly",
            "successUrl": "https://app.test/ok",
            "cancelUrl": "https://app.test/no",
        },
        ("POST", "/api/v1/checkout-sessions"),
        CHECKOUT_SESSION,
        broken=[{"url": "https://pay.test/cs_1"}, {"checkoutSession": {"id": "cs_1"}}],
    ),
    Write(
        "usage-events/create",
        {"usageMeterSlug": "api_calls", "amount": 1},
        ("POST", "/api/v1/usage-events"),
        {"usageEvent": {"id": "ue_1", "amount": 1}},
        broken=[{"usageEvent": {"amount": 1}}, {"usageEvents": [{"id": "ue_1"}]}],
    ),
]
#: What no write's answer may be: empty, or something other than an object.
COMMON_BROKEN: list[Any] = [{}, {"data": None}, [], None]


def _cases() -> list[Any]:
    return [
        pytest.param(write, broken, id=f"{write.subroute}-{index}")
        for write in WRITES
        for index, broken in enumerate(COMMON_BROKEN + write.broken)
    ]


def _route_billing(server: FaultServer, write: Write) -> None:
    if write.billing is not None:
        server.route(*BILLING, reply(200, write.billing))


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.subroute)
def test_a_well_formed_write_answer_is_passed_on(
    server: FaultServer, call: Callable[..., Answer], write: Write
) -> None:
    _route_billing(server, write)
    server.route(*write.target, reply(200, write.answer))
    answer = call(write.subroute, write.body)
    assert answer.status == 200, answer.text[:300]
    assert answer.json["data"] == write.answer
    assert server.count(*write.target) == 1


@pytest.mark.parametrize(("write", "broken"), _cases())
def test_a_write_answer_without_what_is_read_of_it_is_502_and_not_sent_again(
    server: FaultServer, call: Callable[..., Answer], write: Write, broken: Any
) -> None:
    _route_billing(server, write)
    server.route(*write.target, reply(200, b"null" if broken is None else broken))
    answer = call(write.subroute, write.body)
    assert_failure(answer, 502)
    assert server.count(*write.target) == 1
