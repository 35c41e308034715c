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

The ledger writes through any store with ``get(key)``, ``set(key, value, timeout)`` and
``delete(key)``: the shape of a cache backend (cachelib, Flask-Caching's ``cache.cache``,
the extension's shared billing cache). A store that also has ``add(key, value, timeout)``
(set only if absent, returning whether it did) makes the claim atomic across machines;
without it the claim is a read then a write. :class:`SQLiteStore`, the default, keeps a
file in the app's instance folder: atomic across the worker processes of one machine.
"""

from __future__ import annotations

import enum
import os
import secrets
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

#: Seconds a claimed id stays claimed if its worker never finishes (it died).
CLAIM_TIMEOUT = 60
#: Seconds a handled id is remembered.
HANDLED_TIMEOUT = 7 * 24 * 3600
#: The default store's file name, in the app's instance folder.
DEFAULT_STORE_FILE = "flowglad-webhooks.sqlite3"

_HANDLED = "handled"
_CLAIMED = "claimed:"


@runtime_checkable
class WebhookStore(Protocol):
    """A key-value store with expiry: the shape of a cache backend."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...

    def delete(self, key: str) -> Any: ...


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
    """Claim, complete or release webhook ids in a :class:`WebhookStore`."""

    def __init__(
        self,
        store: WebhookStore,
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
            if self._add(key, value):
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

    def _add(self, key: str, value: str) -> bool:
        add = getattr(self.store, "add", None)
        if callable(add):
            return bool(add(key, value, self.claim_timeout))
        if self.store.get(key) is not None:
            return False
        self.store.set(key, value, self.claim_timeout)
        return True

    def complete(self, message_id: str) -> None:
        """The receivers ran: a redelivery of the id is acknowledged without running."""
        self.store.set(self.prefix + message_id, _HANDLED, self.handled_timeout)

    def release(self, message_id: str, token: str) -> None:
        """The receivers failed: forget this worker's claim so the redelivery runs."""
        key = self.prefix + message_id
        if _text(self.store.get(key)) == token:
            self.store.delete(key)


def _text(value: Any) -> Any:
    """A stored value as written: a raw Redis client answers bytes for the str it was given."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _stale(value: Any) -> bool:
    """Whether a stored claim is past the deadline written into it."""
    if not isinstance(value, str) or not value.startswith(_CLAIMED):
        return False
    deadline = value.rpartition(":")[2]
    return deadline.isdigit() and int(deadline) < time.time()


class SQLiteStore:
    """A :class:`WebhookStore` in one SQLite file, shared by every process that opens it.

    Each call opens its own connection, so the store is safe across threads and forks.
    ``add`` runs in an immediate transaction: of two processes adding one key, one wins.
    The file uses SQLite's write-ahead log, kept open by one idle connection per process,
    so a commit costs well under a millisecond instead of a wait for the disk.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._setup_lock = threading.Lock()
        #: The process whose idle connection keeps the log open (a fork opens its own).
        self._opened_in: int | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def get(self, key: str) -> Any:
        with self._connection() as db:
            row = db.execute(
                "SELECT value FROM entries WHERE key = ? AND expires > ?", (key, time.time())
            ).fetchone()
        return None if row is None else row[0]

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        now = time.time()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM entries WHERE expires <= ?", (now,))
            db.execute(
                "INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                (key, value, _expires(now, timeout)),
            )
            db.execute("COMMIT")
        return True

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        """Set ``key`` only if it is absent (or expired); whether it was set."""
        now = time.time()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM entries WHERE key = ? AND expires <= ?", (key, now))
            cursor = db.execute(
                "INSERT OR IGNORE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                (key, value, _expires(now, timeout)),
            )
            db.execute("COMMIT")
        return cursor.rowcount == 1

    def delete(self, key: str) -> bool:
        with self._connection() as db:
            cursor = db.execute("DELETE FROM entries WHERE key = ?", (key,))
        return cursor.rowcount == 1

    def _connection(self) -> _Connection:
        if self._opened_in != os.getpid():
            self._open()
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        # With the write-ahead log, a commit need not wait for the disk: a power cut may
        # forget the last ids handled, and their redelivery runs again (at least once).
        db.execute("PRAGMA synchronous = NORMAL")
        return _Connection(db)

    def _open(self) -> None:
        """Create the file and its table, switch it to the write-ahead log, and keep one
        connection open in this process (closing the last one would end the log, and
        make every commit wait for the disk again)."""
        with self._setup_lock:
            pid = os.getpid()
            if self._opened_in == pid:
                return
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            keeper = _setup(self.path)
            weakref.finalize(self, _close_in, pid, keeper)
            self._opened_in = pid


def _setup(path: str) -> sqlite3.Connection:
    deadline = time.monotonic() + 10
    while True:
        db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries"
                " (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS entries_expires ON entries (expires)")
        except sqlite3.OperationalError:
            db.close()
            # Switching to the log does not wait for another process's lock: try again.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
            continue
        return db


def _close_in(pid: int, db: sqlite3.Connection) -> None:
    # A forked child leaves its parent's connection alone.
    if os.getpid() == pid:
        db.close()


class _Connection:
    """A connection closed on exit, its transaction rolled back if one is left open."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        if self.db.in_transaction:
            self.db.rollback()
        self.db.close()


def _expires(now: float, timeout: int | None) -> float:
    # A cache backend's timeout of 0 or None means "never expires".
    return now + timeout if timeout else float("inf")
