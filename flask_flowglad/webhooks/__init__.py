"""Flowglad's webhooks: verifying a delivery, reading its event, remembering it was handled.

The pieces a script or a worker may use need no Flask and are importable from here:
:func:`verify_webhook`, :class:`WebhookEvent`, :class:`DeliveryLedger`. The endpoint that
serves deliveries to an app (:mod:`.endpoint`) is wired by the extension when
``FLOWGLAD_WEBHOOK_SECRET`` is set; its receivers are the signals of
:mod:`flask_flowglad.signals`.
"""

from __future__ import annotations

from ..errors import MalformedWebhook, WebhookVerificationError
from .event import EVENT_TYPES, WebhookEvent, parse_event
from .ledger import Claim, ClaimState, DeliveryLedger
from .signature import decode_secret, new_message_id, sign, signed_headers, verify_webhook

__all__ = [
    "EVENT_TYPES",
    "Claim",
    "ClaimState",
    "DeliveryLedger",
    "MalformedWebhook",
    "WebhookEvent",
    "WebhookVerificationError",
    "decode_secret",
    "new_message_id",
    "parse_event",
    "sign",
    "signed_headers",
    "verify_webhook",
]
