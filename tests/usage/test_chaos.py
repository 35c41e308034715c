"""The chaos test, on each store: 2 app processes x 8 threads record 100,000 usage events
(with the app's own database: inside transactions, one in ten rolled back) while Flowglad
answers 500 and 429, resets connections and goes down for a stretch, while 2 workers are
each killed in the middle of a batch at least twice and started again, and (Redis) while
Redis is killed and started again on its append-only file.

At the end Flowglad (the sandbox) holds exactly the committed events by transaction id:
none lost, none twice, no rolled-back one, and the poison events (sent against a
subscription that does not exist) are in the dead letters. The figures are printed
(``-s``); ``CHAOS_EVENTS`` sets the number of events.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.usage import UsageOutbox
from flask_flowglad.usage.redis import RedisOutbox
from flask_flowglad.usage.sql import SQLOutbox

from .chaos import Front, WorkerProcess, recorder
from .services import DurableRedis, PostgresServer

EVENTS = int(os.environ.get("CHAOS_EVENTS", "100000"))
PROCESSES, THREADS, CUSTOMERS, WORKERS = 2, 8, 20, 2
KILLS_PER_WORKER = 2
LEASE = 4.0
SECRET_KEY = "sk_test_sandbox"
CONTROLS = "/_sandbox/v1"


def store_settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """The chaos app's environment for one store."""
    if kind == "sql-sqlite":
        return {"CHAOS_OUTBOX": "db", "CHAOS_DATABASE": f"sqlite:///{tmp_path / 'app.sqlite3'}"}
    if kind == "sql-postgresql":
        postgres: PostgresServer = request.getfixturevalue("postgres")
        return {"CHAOS_OUTBOX": "db", "CHAOS_DATABASE": postgres.new_database()}
    if kind == "redis":
        redis: DurableRedis = request.getfixturevalue("chaos_redis")
        return {"CHAOS_OUTBOX": redis.url}
    return {"CHAOS_OUTBOX": f"sqlite:///{tmp_path / 'outbox.sqlite3'}"}


def outbox_of(settings: dict[str, str], front: Front) -> UsageOutbox:
    """The outbox the workers drain, opened by the test to watch it."""
    url = settings.get("CHAOS_DATABASE") or settings["CHAOS_OUTBOX"]
    if url.startswith("redis"):
        from flask_flowglad.cache import account_hash

        return RedisOutbox(url, namespace=f"test:{account_hash(SECRET_KEY, front.url)}")
    return SQLOutbox.from_url(url)


@pytest.fixture
def chaos_redis(tmp_path: Path) -> Any:
    server = DurableRedis(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def control(front: Front, path: str, body: dict[str, Any]) -> Any:
    response = requests.post(
        front.upstream_url + CONTROLS + path,
        json=body,
        headers={"Authorization": SECRET_KEY},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def available(front: Front, customer: str) -> int:
    response = requests.get(
        f"{front.upstream_url}/api/v1/customers/{customer}/usage-balances",
        headers={"Authorization": SECRET_KEY},
        timeout=10,
    )
    balances = response.json()["usageMeterBalances"]
    return sum(int(b["availableBalance"]) for b in balances if b["slug"] == "api_calls")


class Schedule:
    """Faults on cue, from a thread of their own, and the worker kills."""

    def __init__(
        self, front: Front, workers: list[WorkerProcess], redis: DurableRedis | None
    ) -> None:
        self.front, self.workers, self.redis = front, workers, redis
        self.errors: list[BaseException] = []
        self.redis_restarts = 0
        self.down_seconds = 0.0
        self._threads = [
            threading.Thread(target=self._guard, args=(self._faults,)),
            threading.Thread(target=self._guard, args=(self._kills,)),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(120)
        if self.errors:
            raise self.errors[0]

    def _guard(self, step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.errors.append(exc)

    def _window(self, mode: str, hits: int) -> None:
        """Fail the way ``mode`` says until ``hits`` batches met it (and at least 1 s)."""
        front = self.front
        first = front.outcomes[mode]
        front.mode = mode
        started = time.monotonic()
        while time.monotonic() - started < 30:
            if front.outcomes[mode] - first >= hits and time.monotonic() - started >= 1.0:
                break
            time.sleep(0.02)
        front.mode = "ok"

    def _faults(self) -> None:
        front = self.front
        while front.statuses[200] < 5:
            time.sleep(0.05)
        self._window("500", 3)
        # The sandbox's own fault control fails the next bulk requests too.
        control(front, "/faults", {"status": 500, "times": 3, "path": "/usage-events/bulk"})
        self._window("429", 3)
        if self.redis is not None:
            self.redis.kill()
            time.sleep(1.0)
            self.redis.start()
            self.redis_restarts += 1
        self._window("reset", 6)
        started = time.monotonic()
        front.down()
        time.sleep(3.0)
        front.up()
        self.down_seconds = time.monotonic() - started

    def _kills(self) -> None:
        """Each worker killed in the middle of a batch, twice, in turns; a kill that
        missed the middle (no batch came in time) is made again, at most twice over."""
        for _ in range(KILLS_PER_WORKER * 3):
            for worker in self.workers:
                if worker.mid_batch_kills >= KILLS_PER_WORKER:
                    continue
                time.sleep(0.8)
                self.front.hold = 0.3
                try:
                    worker.kill_mid_batch()
                finally:
                    self.front.hold = 0.0
                worker.start()


@pytest.mark.chaos
@pytest.mark.parametrize("kind", ["sql-sqlite", "sql-postgresql", "redis", "sqlite-file"])
def test_chaos(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    started = time.monotonic()
    front = Front(Sandbox(secret_key=SECRET_KEY))
    settings = store_settings(kind, tmp_path, request)
    env = {
        **settings,
        "CHAOS_UPSTREAM": front.url,
        "CHAOS_SECRET_KEY": SECRET_KEY,
        "CHAOS_LEASE": str(LEASE),
    }
    customers = [f"chaos-{i}" for i in range(CUSTOMERS)]
    for customer in customers:
        control(front, "/customers", {"externalId": customer})
        control(front, f"/customers/{customer}/plan", {"priceSlug": "pro_monthly"})
    before = {customer: available(front, customer) for customer in customers}
    if settings["CHAOS_OUTBOX"] == "db":
        import subprocess
        import sys

        subprocess.run(
            [sys.executable, "-m", "tests.usage.chaos_app", "setup"],
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, **env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            check=True,
        )
    outbox = outbox_of(settings, front)
    redis = request.getfixturevalue("chaos_redis") if kind == "redis" else None
    workers = [WorkerProcess(f"worker-{i}", env) for i in range(WORKERS)]
    outputs = [tmp_path / f"recorded-{p}.json" for p in range(PROCESSES)]
    schedule = Schedule(front, workers, redis)
    try:
        recorders = [
            recorder(p, THREADS, EVENTS // PROCESSES, CUSTOMERS, outputs[p], env)
            for p in range(PROCESSES)
        ]
        schedule.start()
        for process in recorders:
            assert process.wait(600) == 0
        recorded_at = time.monotonic()
        schedule.join()
        drained = wait_for_drain(outbox, timeout=420)
    finally:
        for worker in workers:
            worker.stop()
    try:
        check(
            kind, front, outbox, workers, schedule, outputs, before, started, recorded_at, drained
        )
    finally:
        front.close()


def check(
    kind: str,
    front: Front,
    outbox: UsageOutbox,
    workers: list[WorkerProcess],
    schedule: Schedule,
    outputs: list[Path],
    before: dict[str, int],
    started: float,
    recorded_at: float,
    drained: float,
) -> None:
    """The figures, printed; then what must hold."""
    customers = sorted(before)
    recorded = [json.loads(path.read_text()) for path in outputs]
    committed = {item[0]: item for r in recorded for item in r["committed"]}
    rolled_back = {txn for r in recorded for txn in r["rolled_back"]}
    poison = {txn for txn, item in committed.items() if item[3]}
    expected = set(committed) - poison
    accepted = set(front.accepted)
    lost = expected - accepted
    unexpected = accepted - expected
    sent_twice = sum(1 for n in front.accepted.values() if n > 1)
    dead = {letter.event.transaction_id for letter in outbox.dead_letters(10_000)}
    # What the sandbox holds, by its balances: every committed amount exactly once.
    used = {c: before[c] - available(front, c) for c in customers}
    expected_used = {c: 0 for c in customers}
    for txn in expected:
        expected_used[committed[txn][1]] += committed[txn][2]
    figures = {
        "store": kind,
        "recorded": len(committed) + len(rolled_back),
        "committed": len(committed),
        "rolled back": len(rolled_back),
        "lost": len(lost),
        "unexpected (rolled back or unknown)": len(unexpected),
        "sent twice, recorded once (dedupe)": sent_twice,
        # A killed worker's request, or one it gave up waiting for, may still be answered
        # when its lease or back-off ends: the claim is exclusive, the wire is not.
        "in two requests at once": front.overlaps,
        "poison": len(poison),
        "dead letters": len(dead),
        "kills": sum(w.kills for w in workers),
        "kills mid-batch": sum(w.mid_batch_kills for w in workers),
        "redis restarts": schedule.redis_restarts,
        "record retries": sum(r["retries"] for r in recorded),
        "front": dict(front.outcomes),
        "bulk answers": dict(front.statuses),
        "down s": round(schedule.down_seconds, 1),
        "recording s": round(max(r["seconds"] for r in recorded), 1),
        "drained after recording s": round(drained - recorded_at, 1),
        "total s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(figures))
    if any(w.mid_batch_kills < KILLS_PER_WORKER for w in workers):
        print(json.dumps({w.name: w.kill_context for w in workers}, indent=1))
    assert len(committed) + len(rolled_back) == EVENTS
    assert lost == set() and unexpected == set()
    assert used == expected_used
    assert dead == poison
    assert min(front.outcomes[mode] for mode in ("500", "429", "reset")) >= 3
    assert front.statuses[500] >= 3 and schedule.down_seconds >= 3
    assert all(w.mid_batch_kills >= KILLS_PER_WORKER for w in workers)
    if kind.startswith("sql-"):
        assert rolled_back
    assert outbox.status().pending == 0


def wait_for_drain(outbox: UsageOutbox, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if outbox.status().pending == 0:
                return time.monotonic()
        except Exception:  # noqa: BLE001 - Redis restarting
            pass
        time.sleep(0.25)
    raise AssertionError(f"the outbox still holds events after {timeout} s: {outbox.status()}")
