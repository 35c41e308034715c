"""A :class:`~flask_flowglad.storage.base.Store` on a Redis server, through redis-py."""

from __future__ import annotations

from typing import Any

__all__ = ["RedisStore"]


class RedisStore:
    """A Redis server, with a timeout on every call and no retries.

    A failing Redis is skipped by its users (the billing cache reads Flowglad instead), so
    a retry would only add waits. redis-py's pool notices a fork and reconnects in the
    child, so a store made before gunicorn forks (``--preload``) is safe in every worker.

    Besides the :class:`Store` calls it does atomically what other stores do in two
    steps: :meth:`set_if_held` and :meth:`delete_unless_tagged`.
    """

    _SET_IF_HELD = """
    if redis.call('GET', KEYS[1]) == ARGV[1] then
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
        redis.call('DEL', KEYS[1])
        return 1
    end
    return 0
    """
    _DELETE_UNLESS_TAGGED = """
    local value = redis.call('GET', KEYS[1])
    if value and string.sub(value, 1, string.len(ARGV[1])) ~= ARGV[1] then
        redis.call('DEL', KEYS[1])
    end
    for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
    return 1
    """
    _SET_AND_DELETE = """
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
    return 1
    """

    def __init__(self, url: str, timeout: float) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "A redis:// store needs redis-py: pip install 'flask-flowglad[cache]'"
            ) from None
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._set_if_held = self.client.register_script(self._SET_IF_HELD)
        self._delete_unless_tagged = self.client.register_script(self._DELETE_UNLESS_TAGGED)
        self._set_and_delete = self.client.register_script(self._SET_AND_DELETE)

    def __repr__(self) -> str:
        kwargs = self.client.connection_pool.connection_kwargs
        return f"<RedisStore {kwargs.get('host', kwargs.get('path'))}:{kwargs.get('port', '')}>"

    def get(self, key: str) -> bytes | None:
        value = self.client.get(key)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, timeout: float) -> None:
        self.client.set(key, value, px=_millis(timeout))

    def add(self, key: str, value: bytes, timeout: float) -> bool:
        return bool(self.client.set(key, value, px=_millis(timeout), nx=True))

    def delete(self, key: str) -> None:
        self.client.delete(key)

    def get_many(self, *keys: str) -> list[bytes | None]:
        """The values of ``keys`` in one round trip."""
        return [v if isinstance(v, bytes) else None for v in self.client.mget(keys)]

    def set_if_held(
        self, lock: str, token: bytes, key: str, value: bytes, timeout: float, *drop: str
    ) -> bool:
        """Set ``key`` and delete ``drop`` only while ``lock`` still holds ``token``, then
        free the lock: a value read before someone dropped the lock is never stored."""
        args: list[Any] = [token, value, _millis(timeout)]
        return bool(self._set_if_held(keys=[lock, key, *drop], args=args))

    def delete_unless_tagged(self, key: str, tag: bytes, *also: str) -> None:
        """Delete ``key`` unless its value starts with ``tag``, and ``also`` in any case."""
        self._delete_unless_tagged(keys=[key, *also], args=[tag])

    def set_and_delete(self, key: str, value: bytes, timeout: float, *drop: str) -> None:
        """Set ``key`` and delete ``drop``, as one step."""
        self._set_and_delete(keys=[key, *drop], args=[value, _millis(timeout)])


def _millis(seconds: float) -> int:
    return max(1, round(seconds * 1000))
