"""The ledger of handled webhook ids, on the SQLite file store, across processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
import warnings
from contextlib import closing
from pathlib import Path

import pytest

from flask_flowglad.storage import SQLiteStore
from flask_flowglad.webhooks import ClaimState, DeliveryLedger

IDS = [f"msg_{n}" for n in range(40)]


def _claim_all(path: str, barrier: multiprocessing.synchronize.Barrier, out: object) -> None:
    ledger = DeliveryLedger(SQLiteStore(path))
    barrier.wait(10)
    won = [
        message_id for message_id in IDS if ledger.claim(message_id).state is ClaimState.CLAIMED
    ]
    out.put(won)  # type: ignore[attr-defined]


def test_each_id_is_claimed_by_exactly_one_of_several_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.sqlite3")
    context = multiprocessing.get_context("spawn")
    workers = 4
    barrier = context.Barrier(workers)
    out = context.Queue()
    processes = [
        context.Process(target=_claim_all, args=(path, barrier, out)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    won = [out.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(10)
    claimed = sorted(message_id for ids in won for message_id in ids)
    assert claimed == sorted(IDS)


def test_claim_complete_release(tmp_path: Path) -> None:
    ledger = DeliveryLedger(SQLiteStore(tmp_path / "ledger.sqlite3"))
    first = ledger.claim("msg_1")
    assert first.state is ClaimState.CLAIMED
    assert ledger.claim("msg_1").state is ClaimState.IN_PROGRESS
    ledger.release("msg_1", first.token)
    again = ledger.claim("msg_1")
    assert again.state is ClaimState.CLAIMED
    ledger.complete("msg_1")
    assert ledger.claim("msg_1").state is ClaimState.HANDLED


def test_release_with_a_stale_token_keeps_the_new_claim(tmp_path: Path) -> None:
    ledger = DeliveryLedger(SQLiteStore(tmp_path / "ledger.sqlite3"))
    old = ledger.claim("msg_1")
    ledger.release("msg_1", old.token)
    ledger.claim("msg_1")
    ledger.release("msg_1", old.token)
    assert ledger.claim("msg_1").state is ClaimState.IN_PROGRESS


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """``clock[0]`` is what ``time.time()`` answers."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def test_claim_of_a_dead_worker_expires(tmp_path: Path, clock: list[float]) -> None:
    ledger = DeliveryLedger(SQLiteStore(tmp_path / "ledger.sqlite3"), claim_timeout=60)
    assert ledger.claim("msg_1").state is ClaimState.CLAIMED
    clock[0] += 59
    assert ledger.claim("msg_1").state is ClaimState.IN_PROGRESS
    clock[0] += 2
    assert ledger.claim("msg_1").state is ClaimState.CLAIMED


def test_handled_ids_expire_and_are_purged(tmp_path: Path, clock: list[float]) -> None:
    store = SQLiteStore(tmp_path / "ledger.sqlite3")
    store.set("old", b"handled", 1)
    clock[0] += 1.5
    assert store.get("old") is None
    store.set("new", b"handled", 60)
    # A connection's own ``with`` only ends the transaction: closing() closes it.
    with closing(sqlite3.connect(store.path)) as db:
        keys = [row[0] for row in db.execute("SELECT key FROM entries")]
    assert keys == ["new"]


def test_add_leaves_a_live_key_alone_and_takes_a_deleted_one(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ledger.sqlite3")
    store.set("k", b"v", 60)
    assert store.add("k", b"w", 10) is False
    assert store.get("k") == b"v"
    store.delete("k")
    assert store.add("k", b"w", 10) is True
    assert store.get("k") == b"w"


class NoExpiryStore:
    """A store that keeps keys whatever the timeout: a claim's own deadline must free it."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def get(self, key: str) -> bytes | None:
        value = self.data.get(key)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, timeout: float) -> None:
        self.data[key] = value

    def add(self, key: str, value: bytes, timeout: float) -> bool:
        return self.data.setdefault(key, value) is value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def test_a_dead_workers_claim_is_freed_by_its_deadline_even_if_the_key_stays(
    clock: list[float],
) -> None:
    ledger = DeliveryLedger(NoExpiryStore(), claim_timeout=60)
    assert ledger.claim("msg_1").state is ClaimState.CLAIMED
    clock[0] += 30
    assert ledger.claim("msg_1").state is ClaimState.IN_PROGRESS
    clock[0] += 31
    retaken = ledger.claim("msg_1")
    assert retaken.state is ClaimState.CLAIMED
    ledger.complete("msg_1")
    clock[0] += 10_000
    assert ledger.claim("msg_1").state is ClaimState.HANDLED


def _add_in_child(store: SQLiteStore, out: object) -> None:
    out.put((store.add("child", b"v", 60), store.get("parent")))  # type: ignore[attr-defined]


def test_a_forked_worker_uses_the_store_its_parent_opened(tmp_path: Path) -> None:
    # gunicorn --preload: the app (and its store) exist before the workers are forked.
    store = SQLiteStore(tmp_path / "ledger.sqlite3")
    assert store.add("parent", b"v", 60)
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_add_in_child, args=(store, out))
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process that has threads; gunicorn forks anyway.
        warnings.simplefilter("ignore", DeprecationWarning)
        child.start()
    assert out.get(timeout=30) == (True, b"v")
    child.join(10)
    assert child.exitcode == 0
    assert store.get("child") == b"v"
    assert store.add("after", b"v", 60)
