"""A verified webhook delivery as Python reads it: :class:`WebhookEvent`.

Flowglad's body is ``{"id", "object", "customer": {"id", "externalId"}, "pricingModelId"}``:
``object`` names the kind of record (``customer``, ``subscription``, ``payment``,
``purchase``, ``sync_stream``, ...) and ``id`` is Flowglad's id of it. The event type
(``payment.failed``, ...) is metadata Flowglad gives Svix and is not in the body, so
:attr:`WebhookEvent.type` is usually ``None``: treat a delivery as "this record changed"
and read its current state from Flowglad.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedWebhook

__all__ = ["EVENT_TYPES", "WebhookEvent", "parse_event"]

#: The event types Flowglad announces (its ``FlowgladEventType``).
EVENT_TYPES = frozenset(
    {
        "customer.created",
        "customer.updated",
        "purchase.completed",
        "payment.failed",
        "payment.succeeded",
        "subscription.created",
        "subscription.updated",
        "subscription.canceled",
        "sync.events_available",
    }
)


@dataclass(frozen=True)
class WebhookEvent:
    """One webhook delivery, verified, with Flowglad's camelCase names in snake_case."""

    #: The ``svix-id`` header: the same across redeliveries of one event.
    id: str
    #: The kind of record: ``"customer"``, ``"subscription"``, ``"payment"``, ...
    object: str
    #: Flowglad's id of that record (``sub_...``, ``pym_...``, ...).
    object_id: str
    #: The app's id of the customer (``customer.externalId``), when the body has one.
    customer_external_id: str | None
    #: Flowglad's id of the customer (``customer.id``), when the body has one.
    customer_id: str | None
    pricing_model_id: str | None
    #: ``"payment.failed"`` and the like, only when the body says so (Flowglad's does not).
    type: str | None
    #: The ``svix-timestamp`` header: when this attempt was signed, in Unix seconds.
    timestamp: int
    #: The body as parsed, untouched.
    payload: Mapping[str, Any]


def parse_event(message_id: str, timestamp: str, payload: Any) -> WebhookEvent:
    """The event a verified body describes; :exc:`MalformedWebhook` when it is none.

    The type is taken from a ``type`` (or ``eventType``) member only when it is one of
    :data:`EVENT_TYPES` or names the same kind of record as ``object`` (a payment's
    ``type`` of ``"card"`` is not an event type). It is never guessed from ``object``:
    Flowglad may add event types for any kind.
    """
    if not isinstance(payload, dict):
        raise MalformedWebhook("The webhook body is not a JSON object.")
    kind, object_id = payload.get("object"), payload.get("id")
    if not isinstance(kind, str) or not kind or not isinstance(object_id, str) or not object_id:
        raise MalformedWebhook("The webhook body has no 'object' and 'id'.")
    customer = payload.get("customer")
    customer = customer if isinstance(customer, dict) else {}
    return WebhookEvent(
        id=message_id,
        object=kind,
        object_id=object_id,
        customer_external_id=_string(customer.get("externalId")),
        customer_id=_string(customer.get("id")),
        pricing_model_id=_string(payload.get("pricingModelId")),
        type=_event_type(kind, payload),
        timestamp=int(timestamp) if timestamp.isdigit() else 0,
        payload=payload,
    )


def _event_type(kind: str, payload: Mapping[str, Any]) -> str | None:
    for key in ("type", "eventType"):
        value = payload.get(key)
        if isinstance(value, str) and (value in EVENT_TYPES or value.startswith(kind + ".")):
            return value
    return None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
