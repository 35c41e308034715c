"""Pricing models from plain data files.

A pricing model is data, not code, so users describe their own plans in a JSON file
(same vocabulary as Flowglad's dashboard: products with prices and features, usage meters
with usage prices, resources) and the sandbox turns it into the records the API returns.
Every member is checked when the file is loaded, unknown ones included, and a
:class:`PricingError` names the first that is wrong (``products[1].prices[0].unitPrice``).
The format is documented in ``docs/sandbox.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import resources as importlib_resources
from typing import Any

from .ids import new_id
from .limits import MAX_INTERVAL_COUNT

Record = dict[str, Any]

PricingSource = str | os.PathLike[str] | Mapping[str, Any] | None

_INTERVALS = ("day", "week", "month", "year")


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
    _known(data, "model", "the pricing model")
    for key in ("name", "currency"):
        if key in data and not isinstance(data[key], str):
            raise PricingError(f"{key} must be a string")
    currency = data.get("currency", "USD")
    if not (len(currency) == 3 and currency.isalpha()):
        raise PricingError("currency must be a three-letter code such as USD")
    return data


def _known(raw: Mapping[str, Any], kind: str, where: str) -> None:
    """Refuse members a pricing file may not have: a typo must not pass unnoticed."""
    unknown = sorted(set(raw) - _MEMBERS[kind])
    if unknown:
        allowed = ", ".join(sorted(_MEMBERS[kind]))
        raise PricingError(f"{where}: unknown member {unknown[0]!r} (a {kind} has {allowed})")


class PricingModel:
    """The records of one pricing model, indexed the ways the API looks them up."""

    def __init__(self, data: Mapping[str, Any], *, organization_id: str, created_at: int) -> None:
        self.id = new_id("pricing_model")
        self.organization_id = organization_id
        self.currency: str = str(data.get("currency", "USD")).upper()
        self._now = created_at
        self.prices: dict[str, Record] = {}
        self.products: dict[str, Record] = {}
        self.usage_meters: dict[str, Record] = {}
        self.features: dict[str, Record] = {}
        self.resources: dict[str, Record] = {}
        #: product id -> its feature records (a product's features are granted per item)
        self.product_features: dict[str, list[Record]] = {}
        #: (product id, feature id) -> the id of the link between them, which Flowglad
        #: copies into each subscription item feature as ``productFeatureId``
        self.product_feature_ids: dict[tuple[str, str], str] = {}

        for i, raw in enumerate(_list(data, "resources")):
            _known(raw, "resource", f"resources[{i}]")
            slug = _str(raw, "slug", f"resources[{i}]")
            if self.resource_by_slug(slug) is not None:
                raise PricingError(f"resources[{i}]: duplicate resource slug {slug!r}")
            rid = new_id("resource")
            self.resources[rid] = {
                **self._base(rid),
                "organizationId": organization_id,
                "pricingModelId": self.id,
                "slug": slug,
                "name": str(raw.get("name", slug)),
                "active": True,
            }

        meters_out: list[Record] = []
        for i, raw in enumerate(_list(data, "usageMeters")):
            where = f"usageMeters[{i}]"
            _known(raw, "meter", where)
            slug = _str(raw, "slug", where)
            if self.meter_by_slug(slug) is not None:
                raise PricingError(f"{where}: duplicate usage meter slug {slug!r}")
            mid = new_id("usage_meter")
            aggregation = raw.get("aggregationType", "sum")
            if aggregation not in ("sum", "count_distinct_properties"):
                raise PricingError(
                    f"{where}.aggregationType must be sum or count_distinct_properties"
                )
            meter: Record = {
                **self._base(mid),
                "organizationId": organization_id,
                "name": str(raw.get("name", slug)),
                "pricingModelId": self.id,
                "slug": slug,
                "aggregationType": aggregation,
            }
            self.usage_meters[mid] = meter
            prices = [
                self._usage_price(p, mid, f"{where}.prices[{j}]")
                for j, p in enumerate(_list(raw, "prices"))
            ]
            _mark_default(prices)
            out = {**meter, "prices": prices}
            if prices:
                out["defaultPrice"] = next(p for p in prices if p["isDefault"])
            meters_out.append(out)

        for i, raw in enumerate(_list(data, "features")):
            self._feature(raw, f"features[{i}]")

        products_out: list[Record] = []
        for i, raw in enumerate(_list(data, "products")):
            products_out.append(self._product(raw, f"products[{i}]"))
        defaults = [p for p in products_out if p["default"]]
        if len(defaults) > 1:
            raise PricingError("at most one product may be the default")

        self.record: Record = {
            **self._base(self.id),
            "organizationId": organization_id,
            "isDefault": True,
            "name": str(data.get("name", "Sandbox pricing model")),
            "products": products_out,
            "usageMeters": meters_out,
        }
        if defaults:
            self.record["defaultProduct"] = defaults[0]

    # lookups ---------------------------------------------------------------------------

    def price_by_slug(self, slug: str) -> Record | None:
        return next((p for p in self.prices.values() if p["slug"] == slug), None)

    def product_by_slug(self, slug: str) -> Record | None:
        return next((p for p in self.products.values() if p["slug"] == slug), None)

    def meter_by_slug(self, slug: str) -> Record | None:
        return next((m for m in self.usage_meters.values() if m["slug"] == slug), None)

    def resource_by_slug(self, slug: str) -> Record | None:
        return next((r for r in self.resources.values() if r["slug"] == slug), None)

    def meter_default_price(self, meter_id: str) -> Record | None:
        prices = [p for p in self.prices.values() if p.get("usageMeterId") == meter_id]
        return next((p for p in prices if p["isDefault"]), prices[0] if prices else None)

    def default_price(self) -> Record | None:
        """The price a new customer is subscribed to: the default product's default price."""
        product = self.record.get("defaultProduct")
        if product is None:
            return None
        price: Record = product["defaultPrice"]
        return price

    # builders --------------------------------------------------------------------------

    def _base(self, record_id: str) -> Record:
        return {"id": record_id, "createdAt": self._now, "updatedAt": self._now, "livemode": False}

    def _usage_price(self, raw: Mapping[str, Any], meter_id: str, where: str) -> Record:
        _known(raw, "usage price", where)
        _check_price_names(raw, where)
        if raw.get("slug") is not None and self.price_by_slug(str(raw["slug"])) is not None:
            raise PricingError(f"{where}: duplicate price slug {raw['slug']!r}")
        pid = new_id("price")
        price: Record = {
            **self._base(pid),
            "intervalUnit": _interval(raw, where),
            "name": raw.get("name"),
            "intervalCount": _positive_int(raw, "intervalCount", where, 1),
            "type": "usage",
            "trialPeriodDays": None,
            "isDefault": bool(raw.get("isDefault", False)),
            "unitPrice": _amount(raw, where),
            "usageEventsPerUnit": _positive_int(raw, "usageEventsPerUnit", where, 1),
            "productId": None,
            "active": True,
            "currency": self.currency,
            "slug": raw.get("slug"),
            "usageMeterId": meter_id,
            "pricingModelId": self.id,
        }
        self.prices[pid] = price
        return price

    def _feature(self, raw: Mapping[str, Any], where: str) -> None:
        _known(raw, "feature", where)
        slug = _str(raw, "slug", where)
        kind = raw.get("type")
        fid = new_id("feature")
        feature: Record = {
            **self._base(fid),
            "organizationId": self.organization_id,
            "type": kind,
            "slug": slug,
            "name": str(raw.get("name", slug)),
            "description": str(raw.get("description", "")),
            "pricingModelId": self.id,
            "active": True,
            # Flowglad sends every column of a feature, null where the type has none.
            "amount": None,
            "usageMeterId": None,
            "renewalFrequency": None,
            "resourceId": None,
        }
        if kind == "toggle":
            pass
        elif kind == "usage_credit_grant":
            meter = self.meter_by_slug(_str(raw, "usageMeter", where))
            if meter is None:
                raise PricingError(f"{where}.usageMeter names no usage meter")
            renewal = raw.get("renewalFrequency", "every_billing_period")
            if renewal not in ("once", "every_billing_period"):
                raise PricingError(
                    f"{where}.renewalFrequency must be once or every_billing_period"
                )
            feature.update(
                amount=_positive_int(raw, "amount", where, None),
                usageMeterId=meter["id"],
                renewalFrequency=renewal,
            )
        elif kind == "resource":
            resource = self.resource_by_slug(_str(raw, "resource", where))
            if resource is None:
                raise PricingError(f"{where}.resource names no resource")
            feature.update(
                amount=_positive_int(raw, "amount", where, None), resourceId=resource["id"]
            )
        else:
            raise PricingError(f"{where}.type must be toggle, usage_credit_grant or resource")
        if any(f["slug"] == slug for f in self.features.values()):
            raise PricingError(f"{where}: duplicate feature slug {slug!r}")
        self.features[fid] = feature

    def _product(self, raw: Mapping[str, Any], where: str) -> Record:
        _known(raw, "product", where)
        slug = _str(raw, "slug", where)
        if self.product_by_slug(slug) is not None:
            raise PricingError(f"{where}: duplicate product slug {slug!r}")
        names = raw.get("features", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PricingError(f"{where}.features must be a list of feature slugs")
        if not isinstance(raw.get("default", False), bool):
            raise PricingError(f"{where}.default must be true or false")
        product_id = new_id("prod")
        product: Record = {
            **self._base(product_id),
            "name": str(raw.get("name", slug)),
            "description": raw.get("description"),
            "imageURL": raw.get("imageURL"),
            "organizationId": self.organization_id,
            "active": True,
            "singularQuantityLabel": raw.get("singularQuantityLabel"),
            "pluralQuantityLabel": raw.get("pluralQuantityLabel"),
            "pricingModelId": self.id,
            "default": bool(raw.get("default", False)),
            "slug": slug,
        }
        prices: list[Record] = []
        for j, p in enumerate(_list(raw, "prices")):
            prices.append(self._product_price(p, product_id, f"{where}.prices[{j}]"))
        if not prices:
            raise PricingError(f"{where} needs at least one price")
        _mark_default(prices)
        features: list[Record] = []
        for name in names:
            feature = next((f for f in self.features.values() if f["slug"] == name), None)
            if feature is None:
                raise PricingError(f"{where}.features: no feature with slug {name!r}")
            features.append(feature)
            self.product_feature_ids[(product_id, feature["id"])] = new_id("product_feature")
        self.product_features[product_id] = features
        self.products[product_id] = product
        return {
            **product,
            "prices": prices,
            "defaultPrice": next(p for p in prices if p["isDefault"]),
            "features": features,
        }

    def _product_price(self, raw: Mapping[str, Any], product_id: str, where: str) -> Record:
        _known(raw, "price", where)
        _check_price_names(raw, where)
        kind = raw.get("type", "subscription")
        pid = new_id("price")
        price: Record = {
            **self._base(pid),
            "name": raw.get("name"),
            "type": kind,
            "isDefault": bool(raw.get("isDefault", False)),
            "unitPrice": _amount(raw, where),
            "productId": product_id,
            "active": True,
            "currency": self.currency,
            "slug": raw.get("slug"),
            "pricingModelId": self.id,
        }
        if kind == "subscription":
            trial = raw.get("trialPeriodDays")
            if trial is not None and (
                not isinstance(trial, int) or isinstance(trial, bool) or not 0 <= trial <= 3650
            ):
                raise PricingError(f"{where}.trialPeriodDays must be an integer from 0 to 3650")
            price.update(
                intervalUnit=_interval(raw, where),
                intervalCount=_positive_int(raw, "intervalCount", where, 1),
                trialPeriodDays=trial,
                usageEventsPerUnit=None,
                usageMeterId=None,
            )
        elif kind == "single_payment":
            price.update(
                intervalUnit=None,
                intervalCount=None,
                trialPeriodDays=None,
                usageEventsPerUnit=None,
                usageMeterId=None,
            )
        else:
            raise PricingError(f"{where}.type must be subscription or single_payment")
        if raw.get("slug") is not None and self.price_by_slug(str(raw["slug"])) is not None:
            raise PricingError(f"{where}: duplicate price slug {raw['slug']!r}")
        self.prices[pid] = price
        return price


def _list(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise PricingError(f"{key} must be a list of objects")
    return value


def _str(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise PricingError(f"{where}.{key} must be a non-empty string")
    return value


def _positive_int(raw: Mapping[str, Any], key: str, where: str, default: int | None) -> int:
    value = raw.get(key, default)
    high = MAX_INTERVAL_COUNT if key == "intervalCount" else _MAX_NUMBER
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= high:
        raise PricingError(f"{where}.{key} must be an integer from 1 to {high}")
    return value


def _amount(raw: Mapping[str, Any], where: str) -> int:
    value = raw.get("unitPrice", 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_NUMBER:
        raise PricingError(
            f"{where}.unitPrice must be an integer from 0 to {_MAX_NUMBER} (minor currency units)"
        )
    return value


def _check_price_names(raw: Mapping[str, Any], where: str) -> None:
    for key in ("slug", "name"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise PricingError(f"{where}.{key} must be a string")
    if not isinstance(raw.get("isDefault", False), bool):
        raise PricingError(f"{where}.isDefault must be true or false")


def _interval(raw: Mapping[str, Any], where: str) -> str:
    value = raw.get("intervalUnit", "month")
    if value not in _INTERVALS:
        raise PricingError(f"{where}.intervalUnit must be one of {', '.join(_INTERVALS)}")
    return str(value)


def _mark_default(prices: list[Record]) -> None:
    """Exactly one default price per product or meter: the first, unless one is marked."""
    if prices and not any(p["isDefault"] for p in prices):
        prices[0]["isDefault"] = True
