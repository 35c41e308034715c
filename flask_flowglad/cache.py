"""The billing cache every worker of an app shares: one upstream billing read per customer
per TTL, however many processes and machines serve the app, and the last answer kept to
decide from while Flowglad fails.

It sits behind the per-request cache in ``flask.g`` and is off unless
``FLOWGLAD_BILLING_CACHE`` names a store (:mod:`flask_flowglad.storage`): a ``redis://`` URL,
a SQLite file, or a Flask-Caching ``Cache``.

What it stores is the billing payload as compact JSON bytes, so the React SDK's
``customers/billing`` is answered with those bytes, never encoded again. The service checks
an entry read back as it checks Flowglad's answer.

Correctness rules, each for a reason:

* Keys carry the secret key's mode (``test``/``live``) and a keyed hash of the account
  (secret key and Flowglad host), never the key itself, so apps, modes and Flowglad
  accounts sharing one Redis never see each other's entries; the customer's external id is
  hashed so any id makes a valid key for any store.
* Every entry is sealed (an HMAC of the app's key over the entry's key, the time it was
  read and the payload): a hit is this app's own checked answer for this very customer,
  served as bytes; an entry copied from another customer's key, or made to look younger,
  is not.
* A miss takes a short lock, so of several workers missing at once one reads upstream and
  the others wait briefly for its answer (no stampede). Its answer is stored only if the
  lock is still its own: an invalidation in the meantime drops the lock, so a read that
  started before a change never stores the state from before it.
* Two kinds of change. A usage event changes the usage balances and nothing else: it
  *marks* the entry (:meth:`SharedBillingCache.invalidate_balances`), and reads that need
  balances miss while the mark is there, while what only needs the plan (feature checks, a
  usage event's own checks of its subscription and meter) is still served from the entry.
  Any other change drops the entry (:meth:`SharedBillingCache.invalidate`).
* A checkout pins the customer: until the pin expires, reads bypass the cache, so a
  customer back from a paid hosted checkout sees the new plan before any webhook arrives.
  Invalidations keep pins; only time ends them.
* Stale if error (RFC 5861's idea): an entry lives ``stale_if_error`` seconds past its TTL.
  Only while Flowglad fails, times out or rate-limits, a read that allows it (never a
  write's) is served from it, each time logged; an entry a change dropped or marked is
  never served for what the change touched. While Flowglad keeps failing, one read per
  :data:`RETRY_SECONDS` in each process asks it again, and the others are served stale at
  once instead of each waiting for the failure.
* The cache may fail. Any error is logged as a warning and the billing is read upstream;
  after an error, reads and stores skip the cache for a few seconds so a slow store does
  not add its timeout to every request. Invalidations are always attempted.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import FlowgladError, is_outage
from .storage import Store
from .telemetry import billing_served_stale

logger = logging.getLogger("flask_flowglad")

#: Stored values start with one of these bytes: a billing payload, or a checkout pin.
BILLING_TAG = b"B"
PIN_TAG = b"P"
#: The value of a usage mark: the entry's balances are older than a usage event.
MARK = b"U"
#: Bytes of the HMAC-SHA256 seal after :data:`BILLING_TAG`.
SEAL_BYTES = 16
#: After the seal: when Flowglad's answer was read (Unix time, a big-endian double).
_READ_AT = struct.Struct(">d")
#: Bytes before the payload: the tag, the seal and the time it was read.
HEADER_BYTES = 1 + SEAL_BYTES + _READ_AT.size
#: The schema of stored values; a new format gets a new prefix instead of misreading.
KEY_PREFIX = "flowglad:v2"
#: How long a worker's miss lock lives if the worker dies holding it.
LOCK_SECONDS = 10.0
#: How long other workers wait for the lock holder's answer before reading themselves.
WAIT_FOR_READER_SECONDS = 1.0
#: After a cache error, how long reads and stores skip the cache.
BACKOFF_SECONDS = 5.0
#: While Flowglad fails, how often each process asks it again for a customer it has a
#: stale entry for (the others are served stale meanwhile).
RETRY_SECONDS = 5.0


def account_hash(secret_key: str, base_url: str, salt: str = "") -> str:
    """Who the entries belong to, without the key: a keyed hash of the account's host.

    Two apps with the same key and host share entries (they see the same Flowglad data);
    anything else does not. ``salt`` separates what must never share, such as the
    in-memory sandboxes of two processes.
    """
    message = f"flask-flowglad billing cache\0{base_url}\0{salt}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:20]


class Outcome(enum.Enum):
    """How a lookup was answered: the one decision the cache makes per read."""

    #: A sealed entry, fresh enough for what was asked.
    HIT = "hit"
    #: Read from Flowglad (and stored, when the lock was this read's).
    MISS = "miss"
    #: Flowglad failed; answered from an entry past its TTL, within ``stale_if_error``.
    STALE = "stale"
    #: The customer is pinned by a checkout: read from Flowglad, not stored.
    BYPASS = "bypass"
    #: The store failed recently: read from Flowglad, not stored.
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Lookup:
    """A billing payload, how it was found, and how old it is."""

    payload: bytes
    outcome: Outcome
    #: Seconds since Flowglad answered it (0 for a read just made).
    age: float = 0.0
    #: Whether its usage balances are current (``False`` only for a read that did not
    #: ask for them, answered from an entry a usage event marked).
    balances_current: bool = True
    #: The seal of the entry it came from: the same seal, the same payload.
    seal: bytes = b""


@dataclass(frozen=True)
class _Entry:
    payload: bytes
    read_at: float
    seal: bytes


class SharedBillingCache:
    """Customers' billing payloads in a store shared by every worker of the app."""

    def __init__(
        self,
        store: Store,
        *,
        mode: str,
        account: str,
        ttl: float,
        checkout_window: float,
        stale_if_error: float = 0.0,
        per_process: bool = False,
        seal_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        #: Signs every stored billing, so a hit whose seal holds was written by this app
        #: after Flowglad's answer was checked: it is served as bytes, never parsed again.
        self._seal_key = seal_key or os.urandom(32)
        self.ttl = ttl
        self.checkout_window = checkout_window
        #: Seconds past ``ttl`` an entry may still answer reads while Flowglad fails.
        self.stale_if_error = stale_if_error
        self._prefix = f"{KEY_PREFIX}:{mode}:{account}"
        #: Entries of this process only (an in-memory sandbox, copied by each fork).
        self._per_process = per_process
        self._clock = clock
        self._skip_until = 0.0
        self._lock = threading.Lock()
        #: When Flowglad started failing (monotonic), 0 while it answers.
        self._failing_since = 0.0
        #: While failing: when the next read asks Flowglad again.
        self._retry_at = 0.0
        self._served_stale = 0

    def __repr__(self) -> str:
        return (
            f"<SharedBillingCache {self.store!r} ttl={self.ttl:g}s"
            f" stale_if_error={self.stale_if_error:g}s>"
        )

    def key(self, external_id: str) -> str:
        """The entry's key: mode, account, and a hash of the customer's external id."""
        digest = hashlib.sha256(external_id.encode("utf-8", "surrogatepass")).hexdigest()
        scope = f"{self._prefix}:pid{os.getpid()}" if self._per_process else self._prefix
        return f"{scope}:billing:{digest[:40]}"

    @property
    def _lifetime(self) -> float:
        """How long the store keeps an entry: its TTL, then its time as a stale entry."""
        return self.ttl + self.stale_if_error

    # -- reading ---------------------------------------------------------------------

    def read(
        self,
        external_id: str,
        load: Callable[[bool], bytes],
        *,
        balances: bool = True,
        stale_ok: bool = False,
    ) -> Lookup:
        """The customer's billing JSON: from the cache, or from ``load`` (stored for the
        other workers unless the customer is pinned or the cache failed). ``load`` is
        told whether a stale entry would answer if it failed: it then need not retry.

        ``balances=False`` for a read that uses no usage balance (feature checks, a
        write's checks of its ids): an entry a usage event marked still answers it.
        ``stale_ok`` for a read (never a write's checks): when ``load`` fails with an
        outage, an entry within ``stale_if_error`` answers instead.
        """
        if self._skipping():
            return Lookup(load(False), Outcome.SKIPPED)
        key = self.key(external_id)
        value, mark = self._get_with_mark(key)
        if isinstance(value, bytes) and value[:1] == PIN_TAG:
            return Lookup(load(False), Outcome.BYPASS)
        entry = self._unsealed(key, value)
        if entry is None and value is not None:
            logger.warning("Dropping an unusable entry of the shared billing cache.")
        usable = entry is not None and (mark is None or not balances)
        if entry is not None and usable:
            age = max(0.0, self._clock() - entry.read_at)
            if age < self.ttl:
                return Lookup(entry.payload, Outcome.HIT, age, mark is None, entry.seal)
        stale = None
        if entry is not None and usable and stale_ok and self._within_stale(entry):
            stale = entry
        if stale is not None and self._flowglad_failing():
            return self._serve_stale(stale, mark is None, "Flowglad is failing")
        try:
            payload = self._fill(key, lambda: load(stale is not None), balances)
        except FlowgladError as exc:
            if stale is None or not is_outage(exc):
                raise
            self._failed()
            return self._serve_stale(stale, mark is None, type(exc).__name__)
        self._answered()
        return Lookup(payload, Outcome.MISS)

    def _get_with_mark(self, key: str) -> tuple[Any, Any]:
        """The entry and its usage mark, in one round trip where the store can."""
        found = self._call("read", self._get_many, (key, key + ":usage"))
        return (None, None) if found is None else (found[0], found[1])

    def peek(self, external_id: str) -> bytes | None:
        """The customer's billing JSON if the cache holds an entry this app sealed (past
        its TTL or marked by a usage event, too: its ids and prices are still right);
        never a read upstream."""
        if self._skipping():
            return None
        key = self.key(external_id)
        entry = self._unsealed(key, self._call("read", self.store.get, key))
        return None if entry is None else entry.payload

    def _within_stale(self, entry: _Entry) -> bool:
        return self.stale_if_error > 0 and self._clock() - entry.read_at < self._lifetime

    def _serve_stale(self, entry: _Entry, current: bool, why: str) -> Lookup:
        """Answer from an entry past its TTL: every such decision is logged."""
        age = max(0.0, self._clock() - entry.read_at)
        with self._lock:
            self._served_stale += 1
        # Logged by the read's telemetry, which names the customer by a keyed hash only.
        billing_served_stale(age, why)
        return Lookup(entry.payload, Outcome.STALE, age, current, entry.seal)

    def _seal(self, key: str, payload: bytes, read_at: float | None = None) -> bytes:
        stamp = _READ_AT.pack(self._clock() if read_at is None else read_at)
        return BILLING_TAG + self._tag(key, stamp + payload) + stamp + payload

    def _tag(self, key: str, signed: bytes) -> bytes:
        message = key.encode() + b"\0" + signed
        return hmac.digest(self._seal_key, message, "sha256")[:SEAL_BYTES]

    def _unsealed(self, key: str, value: Any) -> _Entry | None:
        """The payload of a billing entry this app wrote for this key, or ``None`` (a
        miss, a pin, or an entry corrupted, moved or written by another program: never
        trusted)."""
        if not isinstance(value, bytes) or value[:1] != BILLING_TAG:
            return None
        if len(value) < HEADER_BYTES:
            return None
        tag, signed = value[1 : 1 + SEAL_BYTES], value[1 + SEAL_BYTES :]
        if not hmac.compare_digest(tag, self._tag(key, signed)):
            return None
        (read_at,) = _READ_AT.unpack_from(value, 1 + SEAL_BYTES)
        return _Entry(value[HEADER_BYTES:], read_at, tag)

    def _fill(self, key: str, load: Callable[[], bytes], balances: bool) -> bytes:
        lock, token = key + ":lock", uuid.uuid4().hex
        add = self.store.add
        locked = self._call("lock", add, lock, token.encode(), LOCK_SECONDS)
        if locked is False:
            waited = self._wait_for_reader(key, balances)
            if waited is not None:
                return waited
        read_at = self._clock()
        try:
            payload = load()
        except BaseException:
            if locked:  # let the waiting workers read for themselves at once
                self._call("unlock", self.store.delete, lock)
            raise
        if locked:
            value = self._seal(key, payload, read_at)
            self._call("store", self._store_if_locked, lock, token.encode(), key, value)
        return payload

    def _wait_for_reader(self, key: str, balances: bool) -> bytes | None:
        """The billing another worker is reading right now, if it arrives soon; ``None``
        when it does not (pinned, invalidated, failed, slow): then read it yourself.

        Only the small lock is polled; the entry, which may be a megabyte, is read once,
        when the lock is gone."""
        deadline = time.monotonic() + WAIT_FOR_READER_SECONDS
        pause = 0.002
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, 0.025)
            if self._call("read", self.store.get, key + ":lock") is not None:
                continue
            value, mark = self._get_with_mark(key)
            entry = self._unsealed(key, value)
            fresh = entry is not None and self._clock() - entry.read_at < self.ttl
            if entry is not None and fresh and (mark is None or not balances):
                return entry.payload
            return None
        return None

    def _get_many(self, keys: tuple[str, ...]) -> list[Any]:
        get_many = getattr(self.store, "get_many", None)
        if get_many is not None:
            return list(get_many(*keys))
        return [self.store.get(key) for key in keys]

    def _store_if_locked(self, lock: str, token: bytes, key: str, value: bytes) -> None:
        """Store the entry and drop its usage mark (its balances are newer than the mark),
        only while the lock is this read's."""
        set_if_held = getattr(self.store, "set_if_held", None)
        if set_if_held is not None:
            set_if_held(lock, token, key, value, self._lifetime, key + ":usage")
            return
        # Steps on another store: an invalidation between them is still possible, in a
        # window of one store call instead of a whole upstream read.
        if self.store.get(lock) == token:
            self.store.set(key, value, self._lifetime)
            self.store.delete(key + ":usage")
            self.store.delete(lock)

    # -- changing --------------------------------------------------------------------

    def invalidate(self, external_id: str) -> None:
        """Drop the customer's entry for every worker (a pin stays), its stale copy with
        it, and any read in flight, whose answer may be from before the change."""
        key = self.key(external_id)
        delete = getattr(self.store, "delete_unless_tagged", None)
        if delete is not None:
            also = (key + ":lock", key + ":usage")
            self._call("invalidate", delete, key, PIN_TAG, *also, always=True)
            return
        self._call("invalidate", self._delete_unless_pinned, key, always=True)

    def invalidate_balances(self, external_id: str) -> None:
        """After a usage event: the entry's balances are out of date, nothing else is.
        Reads of balances miss until a read made after the event is stored; reads of the
        plan and features are still answered from the entry."""
        key = self.key(external_id)
        set_and_delete = getattr(self.store, "set_and_delete", None)
        if set_and_delete is not None:
            args = (key + ":usage", MARK, self._lifetime, key + ":lock")
            self._call("invalidate", set_and_delete, *args, always=True)
            return
        self._call("invalidate", self._mark, key, always=True)

    def _mark(self, key: str) -> None:
        self.store.set(key + ":usage", MARK, self._lifetime)
        self.store.delete(key + ":lock")

    def _delete_unless_pinned(self, key: str) -> None:
        value = self.store.get(key)
        if not (isinstance(value, bytes) and value[:1] == PIN_TAG):
            self.store.delete(key)
        self.store.delete(key + ":lock")
        self.store.delete(key + ":usage")

    def pin(self, external_id: str) -> None:
        """Bypass the cache for this customer for ``checkout_window`` seconds: a checkout
        was started, and its outcome must show the moment the customer is back."""
        key = self.key(external_id)
        self._call("pin", self.store.set, key, PIN_TAG, self.checkout_window, always=True)
        self._call("pin", self.store.delete, key + ":lock", always=True)

    # -- Flowglad failing --------------------------------------------------------------

    def _flowglad_failing(self) -> bool:
        """Whether this read should be served stale without asking Flowglad: it failed
        lately, and this read is not the one that asks again."""
        if not self._failing_since:
            return False
        with self._lock:
            now = time.monotonic()
            if not self._failing_since or now >= self._retry_at:
                self._retry_at = now + RETRY_SECONDS
                return False
            return True

    def _failed(self) -> None:
        with self._lock:
            first = not self._failing_since
            now = time.monotonic()
            if first:
                self._failing_since = now
                self._served_stale = 0
            self._retry_at = now + RETRY_SECONDS
        if first:
            logger.warning(
                "Flowglad is failing: billing of customers read in the last %g s is served"
                " from the shared cache, and Flowglad is asked again every %g s.",
                self._lifetime,
                RETRY_SECONDS,
            )

    def _answered(self) -> None:
        if not self._failing_since:
            return
        with self._lock:
            since, served = self._failing_since, self._served_stale
            self._failing_since = 0.0
        if since:
            logger.warning(
                "Flowglad answers again after %.0f s; %d reads were served stale meanwhile.",
                time.monotonic() - since,
                served,
            )

    # -- failures --------------------------------------------------------------------

    def _skipping(self) -> bool:
        return time.monotonic() < self._skip_until

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, always: bool = False) -> Any:
        """``fn(*args)``, or ``None`` when it fails or the cache is being skipped."""
        if not always and self._skipping():
            return None
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - any store failure degrades the same way
            with self._lock:
                first = not self._skipping()
                self._skip_until = time.monotonic() + BACKOFF_SECONDS
            if first:
                logger.warning(
                    "The shared billing cache failed (%s: %s: %s); reading billing from"
                    " Flowglad, and skipping the cache for %g s.",
                    what,
                    type(exc).__name__,
                    exc,
                    BACKOFF_SECONDS,
                )
            return None
