"""A pricing model: the records a pricing file becomes, indexed the ways the API looks
them up.

Ids are derived from the organization and the slugs (:func:`~.ids.stable_id`): every
process that loads the same file for the same state file makes the same records, and a
price keeps its id when the file gains a product.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ids import stable_id
from .pricing_file import (
    NO_CHARGE_SUFFIX,
    PricingError,
    PricingSource,
    amount,
    check_price_names,
    interval,
    known,
    load_pricing_data,
    mark_default,
    member_list,
    positive_int,
    text,
)
from .records import Record

__all__ = ["PricingError", "PricingModel", "PricingSource", "load_pricing_data"]


class PricingModel:
    """The records of one pricing model."""

    def __init__(self, data: Mapping[str, Any], *, organization_id: str, created_at: int) -> None:
        self.organization_id = organization_id
        self.id = self._id("pricing_model", "pricing model")
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
        for i, raw in enumerate(member_list(data, "resources")):
            self._resource(raw, f"resources[{i}]")
        meters = [
            self._meter(raw, f"usageMeters[{i}]")
            for i, raw in enumerate(member_list(data, "usageMeters"))
        ]
        for i, raw in enumerate(member_list(data, "features")):
            self._feature(raw, f"features[{i}]")
        products = [
            self._product(raw, f"products[{i}]")
            for i, raw in enumerate(member_list(data, "products"))
        ]
        defaults = [p for p in products if p["default"]]
        if len(defaults) > 1:
            raise PricingError("at most one product may be the default")
        self.record: Record = {
            **self._base(self.id),
            "organizationId": organization_id,
            "isDefault": True,
            "name": str(data.get("name", "Sandbox pricing model")),
            "products": products,
            "usageMeters": meters,
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

    def _id(self, prefix: str, *names: str) -> str:
        return stable_id(prefix, self.organization_id, *names)

    def _base(self, record_id: str) -> Record:
        return {"id": record_id, "createdAt": self._now, "updatedAt": self._now, "livemode": False}

    def _resource(self, raw: Mapping[str, Any], where: str) -> None:
        known(raw, "resource", where)
        slug = text(raw, "slug", where)
        if self.resource_by_slug(slug) is not None:
            raise PricingError(f"{where}: duplicate resource slug {slug!r}")
        rid = self._id("resource", "resource", slug)
        self.resources[rid] = {
            **self._base(rid),
            "organizationId": self.organization_id,
            "pricingModelId": self.id,
            "slug": slug,
            "name": str(raw.get("name", slug)),
            "active": True,
        }

    def _meter(self, raw: Mapping[str, Any], where: str) -> Record:
        """A usage meter and its prices: the file's, then the no-charge price Flowglad
        gives every meter (``utils/pricingModels/setupTransaction.ts``), its default when
        the file gives it no price of its own."""
        known(raw, "meter", where)
        slug = text(raw, "slug", where)
        if self.meter_by_slug(slug) is not None:
            raise PricingError(f"{where}: duplicate usage meter slug {slug!r}")
        aggregation = raw.get("aggregationType", "sum")
        if aggregation not in ("sum", "count_distinct_properties"):
            raise PricingError(f"{where}.aggregationType must be sum or count_distinct_properties")
        mid = self._id("usage_meter", "meter", slug)
        meter: Record = {
            **self._base(mid),
            "organizationId": self.organization_id,
            "name": str(raw.get("name", slug)),
            "pricingModelId": self.id,
            "slug": slug,
            "aggregationType": aggregation,
        }
        self.usage_meters[mid] = meter
        prices = [
            self._usage_price(p, meter, f"{where}.prices[{j}]", str(j))
            for j, p in enumerate(member_list(raw, "prices"))
        ]
        mark_default(prices)
        no_charge = {
            "slug": slug + NO_CHARGE_SUFFIX,
            "name": f"{meter['name']} - No Charge",
            "isDefault": not prices,
        }
        prices.append(self._usage_price(no_charge, meter, where, "no charge", reserved=True))
        return {
            **meter,
            "prices": prices,
            "defaultPrice": next(p for p in prices if p["isDefault"]),
        }

    def _usage_price(
        self,
        raw: Mapping[str, Any],
        meter: Record,
        where: str,
        place: str,
        *,
        reserved: bool = False,
    ) -> Record:
        if not reserved:
            known(raw, "usage price", where)
            check_price_names(raw, where, usage=True)
        if raw.get("slug") is not None and self.price_by_slug(str(raw["slug"])) is not None:
            raise PricingError(f"{where}: duplicate price slug {raw['slug']!r}")
        pid = self._id("price", "usage price", meter["slug"], str(raw.get("slug") or place))
        price: Record = {
            **self._base(pid),
            "intervalUnit": interval(raw, where),
            "name": raw.get("name"),
            "intervalCount": positive_int(raw, "intervalCount", where, 1),
            "type": "usage",
            "trialPeriodDays": None,
            "isDefault": bool(raw.get("isDefault", False)),
            "unitPrice": amount(raw, where),
            "usageEventsPerUnit": positive_int(raw, "usageEventsPerUnit", where, 1),
            "productId": None,
            "active": True,
            "currency": self.currency,
            "slug": raw.get("slug"),
            "usageMeterId": meter["id"],
            "pricingModelId": self.id,
        }
        self.prices[pid] = price
        return price

    def _feature(self, raw: Mapping[str, Any], where: str) -> None:
        known(raw, "feature", where)
        slug = text(raw, "slug", where)
        if any(f["slug"] == slug for f in self.features.values()):
            raise PricingError(f"{where}: duplicate feature slug {slug!r}")
        kind = raw.get("type")
        fid = self._id("feature", "feature", slug)
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
        if kind == "usage_credit_grant":
            meter = self.meter_by_slug(text(raw, "usageMeter", where))
            if meter is None:
                raise PricingError(f"{where}.usageMeter names no usage meter")
            renewal = raw.get("renewalFrequency", "every_billing_period")
            if renewal not in ("once", "every_billing_period"):
                raise PricingError(
                    f"{where}.renewalFrequency must be once or every_billing_period"
                )
            feature.update(
                amount=positive_int(raw, "amount", where, None),
                usageMeterId=meter["id"],
                renewalFrequency=renewal,
            )
        elif kind == "resource":
            resource = self.resource_by_slug(text(raw, "resource", where))
            if resource is None:
                raise PricingError(f"{where}.resource names no resource")
            feature.update(
                amount=positive_int(raw, "amount", where, None), resourceId=resource["id"]
            )
        elif kind != "toggle":
            raise PricingError(f"{where}.type must be toggle, usage_credit_grant or resource")
        self.features[fid] = feature

    def _product(self, raw: Mapping[str, Any], where: str) -> Record:
        known(raw, "product", where)
        slug = text(raw, "slug", where)
        if self.product_by_slug(slug) is not None:
            raise PricingError(f"{where}: duplicate product slug {slug!r}")
        names = raw.get("features", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PricingError(f"{where}.features must be a list of feature slugs")
        if not isinstance(raw.get("default", False), bool):
            raise PricingError(f"{where}.default must be true or false")
        product_id = self._id("prod", "product", slug)
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
        prices = [
            self._product_price(p, product, f"{where}.prices[{j}]", str(j))
            for j, p in enumerate(member_list(raw, "prices"))
        ]
        if not prices:
            raise PricingError(f"{where} needs at least one price")
        mark_default(prices)
        if product["default"]:
            _check_default_product(prices, where)
        features = [self._product_feature(product, name, where) for name in names]
        self.product_features[product_id] = features
        self.products[product_id] = product
        return {
            **product,
            "prices": prices,
            "defaultPrice": next(p for p in prices if p["isDefault"]),
            "features": features,
        }

    def _product_feature(self, product: Record, name: str, where: str) -> Record:
        feature = next((f for f in self.features.values() if f["slug"] == name), None)
        if feature is None:
            raise PricingError(f"{where}.features: no feature with slug {name!r}")
        link = self._id("product_feature", "product feature", product["slug"], name)
        self.product_feature_ids[(product["id"], feature["id"])] = link
        return feature

    def _product_price(
        self, raw: Mapping[str, Any], product: Record, where: str, place: str
    ) -> Record:
        known(raw, "price", where)
        check_price_names(raw, where)
        kind = raw.get("type", "subscription")
        pid = self._id("price", "price", product["slug"], str(raw.get("slug") or place))
        price: Record = {
            **self._base(pid),
            "name": raw.get("name"),
            "type": kind,
            "isDefault": bool(raw.get("isDefault", False)),
            "unitPrice": amount(raw, where),
            "productId": product["id"],
            "active": True,
            "currency": self.currency,
            "slug": raw.get("slug"),
            "pricingModelId": self.id,
            "trialPeriodDays": None,
            "usageEventsPerUnit": None,
            "usageMeterId": None,
        }
        if kind == "subscription":
            trial = raw.get("trialPeriodDays")
            if trial is not None and (
                not isinstance(trial, int) or isinstance(trial, bool) or not 0 <= trial <= 3650
            ):
                raise PricingError(f"{where}.trialPeriodDays must be an integer from 0 to 3650")
            price.update(
                intervalUnit=interval(raw, where),
                intervalCount=positive_int(raw, "intervalCount", where, 1),
                trialPeriodDays=trial,
            )
        elif kind == "single_payment":
            price.update(intervalUnit=None, intervalCount=None)
        else:
            raise PricingError(f"{where}.type must be subscription or single_payment")
        if raw.get("slug") is not None and self.price_by_slug(str(raw["slug"])) is not None:
            raise PricingError(f"{where}: duplicate price slug {raw['slug']!r}")
        self.prices[pid] = price
        return price


def _check_default_product(prices: list[Record], where: str) -> None:
    """The plan every customer starts on is free and starts at once
    (``validateDefaultProductSchema`` in ``utils/defaultProductValidation.ts``)."""
    for j, price in enumerate(prices):
        if price["unitPrice"] != 0:
            raise PricingError(f"{where}.prices[{j}]: the default product's prices must be free")
        if price.get("trialPeriodDays"):
            raise PricingError(f"{where}.prices[{j}]: the default product's prices have no trial")
