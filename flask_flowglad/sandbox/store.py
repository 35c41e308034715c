"""Where a sandbox keeps its records: in the process, or in a SQLite file shared by
every process that opens it (a development server's reloader, gunicorn's workers, a
``flask flowglad`` command).

Why SQLite, through the standard library's :mod:`sqlite3`: the state of a development
server belongs in a file beside the app (its ``instance/`` folder), not in a service to
install and start; SQLite's write lock serializes writers across processes
(``BEGIN IMMEDIATE``) while its write-ahead log lets readers go on; a transaction makes each
change whole or absent, so a process killed mid-request leaves no half a checkout; and the
file can be copied, inspected with ``sqlite3`` or deleted.

How: each process keeps every record in memory, as an in-memory sandbox does, and the file
keeps every record as JSON with the value of a change counter at its last write. Each
transaction first reads the counter; when another process wrote since this one last
looked, the rows written since are read back (one indexed query). Then the rule runs on
the records in memory, and its changed rows are written with the counter bumped, in the
same transaction. A read where nothing changed costs one small query; a write costs the
rows it changed. Two workers claiming the last seat both begin ``IMMEDIATE``: the second
waits, catches up with the first's claim and is refused.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any, Protocol

from .ids import new_id
from .records import Records

#: Seconds a process waits for another one's write before giving up.
BUSY_TIMEOUT = 30.0
_FORMAT = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS records_by_seq ON records (seq);
CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
"""
_UPSERT = (
    "INSERT INTO records (kind, id, seq, body) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq, body = excluded.body"
)


class StateFileError(RuntimeError):
    """The state file cannot be used (not a sandbox's, or from another version)."""


class Store(Protocol):
    """What the sandbox's transactions need from where the records live."""

    @property
    def path(self) -> str | None: ...

    def open(self, created_at: int) -> tuple[str, int]: ...

    def begin(self, write: bool) -> None: ...

    def catch_up(self, records: Records) -> list[tuple[str, Any]] | None: ...

    def commit(self, records: Records) -> None: ...

    def rollback(self) -> None: ...

    def reset(self, records: Records) -> None: ...

    def log_delivery(self, seq: int | None, data: dict[str, Any], keep: int) -> int | None: ...

    def deliveries(self, limit: int) -> list[tuple[int, dict[str, Any]]]: ...


class MemoryStore:
    """The records live in this process only, and go with it."""

    path: str | None = None

    def open(self, created_at: int) -> tuple[str, int]:
        return new_id("org"), created_at

    def begin(self, write: bool) -> None:
        pass

    def catch_up(self, records: Records) -> list[tuple[str, Any]] | None:
        return []

    def commit(self, records: Records) -> None:
        records.changes.clear()

    def rollback(self) -> None:
        pass

    def reset(self, records: Records) -> None:
        records.clear()

    def log_delivery(self, seq: int | None, data: dict[str, Any], keep: int) -> int | None:
        return None

    def deliveries(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        return []


class FileStore:
    """The records in a SQLite file; every process that opens it sees every change."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        #: Connections inherited through a fork: never used, never closed (closing one
        #: in a child could disturb the parent's locks).
        self._inherited: list[sqlite3.Connection] = []
        #: The counter and reset epoch this process's records are up to date with.
        self._seen = -1
        self._epoch: str | None = None
        self._write = False

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    def _db(self) -> sqlite3.Connection:
        """This process's connection (one made before a fork is never used after it)."""
        if self._connection is None or self._pid != os.getpid():
            if self._connection is not None:
                self._inherited.append(self._connection)
            self._connection = self._connect()
            self._pid = os.getpid()
        return self._connection

    def open(self, created_at: int) -> tuple[str, int]:
        """Make the file a sandbox's if it is new; its organization id and creation time.

        The connection is closed again, so nothing open is inherited by a fork.
        """
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        connection = None
        try:
            connection = self._connect()
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(_SCHEMA)
            connection.execute("BEGIN IMMEDIATE")
            defaults = {
                "format": _FORMAT,
                "organization": new_id("org"),
                "created_at": str(created_at),
                "counter": "0",
                "epoch": new_id("epoch"),
            }
            connection.executemany(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", defaults.items()
            )
            meta = dict(connection.execute("SELECT key, value FROM meta"))
            connection.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StateFileError(f"{self.path} is not a sandbox state file: {exc}") from None
        finally:
            if connection is not None:
                connection.close()
        if meta.get("format") != _FORMAT:
            raise StateFileError(
                f"{self.path} was written by another version of the sandbox (format"
                f" {meta.get('format')!r}): reset it with `flask flowglad sandbox reset`."
            )
        return meta["organization"], int(meta["created_at"])

    def begin(self, write: bool) -> None:
        self._db().execute("BEGIN IMMEDIATE" if write else "BEGIN")
        self._write = write

    def catch_up(self, records: Records) -> list[tuple[str, Any]] | None:
        """Read what other processes wrote since this one last looked: the ``(kind, row)``
        pairs read (``[]`` for none), or ``None`` when every record was read again."""
        db = self._db()
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('counter', 'epoch')"))
        counter, epoch = int(meta["counter"]), meta["epoch"]
        if epoch != self._epoch:
            records.clear()
            rows = db.execute("SELECT kind, id, body FROM records ORDER BY rowid")
        elif counter != self._seen:
            rows = db.execute(
                "SELECT kind, id, body FROM records WHERE seq > ? ORDER BY rowid", (self._seen,)
            )
        else:
            return []
        loaded = [(kind, records.load(kind, row_id, body)) for kind, row_id, body in rows]
        everything = epoch != self._epoch
        self._seen, self._epoch = counter, epoch
        return None if everything else loaded

    def commit(self, records: Records) -> None:
        """Write the changed rows with the next counter value, and end the transaction."""
        db = self._db()
        changes = records.take_changes()
        if changes:
            if not self._write:
                db.execute("ROLLBACK")
                self._epoch = None  # reread everything: memory is ahead of the file
                raise RuntimeError("records changed in a read-only sandbox transaction")
            counter = self._seen + 1
            db.executemany(_UPSERT, [(kind, i, counter, body) for kind, i, body in changes])
            db.execute("UPDATE meta SET value = ? WHERE key = 'counter'", (str(counter),))
            self._seen = counter
        db.execute("COMMIT")

    def rollback(self) -> None:
        """Give up the transaction; memory may be ahead of the file, so reread it all."""
        db = self._db()
        if db.in_transaction:
            db.execute("ROLLBACK")
        self._epoch = None

    def reset(self, records: Records) -> None:
        """Forget every record and delivery, for every process (inside a write)."""
        db = self._db()
        epoch = new_id("epoch")
        db.execute("DELETE FROM records WHERE kind != 'meta'")
        db.execute("DELETE FROM deliveries")
        db.execute("UPDATE meta SET value = ? WHERE key = 'epoch'", (epoch,))
        records.clear()
        self._epoch = epoch

    def log_delivery(self, seq: int | None, data: dict[str, Any], keep: int) -> int | None:
        """Write a delivery (new, or its latest attempt); only the newest ``keep`` stay."""
        db = self._db()
        body = json.dumps(data, separators=(",", ":"))
        db.execute("BEGIN IMMEDIATE")
        try:
            if seq is None:
                seq = db.execute("INSERT INTO deliveries (body) VALUES (?)", (body,)).lastrowid
                assert seq is not None
                db.execute("DELETE FROM deliveries WHERE seq <= ?", (seq - keep,))
            else:
                db.execute("UPDATE deliveries SET body = ? WHERE seq = ?", (body, seq))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return seq

    def deliveries(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """The newest ``limit`` deliveries, oldest first (read on a connection of its own,
        closed again: the sandbox reads them when it is made, maybe before a fork)."""
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT seq, body FROM deliveries ORDER BY seq DESC LIMIT ?", (limit,)
            ).fetchall()
        finally:
            connection.close()
        return [(seq, json.loads(body)) for seq, body in reversed(rows)]
