"""Money and dates in words: with Babel when it is installed, the same fixed way otherwise.

``format_money(Money(2000, "USD"))`` is ``"$20.00"`` and ``format_date(moment)`` is
``"Jan 7, 2027"`` in English with or without Babel; with Babel and another locale
(``"de_DE"``: ``"20,00 $"``, ``"07.01.2027"``) they follow the locale. Dates are shown in
UTC, Flowglad's time zone, unless a zone is given. No Flask here: the UI's filters pass the
request's locale (flask-babel's, when the app uses it).
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any

from .summary import Money

try:  # Babel is optional (the ``ui`` extra installs it).
    from babel import dates as babel_dates
    from babel import numbers as babel_numbers
except ImportError:  # pragma: no cover - exercised by the tests without Babel
    babel_dates = None  # type: ignore[assignment]
    babel_numbers = None  # type: ignore[assignment]

#: Symbols written before the amount when Babel is not installed.
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def format_money(money: Money | None, locale: Any = None) -> str:
    """``Money(2000, "USD")`` as ``"$20.00"``; ``""`` for ``None``."""
    if money is None:
        return ""
    if babel_numbers is not None:
        return str(
            babel_numbers.format_currency(money.value, money.currency, locale=_locale(locale))
        )
    symbol = _SYMBOLS.get(money.currency)
    number = f"{abs(money.value):,.{money.exponent}f}"
    sign = "-" if money.amount < 0 else ""
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number}\u00a0{money.currency}"


def format_date(moment: datetime | None, locale: Any = None, zone: tzinfo | None = None) -> str:
    """An aware ``datetime`` as ``"Jan 7, 2027"`` (in UTC unless ``zone`` is given)."""
    if moment is None:
        return ""
    local = moment.astimezone(zone or timezone.utc)
    if babel_dates is not None:
        return str(babel_dates.format_date(local.date(), format="medium", locale=_locale(locale)))
    return f"{_MONTHS[local.month - 1]} {local.day}, {local.year}"


def _locale(locale: Any) -> Any:
    return locale or "en_US"
