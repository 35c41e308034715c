"""One contract for every store (:mod:`flask_flowglad.storage`): Redis, SQLite, and a cache
object (cachelib, Flask-Caching), each chosen by :func:`open_store` from one setting."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cachelib import SimpleCache
from flask import Flask
from flask_caching import Cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_flowglad.errors import ConfigurationError
from flask_flowglad.storage import (
    ObjectStore,
    RedisStore,
    SQLiteStore,
    Store,
    open_store,
    store_setting_problem,
)

from ..support.apps import make_app
from ..support.cache_support import running_redis

KINDS = ["redis", "sqlite", "cachelib", "flask-caching"]


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    kind = request.param
    if kind == "redis":
        with running_redis(tmp_path) as server:
            yield open_store(server.url, timeout=1.0)
    elif kind == "sqlite":
        yield open_store(f"sqlite:///{tmp_path}/store.sqlite3", timeout=1.0)
    elif kind == "cachelib":
        yield open_store(SimpleCache(), timeout=1.0)
    else:
        app = Flask(__name__)
        cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})
        with app.app_context():
            yield open_store(cache, timeout=1.0)


def test_open_store_chooses_the_implementation_by_the_setting(tmp_path: Path) -> None:
    assert isinstance(open_store("redis://127.0.0.1:1/0", timeout=0.1), RedisStore)
    assert isinstance(open_store("rediss://127.0.0.1:1/0", timeout=0.1), RedisStore)
    absolute = open_store(f"sqlite:///{tmp_path}/a.db", timeout=1)
    assert isinstance(absolute, SQLiteStore) and absolute.path == f"{tmp_path}/a.db"
    relative = open_store("sqlite:///b.db", timeout=1, root=str(tmp_path))
    assert isinstance(relative, SQLiteStore) and relative.path == os.path.join(tmp_path, "b.db")
    bare = open_store("c.sqlite3", timeout=1, root=str(tmp_path))
    assert isinstance(bare, SQLiteStore) and bare.path == os.path.join(tmp_path, "c.sqlite3")
    assert isinstance(open_store(SimpleCache(), timeout=1), ObjectStore)
    made = open_store("sqlite:///x.db", timeout=1, root=str(tmp_path))
    assert open_store(made, timeout=1) is made


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("memcached://127.0.0.1", "names no store"),
        ("localhost:6379", "redis://localhost:6379/0"),
        ("redis://[::1", "not a usable URL"),
        ("sqlite://", "needs a file path"),
        ("   ", "empty"),
        (3, "no get, set and delete"),
        (object(), "no get, set and delete"),
    ],
)
def test_a_setting_that_names_no_store_says_why(setting: Any, reason: str) -> None:
    problem = store_setting_problem(setting)
    assert problem is not None and reason in problem
    with pytest.raises(ValueError, match="."):
        open_store(setting, timeout=1)


@pytest.mark.parametrize("key", ["FLOWGLAD_BILLING_CACHE", "FLOWGLAD_WEBHOOK_STORE"])
def test_both_settings_are_checked_by_the_one_parser(key: str) -> None:
    from flask_flowglad import Flowglad

    app = make_app(**{key: "redis://:hunter22@[::1", "FLOWGLAD_WEBHOOK_SECRET": None})
    with pytest.raises(ConfigurationError, match=key) as refused:
        Flowglad(app)
    assert "hunter22" not in str(refused.value)


def test_get_set_delete_and_expiry(store: Store) -> None:
    assert store.get("missing") is None
    store.set("k", b"\x00value\xff", 60)
    assert store.get("k") == b"\x00value\xff"
    store.set("k", b"other", 60)
    assert store.get("k") == b"other"
    store.delete("k")
    assert store.get("k") is None
    store.delete("k")  # deleting what is not there is no error
    store.set("short", b"v", 1)
    time.sleep(1.2)
    assert store.get("short") is None


def test_add_sets_only_an_absent_key(store: Store) -> None:
    assert store.add("lock", b"a", 60) is True
    assert store.add("lock", b"b", 60) is False
    assert store.get("lock") == b"a"
    store.delete("lock")
    assert store.add("lock", b"c", 60) is True


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_of_many_threads_adding_one_key_exactly_one_wins(kind: str, tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        setting = server.url if kind == "redis" else str(tmp_path / "race.sqlite3")
        store = open_store(setting, timeout=2.0)
        wins: list[bool] = []
        barrier = threading.Barrier(16)

        def take() -> None:
            barrier.wait()
            wins.append(store.add("the-last-seat", threading.current_thread().name.encode(), 60))

        threads = [threading.Thread(target=take) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False] * 15 + [True]


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_the_atomic_steps_of_the_billing_cache(kind: str, tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        setting = server.url if kind == "redis" else str(tmp_path / "atomic.sqlite3")
        store: Any = open_store(setting, timeout=2.0)
        store.set("lock", b"mine", 60)
        assert store.set_if_held("lock", b"theirs", "entry", b"x", 60) is False
        assert store.get("entry") is None and store.get("lock") == b"mine"
        assert store.set_if_held("lock", b"mine", "entry", b"x", 60) is True
        assert store.get("entry") == b"x" and store.get("lock") is None
        store.set("lock", b"again", 60)
        store.delete_unless_tagged("entry", b"P", "lock")
        assert store.get("entry") is None and store.get("lock") is None
        store.set("entry", b"P-pinned", 60)
        store.delete_unless_tagged("entry", b"P", "lock")
        assert store.get("entry") == b"P-pinned"


KEYS = st.sampled_from(["a", "b", "c"])
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, st.binary(max_size=16)),
        st.tuples(st.just("add"), KEYS, st.binary(max_size=16)),
        st.tuples(st.just("delete"), KEYS, st.just(b"")),
        st.tuples(st.just("get"), KEYS, st.just(b"")),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_sqlite_and_cache_objects_behave_as_a_dict(tmp_path_factory: Any, operations: Any) -> None:
    """Any sequence of calls, on the stores that need no server, answers as a plain dict."""
    directory = tmp_path_factory.mktemp("model")
    stores = [SQLiteStore(directory / "model.sqlite3"), ObjectStore(SimpleCache())]
    for store in stores:
        model: dict[str, bytes] = {}
        for name, key, value in operations:
            if name == "set":
                store.set(key, value, 60)
                model[key] = value
            elif name == "add":
                assert store.add(key, value, 60) is (key not in model)
                model.setdefault(key, value)
            elif name == "delete":
                store.delete(key)
                model.pop(key, None)
            else:
                assert store.get(key) == model.get(key)
