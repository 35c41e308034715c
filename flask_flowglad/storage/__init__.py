"""One key-value interface for what flask-flowglad keeps between requests and workers.

The shared billing cache (:mod:`flask_flowglad.cache`) and the ledger of handled webhooks
(:mod:`flask_flowglad.webhooks.ledger`) keep small values with an expiry, shared by every
worker of an app. They need the same four operations, so there is one :class:`Store`
protocol and three implementations, chosen by :func:`open_store` from one setting:

- ``redis://``, ``rediss://`` or ``unix://`` URL: :class:`~.redis.RedisStore`, every call
  bounded by a short timeout (one Redis for every machine);
- ``sqlite:///path`` URL, or a file path: :class:`~.sqlite.SQLiteStore` (every process
  of one machine);
- any object with ``get``, ``set(key, value, timeout)`` and ``delete`` (a Flask-Caching
  ``Cache``, a cachelib cache): :class:`~.objects.ObjectStore` around it.

Values are bytes; timeouts are seconds (fractions allowed), always greater than 0.
Like the client, this package knows nothing of Flask.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from ..redaction import mask_url_password
from .base import Store
from .objects import ObjectStore
from .redis import RedisStore
from .sqlite import SQLiteStore

__all__ = [
    "REDIS_SCHEMES",
    "ObjectStore",
    "RedisStore",
    "SQLiteStore",
    "SQLITE_SCHEME",
    "Store",
    "is_store_setting",
    "open_store",
    "store_setting_problem",
]

#: URL schemes read as a Redis server.
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
#: The URL scheme of a SQLite file, as SQLAlchemy writes it: ``sqlite:///relative/path``
#: or ``sqlite:////absolute/path``.
SQLITE_SCHEME = "sqlite"
#: ``localhost:6379`` and the like: a Redis address without its scheme, not a file name.
_HOST_AND_PORT = re.compile(r"[\w.-]+:\d+")


def open_store(setting: Any, *, timeout: float, root: str | None = None) -> Store:
    """The store ``setting`` names (see the module's docstring).

    ``timeout`` bounds each call to a Redis server. A relative SQLite path is taken
    from ``root`` (the app's instance folder), as Flask-SQLAlchemy does.
    """
    if isinstance(setting, (RedisStore, SQLiteStore, ObjectStore)):
        return setting
    problem = store_setting_problem(setting)
    if problem is not None:
        raise ValueError(problem)
    if isinstance(setting, (str, os.PathLike)):
        text = os.fspath(setting).strip()
        scheme = urlsplit(text).scheme.lower() if _is_url(text) else None
        if scheme in REDIS_SCHEMES:
            return RedisStore(text, timeout)
        path = sqlite_path(text) if scheme == SQLITE_SCHEME else text
        if root is not None and not os.path.isabs(path):
            path = os.path.join(root, path)
        return SQLiteStore(path)
    return ObjectStore(setting)


def store_setting_problem(value: Any) -> str | None:
    """Why ``value`` cannot name a store, or ``None``: checked once, when the app starts."""
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value).strip()
        if not text:
            return "an empty string names no store"
        if not _is_url(text):
            if _HOST_AND_PORT.fullmatch(text):
                return f"{text!r} looks like a Redis address: write redis://{text}/0"
            return None
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - parsing the port is part of the check
        except ValueError:
            return f"{mask_url_password(text)!r} is not a usable URL"
        scheme = parts.scheme.lower()
        if scheme in REDIS_SCHEMES:
            return None
        if scheme == SQLITE_SCHEME:
            return None if sqlite_path(text) else "a sqlite:/// URL needs a file path"
        return f"the scheme {scheme!r} names no store (use redis://, rediss:// or sqlite:///)"
    if all(callable(getattr(value, name, None)) for name in ("get", "set", "delete")):
        return None
    return f"{type(value).__name__} has no get, set and delete"


def is_store_setting(value: Any) -> bool:
    """Whether ``value`` can name a store."""
    return store_setting_problem(value) is None


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL; ``""`` when it
    names none (``sqlite://``, which SQLAlchemy reads as a database in memory)."""
    rest = url.split(":", 1)[1]
    return unquote(rest[3:]) if rest.startswith("///") else ""


def _is_url(text: str) -> bool:
    """Whether ``text`` is meant as a URL rather than a file path (``C:\\...`` included)."""
    return "://" in text or text.lower().startswith(SQLITE_SCHEME + ":")
