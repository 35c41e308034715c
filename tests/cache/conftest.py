"""Fixtures of the cache's tests: a Redis server and Flowglad over HTTP, each the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support.cache_support import Clock, HTTPUpstream, RedisServer, running_redis


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


@pytest.fixture
def upstream() -> Iterator[HTTPUpstream]:
    """Flowglad on 127.0.0.1, with ``u1`` on the paid plan and ``u2`` on the free one."""
    upstream = HTTPUpstream()
    upstream.sandbox.put_customer_on_plan("u1", "pro_monthly")
    upstream.sandbox.put_customer_on_plan("u2", "free")
    yield upstream
    upstream.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()
