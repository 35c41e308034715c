"""The outbox contract, on each store: SQLite file, PostgreSQL, Redis.

Claims are exclusive while their lease runs and free after it; settled events leave;
dead letters keep their reason and can be requeued; pending amounts and the status add up.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from flask_flowglad.usage import PendingUsage, Refusal, UsageOutbox, new_pending_usage

from .conftest import OutboxFactory


def events(
    n: int, customer: str = "c1", meter: str = "api_calls", amount: int = 1
) -> list[PendingUsage]:
    return [
        new_pending_usage(
            customer, usage_meter_slug=meter, amount=amount, transaction_id=f"t-{customer}-{i}"
        )
        for i in range(n)
    ]


def test_claimed_events_are_the_recorded_ones_in_order(outbox: UsageOutbox) -> None:
    recorded = events(5) + events(2, customer="c2", meter=None or "api_calls")
    outbox.add(recorded)
    claim = outbox.claim(100, lease=30)
    assert [e.transaction_id for e in claim.events] == [e.transaction_id for e in recorded]
    first = claim.events[0]
    assert (first.customer_external_id, first.amount, first.usage_meter_slug) == (
        "c1",
        1,
        "api_calls",
    )
    assert first.usage_date == recorded[0].usage_date
    assert all(e.id and e.attempts == 1 for e in claim.events)


def test_a_claim_is_exclusive_until_its_lease_ends(make_outbox: OutboxFactory) -> None:
    one, other = make_outbox(), make_outbox()
    one.add(events(10))
    held = one.claim(6, lease=1.0)
    assert len(held.events) == 6
    rest = other.claim(100, lease=1.0)
    assert {e.transaction_id for e in rest.events}.isdisjoint(
        e.transaction_id for e in held.events
    )
    assert len(rest.events) == 4
    assert other.claim(100, lease=1.0).events == ()
    time.sleep(1.2)
    # Both leases ended (their workers died): everything is taken again, counted twice.
    again = other.claim(100, lease=1.0)
    assert len(again.events) == 10
    assert {e.attempts for e in again.events} == {2}


def test_concurrent_claims_never_share_an_event(make_outbox: OutboxFactory) -> None:
    make_outbox().add(events(400))
    taken: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        outbox = make_outbox()
        while True:
            claim = outbox.claim(17, lease=60)
            if not claim.events:
                return
            with lock:
                taken.extend(e.transaction_id for e in claim.events)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    counts = Counter(taken)
    assert len(counts) == 400 and max(counts.values()) == 1


def test_completed_events_leave_and_count_as_sent(outbox: UsageOutbox) -> None:
    outbox.add(events(3) + events(2, customer="c2", amount=5))
    assert outbox.pending_amounts("c2") == {"meter:api_calls": 10}
    claim = outbox.claim(100, lease=30)
    outbox.complete(claim, claim.events[:4])
    status = outbox.status()
    assert (status.pending, status.sent_last_minute, status.dead_letters) == (1, 4, 0)
    assert outbox.pending_amounts("c1") == {}
    assert outbox.pending_amounts("c2") == {"meter:api_calls": 5}
    # Completing again (a retry, a second worker after a lease) changes nothing.
    outbox.complete(claim, claim.events[:4])
    assert outbox.pending_amounts("c2") == {"meter:api_calls": 5}


def test_retried_events_come_back_after_their_delay_only(outbox: UsageOutbox) -> None:
    outbox.add(events(4))
    claim = outbox.claim(100, lease=30)
    outbox.retry(claim, claim.events[:2], delay=1.0)
    outbox.complete(claim, claim.events[2:])
    assert outbox.claim(100, lease=30).events == ()
    time.sleep(1.3)
    again = outbox.claim(100, lease=30)
    assert [e.transaction_id for e in again.events] == [e.transaction_id for e in claim.events[:2]]
    assert outbox.status().pending == 2


def test_dead_letters_keep_the_reason_and_can_be_requeued(outbox: UsageOutbox) -> None:
    outbox.add(
        events(3, amount=2) + [new_pending_usage("c1", price_slug="api_call_overage", amount=7)]
    )
    claim = outbox.claim(100, lease=30)
    outbox.dead_letter(
        claim,
        [
            Refusal(claim.events[0], "Flowglad answered 404 NOT_FOUND: Subscription", 404),
            Refusal(claim.events[3], "no usage price", None),
        ],
    )
    outbox.complete(claim, claim.events[1:3])
    letters = outbox.dead_letters()
    assert [(d.event.transaction_id, d.status) for d in letters] == [
        (claim.events[0].transaction_id, 404),
        (claim.events[3].transaction_id, None),
    ]
    assert letters[0].reason.startswith("Flowglad answered 404") and letters[0].failed_at > 0
    assert letters[1].event.price_slug == "api_call_overage" and letters[1].event.amount == 7
    status = outbox.status()
    assert (status.pending, status.dead_letters) == (0, 2)
    assert outbox.pending_amounts("c1") == {}

    assert outbox.requeue([letters[0].id]) == 1
    assert outbox.pending_amounts("c1") == {"meter:api_calls": 2}
    back = outbox.claim(100, lease=30)
    assert [e.transaction_id for e in back.events] == [claim.events[0].transaction_id]
    assert outbox.discard([letters[1].id]) == 1
    assert outbox.status().dead_letters == 0
    assert outbox.requeue() == 0


def test_dead_lettering_an_event_someone_else_holds_does_nothing(
    make_outbox: OutboxFactory,
) -> None:
    one, other = make_outbox(), make_outbox()
    one.add(events(1))
    stale = one.claim(10, lease=0.5)
    time.sleep(0.7)
    fresh = other.claim(10, lease=0.5)
    assert len(fresh.events) == 1
    other.complete(fresh, fresh.events)
    # The first worker's lease ended long ago: its verdict comes too late to count.
    one.dead_letter(stale, [Refusal(stale.events[0], "late", 400)])
    assert outbox_counts(other) == (0, 0)


def outbox_counts(outbox: UsageOutbox) -> tuple[int, int]:
    status = outbox.status()
    return status.pending, status.dead_letters


def test_status_says_how_old_the_oldest_pending_event_is(outbox: UsageOutbox) -> None:
    assert outbox.status().oldest_age_seconds is None
    old = new_pending_usage("c1", usage_meter_slug="api_calls", now=time.time() - 30)
    outbox.add([old] + events(2))
    age = outbox.status().oldest_age_seconds
    assert age is not None and 29 < age < 60


def test_properties_and_dates_survive_the_store(outbox: UsageOutbox) -> None:
    event = new_pending_usage(
        "ünï/cøde 🙂",
        usage_meter_slug="api_calls",
        properties={"model": "gpt", "tokens": [1, 2.5, None], "ü": {"nested": True}},
        usage_date=1_700_000_000_123,
        subscription_id="sub_1",
    )
    outbox.add([event])
    (taken,) = outbox.claim(10, lease=30).events
    assert taken.wire("sub_x") == event.wire("sub_x")
    assert taken.customer_external_id == "ünï/cøde 🙂" and taken.subscription_id == "sub_1"
    assert outbox.pending_amounts("ünï/cøde 🙂") == {"meter:api_calls": 1}


@pytest.mark.parametrize("make_outbox", ["sqlite"], indirect=True)
def test_a_sqlite_outbox_is_a_file_every_process_shares(make_outbox: OutboxFactory) -> None:
    first = make_outbox()
    first.add(events(2))
    assert make_outbox().status().pending == 2


def test_an_event_already_pending_is_not_stored_twice(outbox: UsageOutbox) -> None:
    """A job run twice with its own transaction id: the balance counts it once."""
    event = new_pending_usage("c1", usage_meter_slug="api_calls", amount=4, transaction_id="job-1")
    assert outbox.add([event]) == 1
    assert outbox.add([event]) == 0
    on_price = new_pending_usage(
        "c1", price_slug="api_call_overage", amount=1, transaction_id="job-1"
    )
    assert outbox.add([on_price]) == 1
    assert outbox.pending_amounts("c1") == {"meter:api_calls": 4, "price:api_call_overage": 1}
    claim = outbox.claim(10, lease=30)
    outbox.complete(claim, claim.events)
    # Sent: recording it again is a new event for the outbox (Flowglad keeps one).
    assert outbox.add([event]) == 1
