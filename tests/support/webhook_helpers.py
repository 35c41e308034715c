"""Signed deliveries and recording receivers for the webhook tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from blinker import Signal
from flask import Flask

from flask_flowglad import Flowglad
from flask_flowglad.webhooks import signed_headers

from .apps import make_app

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
OTHER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PATH = "/webhooks/flowglad"


def webhook_app(tmp_path: Any, **config: Any) -> Flask:
    """An app with the endpoint on, its handled ids in a SQLite file under ``tmp_path``."""
    settings: dict[str, Any] = {
        "FLOWGLAD_WEBHOOK_SECRET": SECRET,
        "FLOWGLAD_WEBHOOK_STORE": str(tmp_path / "webhooks.sqlite3"),
    }
    settings.update(config)
    app = make_app(**settings)
    Flowglad(app)
    return app


def body_of(
    object_kind: str = "subscription",
    object_id: str = "sub_123",
    external_id: str = "user_42",
    **extra: Any,
) -> bytes:
    payload = {
        "id": object_id,
        "object": object_kind,
        "customer": {"id": "cust_1", "externalId": external_id},
        "pricingModelId": "pricing_model_abc",
        **extra,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signed(
    body: bytes,
    message_id: str = "msg_1",
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> dict[str, str]:
    """Svix's headers for ``body``; ``signature`` replaces the real one."""
    headers = signed_headers(secret, message_id, body, timestamp)
    if signature is not None:
        headers["svix-signature"] = signature
    return headers


def post(app: Flask, body: bytes, headers: dict[str, str]) -> Any:
    return app.test_client().post(PATH, data=body, headers=headers)


@contextmanager
def recording(signal: Signal) -> Iterator[list[tuple[Any, Any]]]:
    """``(sender, event)`` for each send of ``signal`` inside the block."""
    seen: list[tuple[Any, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append((sender, kwargs["event"]))

    signal.connect(receiver)
    try:
        yield seen
    finally:
        signal.disconnect(receiver)
