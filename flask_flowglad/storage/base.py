"""The :class:`Store` protocol: what the billing cache and the webhook ledger need of a
key-value store. Its implementations live beside it; :func:`flask_flowglad.storage.open_store`
chooses one from a setting."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """What flask-flowglad keeps between requests: bytes under a key, with an expiry.

    ``add`` sets only an absent key and says whether it did: atomic on Redis and SQLite,
    so of two workers taking one lock or one webhook id, one wins.

    A store may also offer ``get_many`` (several keys in one round trip) and the atomic
    steps of the billing cache (``set_if_held``, ``delete_unless_tagged`` and
    ``set_and_delete``, see :class:`~.redis.RedisStore`); without them the cache takes
    several calls, with a window of one call between them.
    """

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or ``None`` when it is absent or expired."""

    def set(self, key: str, value: bytes, timeout: float) -> None:
        """Store ``value`` under ``key`` for ``timeout`` seconds, replacing any value."""

    def add(self, key: str, value: bytes, timeout: float) -> bool:
        """Store ``value`` only if ``key`` is absent; whether it did."""

    def delete(self, key: str) -> None:
        """Forget ``key``; deleting an absent key is no error."""
