"""Flowglad's JSON answers, decoded fast and passed on as the bytes they came in.

orjson decodes a billing answer several times faster than the standard library, and it is
strict: whatever it accepts is JSON every browser's ``JSON.parse`` reads the same way (no
``NaN``, no invalid UTF-8, no lone surrogate, no byte order mark). So an answer it decoded
can be sent to the React SDK as it arrived, without being encoded again.

The rare answer only the standard library reads (a lone surrogate in a name) is still
read, as before; its bytes are then written again by :func:`encode`, so the browser gets
JSON it can read.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

__all__ = ["decode", "decode_verbatim", "encode"]


def decode(body: bytes) -> Any:
    """The value of a JSON document; :exc:`ValueError` for anything that is not JSON
    (``NaN``, ``Infinity`` and numbers out of range included)."""
    return decode_verbatim(body)[0]


def decode_verbatim(body: bytes) -> tuple[Any, bool]:
    """The value of a JSON document, and whether ``body`` may be sent on as it is."""
    try:
        return orjson.loads(body), True
    except orjson.JSONDecodeError:
        pass
    value = json.loads(body, parse_constant=_not_json, parse_float=_finite)
    return value, False


def encode(value: Any) -> bytes:
    """Compact ASCII JSON; :exc:`ValueError` for a number JSON cannot carry."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is out of range")
    return number
