"""Fixtures for the sandbox tests.

Every response the ``api`` fixture receives is checked against Flowglad's contract (see
``sandbox_helpers``), so a sandbox that drifts from the real shapes fails whichever
behaviour test sees it.

The ``sandbox`` fixture runs each test twice: in memory, and kept in a state file. After
the second, a sandbox opened afresh on the file must hold exactly what the test's sandbox
holds: a rule that changed a record without saying so fails whichever test ran it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import SHARED_CONTRACT, ApiClient, Contract, assert_file_holds_the_same


@pytest.fixture
def contract() -> Contract:
    return SHARED_CONTRACT


@pytest.fixture(params=["memory", "file"])
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sandbox]:
    if request.param == "memory":
        yield Sandbox()
        return
    kept = Sandbox(path=tmp_path / "sandbox.db")
    yield kept
    assert_file_holds_the_same(kept)


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
