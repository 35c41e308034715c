"""The test app: Flask with flask-login, its user, and Flowglad's API at a fixed base URL."""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock as requests_mock_module
from flask import Flask
from flask_login import FlaskLoginClient, LoginManager, UserMixin

from flask_flowglad import Flowglad

BASE_URL = "https://flowglad.test"
API = BASE_URL + "/api/v1"


class User(UserMixin):
    def __init__(self, user_id: str, name: str | None = None, email: str | None = None) -> None:
        self.id = user_id
        self.name = name if name is not None else f"User {user_id}"
        self.email = email if email is not None else f"{user_id}@example.com"


def make_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY="test",
        FLOWGLAD_SECRET_KEY="sk_test_unit",
        FLOWGLAD_BASE_URL=BASE_URL,
        FLOWGLAD_MAX_RETRIES=0,
    )
    app.config.update(config)
    login_manager = LoginManager(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> User:
        return User(user_id)

    app.test_client_class = FlaskLoginClient
    return app


#: The extension object of each app made here (apps keep only its state).
_EXTENSIONS: dict[int, Flowglad] = {}


def remember(app: Flask, flowglad: Flowglad) -> Flask:
    """Keep ``flowglad`` for :func:`flowglad_of`, until :func:`forget`."""
    _EXTENSIONS[id(app)] = flowglad
    return app


def forget(app: Flask) -> None:
    _EXTENSIONS.pop(id(app), None)


def flowglad_of(app: Flask) -> Flowglad:
    """The :class:`Flowglad` that the ``app`` fixture set up."""
    return _EXTENSIONS[id(app)]


def calls(mocker: requests_mock_module.Mocker) -> list[tuple[str, str]]:
    """The upstream requests made, as (method, path) pairs."""
    return [(r.method, r.path) for r in mocker.request_history]


def make_sandbox_app(sandbox: Any, **config: Any) -> Flask:
    """An app of :func:`make_app` billing against ``sandbox``, its warning checked."""
    app = make_app(FLOWGLAD_SANDBOX=sandbox, FLOWGLAD_SECRET_KEY=None, **config)
    with pytest.warns(UserWarning, match="simulated"):
        remember(app, Flowglad(app))
    return app
