"""The minimal Flask app every benchmark of our side uses.

The customer is whoever the ``X-User`` header names. That is only acceptable in a
benchmark: a real app reads the customer from its login session, never from the request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from flask_flowglad import CustomerIdentity, Flowglad


def create_app(
    upstream_url: str, secret_key: str, *, billing_cache: Any = None, **options: Any
) -> tuple[Flask, Flowglad]:
    """The app; ``options`` are more keywords of :class:`Flowglad`."""
    app = Flask("flask_flowglad_bench")
    flowglad = Flowglad(
        app, secret_key=secret_key, base_url=upstream_url, billing_cache=billing_cache, **options
    )

    @flowglad.customer_loader
    def load_customer() -> CustomerIdentity | None:
        user = request.headers.get("X-User")
        if not user:
            return None
        return CustomerIdentity(user, name=f"User {user}", email=f"{user}@example.com")

    return app, flowglad
