"""Jinja filters for amounts and Flowglad's epoch-millisecond timestamps."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask

# Currencies whose amounts are not in cents (Flowglad sends minor units).
_ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)


def money(amount: int | float | None, currency: str | None = "USD") -> str:
    code = (currency or "USD").upper()
    value = amount or 0
    if code in _ZERO_DECIMAL:
        return f"{value:,.0f} {code}"
    if code == "USD":
        return f"${value / 100:,.2f}"
    return f"{value / 100:,.2f} {code}"


def date(epoch_ms: int | float | None) -> str:
    if epoch_ms is None:
        return ""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.strftime("%b %d, %Y").replace(" 0", " ")


def date_of(moment: datetime) -> str:
    """An aware ``datetime`` (``current_billing.plan.renews_at``) as ``Jan 7, 2027``."""
    return moment.astimezone(timezone.utc).strftime("%b %d, %Y").replace(" 0", " ")


def price_label(price: dict[str, object]) -> str:
    amount = money(price.get("unitPrice"), price.get("currency"))  # type: ignore[arg-type]
    if price.get("type") == "subscription":
        unit = price.get("intervalUnit") or "month"
        count = price.get("intervalCount") or 1
        return f"{amount} / {unit}" if count == 1 else f"{amount} every {count} {unit}s"
    if price.get("type") == "single_payment":
        return f"{amount} once"
    if price.get("type") == "usage":
        per = price.get("usageEventsPerUnit") or 1
        return f"{amount} per {per} events" if per != 1 else f"{amount} per event"
    return amount


def init_app(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(date)
    app.add_template_filter(price_label)
