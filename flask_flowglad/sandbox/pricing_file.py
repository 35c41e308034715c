"""Pricing files: plain JSON, read and checked before anything is built from them.

A pricing model is data, not code, so users describe their own plans in a JSON file
(same vocabulary as Flowglad's dashboard: products with prices and features, usage meters
with usage prices, resources). Every member is checked when the file is loaded, unknown
ones included, and a :class:`PricingError` names the first that is wrong
(``products[1].prices[0].unitPrice``). The format is documented in ``docs/sandbox.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import resources as importlib_resources
from typing import Any

from .limits import MAX_INTERVAL_COUNT

PricingSource = str | os.PathLike[str] | Mapping[str, Any] | None

_INTERVALS = ("day", "week", "month", "year")
#: Usage price slugs ending so are Flowglad's own (``RESERVED_USAGE_PRICE_SLUG_SUFFIX``).
NO_CHARGE_SUFFIX = "_no_charge"


class PricingError(ValueError):
    """The pricing data file is not usable; the message says where."""


#: The members each object of a pricing file may have.
_MEMBERS = {
    "model": {"name", "currency", "usageMeters", "resources", "features", "products"},
    "resource": {"slug", "name"},
    "meter": {"slug", "name", "aggregationType", "prices"},
    "usage price": {
        "slug", "name", "unitPrice", "usageEventsPerUnit", "intervalUnit", "intervalCount",
        "isDefault",
    },
    "feature": {
        "slug", "type", "name", "description", "usageMeter", "amount", "renewalFrequency",
        "resource",
    },
    "product": {
        "slug", "name", "description", "imageURL", "default", "features", "prices",
        "singularQuantityLabel", "pluralQuantityLabel",
    },
    "price": {
        "slug", "name", "type", "unitPrice", "intervalUnit", "intervalCount",
        "trialPeriodDays", "isDefault",
    },
}  # fmt: skip
#: Largest amount of minor units, feature amount or trial a pricing file may set.
_MAX_NUMBER = 10**12


def load_pricing_data(source: PricingSource) -> Mapping[str, Any]:
    """Read the plain data: ``None`` is the demo model shipped with the package."""
    if source is None:
        text = importlib_resources.files(__package__).joinpath("default_pricing.json").read_text()
        data: Any = json.loads(text)
    elif isinstance(source, Mapping):
        data = source
    else:
        try:
            with open(source, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as exc:
            raise PricingError(f"cannot read the pricing file {source}: {exc.strerror}") from None
        except ValueError as exc:
            raise PricingError(f"the pricing file {source} is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise PricingError("a pricing model must be a JSON object")
    known(data, "model", "the pricing model")
    for key in ("name", "currency"):
        if key in data and not isinstance(data[key], str):
            raise PricingError(f"{key} must be a string")
    currency = data.get("currency", "USD")
    if not (len(currency) == 3 and currency.isalpha()):
        raise PricingError("currency must be a three-letter code such as USD")
    return data


def known(raw: Mapping[str, Any], kind: str, where: str) -> None:
    """Refuse members a pricing file may not have: a typo must not pass unnoticed."""
    unknown = sorted(set(raw) - _MEMBERS[kind])
    if unknown:
        allowed = ", ".join(sorted(_MEMBERS[kind]))
        raise PricingError(f"{where}: unknown member {unknown[0]!r} (a {kind} has {allowed})")


def member_list(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise PricingError(f"{key} must be a list of objects")
    return value


def text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise PricingError(f"{where}.{key} must be a non-empty string")
    return value


def positive_int(raw: Mapping[str, Any], key: str, where: str, default: int | None) -> int:
    value = raw.get(key, default)
    high = MAX_INTERVAL_COUNT if key == "intervalCount" else _MAX_NUMBER
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= high:
        raise PricingError(f"{where}.{key} must be an integer from 1 to {high}")
    return value


def amount(raw: Mapping[str, Any], where: str) -> int:
    value = raw.get("unitPrice", 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_NUMBER:
        raise PricingError(
            f"{where}.unitPrice must be an integer from 0 to {_MAX_NUMBER} (minor currency units)"
        )
    return value


def check_price_names(raw: Mapping[str, Any], where: str, *, usage: bool = False) -> None:
    for key in ("slug", "name"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise PricingError(f"{where}.{key} must be a string")
    if not isinstance(raw.get("isDefault", False), bool):
        raise PricingError(f"{where}.isDefault must be true or false")
    slug = raw.get("slug")
    if usage and isinstance(slug, str) and slug.endswith(NO_CHARGE_SUFFIX):
        # setupSchemas.ts: the suffix is kept for the no-charge price of every meter.
        raise PricingError(
            f"{where}.slug: usage price slugs ending with {NO_CHARGE_SUFFIX!r} are reserved"
            " for the no-charge price Flowglad gives every usage meter"
        )


def interval(raw: Mapping[str, Any], where: str) -> str:
    value = raw.get("intervalUnit", "month")
    if value not in _INTERVALS:
        raise PricingError(f"{where}.intervalUnit must be one of {', '.join(_INTERVALS)}")
    return str(value)


def mark_default(prices: list[dict[str, Any]]) -> None:
    """Exactly one default price per product or meter: the first, unless one is marked."""
    if prices and not any(p["isDefault"] for p in prices):
        prices[0]["isDefault"] = True
