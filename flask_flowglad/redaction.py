"""Keeping Flowglad secret keys out of everything the package logs, raises or prints.

Flowglad's error pages, a proxy's or a misconfigured gateway's may echo the request's
``Authorization`` header back; a log line or an exception message built from such a body
would publish the key. Every text that may hold one goes through :func:`redact` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["mask_key", "mask_url_password", "one_line", "redact"]

#: Flowglad secret keys: ``sk_test_...`` and ``sk_live_...``.
_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9])sk_(?:test|live)_[A-Za-z0-9_\-]+")
#: A configured key shorter than this is not searched for in free text: masking every
#: occurrence of a two-letter string would garble messages and hide nothing.
_MIN_SEARCHED_LENGTH = 8
_ELLIPSIS = "\u2026"
#: A password given in a URL's query (redis-py reads ``?password=``).
_PASSWORD_PARAMETER = re.compile(r"(?<=[?&])password=[^&#]*")


def mask_key(key: str) -> str:
    """A key as it may be shown: its mode and last four characters, ``sk_live_…abcd``.

    A key too short to keep four characters hidden shows nothing of itself.
    """
    prefix = ""
    for mode in ("sk_test_", "sk_live_"):
        if key.startswith(mode):
            prefix = mode
    rest = key[len(prefix) :]
    tail = rest[-4:] if len(rest) >= 12 else ""
    return f"{prefix}{_ELLIPSIS}{tail}"


def mask_url_password(url: str) -> str:
    """A URL as it may be shown (a ``redis://`` cache's): its password, in the user part
    or as a ``password`` query parameter, masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return _ELLIPSIS
    if password is not None:
        host = parts.netloc.rpartition("@")[2]
        url = url.replace(parts.netloc, f"{parts.username or ''}:{_ELLIPSIS}@{host}", 1)
    return _PASSWORD_PARAMETER.sub(f"password={_ELLIPSIS}", url)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret key masked by :func:`mask_key`.

    Anything shaped like a Flowglad key is masked, and so is each of ``secrets`` (the
    configured key, whatever its shape) wherever it occurs.
    """
    for secret in secrets:
        if secret and len(secret) >= _MIN_SEARCHED_LENGTH and secret in text:
            text = text.replace(secret, mask_key(secret))
    return _SECRET_KEY.sub(lambda match: mask_key(match.group()), text)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An error as one line of at most ``limit`` characters with secret keys masked: for
    a terminal, a report or a log that others read."""
    text = redact(" ".join(str(exc).split())) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
