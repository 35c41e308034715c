"""The shared billing cache's rules on backends other than Redis, and its configuration."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from cachelib import SimpleCache

from flask_flowglad import Flowglad
from flask_flowglad.cache import HEADER_BYTES, KEY_PREFIX, SharedBillingCache, account_hash
from flask_flowglad.errors import ConfigurationError
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.storage import ObjectStore

from ..support.apps import User, make_app
from ..support.cache_support import PREFIX, HTTPUpstream, billing_app, plan_of, post


class DictBackend:
    """The least a backend may offer: get, set and delete (no ``add``)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any, timeout: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class BrokenBackend(DictBackend):
    def get(self, key: str) -> Any:
        raise ConnectionError("cache is down")


@pytest.fixture
def upstream() -> Iterator[HTTPUpstream]:
    upstream = HTTPUpstream()
    upstream.sandbox.put_customer_on_plan("u1", "pro_monthly")
    yield upstream
    upstream.close()


def _simple_cache() -> SimpleCache:
    """cachelib's in-memory cache (what Flask-Caching's SimpleCache wraps), shared by
    passing the one object to every app."""
    return SimpleCache()


def test_the_cache_is_off_by_default() -> None:
    app = make_app()
    Flowglad(app)
    assert app.extensions["flowglad"].billing_cache is None


@pytest.mark.parametrize("value", [False, "", "off", "false"])
def test_false_and_off_strings_turn_the_cache_off(value: Any) -> None:
    app = make_app(FLOWGLAD_BILLING_CACHE=value)
    Flowglad(app)
    assert app.extensions["flowglad"].billing_cache is None


@pytest.mark.parametrize(
    "value", ["memcached://127.0.0.1", "localhost:6379", "redis://[::1", 3, object()]
)
def test_a_cache_setting_that_is_neither_a_redis_url_nor_a_backend_is_refused(value: Any) -> None:
    app = make_app(FLOWGLAD_BILLING_CACHE=value)
    with pytest.raises(ConfigurationError, match="FLOWGLAD_BILLING_CACHE"):
        Flowglad(app)


def test_a_redis_url_makes_a_redis_store_with_the_configured_timeout() -> None:
    app = make_app(FLOWGLAD_BILLING_CACHE="redis://127.0.0.1:1/0", FLOWGLAD_BILLING_CACHE_TTL=5)
    Flowglad(app, billing_cache_timeout=0.25)
    cache = app.extensions["flowglad"].billing_cache
    assert cache.ttl == 5
    kwargs = cache.store.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.25


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter22@127.0.0.1:1/0",
        "rediss://app:hunter22@127.0.0.1:1/0?db=1",
        "unix:///run/redis.sock?db=0&password=hunter22",
    ],
)
def test_the_settings_never_show_a_cache_password(url: str) -> None:
    app = make_app(FLOWGLAD_BILLING_CACHE=url)
    Flowglad(app)
    shown = repr(app.extensions["flowglad"].settings)
    assert "hunter22" not in shown
    assert url.split("hunter22")[0] in shown
    refused = make_app(FLOWGLAD_BILLING_CACHE=f"mem{url}")  # no such scheme
    with pytest.raises(ConfigurationError) as refusal:
        Flowglad(refused)
    assert "hunter22" not in str(refusal.value)


def test_keys_carry_mode_and_account_never_the_key_or_the_customer_id() -> None:
    secret = "sk_live_abcdef123456"
    cache = SharedBillingCache(
        ObjectStore(DictBackend()),
        mode="live",
        account=account_hash(secret, "https://app.flowglad.com"),
        ttl=60,
        checkout_window=600,
    )
    key = cache.key("user:42")
    assert key.startswith(f"{KEY_PREFIX}:live:")
    assert "abcdef" not in key and "user" not in key and "42" not in key
    assert cache.key("user:42") == key
    assert cache.key("user:43") != key


def test_account_hashes_differ_by_key_host_and_salt() -> None:
    base = account_hash("sk_test_a", "https://app.flowglad.com")
    assert account_hash("sk_test_a", "https://app.flowglad.com") == base
    assert account_hash("sk_test_b", "https://app.flowglad.com") != base
    assert account_hash("sk_test_a", "http://127.0.0.1:9000") != base
    assert account_hash("sk_test_a", "https://app.flowglad.com", "salt") != base


def test_two_apps_on_one_cachelib_cache_read_billing_upstream_once(
    upstream: HTTPUpstream,
) -> None:
    cache = _simple_cache()
    apps = [billing_app(upstream, cache)[0] for _ in range(2)]
    for app in apps * 2:
        assert plan_of(post(app, "customers/billing")[1]) == "pro_monthly"
    assert upstream.billing_reads("u1") == 1


def test_a_backend_with_only_get_set_delete_is_shared_and_invalidated(
    upstream: HTTPUpstream,
) -> None:
    backend = DictBackend()
    (one, _), (two, _) = (billing_app(upstream, backend) for _ in range(2))
    _, before = post(one, "usage-meters/balances")
    post(two, "usage-meters/balances")
    assert upstream.billing_reads("u1") == 1
    post(two, "usage-events/create", body={"usageMeterSlug": "api_calls", "amount": 2})
    _, after = post(one, "usage-meters/balances")
    [old], [new] = before["usageMeterBalances"], after["usageMeterBalances"]
    assert new["availableBalance"] == old["availableBalance"] - 2


def test_billing_is_served_as_the_cached_bytes(upstream: HTTPUpstream) -> None:
    backend = DictBackend()
    app, _ = billing_app(upstream, backend)
    first = app.test_client(user=User("u1")).post(f"{PREFIX}/customers/billing", json={})
    [stored] = backend.values.values()
    # The tag, the seal, the time it was read, then the bytes the browser gets, which a
    # hit sends unparsed.
    assert first.data == b'{"data":' + stored[HEADER_BYTES:] + b"}"
    second = app.test_client(user=User("u1")).post(f"{PREFIX}/customers/billing", json={})
    assert second.data == first.data
    assert second.mimetype == "application/json"
    uncached, _ = billing_app(upstream, None)
    assert json.loads(second.data)["data"] == post(uncached, "customers/billing")[1]


def test_an_upstream_billing_without_a_customer_is_a_502_and_never_cached(
    upstream: HTTPUpstream,
) -> None:
    backend = DictBackend()
    app, _ = billing_app(upstream, backend)
    upstream.billing_body = b'{"subscriptions": []}'
    for _ in range(2):
        assert post(app, "customers/billing")[0] == 502
    assert backend.values == {}
    assert upstream.billing_reads("u1") == 2
    upstream.billing_body = None
    assert plan_of(post(app, "customers/billing")[1]) == "pro_monthly"


@pytest.mark.parametrize(
    "entry",
    [b"{}", b'{"customer": null}', b"[]", b"null", b"{not json", b"\xff\xfe", b"sealed:"],
)
@pytest.mark.parametrize("action", ["customers/billing", "usage-meters/balances"])
def test_a_cached_entry_this_app_did_not_seal_is_replaced_from_upstream(
    upstream: HTTPUpstream, entry: bytes, action: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend = DictBackend()
    app, _ = billing_app(upstream, backend)
    cache = app.extensions["flowglad"].billing_cache
    key = cache.key("u1")
    if entry == b"sealed:":
        # A real billing, sealed by another app's key: never trusted either.
        other = SharedBillingCache(
            ObjectStore(DictBackend()), mode="test", account="x", ttl=60, checkout_window=600
        )
        entry = other._seal(key, b'{"customer": {}}')[1:]
    backend.values[key] = b"B" + entry
    status, data = post(app, action)
    assert status == 200
    assert data == post(billing_app(upstream, None)[0], action)[1]
    assert "unusable entry of the shared billing cache" in caplog.text
    assert upstream.billing_reads("u1") == 2
    # The entry was replaced by a billing this app sealed: the next reads are served from it.
    assert backend.values[key] != b"B" + entry
    for _ in range(2):
        assert post(app, action) == (200, data)
    assert upstream.billing_reads("u1") == 2


def test_a_failing_backend_answers_from_upstream_and_warns_once(
    upstream: HTTPUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = billing_app(upstream, BrokenBackend())
    answers = [post(app, "customers/billing") for _ in range(3)]
    assert [status for status, _ in answers] == [200, 200, 200]
    assert caplog.text.count("shared billing cache failed") == 1
    assert upstream.billing_reads("u1") == 3


def test_a_checkout_pin_survives_invalidations_until_it_expires() -> None:
    backend = DictBackend()
    cache = SharedBillingCache(
        ObjectStore(backend), mode="test", account="a", ttl=60, checkout_window=600
    )
    reads: list[int] = []

    def load(stale_available: bool) -> bytes:
        reads.append(1)
        return b"{}"

    cache.pin("u1")
    cache.invalidate("u1")
    for _ in range(3):
        assert cache.read("u1", load).payload == b"{}"
    assert len(reads) == 3  # every read bypassed the cache while pinned
    backend.delete(cache.key("u1"))  # the pin's time is up
    cache.read("u1", load)
    cache.read("u1", load)
    assert len(reads) == 4


def test_in_memory_sandboxes_of_two_apps_never_share_entries() -> None:
    cache = _simple_cache()
    first, second = Sandbox(), Sandbox()
    first.put_customer_on_plan("u1", "free")
    second.put_customer_on_plan("u1", "pro_monthly")
    apps = []
    for sandbox in (first, second):
        app = make_app(FLOWGLAD_SECRET_KEY=None)
        with pytest.warns(UserWarning):
            Flowglad(app, sandbox=sandbox, billing_cache=cache)
        apps.append(app)
    for _ in range(2):
        assert plan_of(post(apps[0], "customers/billing")[1]) == "free"
        assert plan_of(post(apps[1], "customers/billing")[1]) == "pro_monthly"


def test_an_in_memory_sandbox_keeps_its_entries_to_its_own_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(FLOWGLAD_SECRET_KEY=None)
    with pytest.warns(UserWarning):
        Flowglad(app, sandbox=True, billing_cache=DictBackend())
    cache = app.extensions["flowglad"].billing_cache
    before_fork = cache.key("u1")
    # A worker forked after preload is another process with a copy of the sandbox.
    monkeypatch.setattr(os, "getpid", lambda: -1)
    assert cache.key("u1") != before_fork
