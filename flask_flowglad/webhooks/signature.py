"""Svix's signatures, which Flowglad's webhooks carry: verifying a delivery, and signing one.

The signature covers ``<svix-id>.<svix-timestamp>.<raw body>``: pass the exact bytes
received (``request.get_data()``), never re-serialized JSON. One decoder reads a
``whsec_`` secret for both directions, so a secret that signs here (the sandbox, ``flask
flowglad send-test-webhook``) verifies here, and the configuration refuses at start-up a
secret that could do neither (docs/protocol.md §8.1 gives the rules and a test vector).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import string
import time
from collections.abc import Mapping
from typing import Any

from ..errors import WebhookVerificationError
from ..headers import get_header

__all__ = [
    "DEFAULT_TOLERANCE",
    "FUTURE_LIMIT",
    "decode_secret",
    "new_message_id",
    "sign",
    "signed_headers",
    "verify_webhook",
]

#: Webhooks older than this many seconds are refused, against replays.
DEFAULT_TOLERANCE = 300
#: How far ahead of our clock a timestamp may be (fixed, whatever the tolerance).
FUTURE_LIMIT = 60

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_ALPHANUMERIC = string.ascii_letters + string.digits
#: A timestamp of at most 15 digits: no int() of a megabyte-long string.
_DIGITS = re.compile(r"[0-9]{1,15}")


def verify_webhook(
    payload: bytes | str,
    headers: Mapping[str, Any],
    secret: str,
    tolerance: int | None = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> Any:
    """Check a webhook's signature and age, and return its parsed JSON body.

    ``tolerance=None`` skips the age check (for replaying stored events in tests).
    Several signatures in the header are accepted, so secrets can be rotated.

    Whatever the bytes and headers, the only error raised is
    :exc:`WebhookVerificationError`: the signature is checked over the raw bytes
    before anything decodes or parses the body.
    """
    message_id = _required_header(headers, "svix-id")
    timestamp = _required_header(headers, "svix-timestamp")
    signatures = _required_header(headers, "svix-signature")
    if tolerance is not None:
        _check_age(timestamp, tolerance, time.time() if now is None else now)
    key = decode_secret(secret)
    body = _raw_bytes(payload)
    signed = _utf8(f"{message_id}.{timestamp}.", "svix-id or svix-timestamp") + body
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    candidates = _v1_signatures(signatures)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise WebhookVerificationError(
            f"Invalid signature. None of the {len(candidates)} provided signature(s) matched."
        )
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise WebhookVerificationError("The webhook body is not JSON.") from None


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        raise WebhookVerificationError(f"The {what} is not valid text.") from None


def _raw_bytes(payload: bytes | str) -> bytes:
    """The body as received; a ``str`` is taken to be the UTF-8 decoding of it."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return _utf8(payload, "webhook body")
    raise WebhookVerificationError("The webhook body must be bytes or str.")


def _required_header(headers: Mapping[str, Any], name: str) -> str:
    try:
        value = get_header(headers, name)
    except (AttributeError, TypeError):  # not a mapping of headers at all
        value = None
    if not value:
        raise WebhookVerificationError(f"Missing required header: {name}")
    return value


def _check_age(timestamp: str, tolerance: int, now: float) -> None:
    # ASCII digits only: str.isdigit() and int() also take other scripts' digits.
    if not _DIGITS.fullmatch(timestamp):
        raise WebhookVerificationError("Invalid svix-timestamp: not a number.")
    sent, current = int(timestamp), int(now)
    if current - sent > tolerance:
        raise WebhookVerificationError("Webhook timestamp is too old.")
    if sent > current + FUTURE_LIMIT:
        raise WebhookVerificationError("Webhook timestamp is too far in the future.")


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret: the canonical base64 after the first underscore
    (up to the next one); :exc:`WebhookVerificationError` for anything else."""
    if not isinstance(secret, str) or not secret.startswith("whsec_"):
        raise WebhookVerificationError("The webhook secret must start with 'whsec_'.")
    text = secret.split("_")[1]
    if not text or not _BASE64.fullmatch(text):
        raise WebhookVerificationError(_NOT_BASE64)
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise WebhookVerificationError(_NOT_BASE64) from None
    if base64.b64encode(key).decode() != text:
        raise WebhookVerificationError(_NOT_BASE64)
    return key


_NOT_BASE64 = (
    "The webhook secret is not 'whsec_' followed by canonical base64 (padded with '=' to a"
    " multiple of 4 characters)."
)


def _v1_signatures(header: str) -> list[bytes]:
    signatures = []
    for token in header.split():
        version, _, signature = token.partition(",")
        if version != "v1" or not signature:
            continue
        try:
            signatures.append(base64.b64decode(signature, validate=True))
        except ValueError:  # binascii.Error, or characters outside ASCII
            continue
    return signatures


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``svix-signature`` header of a delivery: ``v1,`` and the base64 HMAC-SHA256 of
    ``<id>.<timestamp>.<body>`` under the secret's key."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(decode_secret(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secret: str, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The headers of one delivery attempt, signed now (or at ``timestamp``)."""
    sent = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "svix-id": message_id,
        "svix-timestamp": str(sent),
        "svix-signature": sign(secret, message_id, sent, body),
    }


def new_message_id() -> str:
    """A Svix-looking message id (``msg_`` and 27 letters and digits); the same for every
    attempt at one event."""
    return "msg_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(27))
