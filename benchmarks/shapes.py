"""Compare two JSON answers: identical, the same shape, or different (and where).

The two servers answer for the same customer of the same sandbox, so most answers should be
identical; ids of records created per request (checkout sessions) can only match in shape.
"""

from __future__ import annotations

from typing import Any


def kind(value: Any) -> str:
    """The JSON type of a value; ints and floats are both numbers, as in JavaScript."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def differences(ours: Any, theirs: Any, path: str = "data", limit: int = 8) -> list[str]:
    """Where the shapes differ (missing members, other types, other lengths); empty if none."""
    found: list[str] = []
    _walk(ours, theirs, path, found, limit)
    return found


def compare(ours: Any, theirs: Any) -> tuple[str, list[str]]:
    """``("identical" | "same shape" | "different", differences)``."""
    if ours == theirs:
        return "identical", []
    found = differences(ours, theirs)
    return ("different" if found else "same shape"), found


def _walk(ours: Any, theirs: Any, path: str, found: list[str], limit: int) -> None:
    if len(found) >= limit:
        return
    if kind(ours) != kind(theirs):
        found.append(f"{path}: ours is {kind(ours)}, reference is {kind(theirs)}")
    elif isinstance(ours, dict):
        for key in sorted(set(ours) | set(theirs)):
            if key not in theirs:
                found.append(f"{path}.{key}: only in ours")
            elif key not in ours:
                found.append(f"{path}.{key}: only in the reference")
            else:
                _walk(ours[key], theirs[key], f"{path}.{key}", found, limit)
    elif isinstance(ours, list):
        if len(ours) != len(theirs):
            found.append(f"{path}: {len(ours)} items in ours, {len(theirs)} in the reference")
        for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
            _walk(a, b, f"{path}[{index}]", found, limit)
