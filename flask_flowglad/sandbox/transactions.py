"""The one way into a sandbox's records: a transaction.

``with transactions.open(write=True) as account:`` holds the process's lock (one rule runs
at a time in a process), begins a transaction in the store, catches up with what other
processes wrote, and carries out what fell due as time passed (renewals, trial ends...).
When the outermost transaction ends, the rows its rules changed are written, the lock is
released, and the events they announced are delivered, outside the lock, so a receiver
may call the sandbox.

A rule that raises keeps what it changed before raising, in memory and in the file alike,
and its events are delivered: a declined card announces ``payment.failed`` and answers 402.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .account import Account
from .records import Announcement, Record, Sub
from .rules import periods
from .store import Store

logger = logging.getLogger("flask_flowglad.sandbox")


class Transactions:
    """Re-entrant transactions on one account; see the module's documentation."""

    def __init__(
        self, account: Account, store: Store, deliver: Callable[[list[Announcement]], None]
    ) -> None:
        self.account = account
        self.store = store
        self._deliver = deliver
        self.lock = threading.RLock()
        #: How deep the holding thread is, and whether its transaction writes; only the
        #: thread that holds the lock reads or writes them.
        self._depth = 0
        self._write = False
        #: The earliest instant something falls due, when known.
        self._due: int | None = None
        self._due_known = False

    @contextmanager
    def open(self, write: bool = False) -> Iterator[Account]:
        """The account, inside a transaction (nested ones join the outermost)."""
        batch: list[Announcement] = []
        try:
            with self.lock:
                if self._depth == 0:
                    self._begin(write)
                elif write and not self._write:
                    raise RuntimeError("a sandbox change was made inside a read-only transaction")
                self._depth += 1
                try:
                    yield self.account
                finally:
                    self._depth -= 1
                    if self._depth == 0:
                        batch = self._end()
        finally:
            # Delivered even when the rule raised: what it announced did happen.
            if batch:
                self._deliver(batch)

    def forget_due(self) -> None:
        """The clock moved or every record changed: find what is due afresh."""
        self._due_known = False

    def _begin(self, write: bool) -> None:
        store, account = self.store, self.account
        store.begin(write)
        try:
            read = store.catch_up(account.records)
            if read is None:  # every record read again
                self._due_known = False
            elif self._due_known:
                for kind, row in read:
                    self._note_due(kind, row)
            if not self._due_known:
                self._due, self._due_known = periods.next_due(account), True
            if self._due is not None and self._due <= account.clock.now():
                if not write:  # what fell due is a change: start again as a write
                    store.commit(account.records)
                    store.begin(True)
                    store.catch_up(account.records)
                    write = True
                periods.run_until(account, account.clock.now())
                self._due_known = False
        except BaseException:
            store.rollback()
            raise
        self._write = write

    def _end(self) -> list[Announcement]:
        """Write what changed; the events to deliver (none if the write failed)."""
        account = self.account
        if self._due_known:
            for (kind, _), row in account.records.changes.items():
                self._note_due(kind, row)
        if not self._due_known:
            self._due, self._due_known = periods.next_due(account), True
        batch, account.outbox = account.outbox, []
        try:
            self.store.commit(account.records)
        except BaseException:
            logger.exception("The sandbox's changes could not be written; they are dropped")
            self.store.rollback()
            account.records.changes.clear()
            self._due_known = False
            raise
        return batch

    def _note_due(self, kind: str, row: Sub | Record | None) -> None:
        """A changed row may fall due sooner than anything known."""
        due = None
        if isinstance(row, Sub):
            due = periods.sub_due(row)
        elif kind == "checkout_session" and row is not None:
            due = periods.session_due(row)
        if due is not None and (self._due is None or due < self._due):
            self._due = due
