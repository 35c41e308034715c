"""Flowglad payloads for requests-mock tests, shaped as the API contract describes them."""

from __future__ import annotations

from typing import Any

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00.000Z


def customer(external_id: str = "u1", **overrides: Any) -> dict[str, Any]:
    record = {
        "id": f"cust_{external_id}",
        "createdAt": NOW,
        "updatedAt": NOW + 1,
        "livemode": False,
        "organizationId": "org_1",
        "email": f"{external_id}@example.com",
        "name": f"User {external_id}",
        "invoiceNumberBase": "INV",
        "archived": False,
        "logoURL": None,
        "iconURL": None,
        "domain": None,
        "externalId": external_id,
        "userId": None,
        "pricingModelId": "pm_1",
    }
    record.update(overrides)
    return record


def toggle(slug: str) -> dict[str, Any]:
    return {
        "id": f"fi_{slug}",
        "type": "toggle",
        "slug": slug,
        "name": slug.title(),
        "livemode": False,
    }


def balance(slug: str, available: float, subscription_id: str) -> dict[str, Any]:
    return {
        "id": f"um_{slug}",
        "createdAt": NOW,
        "updatedAt": NOW,
        "livemode": False,
        "organizationId": "org_1",
        "name": slug.title(),
        "pricingModelId": "pm_1",
        "slug": slug,
        "aggregationType": "sum",
        "availableBalance": available,
        "subscriptionId": subscription_id,
    }


def subscription(
    sid: str = "sub_1",
    *,
    status: str = "active",
    features: tuple[str, ...] = (),
    balances: dict[str, float] | None = None,
    customer_id: str = "cust_u1",
    price_id: str = "price_free",
) -> dict[str, Any]:
    return {
        "id": sid,
        "customerId": customer_id,
        "status": status,
        "priceId": price_id,
        "current": status not in ("canceled", "incomplete_expired"),
        "createdAt": NOW,
        "updatedAt": NOW,
        "renews": True,
        "subscriptionItems": [{"id": f"si_{sid}", "priceId": price_id, "quantity": 1}],
        "experimental": {
            "featureItems": [toggle(slug) for slug in features],
            "usageMeterBalances": [
                balance(slug, amount, sid) for slug, amount in (balances or {}).items()
            ],
        },
    }


def price(
    slug: str, *, unit_price: int = 0, trial_days: int | None = None, kind: str = "subscription"
) -> dict[str, Any]:
    return {
        "id": f"price_{slug}",
        "slug": slug,
        "name": slug.title(),
        "type": kind,
        "unitPrice": unit_price,
        "currency": "USD",
        "trialPeriodDays": trial_days,
        "isDefault": True,
        "active": True,
        "productId": f"prod_{slug}",
    }


def pricing_model() -> dict[str, Any]:
    return {
        "id": "pm_1",
        "name": "Default",
        "isDefault": True,
        "livemode": False,
        "products": [
            {"id": "prod_free", "slug": "free", "name": "Free", "prices": [price("free")]},
            {
                "id": "prod_pro",
                "slug": "pro",
                "name": "Pro",
                "prices": [
                    price("pro_monthly", unit_price=2000),
                    price("pro_trial", unit_price=2000, trial_days=14),
                ],
            },
            {
                "id": "prod_pack",
                "slug": "pack",
                "name": "Pack",
                "prices": [price("pack_once", unit_price=500, kind="single_payment")],
            },
        ],
        "usageMeters": [
            {
                "id": "um_api_calls",
                "slug": "api_calls",
                "prices": [price("api_call_usage", kind="usage")],
            }
        ],
    }


def billing(
    external_id: str = "u1",
    *,
    subscriptions: list[dict[str, Any]] | None = None,
    current: list[dict[str, Any]] | None = None,
    purchases: list[dict[str, Any]] | None = None,
    invoices: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    subs = subscriptions if subscriptions is not None else [subscription()]
    cur = current if current is not None else [s for s in subs if s["status"] != "canceled"]
    payload: dict[str, Any] = {
        "customer": customer(external_id),
        "subscriptions": subs,
        "currentSubscriptions": cur,
        "invoices": invoices or [],
        "paymentMethods": [{"id": "pm_card", "type": "card", "default": True}],
        "purchases": purchases or [],
        "catalog": pricing_model(),
        "pricingModel": pricing_model(),
        "billingPortalUrl": "https://billing.example/portal",
    }
    if cur:
        payload["currentSubscription"] = cur[-1]
    return payload


def not_found(message: str = "Customer not found") -> dict[str, Any]:
    return {"error": message, "code": "NOT_FOUND", "request_id": "req12345"}
