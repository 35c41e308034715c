"""The billing cache every worker of an app shares: one upstream billing read per customer
per TTL, however many processes and machines serve the app.

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
* A miss takes a short lock, so of several workers missing at once one reads upstream and
  the others wait briefly for its answer (no stampede). Its answer is stored only if the
  lock is still its own: an invalidation in the meantime drops the lock, so a read that
  started before a change never stores the state from before it.
* A checkout pins the customer: until the pin expires, reads bypass the cache, so a
  customer back from a paid hosted checkout sees the new plan before any webhook arrives.
  Invalidations keep pins; only time ends them.
* The cache may fail. Any error is logged as a warning and the billing is read upstream;
  after an error, reads and stores skip the cache for a few seconds so a slow store does
  not add its timeout to every request. Invalidations are always attempted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from .storage import Store

logger = logging.getLogger("flask_flowglad")

#: Stored values start with one of these bytes: a billing payload, or a checkout pin.
BILLING_TAG = b"B"
PIN_TAG = b"P"
#: Bytes of the HMAC-SHA256 seal after :data:`BILLING_TAG`.
SEAL_BYTES = 16
#: The schema of stored values; a new format gets a new prefix instead of misreading.
KEY_PREFIX = "flowglad:v1"
#: How long a worker's miss lock lives if the worker dies holding it.
LOCK_SECONDS = 10.0
#: How long other workers wait for the lock holder's answer before reading themselves.
WAIT_FOR_READER_SECONDS = 1.0
#: After a cache error, how long reads and stores skip the cache.
BACKOFF_SECONDS = 5.0


def account_hash(secret_key: str, base_url: str, salt: str = "") -> str:
    """Who the entries belong to, without the key: a keyed hash of the account's host.

    Two apps with the same key and host share entries (they see the same Flowglad data);
    anything else does not. ``salt`` separates what must never share, such as the
    in-memory sandboxes of two processes.
    """
    message = f"flask-flowglad billing cache\0{base_url}\0{salt}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:20]


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
        per_process: bool = False,
        seal_key: bytes | None = None,
    ) -> None:
        self.store = store
        #: Signs every stored billing, so a hit whose seal holds was written by this app
        #: after Flowglad's answer was checked: it is served as bytes, never parsed again.
        self._seal_key = seal_key or os.urandom(32)
        self.ttl = ttl
        self.checkout_window = checkout_window
        self._prefix = f"{KEY_PREFIX}:{mode}:{account}"
        #: Entries of this process only (an in-memory sandbox, copied by each fork).
        self._per_process = per_process
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<SharedBillingCache {self.store!r} ttl={self.ttl:g}s>"

    def key(self, external_id: str) -> str:
        """The entry's key: mode, account, and a hash of the customer's external id."""
        digest = hashlib.sha256(external_id.encode("utf-8", "surrogatepass")).hexdigest()
        scope = f"{self._prefix}:pid{os.getpid()}" if self._per_process else self._prefix
        return f"{scope}:billing:{digest[:40]}"

    # -- reading ---------------------------------------------------------------------

    def read(self, external_id: str, load: Callable[[], bytes]) -> bytes:
        """The customer's billing JSON: from the cache, or from ``load`` (stored for the
        other workers unless the customer is pinned or the cache failed)."""
        if self._skipping():
            return load()
        key = self.key(external_id)
        value = self._call("read", self.store.get, key)
        payload = self._unsealed(value)
        if payload is not None:
            return payload
        if isinstance(value, bytes) and value[:1] == PIN_TAG:
            return load()
        if value is not None:
            logger.warning("Dropping an unusable entry of the shared billing cache.")
        return self._fill(key, load)

    def peek(self, external_id: str) -> bytes | None:
        """The customer's billing JSON if the cache holds it; never a read upstream."""
        if self._skipping():
            return None
        return self._unsealed(self._call("read", self.store.get, self.key(external_id)))

    def _seal(self, payload: bytes) -> bytes:
        tag = hmac.new(self._seal_key, payload, hashlib.sha256).digest()[:SEAL_BYTES]
        return BILLING_TAG + tag + payload

    def _unsealed(self, value: Any) -> bytes | None:
        """The payload of a billing entry this app wrote, or ``None`` (a miss, a pin, or
        an entry corrupted or written by another program: never trusted)."""
        if not isinstance(value, bytes) or value[:1] != BILLING_TAG:
            return None
        tag, payload = value[1 : 1 + SEAL_BYTES], value[1 + SEAL_BYTES :]
        expected = hmac.new(self._seal_key, payload, hashlib.sha256).digest()[:SEAL_BYTES]
        return payload if hmac.compare_digest(tag, expected) else None

    def _fill(self, key: str, load: Callable[[], bytes]) -> bytes:
        lock, token = key + ":lock", uuid.uuid4().hex
        add = self.store.add
        locked = self._call("lock", add, lock, token.encode(), LOCK_SECONDS)
        if locked is False:
            waited = self._wait_for_reader(key, lock)
            if waited is not None:
                return waited
        try:
            payload = load()
        except BaseException:
            if locked:  # let the waiting workers read for themselves at once
                self._call("unlock", self.store.delete, lock)
            raise
        if locked:
            self._call("store", self._store_if_locked, lock, token.encode(), key, payload)
        return payload

    def _wait_for_reader(self, key: str, lock: str) -> bytes | None:
        """The billing another worker is reading right now, if it arrives soon; ``None``
        when it does not (pinned, invalidated, failed, slow): then read it yourself."""
        deadline = time.monotonic() + WAIT_FOR_READER_SECONDS
        pause = 0.002
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, 0.025)
            value = self._call("read", self.store.get, key)
            payload = self._unsealed(value)
            if payload is not None:
                return payload
            if value is not None or self._call("read", self.store.get, lock) is None:
                return None
        return None

    def _store_if_locked(self, lock: str, token: bytes, key: str, payload: bytes) -> None:
        value = self._seal(payload)
        set_if_held = getattr(self.store, "set_if_held", None)
        if set_if_held is not None:
            set_if_held(lock, token, key, value, self.ttl)
            return
        # Two steps on another store: an invalidation between them is still possible,
        # in a window of one store call instead of a whole upstream read.
        if self.store.get(lock) == token:
            self.store.set(key, value, self.ttl)
            self.store.delete(lock)

    # -- changing --------------------------------------------------------------------

    def invalidate(self, external_id: str) -> None:
        """Drop the customer's entry for every worker (a pin stays), and any read in
        flight, whose answer may be from before the change."""
        key = self.key(external_id)
        delete = getattr(self.store, "delete_unless_tagged", None)
        if delete is not None:
            self._call("invalidate", delete, key, PIN_TAG, key + ":lock", always=True)
            return
        self._call("invalidate", self._delete_unless_pinned, key, always=True)

    def _delete_unless_pinned(self, key: str) -> None:
        value = self.store.get(key)
        if not (isinstance(value, bytes) and value[:1] == PIN_TAG):
            self.store.delete(key)
        self.store.delete(key + ":lock")

    def pin(self, external_id: str) -> None:
        """Bypass the cache for this customer for ``checkout_window`` seconds: a checkout
        was started, and its outcome must show the moment the customer is back."""
        key = self.key(external_id)
        self._call("pin", self.store.set, key, PIN_TAG, self.checkout_window, always=True)
        self._call("pin", self.store.delete, key + ":lock", always=True)

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
