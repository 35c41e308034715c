"""The typed billing summary, read from payloads: the sandbox's, hand-made edge cases and
arbitrary JSON (which must never make a page fail)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flask_flowglad import BillingSnapshot
from flask_flowglad.formatting import format_date, format_money
from flask_flowglad.intervals import add_interval, preview_interval_change
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.summary import Interval, Money, summarize


def pro_billing(slug: str = "pro_monthly") -> dict[str, Any]:
    sandbox = Sandbox()
    sandbox.put_customer_on_plan("u1", slug)
    return sandbox.billing("u1")


def test_the_plan_has_its_product_price_status_and_dates() -> None:
    billing = BillingSnapshot(pro_billing())
    plan = billing.plan
    assert plan is not None
    assert plan.name == "Pro"  # not Flowglad's "Pro - Pro monthly"
    assert plan.price is not None and plan.price.slug == "pro_monthly"
    assert plan.total == Money(2000, "USD")
    assert (plan.status, plan.status_text) == ("active", "Active")
    assert plan.renews_at is not None and plan.renews_at.tzinfo is timezone.utc
    assert plan.cancels_at is None and plan.is_paid and not plan.is_canceling
    assert billing.summary is billing.summary  # read once


def test_a_scheduled_cancellation_has_an_end_date_and_no_renewal() -> None:
    raw = pro_billing()
    current = raw["currentSubscription"]
    current.update(
        status="cancellation_scheduled", cancelScheduledAt=current["currentBillingPeriodEnd"]
    )
    plan = summarize(raw).plan
    assert plan is not None and plan.is_canceling
    assert plan.renews_at is None and plan.cancels_at == plan.period_end
    assert plan.status_text == "Ends at the end of the period"


def test_usage_is_used_of_granted_with_its_reset_date() -> None:
    sandbox = Sandbox()
    sandbox.put_customer_on_plan("u1", "pro_monthly")
    sandbox.record_usage("u1", "api_calls", 1234)
    (usage,) = summarize(sandbox.billing("u1")).usage
    assert (usage.slug, usage.used, usage.granted, usage.available) == (
        "api_calls",
        1234,
        10000,
        8766,
    )
    assert usage.percent_used == 12 and usage.resets_at is not None


def test_products_are_ordered_free_first_with_the_yearly_saving() -> None:
    summary = summarize(pro_billing())
    assert [p.slug for p in summary.plans] == ["free", "pro"]
    pro = summary.plans[1]
    assert pro.yearly_saving() == Money(4000, "USD") and pro.yearly_saving_percent() == 17
    assert [p.slug for p in summary.one_time_products] == ["report_pack"]


def test_invoices_newest_first_and_only_http_links() -> None:
    raw = pro_billing()
    entry = raw["invoices"][0]
    older = {**entry, "invoice": {**entry["invoice"], "id": "inv_old", "invoiceDate": 1}}
    entry["invoice"]["pdfURL"] = "javascript:alert(1)"
    older["invoice"]["pdfURL"] = "https://files.flowglad.test/inv.pdf"
    raw["invoices"].append(older)
    invoices = summarize(raw).invoices
    assert [i.id for i in invoices][-1] == "inv_old"
    assert invoices[0].pdf_url is None and invoices[-1].pdf_url.startswith("https://")


def test_payment_method_label() -> None:
    (method,) = summarize(pro_billing()).payment_methods
    assert method.label == "Visa ending 4242" and method.exp_year == 2034


def test_money_and_dates_read_the_same_with_or_without_babel() -> None:
    when = datetime(2027, 1, 7, 23, 30, tzinfo=timezone.utc)
    assert format_money(Money(2000, "USD")) == "$20.00"
    assert format_money(Money(500, "JPY")) == "¥500"
    assert format_date(when) == "Jan 7, 2027"
    assert Money(2000, "USD").value == 20 and Money(500, "JPY").exponent == 0


def test_add_interval_keeps_month_ends() -> None:
    jan31 = datetime(2027, 1, 31, tzinfo=timezone.utc)
    assert add_interval(jan31, Interval("month")) == datetime(2027, 2, 28, tzinfo=timezone.utc)
    assert add_interval(jan31, Interval("year")) == datetime(2028, 1, 31, tzinfo=timezone.utc)
    assert add_interval(jan31, Interval("week", 2)) == jan31 + timedelta(days=14)


def test_interval_preview_charges_the_new_price_and_renews_a_year_later() -> None:
    summary = summarize(pro_billing())
    yearly = summary.find_price("pro_yearly")
    assert yearly is not None and summary.plan is not None
    now = summary.plan.period_start + timedelta(days=10)  # type: ignore[operator]
    change = preview_interval_change(summary.plan, yearly, now)
    assert change.allowed and change.charge_now == Money(20000, "USD")
    assert change.renews_at.year == now.year + 1
    assert change.unused is not None and 0 < change.unused.amount < 2000


def test_interval_preview_refuses_a_shorter_interval_saying_why() -> None:
    summary = summarize(pro_billing("pro_yearly"))
    monthly = summary.find_price("pro_monthly")
    assert monthly is not None
    change = preview_interval_change(summary.plan, monthly, datetime.now(timezone.utc))
    assert change.refusal == "shorter_interval" and "cannot be shortened" in (change.reason or "")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    [
        "currentSubscription",
        "currentSubscriptions",
        "pricingModel",
        "purchases",
        "invoices",
        "paymentMethods",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=6))
def test_summarize_never_fails_on_any_json(payload: dict[str, Any]) -> None:
    summary = summarize(payload)
    for usage in summary.usage:
        assert 0 <= usage.percent_used <= 100 and usage.used >= 0


@settings(max_examples=100, deadline=None)
@given(
    subscription=st.dictionaries(
        st.sampled_from(
            [
                "status",
                "priceId",
                "currentBillingPeriodEnd",
                "name",
                "subscriptionItems",
                "experimental",
            ]
        ),
        JSON,
    )
)
def test_a_malformed_current_subscription_still_reads(subscription: dict[str, Any]) -> None:
    raw = pro_billing()
    raw["currentSubscription"] = {**raw["currentSubscription"], **subscription}
    plan = summarize(raw).plan
    assert plan is not None and isinstance(plan.name, str)
