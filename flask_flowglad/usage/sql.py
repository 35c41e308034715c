"""The outbox in a SQL database, through SQLAlchemy: the app's own (a transactional outbox),
or one of its own (a ``postgresql://`` URL, a SQLite file).

Three tables, defined by :func:`usage_tables` on any ``MetaData`` (the app's own, so
Alembic / Flask-Migrate put them in the app's migrations):

- ``flowglad_usage_outbox``: pending events. A worker claims rows with one statement,
  ``UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)``, setting
  ``claimed_by`` and pushing ``available_at`` one lease ahead. PostgreSQL skips rows another
  worker is claiming at that instant; SQLite runs one writer at a time; either way no row is
  claimed twice. A worker that dies leaves its rows to be claimed again when the lease ends.
- ``flowglad_usage_dead_letters``: events Flowglad refused for good, with the reason.
- ``flowglad_usage_sent``: one row per delivered batch (when, how many), for "sent in the
  last minute"; rows older than an hour are dropped as workers go.

Every write transaction of a worker starts with its write (an ``UPDATE``, a ``DELETE ...
RETURNING``), never with a read, so SQLite never has to upgrade a read lock and fail
with "database is locked" when another writer got in between.

Only PostgreSQL and SQLite are supported: the claim relies on their ``UPDATE`` with a
limited sub-select and on ``DELETE ... RETURNING`` (MySQL has neither).
"""

from __future__ import annotations

import os
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from ..errors import ConfigurationError, UsageNotRecorded, UsageOutboxUnavailable
from .outbox import Claim, Refusal
from .record import MAX_ID_LENGTH, DeadLetter, PendingUsage, UsageStatus

__all__ = ["SQLOutbox", "UsageTables", "usage_tables"]

OUTBOX_TABLE = "flowglad_usage_outbox"
DEAD_LETTERS_TABLE = "flowglad_usage_dead_letters"
SENT_TABLE = "flowglad_usage_sent"
#: Dialects whose statements the claim uses.
SUPPORTED_DIALECTS = frozenset({"postgresql", "sqlite"})
#: How long the per-batch "sent" rows are kept (the status reads the last minute).
SENT_KEPT_MS = 3_600_000
#: A row id: BIGINT, but SQLite only counts up an ``INTEGER PRIMARY KEY``.
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class UsageTables(NamedTuple):
    outbox: Table
    dead_letters: Table
    sent: Table


def _event_columns() -> list[Column[Any]]:
    """The columns of an event, in the outbox and in the dead letters alike."""
    return [
        Column("transaction_id", String(MAX_ID_LENGTH), nullable=False),
        Column("customer_external_id", String(MAX_ID_LENGTH), nullable=False),
        Column("usage_meter_slug", String(MAX_ID_LENGTH)),
        Column("price_slug", String(MAX_ID_LENGTH)),
        Column("subscription_id", String(MAX_ID_LENGTH)),
        Column("amount", BigInteger, nullable=False),
        Column("properties", Text),
        #: Epoch milliseconds, as Flowglad's ``usageDate``.
        Column("usage_date", BigInteger, nullable=False),
        #: Epoch milliseconds.
        Column("recorded_at", BigInteger, nullable=False),
    ]


def usage_tables(metadata: MetaData) -> UsageTables:
    """The outbox's three tables on ``metadata`` (defined once; asked again, the same)."""
    if OUTBOX_TABLE in metadata.tables:
        return UsageTables(
            metadata.tables[OUTBOX_TABLE],
            metadata.tables[DEAD_LETTERS_TABLE],
            metadata.tables[SENT_TABLE],
        )
    outbox = Table(
        OUTBOX_TABLE,
        metadata,
        Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        *_event_columns(),
        #: Epoch milliseconds from which a worker may take the row (a lease, a back-off).
        Column("available_at", BigInteger, nullable=False),
        Column("claimed_by", String(64)),
        Column("attempts", Integer, nullable=False, default=0),
        #: ``meter:<slug>`` or ``price:<slug>``: with the transaction id, what Flowglad
        #: records once; the outbox holds it once too, so pending amounts count it once.
        Column("meter_key", String(MAX_ID_LENGTH + 6), nullable=False),
        Index(f"{OUTBOX_TABLE}_available", "available_at", "id"),
        Index(f"{OUTBOX_TABLE}_customer", "customer_external_id"),
        Index(f"{OUTBOX_TABLE}_transaction", "transaction_id", "meter_key", unique=True),
    )
    dead_letters = Table(
        DEAD_LETTERS_TABLE,
        metadata,
        Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        *_event_columns(),
        Column("reason", Text, nullable=False),
        Column("status", Integer),
        Column("failed_at", BigInteger, nullable=False),
    )
    sent = Table(
        SENT_TABLE,
        metadata,
        Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        Column("sent_at", BigInteger, nullable=False, index=True),
        Column("count", Integer, nullable=False),
    )
    return UsageTables(outbox, dead_letters, sent)


class SQLOutbox:
    """The outbox in SQL tables (see the module's docstring).

    :param engine: the engine, or a callable returning it (Flask-SQLAlchemy's ``db.engine``
        exists only in an app context).
    :param session: returns the app's current session, whose transaction
        :meth:`add` joins; ``None`` for an outbox of its own.
    :param tables: the tables, by default defined on a ``MetaData`` of their own.
    """

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        *,
        session: Callable[[], Any] | None = None,
        tables: UsageTables | None = None,
    ) -> None:
        self._engine = engine
        self._session = session
        self.tables = tables or usage_tables(MetaData())
        self._checked: set[int] = set()
        self._completions = 0
        #: Per dialect: the INSERT's SQL and the order of its parameters (None: named).
        self._inserts: dict[str, tuple[str, list[str] | None]] = {}

    def __repr__(self) -> str:
        engine = self._engine
        shown = (
            engine.url.render_as_string(hide_password=True)
            if isinstance(engine, Engine)
            else "app"
        )
        return f"<SQLOutbox {shown}>"

    @classmethod
    def from_url(cls, url: str, *, root: str | None = None) -> SQLOutbox:
        """An outbox in a database of its own (tables created when missing). A relative
        SQLite path is taken from ``root`` (the app's instance folder)."""
        engine = create_engine(_rooted(url, root), pool_pre_ping=True, **_sqlite_options(url))
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        outbox = cls(engine)
        # Its own engine: the pooled connections are closed with the outbox.
        weakref.finalize(outbox, engine.dispose)
        outbox.create_tables()
        return outbox

    @classmethod
    def for_flask_sqlalchemy(cls, db: Any) -> SQLOutbox:
        """The app's own database: the tables join ``db.metadata`` (so ``flask db migrate``
        and ``db.create_all()`` see them) and :meth:`add` joins ``db.session``'s
        transaction."""
        return cls(lambda: db.engine, session=lambda: db.session, tables=usage_tables(db.metadata))

    def create_tables(self) -> None:
        """Create the three tables where they are missing (an app with migrations makes
        them there instead)."""
        self.tables.outbox.metadata.create_all(self.engine(), tables=list(self.tables))

    def engine(self) -> Engine:
        engine = self._engine if isinstance(self._engine, Engine) else self._engine()
        if id(engine) not in self._checked:
            if engine.dialect.name not in SUPPORTED_DIALECTS:
                raise ConfigurationError(
                    f"FLOWGLAD_USAGE_OUTBOX: {engine.dialect.name} is not supported; use"
                    " PostgreSQL, SQLite, or a redis:// URL."
                )
            self._checked.add(id(engine))
        return engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine().begin() as connection:
            yield connection

    # -- recording -------------------------------------------------------------------

    def add(self, events: Sequence[PendingUsage], *, own_transaction: bool = False) -> int:
        rows = [_outbox_row(event) for event in events]
        try:
            if self._session is not None and not own_transaction:
                # The app's transaction: committed or rolled back with the app's change.
                return self._insert_rows(self._session().connection(), rows)
            with self._transaction() as connection:
                return self._insert_rows(connection, rows)
        except SQLAlchemyError as exc:
            raise UsageNotRecorded(f"The usage outbox could not store the event: {exc}") from exc

    def _insert_rows(self, connection: Connection, rows: list[dict[str, Any]]) -> int:
        """``INSERT ... ON CONFLICT DO NOTHING`` as the driver's own SQL, compiled once per
        dialect (a quarter of the time of a Core statement, which is most of what recording
        costs); how many rows were new."""
        dialect = connection.dialect
        compiled = self._inserts.get(dialect.name)
        if compiled is None:
            statement = _insert_new(self.tables.outbox, dialect.name).compile(
                dialect=dialect, column_keys=list(rows[0])
            )
            compiled = self._inserts[dialect.name] = (str(statement), statement.positiontup)
        sql, positions = compiled
        stored = 0
        for row in rows:
            params = row if positions is None else tuple(row[key] for key in positions)
            stored += connection.exec_driver_sql(sql, params).rowcount
        return stored

    # -- delivery --------------------------------------------------------------------

    def claim(self, limit: int, lease: float) -> Claim:
        outbox = self.tables.outbox
        token, now = uuid.uuid4().hex, _now_ms()
        oldest = (
            select(outbox.c.id)
            .where(outbox.c.available_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._transaction() as connection:
            connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(oldest.scalar_subquery()))
                .values(
                    claimed_by=token,
                    available_at=now + round(lease * 1000),
                    attempts=outbox.c.attempts + 1,
                )
            )
            rows = connection.execute(
                select(outbox).where(outbox.c.claimed_by == token).order_by(outbox.c.id)
            ).all()
        events = tuple(_event(row._mapping, attempts=row.attempts) for row in rows)
        return Claim(token, events, lease)

    def complete(self, claim: Claim, events: Sequence[PendingUsage]) -> None:
        if not events:
            return
        outbox, sent, now = self.tables.outbox, self.tables.sent, _now_ms()
        with self._transaction() as connection:
            # Delivered is delivered: deleted whoever holds the rows now.
            connection.execute(delete(outbox).where(outbox.c.id.in_(_ids(events))))
            connection.execute(insert(sent).values(sent_at=now, count=len(events)))
            self._completions += 1
            if self._completions % 100 == 1:
                connection.execute(delete(sent).where(sent.c.sent_at < now - SENT_KEPT_MS))

    def retry(self, claim: Claim, events: Sequence[PendingUsage], delay: float) -> None:
        if not events:
            return
        outbox = self.tables.outbox
        with self._transaction() as connection:
            connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(_ids(events)), outbox.c.claimed_by == claim.token)
                .values(claimed_by=None, available_at=_now_ms() + round(delay * 1000))
            )

    def dead_letter(self, claim: Claim, refusals: Sequence[Refusal]) -> None:
        if not refusals:
            return
        outbox, dead = self.tables.outbox, self.tables.dead_letters
        by_id = {refusal.event.id: refusal for refusal in refusals}
        now = _now_ms()
        with self._transaction() as connection:
            held = connection.execute(
                delete(outbox)
                .where(outbox.c.id.in_(_ids(r.event for r in refusals)))
                .where(outbox.c.claimed_by == claim.token)
                .returning(outbox.c.id)
            ).scalars()
            rows = [
                {
                    **_event_row(by_id[str(row_id)].event),
                    "reason": by_id[str(row_id)].reason[:2000],
                    "status": by_id[str(row_id)].status,
                    "failed_at": now,
                }
                for row_id in held
            ]
            if rows:
                connection.execute(insert(dead), rows)

    # -- reading ---------------------------------------------------------------------

    def pending_amounts(self, customer_external_id: str) -> dict[str, int]:
        outbox = self.tables.outbox
        query = (
            select(outbox.c.usage_meter_slug, outbox.c.price_slug, func.sum(outbox.c.amount))
            .where(outbox.c.customer_external_id == customer_external_id)
            .group_by(outbox.c.usage_meter_slug, outbox.c.price_slug)
        )
        try:
            with self.engine().connect() as connection:
                rows = connection.execute(query).all()
        except SQLAlchemyError as exc:
            raise UsageOutboxUnavailable(f"The usage outbox cannot be read: {exc}") from exc
        amounts: dict[str, int] = {}
        for meter, price, total in rows:
            key = f"meter:{meter}" if meter is not None else f"price:{price}"
            amounts[key] = amounts.get(key, 0) + int(total or 0)
        return amounts

    def status(self) -> UsageStatus:
        outbox, dead, sent, now = (
            self.tables.outbox,
            self.tables.dead_letters,
            self.tables.sent,
            _now_ms(),
        )
        with self.engine().connect() as connection:
            pending, oldest = connection.execute(
                select(func.count(), func.min(outbox.c.recorded_at))
            ).one()
            sent_recently = connection.execute(
                select(func.coalesce(func.sum(sent.c.count), 0)).where(
                    sent.c.sent_at > now - 60_000
                )
            ).scalar_one()
            dead_count = connection.execute(select(func.count()).select_from(dead)).scalar_one()
        return UsageStatus(
            pending=int(pending),
            oldest_age_seconds=None if oldest is None else max(0.0, (now - oldest) / 1000),
            sent_last_minute=int(sent_recently),
            dead_letters=int(dead_count),
        )

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        dead = self.tables.dead_letters
        with self.engine().connect() as connection:
            rows = connection.execute(select(dead).order_by(dead.c.id).limit(limit)).all()
        return [
            DeadLetter(
                id=str(row.id),
                event=_event(row._mapping),
                reason=row.reason,
                status=row.status,
                failed_at=row.failed_at / 1000,
            )
            for row in rows
        ]

    def requeue(self, ids: Sequence[str] | None = None) -> int:
        outbox, dead, now = self.tables.outbox, self.tables.dead_letters, _now_ms()
        statement = delete(dead).returning(*dead.c)
        if ids is not None:
            statement = statement.where(dead.c.id.in_(_int_ids(ids)))
        with self._transaction() as connection:
            rows = connection.execute(statement).all()
            for row in rows:
                event = {**_outbox_row(_event(row._mapping)), "available_at": now}
                connection.execute(_insert_new(outbox, connection.dialect.name), event)
        return len(rows)

    def discard(self, ids: Sequence[str]) -> int:
        dead = self.tables.dead_letters
        with self._transaction() as connection:
            result = connection.execute(delete(dead).where(dead.c.id.in_(_int_ids(ids))))
        return int(result.rowcount)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _insert_new(table: Table, dialect: str) -> Any:
    """An ``INSERT`` that skips an event the outbox already holds (same transaction id and
    meter): a job run twice, a client's retry."""
    keys = ["transaction_id", "meter_key"]
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)


def _outbox_row(event: PendingUsage) -> dict[str, Any]:
    """An event as the outbox's columns; available to workers at once."""
    return {
        **_event_row(event),
        "available_at": int(event.recorded_at * 1000),
        "attempts": 0,
        "meter_key": event.meter_key,
    }


def _event_row(event: PendingUsage) -> dict[str, Any]:
    """An event as the columns the outbox and the dead letters share."""
    recorded_ms = int(event.recorded_at * 1000)
    return {
        "transaction_id": event.transaction_id,
        "customer_external_id": event.customer_external_id,
        "usage_meter_slug": event.usage_meter_slug,
        "price_slug": event.price_slug,
        "subscription_id": event.subscription_id,
        "amount": event.amount,
        "properties": event.properties,
        "usage_date": event.usage_date,
        "recorded_at": recorded_ms,
    }


def _event(row: Any, attempts: int = 0) -> PendingUsage:
    return PendingUsage(
        transaction_id=row["transaction_id"],
        customer_external_id=row["customer_external_id"],
        amount=int(row["amount"]),
        usage_meter_slug=row["usage_meter_slug"],
        price_slug=row["price_slug"],
        subscription_id=row["subscription_id"],
        properties=row["properties"],
        usage_date=int(row["usage_date"]),
        recorded_at=row["recorded_at"] / 1000,
        id=str(row["id"]),
        attempts=attempts,
    )


def _ids(events: Any) -> list[int]:
    return [int(event.id) for event in events]


def _int_ids(ids: Sequence[str]) -> list[int]:
    """Ids an operator typed: whole numbers only (anything else matches nothing)."""
    return [int(i) for i in ids if str(i).strip().isdigit()]


def _rooted(url: str, root: str | None) -> str:
    """A relative ``sqlite:///path`` taken from ``root``, as Flask-SQLAlchemy does."""
    prefix = "sqlite:///"
    if root is None or not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    path = url[len(prefix) :]
    if not path or path.startswith(":memory:"):
        return url
    os.makedirs(root, exist_ok=True)
    return prefix + os.path.join(root, path)


def _sqlite_options(url: str) -> dict[str, Any]:
    """A SQLite file: waits for the writer's lock up to 30 s instead of pysqlite's 5."""
    if not url.startswith("sqlite"):
        return {}
    return {"connect_args": {"timeout": 30}}


def _sqlite_pragmas(connection: Any, record: ConnectionPoolEntry) -> None:
    """The write-ahead log: readers never wait for the writer, and a commit writes the log
    only (``synchronous = NORMAL``: safe from a crash of the app, not from a power cut)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
