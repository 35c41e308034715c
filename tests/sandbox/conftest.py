"""Fixtures for the sandbox tests.

Every response the ``api`` fixture receives is checked against Flowglad's contract (see
``sandbox_helpers``), so a sandbox that drifts from the real shapes fails whichever
behaviour test sees it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import SHARED_CONTRACT, ApiClient, Contract


@pytest.fixture
def contract() -> Contract:
    return SHARED_CONTRACT


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[ApiClient]:
    client = ApiClient(sandbox, SHARED_CONTRACT)
    yield client
    client.session.close()


@pytest.fixture
def app(sandbox: Sandbox) -> Flask:
    """A user's app with the hosted pages mounted where the extension mounts them."""
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.register_blueprint(sandbox.pages_blueprint(), url_prefix="/flowglad-sandbox")
    return app
