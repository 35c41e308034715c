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
        value = self.cache.get(key)
        if isinstance(value, str):  # a cache that decoded what it was given
            return value.encode("utf-8", "surrogateescape")
        return value if isinstance(value, bytes) else None

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


def _whole_seconds(timeout: float) -> int:
    return max(1, math.ceil(timeout))
