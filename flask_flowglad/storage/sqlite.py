"""A :class:`~flask_flowglad.storage.base.Store` in one SQLite file."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref

__all__ = ["SQLiteStore"]


class SQLiteStore:
    """Keys in one SQLite file, shared by every process of one machine that opens it.

    Each call opens its own connection, so the store is safe across threads and forks.
    Writes run in immediate transactions: of two processes adding one key, one wins. The
    file uses SQLite's write-ahead log, kept open by one idle connection per process, so a
    commit costs well under a millisecond instead of a wait for the disk; a power cut may
    forget the last writes (a webhook is then handled again: at least once).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._setup_lock = threading.Lock()
        #: The process whose idle connection keeps the log open (a fork opens its own).
        self._opened_in: int | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def get(self, key: str) -> bytes | None:
        with self._connection() as db:
            row = db.execute(
                "SELECT value FROM entries WHERE key = ? AND expires > ?", (key, time.time())
            ).fetchone()
        return None if row is None else _bytes(row[0])

    def set(self, key: str, value: bytes, timeout: float) -> None:
        now = time.time()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM entries WHERE expires <= ?", (now,))
            db.execute(
                "INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                (key, value, now + timeout),
            )
            db.execute("COMMIT")

    def add(self, key: str, value: bytes, timeout: float) -> bool:
        """Set ``key`` only if it is absent (or expired); whether it was set."""
        now = time.time()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM entries WHERE key = ? AND expires <= ?", (key, now))
            cursor = db.execute(
                "INSERT OR IGNORE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                (key, value, now + timeout),
            )
            db.execute("COMMIT")
        return cursor.rowcount == 1

    def delete(self, key: str) -> None:
        with self._connection() as db:
            db.execute("DELETE FROM entries WHERE key = ?", (key,))

    def get_many(self, *keys: str) -> list[bytes | None]:
        """The values of ``keys``, in one query."""
        marks = ", ".join("?" * len(keys))
        with self._connection() as db:
            rows = db.execute(
                f"SELECT key, value FROM entries WHERE key IN ({marks}) AND expires > ?",  # noqa: S608
                (*keys, time.time()),
            ).fetchall()
        found = {key: _bytes(value) for key, value in rows}
        return [found.get(key) for key in keys]

    def set_if_held(
        self, lock: str, token: bytes, key: str, value: bytes, timeout: float, *drop: str
    ) -> bool:
        """As :meth:`RedisStore.set_if_held <flask_flowglad.storage.redis.RedisStore.set_if_held>`,
        in one transaction."""
        now = time.time()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT value FROM entries WHERE key = ? AND expires > ?", (lock, now)
            ).fetchone()
            held = row is not None and _bytes(row[0]) == token
            if held:
                db.execute(
                    "INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                    (key, value, now + timeout),
                )
                for gone in (*drop, lock):
                    db.execute("DELETE FROM entries WHERE key = ?", (gone,))
            db.execute("COMMIT")
        return held

    def delete_unless_tagged(self, key: str, tag: bytes, *also: str) -> None:
        """As :meth:`RedisStore.delete_unless_tagged
        <flask_flowglad.storage.redis.RedisStore.delete_unless_tagged>`, in one transaction."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
            if row is not None and not _bytes(row[0]).startswith(tag):
                db.execute("DELETE FROM entries WHERE key = ?", (key,))
            for gone in also:
                db.execute("DELETE FROM entries WHERE key = ?", (gone,))
            db.execute("COMMIT")

    def set_and_delete(self, key: str, value: bytes, timeout: float, *drop: str) -> None:
        """Set ``key`` and delete ``drop``, in one transaction."""
        now = time.time()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                (key, value, now + timeout),
            )
            for gone in drop:
                db.execute("DELETE FROM entries WHERE key = ?", (gone,))
            db.execute("COMMIT")

    def _connection(self) -> _Connection:
        if self._opened_in != os.getpid():
            self._open()
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
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
                " (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL NOT NULL)"
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


def _bytes(value: object) -> bytes:
    """A stored value as bytes: a file written by an earlier version holds text."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)  # type: ignore[call-overload]


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
