"""Time passing: billing periods end, and what was due at their end happens.

When a subscription's period ends, Flowglad's billing period transition
(``attemptToTransitionSubscriptionBillingPeriod`` in ``subscriptions/billingPeriodHelpers.ts``)
either ends it (a cancellation scheduled for then, carried out by
``trigger/attempt-cancel-scheduled-subscriptions.ts`` through ``cancelSubscriptionImmediately``)
or starts its next period: a trial's first period ends with the trial; a scheduled plan
change takes effect; the new period is charged by a billing run when the subscription has
a card (``subscriptions/billingRunHelpers.ts``), and is past due when it has none. Unused
per-period credits expire and are granted again (``db/ledgerManager/
billingPeriodTransitionLedgerCommand``). An open checkout session expires at its
``expires`` (``db/tableMethods/checkoutSessionMethods.ts``); Flowglad announces no event
for that.

:func:`run_until` carries out everything due up to an instant, in time order, with the
sandbox's clock at each event's time, so a renewal's invoice is dated when its period began.
"""

from __future__ import annotations

import heapq
import logging
from typing import Any

from ..account import Account
from ..errors import SandboxError
from ..ids import new_id
from ..records import Record, Sub
from . import adjustments, invoices, items, subscriptions, usage

logger = logging.getLogger("flask_flowglad.sandbox")

#: What happened while the clock moved, by kind: the ids of the records concerned.
Report = dict[str, list[str]]


def new_report() -> Report:
    return {"renewed": [], "trialsEnded": [], "canceled": [], "planChanged": [], "expired": []}


def sub_due(sub: Sub) -> int | None:
    """When something next happens to the subscription by itself: its period's end
    (never, for one whose next period would end after the year 9999)."""
    record = sub.record
    if not record["renews"] or not sub.is_current or record["status"] == "credit_trial":
        return None
    end: int = record["currentBillingPeriodEnd"]
    if record["status"] != "cancellation_scheduled":
        try:
            next_period_end(sub)
        except SandboxError:
            return None
    return end


def next_period_end(sub: Sub) -> int:
    """When the subscription's next period would end (its scheduled plan's interval, if
    one is pending); refused past the year 9999."""
    record = sub.record
    unit, count = record["interval"], record["intervalCount"]
    if sub.pending:
        unit, count = sub.pending[0][0]["intervalUnit"], sub.pending[0][0]["intervalCount"]
    return subscriptions.period_end(record["currentBillingPeriodEnd"], unit, count)


def session_due(session: Record) -> int | None:
    """When an open checkout session expires."""
    return session["expires"] if session["status"] == "open" else None


def next_due(account: Account) -> int | None:
    """The earliest instant anything is due, or ``None``."""
    times = [t for s in account.records.subscriptions for t in [sub_due(s)] if t is not None]
    times += [
        t for s in account.records.checkout_sessions for t in [session_due(s)] if t is not None
    ]
    return min(times, default=None)


def move_clock_to(account: Account, instant: int) -> None:
    """Put the sandbox's time at ``instant`` if it is later than now (never back)."""
    meta = account.records.meta
    offset = instant - account.clock.real_now()
    if offset > meta["clockOffsetMs"]:
        meta["clockOffsetMs"] = offset
        account.records.meta_changed()


def run_until(account: Account, until: int, report: Report | None = None) -> Report:
    """Carry out everything due at or before ``until``, earliest first."""
    report = new_report() if report is None else report
    records = account.records
    heap: list[tuple[int, int, str]] = []

    def schedule(sub: Sub) -> None:
        due = sub_due(sub)
        if due is not None:
            heapq.heappush(heap, (due, 1, sub.id))

    for sub in records.subscriptions:
        schedule(sub)
    for session in records.checkout_sessions:
        due = session_due(session)
        if due is not None:
            heapq.heappush(heap, (due, 0, session["id"]))
    while heap and heap[0][0] <= until:
        at, kind, row_id = heapq.heappop(heap)
        move_clock_to(account, at)
        if kind == 0:
            _expire(account, records.checkout_sessions.rows[row_id], report)
            continue
        sub = records.subscriptions.rows[row_id]
        if sub_due(sub) != at:
            continue  # changed since it was scheduled
        known = len(records.subscriptions)
        try:
            transition(account, sub, report)
        except SandboxError as exc:  # one subscription must not stop the clock for all
            logger.error("Subscription %s could not start its next period: %s", sub.id, exc)
            continue
        schedule(sub)
        for new in records.subscriptions.values()[known:]:  # a default plan put back
            schedule(new)
    return report


def _expire(account: Account, session: Record, report: Report) -> None:
    if session["status"] == "open":
        session["status"] = "expired"
        account.touch(account.records.checkout_sessions, session)
        report["expired"].append(session["id"])


def transition(account: Account, sub: Sub, report: Report) -> None:
    """The subscription's period ended: end it, or start its next period."""
    record = sub.record
    end = record["currentBillingPeriodEnd"]
    if record["status"] == "cancellation_scheduled":
        subscriptions.end(account, sub, record["cancellationReason"] or "customer_request", end)
        report["canceled"].append(sub.id)
        return
    next_end = next_period_end(sub)  # may refuse: before any change
    overage = usage.settle(account, sub)
    if sub.pending:
        pending, sub.pending = sub.pending, None
        adjustments.replace_items(account, sub, pending)
        report["planChanged"].append(sub.id)
    was_trial = record["status"] == "trialing"
    record.update(
        scheduledAdjustmentAt=None,
        currentBillingPeriodStart=end,
        currentBillingPeriodEnd=next_end,
    )
    sub.billing_period_id = new_id("billing_period")
    sub.used, sub.distinct = {}, {}
    items.grant_period_credits(sub)
    _charge(account, sub, overage)
    account.touch_sub(sub)
    account.announce("subscription.updated", sub.id, sub.customer_id)
    report["trialsEnded" if was_trial else "renewed"].append(sub.id)


def _charge(account: Account, sub: Sub, overage: list[tuple[Record, Any]]) -> None:
    """The new period's billing run: with a card (or nothing to charge) the subscription is
    active and the period invoiced; without one it is past due and nothing is invoiced."""
    record = sub.record
    chargeable = invoices.payment_method_id(account, sub) or record["doNotCharge"]
    if chargeable or sub.total() == 0:
        record["status"] = "active"
        if not record["doNotCharge"]:
            invoices.invoice_period(account, sub, overage=overage)
    else:
        record["status"] = "past_due"
