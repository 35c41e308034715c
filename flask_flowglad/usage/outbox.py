"""The :class:`UsageOutbox` protocol: what recording and delivery need of a store.

It is not :class:`flask_flowglad.storage.Store`. That one keeps bytes under a key with an
expiry, and its four calls are each atomic on their own. An outbox is a queue shared by
any number of workers, which needs what no sequence of key-value calls gives atomically:
take the oldest events nobody holds and hold them for a while (:meth:`~UsageOutbox.claim`,
a lease), let them go again later, move them to the dead letters with a reason, sum what
one customer has pending, and (for the app's own SQL database) join the transaction of the
app's own change. Each store does these with its own atomic tools: ``FOR UPDATE SKIP
LOCKED`` and single-statement updates in SQL, a consumer group and Lua scripts in Redis.
What it shares with :mod:`flask_flowglad.storage` is how a setting names a store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .record import DeadLetter, PendingUsage, UsageStatus

__all__ = ["Claim", "Refusal", "UsageOutbox"]


@dataclass(frozen=True)
class Claim:
    """Events one worker holds for ``lease`` seconds: nobody else takes them until the
    lease ends, and if the worker dies, they are taken again after it.

    Workers of one outbox share one lease (``FLOWGLAD_USAGE_LEASE``): in SQL the holder's
    lease is written in its rows, in Redis each worker takes over entries idle for longer
    than its own."""

    #: Who holds them (a row's ``claimed_by``, a Redis consumer).
    token: str
    events: tuple[PendingUsage, ...]
    lease: float


@dataclass(frozen=True)
class Refusal:
    """Why an event goes to the dead letters."""

    event: PendingUsage
    reason: str
    #: Flowglad's HTTP status, or ``None`` when the worker refused the event itself.
    status: int | None = None


@runtime_checkable
class UsageOutbox(Protocol):
    """Usage events between the app that records them and the workers that send them."""

    def add(self, events: Sequence[PendingUsage], *, own_transaction: bool = False) -> int:
        """Store events durably; how many were new. An event the outbox already holds
        (same transaction id and meter) is not stored twice. A store that can join the
        caller's transaction (the app's own SQL database) does, unless
        ``own_transaction``."""
        ...

    def claim(self, limit: int, lease: float) -> Claim:
        """Take up to ``limit`` of the oldest events nobody holds, for ``lease`` seconds."""
        ...

    def complete(self, claim: Claim, events: Sequence[PendingUsage]) -> None:
        """Forget events Flowglad accepted, and count them as sent."""
        ...

    def retry(self, claim: Claim, events: Sequence[PendingUsage], delay: float) -> None:
        """Let held events go, to be taken again (by anyone) after ``delay`` seconds."""
        ...

    def dead_letter(self, claim: Claim, refusals: Sequence[Refusal]) -> None:
        """Move held events to the dead letters, each with its reason."""
        ...

    def pending_amounts(self, customer_external_id: str) -> dict[str, int]:
        """What one customer has pending, summed per :attr:`PendingUsage.meter_key`."""
        ...

    def status(self) -> UsageStatus:
        """The outbox's figures (see :class:`~.record.UsageStatus`)."""
        ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The oldest dead letters."""
        ...

    def requeue(self, ids: Sequence[str] | None = None) -> int:
        """Send dead letters again (all of them when ``ids`` is ``None``); how many."""
        ...

    def discard(self, ids: Sequence[str]) -> int:
        """Drop dead letters for good; how many."""
        ...
