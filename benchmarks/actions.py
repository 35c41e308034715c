"""The React SDK actions timed against the reference, with the body the SDK would post."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]


@dataclass(frozen=True)
class Action:
    key: str
    #: A fresh body for one request, given the customer's active subscription id.
    body: Callable[[str], Body]
    #: Whether the two servers can give byte-equal data (records created per request
    #: have new ids each time, so only their shape can match).
    deterministic: bool = True


def _usage_event(subscription_id: str) -> Body:
    # A client transactionId per request, as the docs recommend: a retry cannot double it.
    return {"usageMeterSlug": "api_calls", "amount": 1, "transactionId": uuid.uuid4().hex}


def _checkout(subscription_id: str) -> Body:
    return {
        "type": "product",
        "priceSlug": "pro_yearly",
        "quantity": 1,
        "successUrl": "http://127.0.0.1/success",
        "cancelUrl": "http://127.0.0.1/cancel",
    }


ACTIONS: list[Action] = [
    Action("customers/billing", lambda sub: {}),
    Action("usage-meters/balances", lambda sub: {}),
    Action("usage-events/create", _usage_event),
    # The subscription is active, so this is the no-op path.
    Action("subscriptions/uncancel", lambda sub: {"id": sub}),
    Action("pricing-models/retrieve", lambda sub: {}),
    Action("checkout-sessions/create", _checkout, deterministic=False),
]
