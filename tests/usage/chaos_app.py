"""The app of the chaos test, configured by the environment: workers run it through
``flask --app tests.usage.chaos_app flowglad usage-worker``, and ``python -m
tests.usage.chaos_app record ...`` is one app process recording usage from many threads.

Environment: ``CHAOS_UPSTREAM`` (Flowglad's base URL), ``CHAOS_SECRET_KEY``,
``CHAOS_OUTBOX`` (``db`` for Flask-SQLAlchemy on ``CHAOS_DATABASE``, else an outbox URL),
``CHAOS_LEASE``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from flask_flowglad import Flowglad, UsageNotRecorded

db = SQLAlchemy()
flowglad = Flowglad(customer_loader=lambda: None)


class Work(db.Model):  # type: ignore[name-defined,misc]
    """The app's own change, committed (or rolled back) with its usage."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note: Mapped[str] = mapped_column(String(64))


def create_app() -> Flask:
    app = Flask(__name__)
    outbox: Any = os.environ["CHAOS_OUTBOX"]
    if outbox == "db":
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["CHAOS_DATABASE"]
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(os.environ["CHAOS_DATABASE"])
        db.init_app(app)
        outbox = db
        if os.environ["CHAOS_DATABASE"].startswith("sqlite"):
            with app.app_context():
                event.listen(db.engine, "connect", _wal)
    app.config.update(
        FLOWGLAD_SECRET_KEY=os.environ["CHAOS_SECRET_KEY"],
        FLOWGLAD_BASE_URL=os.environ["CHAOS_UPSTREAM"],
        FLOWGLAD_USAGE_OUTBOX=outbox,
        FLOWGLAD_USAGE_LEASE=float(os.environ.get("CHAOS_LEASE", "4")),
        FLOWGLAD_USAGE_LINGER=0.2,
        FLOWGLAD_MAX_RETRIES=1,
    )
    flowglad.init_app(app)
    return app


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    return {"pool_size": 10, "max_overflow": 10}


def _wal(connection: Any, record: Any) -> None:
    """What a SQLite app serving many threads sets: readers never wait for the writer."""
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")


def record(process: int, threads: int, events: int, customers: int, out: str) -> None:
    """``events`` usage events from ``threads`` threads, in transactions with the app's
    own change when the outbox is the app's database (one in ten rolled back); what was
    committed and rolled back goes to ``out`` as JSON."""
    app = create_app()
    transactional = os.environ["CHAOS_OUTBOX"] == "db"
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        rng = random.Random(process * 1000 + thread)
        committed: list[list[Any]] = []
        rolled_back: list[str] = []
        retries = 0
        share = events // threads + (1 if thread < events % threads else 0)
        done = transaction = 0
        while done < share:
            size = min(share - done, rng.randint(1, 15) if transactional else 1)
            batch = []
            with app.app_context():
                if transactional:
                    db.session.add(Work(note=f"{process}-{thread}-{transaction}"))
                for j in range(size):
                    customer = f"chaos-{rng.randrange(customers)}"
                    txn = f"{process}-{thread}-{transaction}-{j}"
                    poison = rng.random() < 1 / 10_000
                    amount = 1 + (done + j) % 3
                    while True:
                        try:
                            flowglad.for_customer(customer).record_usage(
                                "api_calls",
                                amount=amount,
                                transaction_id=txn,
                                subscription_id="sub_poison" if poison else None,
                            )
                            break
                        except UsageNotRecorded:
                            # The outbox is down (Redis restarting): the same id again.
                            retries += 1
                            time.sleep(0.02)
                    batch.append([txn, customer, amount, poison])
                if transactional and rng.random() < 0.1:
                    db.session.rollback()
                    rolled_back.extend(item[0] for item in batch)
                else:
                    if transactional:
                        db.session.commit()
                    committed.extend(batch)
            done += size
            transaction += 1
        with lock:
            results.append(
                {"committed": committed, "rolled_back": rolled_back, "retries": retries}
            )

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    merged = {
        "committed": [item for r in results for item in r["committed"]],
        "rolled_back": [item for r in results for item in r["rolled_back"]],
        "retries": sum(r["retries"] for r in results),
        "seconds": time.monotonic() - started,
    }
    with open(out, "w") as file:
        json.dump(merged, file)


def setup() -> None:
    """The app's tables and the outbox's, as a migration would make them."""
    app = create_app()
    with app.app_context():
        db.create_all()


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "setup":
        setup()
    else:
        process, threads, events, customers = (int(a) for a in sys.argv[2:6])
        record(process, threads, events, customers, sys.argv[6])
