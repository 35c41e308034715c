"""What gated views ask of a cached billing, prepared once per entry and process.

A feature check, a usage balance in a template, ``@feature_required``: each needs a few
slugs out of a billing payload of tens of kilobytes (megabytes, with a long invoice
history). Parsing the payload on every request would cost more than the rest of the
request. So the answers are prepared the first time a process sees a shared cache entry,
kept under the entry's seal (the same seal, the same payload: a new read of Flowglad is a
new seal), and a :class:`PreparedBilling` answers from them. Anything else it is asked
parses the payload, once per request, as any snapshot.

What is kept is immutable (frozensets, tuples); a balance record is copied when given
out, so no request can change what the next one sees.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import wirejson
from .billing import BillingSnapshot, JSONObject
from .telemetry.recording import feature_checked

__all__ = ["Prepared", "PreparedBilling", "prepared_billing"]

#: Entries kept per process (a few hundred bytes to a few KiB each): one per customer
#: seen lately, since a new read of Flowglad has a new seal and the old one is not asked
#: again.
MAX_ENTRIES = 1024


@dataclass(frozen=True)
class Prepared:
    """The answers of :meth:`BillingSnapshot.check_feature_access` and
    :meth:`BillingSnapshot.check_usage_balance` for one payload, by subscription
    (``None``: any current subscription)."""

    features: Mapping[str | None, frozenset[str]]
    balances: Mapping[str | None, Mapping[str, tuple[tuple[str, Any], ...]]]
    #: Each usage meter's price slugs, for usage recorded in the outbox on a price.
    usage_prices: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, snapshot: BillingSnapshot) -> Prepared:
        """Read from the snapshot's own helpers, so the two can never disagree."""
        owners: list[str | None] = [None]
        owners += [s["id"] for s in snapshot.current_subscriptions if isinstance(s.get("id"), str)]
        features = {
            owner: frozenset(item["slug"] for item in snapshot.granted_features(owner))
            for owner in owners
        }
        balances: dict[str | None, dict[str, tuple[tuple[str, Any], ...]]] = {}
        for owner in owners:
            found: dict[str, tuple[tuple[str, Any], ...]] = {}
            for record in snapshot.usage_meter_balances(owner):
                slug = record.get("slug")
                if isinstance(slug, str) and slug not in found:
                    found[slug] = tuple(record.items())
            balances[owner] = found
        meters = {slug for found in balances.values() for slug in found}
        usage_prices = {slug: snapshot.usage_price_slugs(slug) for slug in meters}
        return cls(features, balances, usage_prices)


class PreparedBilling(BillingSnapshot):
    """A billing from the shared cache: feature checks and usage balances answered from
    its :class:`Prepared` answers, its payload parsed only when something else is asked."""

    __slots__ = ("_payload", "_prepared", "_parsed")

    def __init__(self, payload: bytes, prepared: Prepared, parsed: JSONObject | None = None):
        self._payload = payload
        self._prepared = prepared
        self._parsed = parsed
        self._summary = None
        self._pending_source = None
        self._pending = None

    @property
    def raw(self) -> JSONObject:
        """The billing payload exactly as Flowglad returned it (parsed on first use)."""
        if self._parsed is None:
            self._parsed = wirejson.decode(self._payload)
        return self._parsed

    @raw.setter
    def raw(self, value: JSONObject) -> None:
        self._parsed = value

    def check_feature_access(self, feature_slug: str, subscription_id: str | None = None) -> bool:
        granted = feature_slug in self._prepared.features.get(subscription_id, frozenset())
        feature_checked(feature_slug, granted, self)
        return granted

    def check_usage_balance(
        self, usage_meter_slug: str, subscription_id: str | None = None
    ) -> JSONObject | None:
        record = self._prepared.balances.get(subscription_id, {}).get(usage_meter_slug)
        return None if record is None else self._minus_pending(dict(record))

    def usage_price_slugs(self, usage_meter_slug: str) -> tuple[str, ...]:
        return self._prepared.usage_prices.get(usage_meter_slug, ())


class _Memo:
    """Prepared answers by seal, the oldest forgotten first, shared by the process's
    threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, seal: bytes) -> Prepared | None:
        with self._lock:
            prepared = self._entries.get(seal)
            if prepared is not None:
                self._entries.move_to_end(seal)
            return prepared

    def put(self, seal: bytes, prepared: Prepared) -> None:
        with self._lock:
            self._entries[seal] = prepared
            self._entries.move_to_end(seal)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_memo = _Memo(MAX_ENTRIES)


def prepared_billing(payload: bytes, seal: bytes) -> PreparedBilling:
    """The snapshot of a sealed entry's payload; ``seal`` names the payload."""
    prepared = _memo.get(seal)
    if prepared is not None:
        return PreparedBilling(payload, prepared)
    raw = wirejson.decode(payload)
    prepared = Prepared.of(BillingSnapshot(raw))
    _memo.put(seal, prepared)
    return PreparedBilling(payload, prepared, raw)
