"""The sandbox's records: plain data in Flowglad's shapes, and the tables that hold them.

Records are kept as Flowglad's API returns them (camelCase dicts), so what a test reads
through the API is what the rules wrote. Bookkeeping Flowglad keeps elsewhere (credit
ledgers, a scheduled adjustment) lives beside each subscription in :class:`Sub`.

Nothing here knows a billing rule. Every table remembers which of its rows changed since
the last write, so a sandbox kept in a file writes those rows and nothing else
(:mod:`~flask_flowglad.sandbox.store`); every row turns into JSON and back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

#: One record in Flowglad's wire shape: the only alias of its kind in the sandbox.
Record = dict[str, Any]

#: Statuses of a subscription that still grants access (``docs/protocol.md`` §7.6).
CURRENT_STATUSES = frozenset(
    {"active", "past_due", "trialing", "cancellation_scheduled", "unpaid", "credit_trial"}
)
#: Statuses a subscription never leaves (``TERMINAL_SUBSCRIPTION_STATES``).
TERMINAL_STATUSES = frozenset({"canceled", "incomplete_expired"})


@dataclass(frozen=True)
class Announcement:
    """One event, as a billing rule announced it (delivered as a webhook)."""

    type: str
    payload: Record


@dataclass
class Item:
    """A subscription item, the features its product grants, and the price it was bought at
    (a copy: a later pricing file may drop the price, the item keeps it)."""

    record: Record
    features: list[Record]
    price: Record

    def to_json(self) -> Record:
        return {"record": self.record, "features": self.features, "price": self.price}

    @classmethod
    def from_json(cls, data: Record) -> Item:
        return cls(data["record"], data["features"], data["price"])


@dataclass
class Sub:
    """A subscription record plus the ledgers behind its usage balances."""

    record: Record
    items: list[Item]
    billing_period_id: str
    #: meter id -> credits granted for the current period (expire at its end)
    period_credit: dict[str, int] = field(default_factory=dict)
    #: meter id -> credits granted once (carried over until used)
    carry_credit: dict[str, int] = field(default_factory=dict)
    #: meter id -> usage counted in the current period
    used: dict[str, int] = field(default_factory=dict)
    #: meter id -> property sets already counted this period (count_distinct_properties)
    distinct: dict[str, set[str]] = field(default_factory=dict)
    #: (price, quantity) pairs that replace the items at the end of the period
    pending: list[tuple[Record, int]] | None = None
    #: meters with ledger entries (a grant or a usage): only these have a balance
    ledger_meters: set[str] = field(default_factory=set)
    #: meter id -> the id of the subscription's ledger account for it
    ledger_accounts: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        value: str = self.record["id"]
        return value

    @property
    def customer_id(self) -> str:
        value: str = self.record["customerId"]
        return value

    @property
    def is_current(self) -> bool:
        return self.record["status"] in CURRENT_STATUSES

    def total(self) -> int:
        return sum(i.record["unitPrice"] * i.record["quantity"] for i in self.items)

    def to_json(self) -> Record:
        return {
            "record": self.record,
            "items": [item.to_json() for item in self.items],
            "billingPeriodId": self.billing_period_id,
            "periodCredit": self.period_credit,
            "carryCredit": self.carry_credit,
            "used": self.used,
            "distinct": {meter: sorted(seen) for meter, seen in self.distinct.items()},
            "pending": None if self.pending is None else [list(p) for p in self.pending],
            "ledgerMeters": sorted(self.ledger_meters),
            "ledgerAccounts": self.ledger_accounts,
        }

    @classmethod
    def from_json(cls, data: Record) -> Sub:
        pending = data["pending"]
        return cls(
            record=data["record"],
            items=[Item.from_json(item) for item in data["items"]],
            billing_period_id=data["billingPeriodId"],
            period_credit=data["periodCredit"],
            carry_credit=data["carryCredit"],
            used=data["used"],
            distinct={meter: set(seen) for meter, seen in data["distinct"].items()},
            pending=None if pending is None else [(price, qty) for price, qty in pending],
            ledger_meters=set(data["ledgerMeters"]),
            ledger_accounts=data["ledgerAccounts"],
        )


@dataclass
class Invoice:
    """An invoice and its line items, as billing lists them."""

    record: Record
    lines: list[Record]

    @property
    def id(self) -> str:
        value: str = self.record["id"]
        return value

    def to_json(self) -> Record:
        return {"invoice": self.record, "invoiceLineItems": self.lines}

    @classmethod
    def from_json(cls, data: Record) -> Invoice:
        return cls(data["invoice"], data["invoiceLineItems"])


Row = TypeVar("Row")


class Table(Generic[Row]):
    """Rows by id in creation order, grouped by an owner (a customer, a subscription...),
    remembering which rows changed since the last write."""

    def __init__(
        self,
        kind: str,
        changes: dict[tuple[str, str], Any],
        row_id: Callable[[Row], str],
        owner: Callable[[Row], str],
    ) -> None:
        self.kind = kind
        self._changes = changes
        self._row_id = row_id
        self._owner = owner
        self.rows: dict[str, Row] = {}
        self._groups: dict[str, list[str]] = {}

    def add(self, row: Row) -> Row:
        """A new row (or a newer copy of one, read from the store)."""
        self.put(row)
        self.changed(row)
        return row

    def put(self, row: Row) -> None:
        """Hold ``row`` without marking it changed: it came from the store."""
        row_id = self._row_id(row)
        if row_id not in self.rows:
            self._groups.setdefault(self._owner(row), []).append(row_id)
        self.rows[row_id] = row

    def changed(self, row: Row) -> None:
        """``row`` was changed in place: write it with the transaction."""
        self._changes[(self.kind, self._row_id(row))] = row

    def remove(self, row: Row) -> None:
        """``row`` is gone (written as ``null``, so other processes drop it too)."""
        self.drop(self._row_id(row))
        self._changes[(self.kind, self._row_id(row))] = None

    def drop(self, row_id: str) -> None:
        """Forget a row without marking it changed: the store says it is gone."""
        row = self.rows.pop(row_id, None)
        if row is not None:
            self._groups[self._owner(row)].remove(row_id)

    def get(self, row_id: str) -> Row | None:
        return self.rows.get(row_id)

    def of(self, owner: str) -> list[Row]:
        """The rows of one owner, in creation order."""
        return [self.rows[row_id] for row_id in self._groups.get(owner, ())]

    def values(self) -> list[Row]:
        return list(self.rows.values())

    def clear(self) -> None:
        self.rows.clear()
        self._groups.clear()

    def __contains__(self, row_id: object) -> bool:
        return row_id in self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(list(self.rows.values()))

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"<Table {self.kind}: {len(self.rows)} rows>"


def _record_id(row: Record) -> str:
    value: str = row["id"]
    return value


def _usage_key(event: Record) -> str:
    return usage_key(event["transactionId"], event["usageMeterId"])


def usage_key(transaction_id: str, meter_id: str) -> str:
    """How usage events are grouped: one event per transaction id and meter."""
    return f"{meter_id}\x00{transaction_id}"


#: The singleton row of things that are not records of their own.
META_ID = "sandbox"


class Records:
    """Every record of one sandbox."""

    def __init__(self) -> None:
        #: (kind, id) -> the row changed since the last write
        self.changes: dict[tuple[str, str], Any] = {}
        c = self.changes
        self.customers: Table[Record] = Table("customer", c, _record_id, lambda r: r["externalId"])
        self.subscriptions: Table[Sub] = Table(
            "subscription", c, lambda s: s.id, lambda s: s.customer_id
        )
        self.usage_events: Table[Record] = Table("usage_event", c, _record_id, _usage_key)
        self.claims: Table[Record] = Table("claim", c, _record_id, lambda r: r["subscriptionId"])
        self.invoices: Table[Invoice] = Table(
            "invoice", c, lambda i: i.id, lambda i: i.record["customerId"]
        )
        self.purchases: Table[Record] = Table("purchase", c, _record_id, lambda r: r["customerId"])
        self.payment_methods: Table[Record] = Table(
            "payment_method", c, _record_id, lambda r: r["customerId"]
        )
        self.checkout_sessions: Table[Record] = Table(
            "checkout_session", c, _record_id, lambda r: r["customerId"] or ""
        )
        #: What is no record of its own: the clock's lead over real time, the count of
        #: invoices (their numbers).
        self.meta: Record = _new_meta()
        self._tables: dict[str, Table[Any]] = {
            table.kind: table
            for table in (
                self.customers,
                self.subscriptions,
                self.usage_events,
                self.claims,
                self.invoices,
                self.purchases,
                self.payment_methods,
                self.checkout_sessions,
            )
        }

    def customer_by_external_id(self, external_id: str) -> Record | None:
        found = self.customers.of(external_id)
        return found[0] if found else None

    def usage_event(self, transaction_id: str, meter_id: str) -> Record | None:
        found = self.usage_events.of(usage_key(transaction_id, meter_id))
        return found[0] if found else None

    def meta_changed(self) -> None:
        self.changes[("meta", META_ID)] = self.meta

    def clear(self) -> None:
        """Forget every record; the clock and the invoice count stay."""
        for table in self._tables.values():
            table.clear()
        self.changes.clear()

    # rows as text, for the store ------------------------------------------------------

    def take_changes(self) -> list[tuple[str, str, str]]:
        """Every changed row as ``(kind, id, json)``, in the order they changed; forgotten."""
        rows = [(kind, row_id, dump(row)) for (kind, row_id), row in self.changes.items()]
        self.changes.clear()
        return rows

    def load(self, kind: str, row_id: str, text: str) -> Any:
        """Hold a row read from the store (new, newer than the one held, or ``null``: gone);
        the row held now, or ``None``."""
        data = json.loads(text)
        if kind == "meta":
            self.meta = data
            return data
        table = self._tables[kind]
        if data is None:
            table.drop(row_id)
            return None
        row = (
            Sub.from_json(data)
            if kind == "subscription"
            else Invoice.from_json(data)
            if kind == "invoice"
            else data
        )
        table.put(row)
        return row

    def dump_all(self) -> list[tuple[str, str, str]]:
        """Every row as ``(kind, id, json)``: what a fresh copy must equal."""
        rows = [("meta", META_ID, dump(self.meta))]
        for kind, table in self._tables.items():
            rows += [(kind, row_id, dump(row)) for row_id, row in table.rows.items()]
        return rows


def dump(row: Any) -> str:
    data = row.to_json() if isinstance(row, (Sub, Invoice)) else row
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _new_meta() -> Record:
    return {"clockOffsetMs": 0, "invoiceCount": 0}
