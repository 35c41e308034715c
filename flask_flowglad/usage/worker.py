"""Delivery: claim a batch from the outbox, send it to Flowglad's bulk endpoint, settle it.

:meth:`UsageWorker.flush` is one batch, start to end: the one function to trace or time.
:meth:`UsageWorker.run` repeats it until told to stop; :meth:`UsageWorker.drain` until
nothing is ready (``flask flowglad usage-worker --once``, the Celery task).

How each answer is settled:

- **accepted**: the events leave the outbox, after the shared billing cache forgets their
  customers (so a balance read meanwhile subtracts them twice at worst, never zero times);
- **refused for good** (400, 404, 409, 413, 422): Flowglad takes a batch whole or not at all,
  so the batch is split in halves until each refused event is alone; it goes to the dead
  letters with Flowglad's message, and the others are sent. ``k`` bad events in ``n`` cost
  about ``2 k log2 n`` requests, once;
- **rate limited** (429): the batch waits for ``Retry-After`` (or a back-off), and so does
  the worker;
- **failed** (5xx, a dropped connection, a timeout): the batch waits a jittered back-off
  that doubles with its attempts, up to ``max_backoff``. A batch that failed three times is
  split: when one half passes and the other fails, the failure is in the events, so the
  failing half is split again until the event that makes Flowglad fail is alone; after
  ``max_attempts`` such failures it goes to the dead letters. When both halves fail,
  Flowglad is down, and the whole batch waits;
- **refused key** (401, 403): nothing is wrong with the events; the batch waits and the
  worker logs an error.

Before sending, each event's subscription is resolved (its own, or the customer's current
one), once per customer and batch, through the shared billing cache. A customer Flowglad
does not know, or with no current subscription, or an event on a meter the customer's
pricing model lacks, is refused after a fresh read of the customer's billing.
"""

from __future__ import annotations

import logging
import random as _random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..deadline import request_deadline, time_remaining
from ..errors import (
    FlowgladAPIError,
    FlowgladAuthenticationError,
    FlowgladError,
    FlowgladRateLimited,
    InvalidUpstreamAnswer,
)
from ..identity import CustomerIdentity
from ..service import CustomerBilling
from ..telemetry import UsageFlush
from .outbox import Claim, Refusal, UsageOutbox
from .record import PendingUsage

if TYPE_CHECKING:
    from ..billing import BillingSnapshot
    from ..cache import SharedBillingCache
    from ..client import FlowgladClient

__all__ = ["DeliverySettings", "FlushResult", "UsageWorker"]

logger = logging.getLogger("flask_flowglad.usage")

#: Statuses that say an event (or one of a batch) can never be accepted as it is.
REFUSED = frozenset({400, 404, 409, 413, 422})
#: A batch that failed this many times is split to find an event that makes Flowglad fail.
ISOLATE_AFTER = 3
#: Seconds a worker keeps using a customer's billing it read to resolve subscriptions; a
#: refusal makes it read again sooner.
RESOLVED_SECONDS = 30.0
#: Customers whose billing a worker keeps.
MAX_RESOLVED = 10_000
#: Flowglad counts as up for this long after it accepted a batch.
UP_SECONDS = 60.0


@dataclass(frozen=True)
class DeliverySettings:
    """How a worker batches and waits (``FLOWGLAD_USAGE_*``)."""

    #: Events per request to the bulk endpoint.
    batch_size: int = 500
    #: Seconds a worker waits after a batch that was not full, so events gather.
    linger: float = 1.0
    #: Seconds a claimed batch is a worker's own; a worker that dies gives it up then.
    lease: float = 60.0
    #: The longest back-off after failures, seconds.
    max_backoff: float = 60.0
    #: Failures of an event alone (while Flowglad accepts others) before it is refused.
    max_attempts: int = 10


@dataclass
class FlushResult:
    """What one flush (or a run of them) did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    #: Requests made to the bulk endpoint.
    requests: int = 0
    #: Seconds to wait before the next flush (0: more is ready now).
    wait: float = 0.0
    #: Customers whose events Flowglad accepted.
    customers: set[str] = field(default_factory=set)

    def add(self, other: FlushResult) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.requests += other.requests
        self.customers |= other.customers


@dataclass(frozen=True)
class _Ready:
    """An event and the subscription it is sent against."""

    event: PendingUsage
    subscription_id: str

    @property
    def body(self) -> dict[str, object]:
        return self.event.wire(self.subscription_id)


@dataclass
class _Settlement:
    """What becomes of each event of a claim, decided as the flush goes."""

    sent: list[PendingUsage] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    retry: dict[float, list[PendingUsage]] = field(default_factory=dict)
    requests: int = 0
    #: Set once the worker must stop sending (429, a refused key, the deadline).
    stop_delay: float | None = None

    def wait(self, events: Sequence[PendingUsage], delay: float) -> None:
        self.retry.setdefault(round(delay, 3), []).extend(events)


class UsageWorker:
    """Sends what the outbox holds to Flowglad, in batches (see the module's docstring).

    :param billing_cache: the app's shared billing cache: subscriptions are resolved
        through it, and it forgets the customers of every delivered batch.
    """

    def __init__(
        self,
        outbox: UsageOutbox,
        client: FlowgladClient,
        *,
        billing_cache: SharedBillingCache | None = None,
        settings: DeliverySettings | None = None,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.billing_cache = billing_cache
        self.settings = settings or DeliverySettings()
        self._random = random
        #: Consecutive flushes that failed to reach Flowglad or the outbox.
        self._failures = 0
        #: Each customer's billing as last read, with when (monotonic seconds).
        self._billings: dict[str, tuple[float, BillingSnapshot | None]] = {}
        #: When Flowglad last accepted a batch of this worker (monotonic seconds).
        self._last_success = -UP_SECONDS

    def __repr__(self) -> str:
        return f"<UsageWorker {self.outbox!r} batch={self.settings.batch_size}>"

    # -- loops -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Flush until ``stop`` is set; a batch in flight is finished first."""
        while not stop.is_set():
            result = self.flush()
            if result.wait > 0:
                stop.wait(result.wait)

    def drain(self, *, max_seconds: float | None = None) -> FlushResult:
        """Flush until nothing is ready (or a flush makes no progress, or ``max_seconds``
        pass); the totals."""
        totals = FlushResult()
        started = time.monotonic()
        while max_seconds is None or time.monotonic() - started < max_seconds:
            result = self.flush()
            totals.add(result)
            if result.claimed == 0 or result.sent + result.dead == 0:
                totals.wait = result.wait
                break
        return totals

    # -- one batch -------------------------------------------------------------------

    def flush(self) -> FlushResult:
        """Claim one batch, send it, settle every event of it."""
        settings = self.settings
        asked = time.monotonic()
        try:
            claim = self.outbox.claim(settings.batch_size, settings.lease)
        except Exception as exc:  # noqa: BLE001 - a store's own errors (SQL, Redis)
            delay = self._backoff_after_failure()
            logger.error("Could not claim usage events (%s); next try in %.1f s.", exc, delay)
            return FlushResult(wait=delay)
        if not claim.events:
            self._failures = 0
            return FlushResult(wait=settings.linger)
        logger.debug("Sending %d usage events.", len(claim.events))
        settlement = _Settlement()
        # Every call of this flush ends within half of what is left of the lease (the claim
        # may have waited for a lock while the lease ran), so nobody else can take the
        # batch while it is still being sent.
        budget = settings.lease / 2 - (time.monotonic() - asked)
        # A span from the claim's sending to its settling (telemetry's UsageFlush).
        with UsageFlush(len(claim.events)) as told, request_deadline(max(budget, 0.0)):
            ready = self._resolve(claim.events, settlement)
            self._send_batch(ready, settlement)
        return told.settled(self._settle(claim, settlement))

    def _send_batch(self, ready: list[_Ready], settlement: _Settlement) -> None:
        if not ready:
            return
        error = self._send(ready, settlement)
        if error is None:
            return
        attempts = max(r.event.attempts for r in ready)
        if len(ready) == 1:
            self._failed_alone(ready[0], settlement, error)
        elif attempts >= ISOLATE_AFTER and settlement.stop_delay is None:
            self._isolate(ready, settlement)
        else:
            self._wait(ready, settlement, error)

    def _send(self, batch: list[_Ready], settlement: _Settlement) -> FlowgladError | None:
        """Send ``batch``, splitting it where Flowglad refuses an event. Returns the error
        of a failure that says nothing about the events (5xx, the network), to be settled
        by the caller; anything else is settled here."""
        if settlement.stop_delay is not None:
            settlement.wait([r.event for r in batch], settlement.stop_delay)
            return None
        remaining = time_remaining()
        if remaining is not None and remaining < min(1.0, self.settings.lease / 8):
            settlement.stop_delay = 0.0
            settlement.wait([r.event for r in batch], 0.0)
            return None
        settlement.requests += 1
        try:
            self.client.create_usage_events([r.body for r in batch])
        except FlowgladRateLimited as exc:
            delay = exc.retry_after if exc.retry_after is not None else self._delay(batch)
            logger.warning("Flowglad is rate limiting usage events; waiting %.1f s.", delay)
            settlement.stop_delay = delay
            settlement.wait([r.event for r in batch], delay)
        except FlowgladAuthenticationError as exc:
            delay = self.settings.max_backoff
            logger.error("Flowglad refused the secret key (%s); usage events wait.", exc)
            settlement.stop_delay = delay
            settlement.wait([r.event for r in batch], delay)
        except FlowgladAPIError as exc:
            if exc.status not in REFUSED or isinstance(exc, InvalidUpstreamAnswer):
                return exc
            if len(batch) == 1:
                self._refused_alone(batch[0].event, settlement, exc)
                return None
            middle = len(batch) // 2
            for half in (batch[:middle], batch[middle:]):
                error = self._send(half, settlement)
                if error is not None:
                    self._wait(half, settlement, error)
        except FlowgladError as exc:
            return exc
        else:
            settlement.sent.extend(r.event for r in batch)
            self._last_success = time.monotonic()
        return None

    def _refused_alone(
        self, event: PendingUsage, settlement: _Settlement, exc: FlowgladAPIError
    ) -> None:
        """Flowglad refused one event. Sent against a subscription this worker resolved
        earlier, it is tried once more after a fresh read (the customer may have changed
        plans); otherwise it goes to the dead letters."""
        known = self._billings.pop(event.customer_external_id, None)
        if event.subscription_id is None and event.attempts < 2 and known is not None:
            settlement.wait([event], 0.0)
        else:
            settlement.refused.append(Refusal(event, _reason(exc), exc.status))

    def _isolate(self, batch: list[_Ready], settlement: _Settlement) -> None:
        """A batch keeps failing: send its halves apart. When one passes and the other
        fails, the failure is in the events: split that half again."""
        if len(batch) == 1:
            settlement.wait([batch[0].event], self._delay(batch))
            return
        middle = len(batch) // 2
        halves = (batch[:middle], batch[middle:])
        errors = [self._send(half, settlement) for half in halves]
        for half, error, other in zip(halves, errors, reversed(errors), strict=True):
            if error is None:
                continue
            if other is not None or settlement.stop_delay is not None:
                self._wait(half, settlement, error)
            elif len(half) == 1:
                self._failed_alone(half[0], settlement, error)
            else:
                self._isolate(half, settlement)

    def _failed_alone(self, ready: _Ready, settlement: _Settlement, error: FlowgladError) -> None:
        """One event failed on its own. While Flowglad accepts other batches, the failure
        is the event's: after ``max_attempts`` it goes to the dead letters."""
        event = ready.event
        if event.attempts >= self.settings.max_attempts and self._flowglad_is_up():
            reason = (
                f"Flowglad failed this event {event.attempts} times while accepting others"
                f" (last: {error})."
            )
            settlement.refused.append(Refusal(event, reason, None))
        else:
            self._wait([ready], settlement, error)

    def _flowglad_is_up(self) -> bool:
        """Whether Flowglad accepted a batch of this worker lately."""
        return time.monotonic() - self._last_success < UP_SECONDS

    def _wait(self, batch: list[_Ready], settlement: _Settlement, error: FlowgladError) -> None:
        delay = self._delay(batch)
        logger.warning(
            "Could not send %d usage events (%s); next try in %.1f s.", len(batch), error, delay
        )
        settlement.wait([r.event for r in batch], delay)

    def _delay(self, batch: Sequence[_Ready]) -> float:
        """A back-off that doubles with the events' attempts, minus up to half as jitter."""
        attempts = max((r.event.attempts for r in batch), default=1)
        return self._jittered(min(self.settings.max_backoff, 2.0 ** max(0, attempts - 1)))

    def _jittered(self, delay: float) -> float:
        return delay * (0.5 + 0.5 * self._random())

    def _backoff_after_failure(self) -> float:
        self._failures += 1
        return self._jittered(min(self.settings.max_backoff, 2.0 ** min(self._failures, 16)))

    # -- resolving -------------------------------------------------------------------

    def _resolve(self, events: Sequence[PendingUsage], settlement: _Settlement) -> list[_Ready]:
        """Each event with its subscription, read once per customer; what cannot be sent
        is settled here (refused, or waiting for Flowglad)."""
        by_customer: dict[str, list[PendingUsage]] = {}
        for event in events:
            by_customer.setdefault(event.customer_external_id, []).append(event)
        ready: list[_Ready] = []
        for external_id, own in by_customer.items():
            try:
                ready.extend(self._resolve_customer(external_id, own, settlement))
            except FlowgladError as exc:
                delay = self._jittered(min(self.settings.max_backoff, 2.0 ** own[0].attempts))
                logger.warning(
                    "Could not read the billing of %d usage events' customer (%s);"
                    " next try in %.1f s.",
                    len(own),
                    exc,
                    delay,
                )
                settlement.wait(own, delay)
        return ready

    def _resolve_customer(
        self, external_id: str, events: list[PendingUsage], settlement: _Settlement
    ) -> list[_Ready]:
        service = CustomerBilling(
            self.client, CustomerIdentity(external_id), cache={}, shared=self.billing_cache
        )
        billing = self._billing(external_id, service)
        problems = _problems(billing, events)
        if any(problems.values()):
            # Refuse only what a fresh read still refuses: the cache may be behind.
            service.invalidate()
            billing = self._billing(external_id, service, fresh=True)
            problems = _problems(billing, events)
        ready = []
        for event in events:
            problem = problems[event.transaction_id + event.id]
            if problem is not None:
                settlement.refused.append(Refusal(event, problem, None))
                continue
            current = billing.current_subscription if billing is not None else None
            subscription = event.subscription_id or str((current or {}).get("id"))
            ready.append(_Ready(event, subscription))
        return ready

    def _billing(
        self, external_id: str, service: CustomerBilling, *, fresh: bool = False
    ) -> BillingSnapshot | None:
        """The customer's billing as this worker read it lately, or read now (through the
        shared cache). The cache forgets a customer after each delivered batch, for the
        app's balances; the subscription an event goes to changes far less often."""
        now = time.monotonic()
        known = None if fresh else self._billings.get(external_id)
        if known is not None and now - known[0] < RESOLVED_SECONDS:
            return known[1]
        billing = service.find_billing()
        if len(self._billings) >= MAX_RESOLVED:
            self._billings.clear()
        self._billings[external_id] = (now, billing)
        return billing

    # -- settling --------------------------------------------------------------------

    def _settle(self, claim: Claim, settlement: _Settlement) -> FlushResult:
        result = FlushResult(
            claimed=len(claim.events),
            sent=len(settlement.sent),
            dead=len(settlement.refused),
            retried=sum(len(events) for events in settlement.retry.values()),
            requests=settlement.requests,
            customers={event.customer_external_id for event in settlement.sent},
        )
        try:
            # Forgotten before the events leave the outbox: a balance read in between
            # counts them twice (less is left), never zero times.
            for external_id in sorted(result.customers):
                if self.billing_cache is not None:
                    self.billing_cache.invalidate(external_id)
            self.outbox.complete(claim, settlement.sent)
            self.outbox.dead_letter(claim, settlement.refused)
            for delay, events in settlement.retry.items():
                self.outbox.retry(claim, events, delay)
        except Exception as exc:  # noqa: BLE001 - a store's own errors (SQL, Redis)
            # The lease ends and the batch is sent again: Flowglad records it once.
            logger.error("Could not settle %d usage events (%s).", len(claim.events), exc)
            result.wait = self._backoff_after_failure()
            return result
        logger.debug(
            "Settled %d usage events: %d sent, %d refused, %d waiting.",
            result.claimed,
            result.sent,
            result.dead,
            result.retried,
        )
        for refusal in settlement.refused:
            # The customer by the hash telemetry names it with: no customer's id in a log.
            logger.error(
                "Usage event %s of customer %s refused for good: %s",
                refusal.event.transaction_id,
                self.client.telemetry.customer_hash(refusal.event.customer_external_id),
                refusal.reason,
            )
        if settlement.retry:
            result.wait = max(settlement.stop_delay or 0.0, min(settlement.retry))
            self._failures += 1
        else:
            self._failures = 0
            result.wait = (
                0.0 if len(claim.events) >= self.settings.batch_size else self.settings.linger
            )
        return result


def _problems(
    billing: BillingSnapshot | None, events: Sequence[PendingUsage]
) -> dict[str, str | None]:
    """Why each event cannot be sent, as the customer's billing says, or ``None``."""
    problems: dict[str, str | None] = {}
    for event in events:
        key = event.transaction_id + event.id
        if billing is None:
            problems[key] = f"Flowglad has no customer {event.customer_external_id!r}."
        elif event.subscription_id is None and billing.current_subscription is None:
            problems[key] = "The customer has no current subscription."
        elif event.usage_meter_slug is not None and (
            billing.find_usage_meter(slug=event.usage_meter_slug) is None
        ):
            problems[key] = f"The pricing model has no usage meter {event.usage_meter_slug!r}."
        elif event.price_slug is not None and (
            (billing.find_price(price_slug=event.price_slug) or {}).get("type") != "usage"
        ):
            problems[key] = f"The pricing model has no usage price {event.price_slug!r}."
        else:
            problems[key] = None
    return problems


def _reason(exc: FlowgladAPIError) -> str:
    return f"Flowglad answered {exc}"
