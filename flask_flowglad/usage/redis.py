"""The outbox in Redis: a stream read by a consumer group.

- Recording is one ``MULTI``: ``XADD`` of the event and ``HINCRBY`` of the customer's pending
  amount on its meter.
- A worker is a consumer of the group ``workers``. It first takes over entries other
  consumers have held longer than a lease (``XAUTOCLAIM``: a worker that died, or a
  back-off that ended), then reads new ones (``XREADGROUP ... >``). An entry is in one
  consumer's pending list at a time, so no two workers send it at once.
- Delivered entries are acknowledged and deleted, and the pending amounts lowered, by one
  Lua script; dead letters move to a stream of their own by another. Each lowers the
  amounts only for entries it actually deleted, so running it twice (a retry after a
  dropped connection, two workers racing after a lease) changes nothing.
- A back-off parks the entries with a consumer named ``parked``, their idle time set so
  that ``XAUTOCLAIM`` finds them when the back-off ends.

Redis must persist what it acknowledges: run it with ``appendonly yes`` (``appendfsync
everysec`` survives a crash of Redis; ``always`` a power cut too). Every key of one outbox
shares a hash tag, so the scripts run on Redis Cluster too.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ..errors import UsageNotRecorded, UsageOutboxUnavailable
from .outbox import Claim, Refusal
from .record import DeadLetter, PendingUsage, UsageStatus

__all__ = ["RedisOutbox"]

GROUP = "workers"
#: The consumer that holds entries during their back-off.
PARKED = "parked"
#: Width of a "sent" counter's window, and how many make the last minute.
SENT_BUCKET_SECONDS = 5
SENT_BUCKETS = 60 // SENT_BUCKET_SECONDS
#: Consumers gone this long with nothing pending are removed from the group.
IDLE_CONSUMER_MS = 3_600_000

_ADD = """
local stream, held = KEYS[1], KEYS[2]
local stored = 0
for i = 0, tonumber(ARGV[1]) - 1 do
  local base = 2 + i * 4
  if redis.call('HSETNX', held, ARGV[base], '1') == 1 then
    redis.call('XADD', stream, '*', 'e', ARGV[base + 1])
    redis.call('HINCRBY', KEYS[3 + i], ARGV[base + 2], tonumber(ARGV[base + 3]))
    stored = stored + 1
  end
end
return stored
"""

_COMPLETE = """
local stream, group, sent_key = KEYS[1], ARGV[1], KEYS[2]
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local id, pending, field, amount = ARGV[3 + i * 4], KEYS[4 + i], ARGV[4 + i * 4], ARGV[5 + i * 4]
  redis.call('XACK', stream, group, id)
  if redis.call('XDEL', stream, id) == 1 then
    if redis.call('HINCRBY', pending, field, -tonumber(amount)) <= 0 then
      redis.call('HDEL', pending, field)
    end
    redis.call('HDEL', KEYS[3], ARGV[6 + i * 4])
  end
end
redis.call('INCRBY', sent_key, n)
redis.call('EXPIRE', sent_key, 120)
return n
"""

_DEAD_LETTER = """
local stream, group, dead = KEYS[1], ARGV[1], KEYS[2]
local n = tonumber(ARGV[2])
local moved = 0
for i = 0, n - 1 do
  local base = 3 + i * 7
  local id, pending = ARGV[base], KEYS[4 + i]
  redis.call('XACK', stream, group, id)
  if redis.call('XDEL', stream, id) == 1 then
    redis.call('XADD', dead, '*', 'e', ARGV[base + 1], 'reason', ARGV[base + 2],
      'status', ARGV[base + 3], 'failed_at', ARGV[base + 4])
    local amount = tonumber(cjson.decode(ARGV[base + 1]).amount)
    if redis.call('HINCRBY', pending, ARGV[base + 5], -amount) <= 0 then
      redis.call('HDEL', pending, ARGV[base + 5])
    end
    redis.call('HDEL', KEYS[3], ARGV[base + 6])
    moved = moved + 1
  end
end
return moved
"""

_REQUEUE = """
local dead, stream = KEYS[1], KEYS[2]
local moved = 0
for i = 1, #ARGV do
  local entry = redis.call('XRANGE', dead, ARGV[i], ARGV[i])
  if #entry == 1 and redis.call('XDEL', dead, ARGV[i]) == 1 then
    local fields = entry[1][2]
    for j = 1, #fields, 2 do
      if fields[j] == 'e' then
        local event = cjson.decode(fields[j + 1])
        if redis.call('HSETNX', KEYS[4], event.held_key, '1') == 1 then
          redis.call('XADD', stream, '*', 'e', fields[j + 1])
          local field = 'price:' .. tostring(event.price_slug)
          if type(event.usage_meter_slug) == 'string' then
            field = 'meter:' .. event.usage_meter_slug
          end
          redis.call('HINCRBY', KEYS[3] .. event.customer_key, field, event.amount)
        end
      end
    end
    moved = moved + 1
  end
end
return moved
"""


class RedisOutbox:
    """The outbox in one Redis (see the module's docstring).

    :param url: a ``redis://``, ``rediss://`` or ``unix://`` URL.
    :param namespace: keeps apps, modes and Flowglad accounts sharing one Redis apart.
    :param timeout: seconds each call may take; a dropped connection is tried again three
        times within half a second (a Redis restarting), which can only store an event
        twice, never lose it: Flowglad records each transaction id once.
    """

    def __init__(self, url: str, *, namespace: str = "default", timeout: float = 5.0) -> None:
        try:
            import redis
            from redis.backoff import ExponentialBackoff
            from redis.retry import Retry
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "A redis:// usage outbox needs redis-py: pip install 'flask-flowglad[cache]'"
            ) from None
        # redis-py's stubs type stream answers loosely: read as Any, checked where used.
        self.client: Any = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=min(timeout, 2.0),
            retry=Retry(ExponentialBackoff(cap=0.25, base=0.02), 3),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        prefix = f"flowglad:usage:{{{namespace}}}"
        self.stream = f"{prefix}:events"
        self.dead = f"{prefix}:dead"
        #: The events the stream holds, by transaction id and meter: each is stored once.
        self.held = f"{prefix}:held"
        self._pending_prefix = f"{prefix}:pending:"
        self._sent_prefix = f"{prefix}:sent:"
        self._add = self.client.register_script(_ADD)
        self._complete = self.client.register_script(_COMPLETE)
        self._dead_letter = self.client.register_script(_DEAD_LETTER)
        self._requeue = self.client.register_script(_REQUEUE)
        self._group_ready = False
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def __repr__(self) -> str:
        kwargs = self.client.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"<RedisOutbox {where} {self.stream}>"

    def _pending_key(self, customer_external_id: str) -> str:
        return self._pending_prefix + _customer_key(customer_external_id)

    # -- recording -------------------------------------------------------------------

    def add(self, events: Sequence[PendingUsage], *, own_transaction: bool = False) -> int:
        keys = [self.stream, self.held]
        args: list[Any] = [len(events)]
        for event in events:
            keys.append(self._pending_key(event.customer_external_id))
            args += [_held_key(event), _encode(event), event.meter_key, event.amount]
        try:
            return int(self._add(keys=keys, args=args))
        except self._errors as exc:
            raise UsageNotRecorded(f"The usage outbox could not store the event: {exc}") from exc

    # -- delivery --------------------------------------------------------------------

    def claim(self, limit: int, lease: float) -> Claim:
        self._ensure_group()
        try:
            taken = self._take(limit, max(1, round(lease * 1000)))
        except self._errors as exc:
            if "NOGROUP" in str(exc):
                # Redis lost its data (no append-only file?): the group is made again.
                self._group_ready = False
            raise
        attempts = self._attempts(taken)
        events = []
        for entry_id, fields in taken:
            key = _text(entry_id)
            if fields and b"e" in fields:
                events.append(
                    PendingUsage.decode(fields[b"e"], id=key, attempts=attempts.get(key, 1))
                )
        return Claim(self.consumer, tuple(events), lease)

    def _take(self, limit: int, lease_ms: int) -> list[Any]:
        """Entries held past their lease first, then new ones."""
        taken = self._autoclaim(limit, lease_ms)
        if len(taken) < limit:
            answer = self.client.xreadgroup(
                GROUP, self.consumer, {self.stream: ">"}, count=limit - len(taken)
            )
            for _stream, entries in answer or ():
                taken.extend(entries)
        return taken

    def _autoclaim(self, limit: int, lease_ms: int) -> list[Any]:
        answer = self.client.xautoclaim(
            self.stream, GROUP, self.consumer, lease_ms, start_id="0-0", count=limit
        )
        # [next cursor, entries, deleted ids]: an entry deleted meanwhile comes as None.
        return [entry for entry in answer[1] if entry and entry[1]]

    def _attempts(self, taken: list[Any]) -> dict[str, int]:
        if not taken:
            return {}
        rows = self.client.xpending_range(
            self.stream,
            GROUP,
            min="-",
            max="+",
            count=len(taken) + 100,
            consumername=self.consumer,
        )
        return {_text(row["message_id"]): int(row["times_delivered"]) for row in rows}

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except self._errors as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._forget_idle_consumers()
        self._group_ready = True

    def _forget_idle_consumers(self) -> None:
        """Consumers of workers long gone, with nothing pending, leave the group."""
        for consumer in self.client.xinfo_consumers(self.stream, GROUP):
            name = _text(consumer["name"])
            if name != PARKED and consumer["pending"] == 0 and consumer["idle"] > IDLE_CONSUMER_MS:
                self.client.xgroup_delconsumer(self.stream, GROUP, name)

    def complete(self, claim: Claim, events: Sequence[PendingUsage]) -> None:
        if not events:
            return
        bucket = self._sent_prefix + str(int(time.time()) // SENT_BUCKET_SECONDS)
        keys = [self.stream, bucket, self.held]
        args: list[Any] = [GROUP, len(events)]
        for event in events:
            keys.append(self._pending_key(event.customer_external_id))
            args += [event.id, event.meter_key, event.amount, _held_key(event)]
        self._complete(keys=keys, args=args)

    def retry(self, claim: Claim, events: Sequence[PendingUsage], delay: float) -> None:
        if not events:
            return
        # Idle so long that XAUTOCLAIM takes them once the delay has passed.
        idle = max(0, round((claim.lease - delay) * 1000))
        self.client.xclaim(
            self.stream, GROUP, PARKED, 0, [event.id for event in events], idle=idle, justid=True
        )

    def dead_letter(self, claim: Claim, refusals: Sequence[Refusal]) -> None:
        if not refusals:
            return
        keys = [self.stream, self.dead, self.held]
        args: list[Any] = [GROUP, len(refusals)]
        now = str(time.time())
        for refusal in refusals:
            event = refusal.event
            keys.append(self._pending_key(event.customer_external_id))
            status = "" if refusal.status is None else str(refusal.status)
            args += [event.id, _encode(event), refusal.reason[:2000], status, now, event.meter_key]
            args.append(_held_key(event))
        self._dead_letter(keys=keys, args=args)

    # -- reading ---------------------------------------------------------------------

    def pending_amounts(self, customer_external_id: str) -> dict[str, int]:
        try:
            values = self.client.hgetall(self._pending_key(customer_external_id))
        except self._errors as exc:
            raise UsageOutboxUnavailable(f"The usage outbox cannot be read: {exc}") from exc
        return {_text(k): int(v) for k, v in values.items() if int(v) > 0}

    def status(self) -> UsageStatus:
        bucket = int(time.time()) // SENT_BUCKET_SECONDS
        sent_keys = [self._sent_prefix + str(bucket - i) for i in range(SENT_BUCKETS)]
        pipe = self.client.pipeline(transaction=False)
        pipe.xlen(self.stream)
        pipe.xrange(self.stream, "-", "+", count=1)
        pipe.mget(sent_keys)
        pipe.xlen(self.dead)
        pending, first, sent, dead = pipe.execute()
        oldest = None
        if first:
            recorded_at = PendingUsage.decode(first[0][1][b"e"]).recorded_at
            oldest = max(0.0, time.time() - recorded_at)
        return UsageStatus(
            pending=int(pending),
            oldest_age_seconds=oldest,
            sent_last_minute=sum(int(value) for value in sent if value is not None),
            dead_letters=int(dead),
        )

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        letters = []
        for entry_id, fields in self.client.xrange(self.dead, "-", "+", count=limit):
            status = fields.get(b"status") or b""
            letters.append(
                DeadLetter(
                    id=_text(entry_id),
                    event=PendingUsage.decode(fields[b"e"]),
                    reason=_text(fields.get(b"reason", b"")),
                    status=int(status) if status.isdigit() else None,
                    failed_at=float(fields.get(b"failed_at", b"0")),
                )
            )
        return letters

    def requeue(self, ids: Sequence[str] | None = None) -> int:
        if ids is None:
            moved = 0
            while letters := self.dead_letters(500):
                moved += self.requeue([letter.id for letter in letters])
            return moved
        keys = [self.dead, self.stream, self._pending_prefix, self.held]
        return int(self._requeue(keys=keys, args=list(ids)) or 0)

    def discard(self, ids: Sequence[str]) -> int:
        return int(self.client.xdel(self.dead, *ids)) if ids else 0


def _customer_key(customer_external_id: str) -> str:
    """Any external id as a short key."""
    return hashlib.sha256(customer_external_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _held_key(event: PendingUsage) -> str:
    return f"{event.transaction_id}\0{event.meter_key}"


def _encode(event: PendingUsage) -> bytes:
    """The entry: the event, with the keys the requeue script needs."""
    return event.encode(
        customer_key=_customer_key(event.customer_external_id), held_key=_held_key(event)
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
