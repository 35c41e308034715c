"""The home page and the server-rendered pricing page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from .extensions import flowglad

bp = Blueprint("pages", __name__)


@bp.route("/")
def index() -> str:
    return render_template("index.html")


def pricing_model_for_page() -> tuple[dict[str, Any], str | None]:
    """The customer's own pricing model when logged in, else the organization's default.

    Returns the model and the id of the customer's current product, if any.
    """
    customer = flowglad.current_customer()
    if customer is None:
        return flowglad.default_pricing_model(), None
    billing = customer.get_billing()
    current = billing.current_subscription
    product_id = None
    if current is not None:
        for item in current.get("subscriptionItems") or []:
            product_id = (item.get("price") or {}).get("productId") or product_id
    return billing.raw["pricingModel"], product_id


@bp.route("/pricing")
def pricing() -> str:
    pricing_model, current_product_id = pricing_model_for_page()
    products = [p for p in pricing_model.get("products") or [] if p.get("active", True)]
    # Free plan first, then by price.
    products.sort(
        key=lambda p: (not p.get("default"), (p.get("defaultPrice") or {}).get("unitPrice") or 0)
    )
    return render_template(
        "pricing.html",
        products=products,
        usage_meters=pricing_model.get("usageMeters") or [],
        current_product_id=current_product_id,
    )
