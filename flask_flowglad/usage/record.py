"""What the outbox holds: a usage event recorded and not yet sent, a dead letter, the figures
of :func:`~flask_flowglad.usage.outbox.UsageOutbox.status`.

An event is checked once, here, when it is recorded: whatever is stored can be sent as it
is. Its transaction id and its date are fixed here too, so a batch sent again after a
crash carries the same ids (Flowglad records each ``(transactionId, usageMeterId)`` once)
and the usage is dated when it happened, not when a worker got to it.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from ..client import new_transaction_id
from ..errors import InvalidUsageEvent

__all__ = [
    "DeadLetter",
    "MAX_AMOUNT",
    "MAX_ID_LENGTH",
    "MAX_PROPERTIES_BYTES",
    "PendingUsage",
    "UsageStatus",
    "new_pending_usage",
]

#: Flowglad stores an amount in a Postgres ``integer``.
MAX_AMOUNT = 2**31 - 1
#: Ids, slugs and external ids: Flowglad's 255 characters, the outbox's column width.
MAX_ID_LENGTH = 255
#: Bytes of a usage event's properties as compact JSON: a row, not a document.
MAX_PROPERTIES_BYTES = 8 * 1024
#: Control characters and lone surrogates: no id Flowglad stores has them.
_UNPRINTABLE = re.compile("[\x00-\x1f\ud800-\udfff]")
#: Epoch milliseconds before the year 10000 (what Flowglad's date columns hold).
MAX_EPOCH_MS = 253_402_300_799_999


@dataclass(frozen=True)
class PendingUsage:
    """One usage event in the outbox: recorded by the app, not yet accepted by Flowglad."""

    transaction_id: str
    customer_external_id: str
    amount: int
    #: Exactly one of the two: the meter, or a usage price of it.
    usage_meter_slug: str | None = None
    price_slug: str | None = None
    #: ``None``: the customer's current subscription when the event is sent.
    subscription_id: str | None = None
    #: Compact JSON of the properties (checked when recorded), or ``None``.
    properties: str | None = None
    #: When the usage happened, epoch milliseconds.
    usage_date: int = 0
    #: When it was recorded, epoch seconds.
    recorded_at: float = 0.0
    #: The store's id of the entry (a row id, a stream id); empty before it is stored.
    id: str = ""
    #: How many times a worker has taken it, this time included.
    attempts: int = 0

    @property
    def meter_key(self) -> str:
        """What pending amounts are summed by: ``meter:<slug>`` or ``price:<slug>``."""
        if self.usage_meter_slug is not None:
            return f"meter:{self.usage_meter_slug}"
        return f"price:{self.price_slug}"

    def wire(self, subscription_id: str) -> dict[str, Any]:
        """The event as Flowglad's bulk endpoint takes it (camelCase, absent members left
        out), against ``subscription_id``."""
        body: dict[str, Any] = {
            "subscriptionId": subscription_id,
            "amount": self.amount,
            "transactionId": self.transaction_id,
            "usageDate": self.usage_date,
        }
        if self.usage_meter_slug is not None:
            body["usageMeterSlug"] = self.usage_meter_slug
        else:
            body["priceSlug"] = self.price_slug
        if self.properties is not None:
            body["properties"] = json.loads(self.properties)
        return body

    def encode(self, **extra: str) -> bytes:
        """The event's fields (and ``extra`` ones) as compact JSON, as a Redis stream entry
        keeps them."""
        fields = {name: getattr(self, name) for name in _FIELDS}
        return json.dumps({**fields, **extra}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes | str, *, id: str = "", attempts: int = 0) -> PendingUsage:
        """The event :meth:`encode` wrote (members it does not know are ignored)."""
        fields = json.loads(data)
        known = {name: fields[name] for name in _FIELDS if name in fields}
        return cls(**known, id=id, attempts=attempts)

    def stored_as(self, id: str, attempts: int = 0) -> PendingUsage:
        """The same event under the store's id."""
        return replace(self, id=id, attempts=attempts)


_FIELDS = (
    "transaction_id",
    "customer_external_id",
    "amount",
    "usage_meter_slug",
    "price_slug",
    "subscription_id",
    "properties",
    "usage_date",
    "recorded_at",
)


@dataclass(frozen=True)
class DeadLetter:
    """An event Flowglad refused for good, kept with the reason until an operator requeues
    or discards it (``flask flowglad usage-dead-letters``)."""

    id: str
    event: PendingUsage
    reason: str
    #: Flowglad's HTTP status, or ``None`` when the worker refused it itself.
    status: int | None
    #: Epoch seconds.
    failed_at: float


@dataclass(frozen=True)
class UsageStatus:
    """The outbox at a glance: for health checks, ``flask flowglad usage-status`` and
    metrics."""

    #: Events recorded and not yet accepted by Flowglad (in flight included).
    pending: int
    #: Seconds since the oldest pending event was recorded; ``None`` when none is pending.
    oldest_age_seconds: float | None
    #: Events Flowglad accepted in the last minute, counted by every worker.
    sent_last_minute: int
    #: Events refused for good, waiting for an operator.
    dead_letters: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_pending_usage(
    customer_external_id: str,
    *,
    usage_meter_slug: str | None = None,
    price_slug: str | None = None,
    amount: int = 1,
    transaction_id: str | None = None,
    properties: Mapping[str, Any] | None = None,
    usage_date: int | datetime | None = None,
    subscription_id: str | None = None,
    now: float | None = None,
) -> PendingUsage:
    """A checked event, or :exc:`~flask_flowglad.errors.InvalidUsageEvent` saying what is
    wrong: nothing that Flowglad would refuse for its shape is ever stored."""
    if (usage_meter_slug is None) == (price_slug is None):
        raise InvalidUsageEvent("Give exactly one of meter_slug and price_slug.")
    for name, value in (
        ("customer external id", customer_external_id),
        ("meter_slug", usage_meter_slug),
        ("price_slug", price_slug),
        ("transaction_id", transaction_id),
        ("subscription_id", subscription_id),
    ):
        if value is not None:
            _check_id(name, value)
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidUsageEvent(
            f"amount must be a whole number from 1 to {MAX_AMOUNT}: {amount!r}"
        )
    recorded_at = time.time() if now is None else now
    return PendingUsage(
        transaction_id=transaction_id or new_transaction_id(),
        customer_external_id=customer_external_id,
        amount=amount,
        usage_meter_slug=usage_meter_slug,
        price_slug=price_slug,
        subscription_id=subscription_id,
        properties=_properties_json(properties),
        usage_date=_epoch_ms(usage_date, recorded_at),
        recorded_at=recorded_at,
    )


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not value or not value.strip():
        raise InvalidUsageEvent(f"{name} must be a non-empty string: {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidUsageEvent(f"{name} is longer than {MAX_ID_LENGTH} characters.")
    if _UNPRINTABLE.search(value):
        raise InvalidUsageEvent(f"{name} holds a control character or a lone surrogate.")


def _properties_json(properties: Mapping[str, Any] | None) -> str | None:
    """Compact JSON of the properties; refused when they are no JSON object of strings, or
    hold what Flowglad's ``jsonb`` column refuses (a NUL character, a lone surrogate)."""
    if properties is None:
        return None
    if not isinstance(properties, Mapping) or not all(isinstance(k, str) for k in properties):
        raise InvalidUsageEvent("properties must be a mapping with string keys.")
    try:
        text = json.dumps(
            dict(properties), separators=(",", ":"), allow_nan=False, ensure_ascii=False
        )
        size = len(text.encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        # UnicodeEncodeError is a ValueError: a lone surrogate.
        raise InvalidUsageEvent(f"properties must be JSON: {exc}") from None
    if "\\u0000" in text:
        raise InvalidUsageEvent("properties hold a NUL character, which Flowglad cannot store.")
    if size > MAX_PROPERTIES_BYTES:
        raise InvalidUsageEvent(
            f"properties are larger than {MAX_PROPERTIES_BYTES} bytes as JSON."
        )
    return text


def _epoch_ms(value: int | datetime | None, recorded_at: float) -> int:
    """A usage date as Flowglad's epoch milliseconds; a naive datetime is refused."""
    if value is None:
        return int(recorded_at * 1000)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidUsageEvent("usage_date must be an aware datetime (with a time zone).")
        value = math.floor(value.timestamp() * 1000)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_EPOCH_MS:
        raise InvalidUsageEvent(f"usage_date must be epoch milliseconds or a datetime: {value!r}")
    return value
