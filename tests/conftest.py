from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests_mock as requests_mock_module
from flask import Flask

from flask_flowglad import Flowglad

from .support.apps import User, forget, make_app, remember


@pytest.fixture
def upstream() -> Iterator[requests_mock_module.Mocker]:
    """Flowglad's API, mocked; unmatched requests fail the test."""
    with requests_mock_module.Mocker() as mocker:
        yield mocker


@pytest.fixture
def app() -> Iterator[Flask]:
    app = make_app()
    remember(app, Flowglad(app))
    yield app
    forget(app)


@pytest.fixture
def client_for(app: Flask) -> Callable[..., Any]:
    def client_for(user_id: str | None = "u1") -> Any:
        return app.test_client(user=User(user_id)) if user_id else app.test_client()

    return client_for
