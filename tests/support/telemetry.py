"""The app the telemetry tests drive, a Flowglad that is slow where told, and the check that
no customer's id and no key is told anywhere."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cachelib import SimpleCache
from flask import Flask
from flask_login import FlaskLoginClient, LoginManager, UserMixin

from flask_flowglad import Flowglad
from flask_flowglad.sandbox import Sandbox

from .cache_support import Clock

#: The customer: an id distinctive enough to be searched for in everything told.
CUSTOMER = "ada-lovelace-1815"
EMAIL = "ada@example.com"
WEBHOOK_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
WEBHOOK_PATH = "/webhooks/flowglad"
SUCCESS = {"successUrl": "http://localhost/ok", "cancelUrl": "http://localhost/no"}


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id
        self.name = "Ada Lovelace"
        self.email = EMAIL


def stale_ready_app(flowglad_url: str, sandbox: Sandbox, **config: Any) -> tuple[Flask, Clock]:
    """:func:`billed_app` with a shared billing cache (TTL 60 s, stale-if-error 600 s)
    whose clock the test moves."""
    app = billed_app(
        flowglad_url,
        sandbox,
        FLOWGLAD_BILLING_CACHE=SimpleCache(),
        FLOWGLAD_BILLING_CACHE_TTL=60,
        FLOWGLAD_STALE_IF_ERROR=600,
        **config,
    )
    clock = Clock()
    app.extensions["flowglad"].billing_cache._clock = clock
    return app, clock


def billed_app(flowglad_url: str, sandbox: Sandbox, **config: Any) -> Flask:
    """An app billing through ``flowglad_url`` (a real socket), flask-login's user the
    customer, the webhook endpoint on."""
    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY="test",
        FLOWGLAD_SECRET_KEY=sandbox.secret_key,
        FLOWGLAD_BASE_URL=flowglad_url,
        FLOWGLAD_WEBHOOK_SECRET=WEBHOOK_SECRET,
        FLOWGLAD_WEBHOOK_PATH=WEBHOOK_PATH,
        FLOWGLAD_WEBHOOK_STORE=SimpleCache(),
    )
    app.config.update(config)
    login = LoginManager(app)

    @login.user_loader
    def load_user(user_id: str) -> User:
        return User(user_id)

    app.test_client_class = FlaskLoginClient
    Flowglad(app)
    return app


class SlowPaths:
    """WSGI middleware: requests whose path contains a key wait that many seconds."""

    def __init__(self) -> None:
        self.delays: dict[str, float] = {}
        self._stop = threading.Event()

    def around(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def slowed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            for part, seconds in self.delays.items():
                if part in environ.get("PATH_INFO", ""):
                    self._stop.wait(seconds)
            return app(environ, start_response)

        return slowed


def told(spans: Iterable[Any], records: Iterable[logging.LogRecord]) -> list[str]:
    """Every text the spans and log records tell: names, attributes, events, messages and
    the records' extra fields."""
    texts: list[str] = []
    for span in spans:
        texts.append(span.name)
        texts.extend(f"{key}={value}" for key, value in (span.attributes or {}).items())
        for event in span.events:
            texts.append(event.name)
            texts.extend(f"{key}={value}" for key, value in (event.attributes or {}).items())
        texts.append(str(span.status.description or ""))
    for record in records:
        texts.append(record.getMessage())
        texts.extend(f"{key}={value}" for key, value in vars(record).items())
    return texts


def assert_nothing_names(secrets: Iterable[str], texts: list[str]) -> None:
    for secret in secrets:
        leaks = [text for text in texts if secret in text]
        assert leaks == [], f"{secret!r} told in {leaks[:3]}"
