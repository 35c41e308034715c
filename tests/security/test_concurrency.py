"""Many customers at once through a real threaded server: nobody sees anyone else's billing.

50 customers (half paid, half free) and 32 client threads share one app on
``werkzeug.serving.make_server(threaded=True)`` on 127.0.0.1, with the sandbox in process
as Flowglad. Each thread sends requests as a random customer, by that customer's own login
cookie, and checks that every id in the answer is that customer's. Usage events answered
200 are summed per customer and must equal what the sandbox recorded: none lost, none twice.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from .world import URL, World, serving

CUSTOMERS = 50
THREADS = 32
REQUESTS = 2_000
CAP_SECONDS = 60.0
#: (action, body) by weight; usage events are where a mix-up would lose or double money.
MIX = [
    ("customers/billing", 4),
    ("subscriptions/list", 2),
    ("usage-meters/balances", 2),
    ("customerDetails", 1),
    ("features/access", 1),
    ("usage-events/create", 5),
    ("checkout-sessions/create", 1),
]


@dataclass
class Own:
    """What a customer may see: its own ids."""

    external_id: str
    customer_id: str
    subscription_ids: set[str]
    cookie: str = ""


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    leaks: list[str] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    accepted_events: int = 0
    failures: list[str] = field(default_factory=list)

    def take_ticket(self) -> bool:
        with self.lock:
            if self.sent >= REQUESTS:
                return False
            self.sent += 1
            return True


@pytest.fixture
def served() -> Iterator[tuple[World, str]]:
    world = World()
    with serving(world.app) as base:
        yield world, base


def body_for(key: str, rng: random.Random) -> dict[str, Any]:
    if key == "usage-events/create":
        return {
            "usageMeterSlug": "api_calls",
            "amount": rng.randint(1, 5),
            "transactionId": f"t-{uuid.uuid4().hex}",
        }
    if key == "checkout-sessions/create":
        return {
            "priceSlug": "report_pack",
            "successUrl": "http://localhost/ok",
            "cancelUrl": "http://localhost/no",
        }
    return {}


def foreign_ids(key: str, data: Any, own: Own) -> list[str]:
    """The ids in an answer that are not the customer's own."""
    seen: list[tuple[str, str]] = []  # (kind, id)
    if key in ("customers/billing", "customerDetails"):
        customer = data["customer"]
        seen += [("externalId", customer["externalId"]), ("customer", customer["id"])]
    if key in ("customers/billing", "subscriptions/list"):
        for sub in data["subscriptions"] + data["currentSubscriptions"]:
            seen += [("subscription", sub["id"]), ("customer", sub["customerId"])]
    if key == "usage-meters/balances":
        seen += [("subscription", b["subscriptionId"]) for b in data["usageMeterBalances"]]
    if key == "usage-events/create":
        event = data["usageEvent"]
        seen += [("subscription", event["subscriptionId"]), ("customer", event["customerId"])]
    if key == "checkout-sessions/create":
        seen.append(("customer", data["checkoutSession"]["customerId"]))
    allowed = {
        "externalId": {own.external_id},
        "customer": {own.customer_id},
        "subscription": own.subscription_ids,
    }
    return [f"{kind} {value}" for kind, value in seen if value not in allowed[kind]]


def client_thread(
    base: str, customers: list[Own], tally: Tally, seed: int, deadline: float
) -> None:
    rng = random.Random(seed)
    keys = [key for key, weight in MIX for _ in range(weight)]
    session = requests.Session()
    try:
        while time.monotonic() < deadline and tally.take_ticket():
            own = rng.choice(customers)
            key = rng.choice(keys)
            body = body_for(key, rng)
            session.cookies.clear()
            try:
                response = session.post(
                    base + URL + key, json=body, cookies={"session": own.cookie}, timeout=30
                )
                answer = response.json()
            except (requests.RequestException, ValueError) as exc:
                with tally.lock:
                    tally.failures.append(f"{key}: {exc!r}")
                continue
            with tally.lock:
                tally.statuses[response.status_code] += 1
                if response.status_code != 200:
                    tally.failures.append(f"{key} as {own.external_id}: {response.status_code}")
                    continue
                leaks = foreign_ids(key, answer["data"], own)
                tally.leaks += [f"{key} as {own.external_id}: {leak}" for leak in leaks]
                if key == "usage-events/create":
                    tally.accepted[own.customer_id] += body["amount"]
                    tally.accepted_events += 1
    finally:
        session.close()


def test_fifty_customers_on_thirty_two_threads_never_see_each_other(
    served: tuple[World, str], record_property: Any
) -> None:
    world, base = served
    customers = []
    for n in range(CUSTOMERS):
        external_id = f"load-{n:02d}"
        world.sandbox.put_customer_on_plan(external_id, "pro_monthly" if n % 2 else "free")
        billing = world.sandbox.billing(external_id)
        own = Own(
            external_id,
            billing["customer"]["id"],
            {s["id"] for s in billing["subscriptions"]},
        )
        login = requests.post(f"{base}/test-login/{external_id}", timeout=10)
        assert login.status_code == 200
        own.cookie = login.cookies["session"]
        customers.append(own)

    tally = Tally()
    started = time.monotonic()
    deadline = started + CAP_SECONDS
    threads = [
        threading.Thread(target=client_thread, args=(base, customers, tally, seed, deadline))
        for seed in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CAP_SECONDS + 30)
    elapsed = time.monotonic() - started
    answered = sum(tally.statuses.values())
    record_property("requests", answered)
    record_property("seconds", round(elapsed, 1))
    record_property("leaks", len(tally.leaks))

    assert not any(thread.is_alive() for thread in threads), "a client thread hung"
    assert not tally.leaks, tally.leaks[:20]
    assert not tally.failures, tally.failures[:20]
    assert answered >= min(REQUESTS, 200), f"only {answered} requests in {elapsed:.0f} s"
    recorded: Counter[str] = Counter()
    for event in world.sandbox.records.usage_events:
        recorded[event["customerId"]] += event["amount"]
    assert recorded == tally.accepted, "usage recorded differs from usage accepted"
    assert len(world.sandbox.records.usage_events) == tally.accepted_events
