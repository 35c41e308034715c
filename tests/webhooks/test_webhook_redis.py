"""Handled webhook ids in a real Redis, through cachelib's RedisCache: across machines."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from flask_flowglad.signals import webhook_received
from flask_flowglad.webhooks import ClaimState, DeliveryLedger

from ..support.cache_support import running_redis
from ..support.webhook_helpers import body_of, post, recording, signed, webhook_app


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A Redis server of this module's own (skipped without one, except in CI)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.port


def _cache(port: int, prefix: str = "test:") -> Any:
    try:
        from cachelib import RedisCache
    except ImportError:
        _unavailable("cachelib and redis are not installed (pip install -e .[test])")
    return RedisCache(host="127.0.0.1", port=port, key_prefix=prefix)


def test_two_machines_on_one_redis_run_a_delivery_once(tmp_path: Path, redis_port: int) -> None:
    # Each app has its own client of one Redis, as two machines would.
    one = webhook_app(tmp_path / "a", FLOWGLAD_WEBHOOK_STORE=_cache(redis_port, "m1:"))
    two = webhook_app(tmp_path / "b", FLOWGLAD_WEBHOOK_STORE=_cache(redis_port, "m1:"))
    body = body_of()
    with recording(webhook_received) as seen:
        first = post(one, body, signed(body, "msg_redis"))
        second = post(two, body, signed(body, "msg_redis"))
    assert first.json["data"]["duplicate"] is False
    assert second.json["data"]["duplicate"] is True
    assert len(seen) == 1


def test_concurrent_claims_on_redis_have_one_winner(redis_port: int) -> None:
    ids = [f"msg_{n}" for n in range(30)]
    won: list[str] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        ledger = DeliveryLedger(_cache(redis_port, "race:"))
        barrier.wait(5)
        for message_id in ids:
            if ledger.claim(message_id).state is ClaimState.CLAIMED:
                won.append(message_id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(won) == sorted(ids)


def test_a_released_claim_can_be_taken_again_on_redis(redis_port: int) -> None:
    ledger = DeliveryLedger(_cache(redis_port, "release:"))
    claim = ledger.claim("msg_1")
    assert ledger.claim("msg_1").state is ClaimState.IN_PROGRESS
    ledger.release("msg_1", claim.token)
    assert ledger.claim("msg_1").state is ClaimState.CLAIMED
    ledger.complete("msg_1")
    assert ledger.claim("msg_1").state is ClaimState.HANDLED


class RawRedisStore:
    """redis-py used directly, as the shared billing cache does: values come back as bytes."""

    def __init__(self, port: int) -> None:
        try:
            import redis
        except ImportError:
            _unavailable("redis is not installed (pip install -e .[test])")
        self.client = redis.Redis(host="127.0.0.1", port=port)

    def get(self, key: str) -> Any:
        return self.client.get(key)

    def set(self, key: str, value: Any, timeout: float) -> None:
        self.client.set(key, value, px=int(timeout * 1000))

    def add(self, key: str, value: Any, timeout: float) -> bool:
        return bool(self.client.set(key, value, px=int(timeout * 1000), nx=True))

    def delete(self, key: str) -> None:
        self.client.delete(key)


def test_a_store_answering_bytes_is_read_as_written(tmp_path: Path, redis_port: int) -> None:
    app = webhook_app(tmp_path, FLOWGLAD_WEBHOOK_STORE=RawRedisStore(redis_port))
    body = body_of()
    first = post(app, body, signed(body, "msg_bytes"))
    again = post(app, body, signed(body, "msg_bytes"))
    assert first.json["data"]["duplicate"] is False
    assert again.json["data"]["duplicate"] is True
    ledger = DeliveryLedger(RawRedisStore(redis_port))
    claim = ledger.claim("msg_bytes_2")
    ledger.release("msg_bytes_2", claim.token)
    assert ledger.claim("msg_bytes_2").state is ClaimState.CLAIMED
