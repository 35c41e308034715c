"""Changing how often a plan is billed (monthly to yearly): what it means, and when not.

Flowglad adjusts a subscription inside its current billing period and never changes its
interval (``calculateAdjustmentPreview`` in ``subscriptions/adjustSubscription.ts``
compares plan totals and prorates over the current period). Adjusting a monthly Pro to
the yearly price would charge the difference for the month and then the yearly amount
every month, renewing a month later. So a change of interval is a new subscription: a
checkout for the new price, paid at once, whose period starts when it is paid; the old
plan ends when the checkout starts (Flowglad sells one paid plan at a time), and what
was left of its period is not refunded, which the preview says.

A change to a *shorter* interval is refused: the rest of a paid year would be lost.
The customer cancels at the end of the period and subscribes to the shorter price then.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from .formatting import format_date
from .summary import Interval, Money, Plan, Price

#: Refusal codes, and what each means.
REFUSALS = {
    "no_paid_plan": "There is no paid plan to change: choose a plan through checkout.",
    "canceling": "A cancellation is scheduled. Keep the plan before changing how often"
    " it is billed.",
    "scheduled_change": "A plan change is already scheduled for the end of the period.",
    "not_recurring": "This price is not billed at an interval.",
    "same_interval": "This price is billed as often as the current plan: change the plan instead.",
    "shorter_interval": "Your plan is paid until {period_end}. A paid period cannot be"
    " shortened: cancel at the end of the period and choose the new price then.",
    "not_active": "The plan is not active ({status}): settle it before changing it.",
}


@dataclass(frozen=True)
class IntervalChange:
    """What switching the current plan to ``price`` (another interval) would do."""

    plan: Plan | None
    price: Price
    #: ``None`` when the change may be made; else a key of :data:`REFUSALS`.
    refusal: str | None
    #: Charged on the checkout page: the new price times the plan's quantity.
    charge_now: Money
    #: When the new plan's first period would start and end.
    starts_at: datetime
    renews_at: datetime
    #: When the current plan's paid period ends, and what is left of it (not refunded).
    current_period_end: datetime | None
    unused: Money | None

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def reason(self) -> str | None:
        """Why the change is refused, in English; ``None`` when it is not."""
        if self.refusal is None:
            return None
        return REFUSALS[self.refusal].format(
            period_end=format_date(self.current_period_end),
            status=self.plan.status_text if self.plan else "",
        )


def changes_interval(subscription_interval: Interval | None, price: Price) -> bool:
    """Whether moving to ``price`` changes how often the subscription is billed."""
    return (
        subscription_interval is not None
        and price.interval is not None
        and price.interval != subscription_interval
    )


def preview_interval_change(plan: Plan | None, price: Price, now: datetime) -> IntervalChange:
    """What :meth:`~flask_flowglad.CustomerBilling.start_interval_change` would do at
    ``now`` (an aware ``datetime``), or why it would refuse."""
    quantity = plan.quantity if plan is not None else 1
    interval = price.interval or Interval("month")
    unused = None
    if plan is not None and plan.total is not None:
        unused = _unused(plan, plan.total, now)
    return IntervalChange(
        plan=plan,
        price=price,
        refusal=_refusal(plan, price),
        charge_now=Money(price.money.amount * quantity, price.money.currency),
        starts_at=now,
        renews_at=add_interval(now, interval),
        current_period_end=plan.period_end if plan else None,
        unused=unused,
    )


def _refusal(plan: Plan | None, price: Price) -> str | None:
    if plan is None or plan.is_free:
        return "no_paid_plan"
    if not price.recurring or price.interval is None:
        return "not_recurring"
    if plan.is_canceling:
        return "canceling"
    if plan.scheduled_change_at is not None:
        return "scheduled_change"
    if plan.status not in ("active", "trialing"):
        return "not_active"
    current = plan.interval
    if current is None or current == price.interval:
        return "same_interval"
    if price.interval.approximate_days < current.approximate_days:
        return "shorter_interval"
    return None


def _unused(plan: Plan, total: Money, now: datetime) -> Money | None:
    """What is left of the current period's payment at ``now``."""
    start, end = plan.period_start, plan.period_end
    if start is None or end is None or end <= start or now >= end:
        return None
    left = (end - max(now, start)) / (end - start)
    return Money(int(total.amount * left), total.currency)


def add_interval(moment: datetime, interval: Interval) -> datetime:
    """``moment`` plus one interval; a month from Jan 31 is the last day of February."""
    if interval.unit in ("month", "year"):
        months = interval.count * (12 if interval.unit == "year" else 1)
        month_index = moment.month - 1 + months
        year, month = moment.year + month_index // 12, month_index % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    days = interval.count * (7 if interval.unit == "week" else 1)
    return moment + timedelta(days=days)
