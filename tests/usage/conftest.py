"""Fixtures of the usage outbox's tests: one PostgreSQL and one Redis for the whole run
(each test gets a database or a namespace of its own), and an outbox of each kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flask_flowglad.usage import UsageOutbox
from flask_flowglad.usage.redis import RedisOutbox
from flask_flowglad.usage.sql import SQLOutbox

from .services import DurableRedis, PostgresServer, running_postgres

#: The stores every contract test runs on.
STORES = ("sqlite", "postgresql", "redis")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DurableRedis]:
    server = DurableRedis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


OutboxFactory = Callable[[], UsageOutbox]


@pytest.fixture(params=STORES)
def make_outbox(request: pytest.FixtureRequest, tmp_path: Path) -> OutboxFactory:
    """Opens the test's one outbox of the parametrized kind (again: another handle on the
    same store, as another process would have)."""
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
        return lambda: SQLOutbox.from_url(url)
    if kind == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
        return lambda: SQLOutbox.from_url(url)
    redis_url = request.getfixturevalue("redis_server").url
    namespace = uuid.uuid4().hex
    return lambda: RedisOutbox(redis_url, namespace=namespace)


@pytest.fixture
def outbox(make_outbox: OutboxFactory) -> UsageOutbox:
    return make_outbox()
