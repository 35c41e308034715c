"""Configuration: the sandbox unless a Flowglad key (real, or a shared sandbox's) is in the
environment.

The sandbox and Flask's ``SECRET_KEY`` are kept in files beside the app's database (see
:func:`saas_app.create_app`), so a restart, the debug reloader and every gunicorn worker
see the same customers, and the same logged-in session."""

from __future__ import annotations

import base64
import os
import secrets
from typing import Any

#: htmx from a CDN, pinned with its integrity hash: the app needs no Node toolchain.
HTMX_URL = "https://unpkg.com/htmx.org@2.0.4/dist/htmx.min.js"
HTMX_INTEGRITY = "sha384-HGfztofotfshcF7+8n44JQL2oJmowVChPTg48S+jvZoztPfvwD79OC/LTtG6dMp+"

#: The demo account seeded into an empty database.
DEMO_USER = {"email": "demo@example.com", "password": "flowglad-demo", "name": "Demo User"}


def default_config() -> dict[str, Any]:
    """Defaults, then the environment: ``FLOWGLAD_SECRET_KEY`` switches to real Flowglad."""
    config: dict[str, Any] = {
        # "user": every user is a Flowglad customer (B2C).
        # "team": the user's team is the customer (B2B), see billing_identity.py.
        "SAAS_BILLING_MODE": os.environ.get("SAAS_BILLING_MODE", "user"),
        # "react": the billing page is the React app in frontend/ (@flowglad/react).
        # "jinja": flask-flowglad's server-rendered billing pages (FLOWGLAD_UI), no Node.
        "SAAS_UI": os.environ.get("SAAS_UI", "react"),
        # htmx on the server-rendered pages (they work without it); None leaves it out.
        "SAAS_HTMX_URL": HTMX_URL,
        # Prometheus metrics at /metrics (saas_app/metrics.py).
        "SAAS_METRICS": bool(os.environ.get("SAAS_METRICS")),
        "SAAS_DEMO_USER": DEMO_USER,
        # The sandbox signs its webhooks with this secret and delivers them in process.
        "FLOWGLAD_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    }
    if os.environ.get("SAAS_SECRET_KEY"):
        config["SECRET_KEY"] = os.environ["SAAS_SECRET_KEY"]
    secret_key = os.environ.get("FLOWGLAD_SECRET_KEY")
    if secret_key:
        config["FLOWGLAD_SECRET_KEY"] = secret_key
        config["FLOWGLAD_SANDBOX"] = False
        # Real Flowglad: the secret of the webhook endpoint made in its dashboard, if any.
        config.pop("FLOWGLAD_WEBHOOK_SECRET")
        if os.environ.get("FLOWGLAD_WEBHOOK_SECRET"):
            config["FLOWGLAD_WEBHOOK_SECRET"] = os.environ["FLOWGLAD_WEBHOOK_SECRET"]
    # A shared `flask flowglad sandbox` process, and the billing cache shared by workers.
    for key in ("FLOWGLAD_BASE_URL", "FLOWGLAD_BILLING_CACHE", "FLOWGLAD_USAGE_OUTBOX"):
        if os.environ.get(key):
            config[key] = os.environ[key]
    return config


def instance_secret(directory: str) -> str:
    """Flask's ``SECRET_KEY`` for a development machine: made once, kept in ``directory``
    (read by every process, so a restart or another worker keeps the session)."""
    path = os.path.join(directory, "secret-key")
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return instance_secret(directory)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key
