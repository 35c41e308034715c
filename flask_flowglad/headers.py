"""One case-insensitive header lookup for every mapping the package is handed.

Headers reach the core as ``requests``' :class:`~requests.structures.CaseInsensitiveDict`,
Werkzeug's :class:`~werkzeug.datastructures.Headers`, or a plain ``dict`` a caller built
(in any case, sometimes with a list of values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from requests.structures import CaseInsensitiveDict

__all__ = ["get_header"]


def get_header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """The first value of header ``name``, whatever the case of its key; ``None`` if absent.

    A header sent several times, or given as a list, gives its first value.
    """
    if not headers:
        return None
    # Reversed, so that when a name occurs more than once the first occurrence wins.
    items: Iterable[tuple[str, Any]] = reversed(list(headers.items()))
    value = CaseInsensitiveDict(items).get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return None if value is None else str(value)
