"""The steps the billing cache takes in one call where a store can: several keys read at
once, an entry stored with its usage mark dropped only under its lock, a mark set with
the lock dropped, an entry dropped with its lock and mark unless it is a pin. On Redis
and SQLite (atomic), and on a cache object (one call after another)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cachelib import SimpleCache

from flask_flowglad.storage import ObjectStore, open_store

from ..support.cache_support import running_redis


@pytest.mark.parametrize("kind", ["redis", "sqlite", "object"])
def test_the_steps_of_the_billing_cache(kind: str, tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        store: Any
        if kind == "object":
            store = ObjectStore(SimpleCache())
        else:
            setting = server.url if kind == "redis" else str(tmp_path / "steps.sqlite3")
            store = open_store(setting, timeout=2.0)
        store.set("entry", b"B-old", 60)
        store.set("mark", b"U", 60)
        assert store.get_many("entry", "nothing", "mark") == [b"B-old", None, b"U"]
        if kind == "object":
            return  # no atomic steps: the cache falls back to get, set and delete
        store.set("lock", b"mine", 60)
        assert store.set_if_held("lock", b"theirs", "entry", b"B-new", 60, "mark") is False
        assert store.get_many("entry", "mark", "lock") == [b"B-old", b"U", b"mine"]
        assert store.set_if_held("lock", b"mine", "entry", b"B-new", 60, "mark") is True
        assert store.get_many("entry", "mark", "lock") == [b"B-new", None, None]
        store.set("lock", b"again", 60)
        store.set_and_delete("mark", b"U", 60, "lock")
        assert store.get_many("entry", "mark", "lock") == [b"B-new", b"U", None]
        store.delete_unless_tagged("entry", b"P", "lock", "mark")
        assert store.get_many("entry", "mark", "lock") == [None, None, None]
        store.set("entry", b"P-pinned", 60)
        store.set("mark", b"U", 60)
        store.delete_unless_tagged("entry", b"P", "lock", "mark")
        assert store.get_many("entry", "mark") == [b"P-pinned", None]
