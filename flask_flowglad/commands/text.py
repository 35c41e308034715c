"""Billing records as a person reads them in a terminal: money, dates, statuses, tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

#: Currencies whose amounts have no minor unit (Flowglad counts in the smallest unit).
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})


def money(amount: Any, currency: Any = "USD") -> str:
    """``2000, "USD"`` → ``$20.00``; other currencies by code (``EUR 20.00``)."""
    if not isinstance(amount, (int, float)) or isinstance(amount, bool):
        return "-"
    code = str(currency or "USD").upper()
    if code in _ZERO_DECIMAL:
        text = f"{amount:,.0f}"
    else:
        text = f"{amount / 100:,.2f}"
    return f"${text}" if code == "USD" else f"{code} {text}"


def date(epoch_ms: Any) -> str:
    """Epoch milliseconds (or an ISO string) as ``2026-12-27``; ``-`` when absent."""
    if isinstance(epoch_ms, str):
        return epoch_ms[:10]
    if not isinstance(epoch_ms, (int, float)) or isinstance(epoch_ms, bool):
        return "-"
    try:
        moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return "-"
    return moment.strftime("%Y-%m-%d")


def status(value: Any) -> str:
    """A Flowglad enum as words: ``cancellation_scheduled`` → ``cancellation scheduled``."""
    return str(value or "-").replace("_", " ")


def interval(price: Mapping[str, Any]) -> str:
    """``month`` / ``every 3 months`` / ``once``."""
    unit = price.get("intervalUnit")
    if price.get("type") == "single_payment" or not unit:
        return "once"
    count = price.get("intervalCount") or 1
    return str(unit) if count == 1 else f"every {count} {unit}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns two spaces apart, under a header row."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *cells]
    ]
    return "\n".join(lines)


def objects(value: Any) -> list[dict[str, Any]]:
    """The members of a list that are JSON objects: upstream lists are not trusted."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
