"""Which webhook deliveries were handled: so a redelivery is acknowledged, not run twice.

Flowglad (through Svix) delivers at least once: a delivery is sent again after a timeout or
an answer that is not 2xx, under the same ``svix-id``. :class:`DeliveryLedger` records each
id in three states: *claimed* by the worker running its receivers, *handled*, or absent.

- ``claim``: an atomic add of ``claimed:<token>:<deadline>`` that expires after
  ``claim_timeout`` seconds, so the id is freed if the worker dies (the deadline in the
  value frees it too, should the store keep the key). Of two workers receiving the same id at
  once, one wins; the other is told it is in progress (the endpoint answers 409, and
  Flowglad tries again later).
- ``complete``: the id becomes ``handled`` for ``handled_timeout`` seconds (a week: Svix
  retries for hours, a manual replay may come later).
- ``release``: a receiver raised; the id is forgotten, so the redelivery runs again.

The ledger writes through a :class:`~flask_flowglad.storage.Store`: Redis makes the claim
atomic across machines, the default SQLite file in the app's instance folder across the
worker processes of one machine; a cache object without an atomic ``add`` makes it a read
then a write.
"""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass

from ..storage import Store

__all__ = ["CLAIM_TIMEOUT", "HANDLED_TIMEOUT", "Claim", "ClaimState", "DeliveryLedger"]

#: Seconds a claimed id stays claimed if its worker never finishes (it died).
CLAIM_TIMEOUT = 60
#: Seconds a handled id is remembered.
HANDLED_TIMEOUT = 7 * 24 * 3600

_HANDLED = "handled"
_CLAIMED = "claimed:"


class ClaimState(enum.Enum):
    CLAIMED = "claimed"
    HANDLED = "handled"
    IN_PROGRESS = "in_progress"


@dataclass(frozen=True)
class Claim:
    """What :meth:`DeliveryLedger.claim` found; ``token`` (the value written) proves
    ownership of a claim."""

    state: ClaimState
    token: str = ""


class DeliveryLedger:
    """Claim, complete or release webhook ids in a :class:`~flask_flowglad.storage.Store`."""

    def __init__(
        self,
        store: Store,
        *,
        claim_timeout: int = CLAIM_TIMEOUT,
        handled_timeout: int = HANDLED_TIMEOUT,
        prefix: str = "flowglad-webhook:",
    ) -> None:
        self.store = store
        self.claim_timeout = claim_timeout
        self.handled_timeout = handled_timeout
        self.prefix = prefix

    def claim(self, message_id: str) -> Claim:
        """Take the id for this worker, or say it is handled or being handled."""
        key = self.prefix + message_id
        deadline = int(time.time()) + self.claim_timeout
        value = f"{_CLAIMED}{secrets.token_hex(8)}:{deadline}"
        # A second try only when the other claim vanished, or had outlived its worker.
        for _ in range(2):
            if self.store.add(key, value.encode(), self.claim_timeout):
                return Claim(ClaimState.CLAIMED, value)
            current = _text(self.store.get(key))
            if current == _HANDLED:
                return Claim(ClaimState.HANDLED)
            if current is not None and not _stale(current):
                break
            if current is not None:
                # A store whose add cannot set an expiry with the value (cachelib's Redis
                # adds, then expires) may keep a dead worker's claim: the deadline in it
                # frees the id all the same.
                self.store.delete(key)
        return Claim(ClaimState.IN_PROGRESS)

    def complete(self, message_id: str) -> None:
        """The receivers ran: a redelivery of the id is acknowledged without running."""
        self.store.set(self.prefix + message_id, _HANDLED.encode(), self.handled_timeout)

    def release(self, message_id: str, token: str) -> None:
        """The receivers failed: forget this worker's claim so the redelivery runs."""
        key = self.prefix + message_id
        if _text(self.store.get(key)) == token:
            self.store.delete(key)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def _stale(value: str) -> bool:
    """Whether a stored claim is past the deadline written into it."""
    if not value.startswith(_CLAIMED):
        return False
    deadline = value.rpartition(":")[2]
    return deadline.isdigit() and int(deadline) < time.time()
