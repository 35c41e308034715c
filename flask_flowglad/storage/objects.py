"""A :class:`~flask_flowglad.storage.base.Store` around a cache object the app already has."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["ObjectStore"]


class ObjectStore:
    """Any object with ``get``, ``set(key, value, timeout)`` and ``delete``: a
    Flask-Caching ``Cache`` (``cache`` or ``cache.cache``), a cachelib cache.

    Such caches take whole seconds, so a timeout is rounded up (never to 0, which means
    "forever" to them). ``add`` is the object's own when it has one (atomic on cachelib's
    Redis and Memcached caches); else a read then a write, which two workers can race.
    """

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def __repr__(self) -> str:
        return f"<ObjectStore {self.cache!r}>"

    def get(self, key: str) -> bytes | None:
        return _bytes(self.cache.get(key))

    def get_many(self, *keys: str) -> list[bytes | None]:
        """The object's own ``get_many`` when it has one (one round trip on cachelib's
        Redis cache), else one ``get`` per key."""
        get_many = getattr(self.cache, "get_many", None)
        values = get_many(*keys) if callable(get_many) else [self.cache.get(k) for k in keys]
        return [_bytes(value) for value in values]

    def set(self, key: str, value: bytes, timeout: float) -> None:
        self.cache.set(key, value, _whole_seconds(timeout))

    def add(self, key: str, value: bytes, timeout: float) -> bool:
        add = getattr(self.cache, "add", None)
        if callable(add):
            return bool(add(key, value, _whole_seconds(timeout)))
        if self.cache.get(key) is not None:
            return False
        self.cache.set(key, value, _whole_seconds(timeout))
        return True

    def delete(self, key: str) -> None:
        self.cache.delete(key)


def _bytes(value: Any) -> bytes | None:
    if isinstance(value, str):  # a cache that decoded what it was given
        return value.encode("utf-8", "surrogateescape")
    return value if isinstance(value, bytes) else None


def _whole_seconds(timeout: float) -> int:
    return max(1, math.ceil(timeout))
