"""Configuration: the sandbox unless a Flowglad key (real, or a shared sandbox's) is in the
environment."""

from __future__ import annotations

import base64
import os
import secrets
from typing import Any

#: The demo account seeded into an empty database.
DEMO_USER = {"email": "demo@example.com", "password": "flowglad-demo", "name": "Demo User"}


def default_config() -> dict[str, Any]:
    """Defaults, then the environment: ``FLOWGLAD_SECRET_KEY`` switches to real Flowglad."""
    config: dict[str, Any] = {
        "SECRET_KEY": os.environ.get("SAAS_SECRET_KEY") or secrets.token_hex(32),
        # "user": every user is a Flowglad customer (B2C).
        # "team": the user's team is the customer (B2B), see billing_identity.py.
        "SAAS_BILLING_MODE": os.environ.get("SAAS_BILLING_MODE", "user"),
        # Prometheus metrics at /metrics (saas_app/metrics.py).
        "SAAS_METRICS": bool(os.environ.get("SAAS_METRICS")),
        "SAAS_DEMO_USER": DEMO_USER,
        "FLOWGLAD_SANDBOX": True,
        # The sandbox signs its webhooks with this secret and delivers them in process.
        "FLOWGLAD_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    }
    secret_key = os.environ.get("FLOWGLAD_SECRET_KEY")
    if secret_key:
        config["FLOWGLAD_SECRET_KEY"] = secret_key
        config["FLOWGLAD_SANDBOX"] = False
        # Real Flowglad: the secret of the webhook endpoint made in its dashboard, if any.
        config.pop("FLOWGLAD_WEBHOOK_SECRET")
        if os.environ.get("FLOWGLAD_WEBHOOK_SECRET"):
            config["FLOWGLAD_WEBHOOK_SECRET"] = os.environ["FLOWGLAD_WEBHOOK_SECRET"]
    # A shared `flask flowglad sandbox` process, and the billing cache shared by workers.
    for key in ("FLOWGLAD_BASE_URL", "FLOWGLAD_BILLING_CACHE"):
        if os.environ.get(key):
            config[key] = os.environ[key]
    return config
