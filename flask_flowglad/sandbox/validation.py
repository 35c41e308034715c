"""Checking request bodies as Flowglad's API does: every issue at once, shaped like zod's.

A body is read member by member with :class:`Check`; each wrong member adds an issue
(``{code, path, message}``) and :meth:`Check.done` refuses the request with all of them,
as ``400 BAD_REQUEST``. Every size is bounded by :mod:`~flask_flowglad.sandbox.limits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from . import limits
from .errors import bad_request, issue
from .records import Record
from .rules.usage import UsageInput

#: The members that name what a usage event is counted on; exactly one is given.
USAGE_IDENTIFIERS = ("priceId", "priceSlug", "usageMeterId", "usageMeterSlug")


class Check:
    """Collects validation issues, then fails once with all of them (as zod does)."""

    def __init__(self) -> None:
        self.issues: list[Record] = []

    def done(self) -> None:
        if self.issues:
            raise bad_request(self.issues)

    def obj(self, data: Any, key: str, path: Sequence[str | int]) -> Record:
        value = data.get(key) if isinstance(data, dict) else None
        if not isinstance(value, dict):
            self.issues.append(issue([*path, key], "Required object", "invalid_type"))
            return {}
        return value

    def string(
        self,
        data: Record,
        key: str,
        path: Sequence[str | int],
        *,
        required: bool = True,
        nullable: bool = False,
        max_length: int = limits.MAX_STRING,
    ) -> str | None:
        if key not in data:
            if required:
                self.issues.append(issue([*path, key], "Required", "invalid_type"))
            return None
        value = data[key]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.issues.append(issue([*path, key], "Expected string", "invalid_type"))
            return None
        if len(value) > max_length:
            message = f"String must contain at most {max_length} character(s)"
            self.issues.append(issue([*path, key], message, "too_big"))
            return None
        return value

    def ids(self, data: Record, keys: tuple[str, ...], path: Sequence[str | int]) -> None:
        """Optional id or slug members: strings of at most :data:`~limits.MAX_ID`."""
        for key in keys:
            self.string(data, key, path, required=False, nullable=True, max_length=limits.MAX_ID)

    def url(self, data: Record, key: str, path: Sequence[str | int]) -> None:
        value = self.string(data, key, path)
        if value is not None:
            parts = urlsplit(value.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.issues.append(issue([*path, key], "Invalid url", "invalid_string"))

    def integer(
        self,
        data: Record,
        key: str,
        path: Sequence[str | int],
        *,
        required: bool = True,
        minimum: int | None = None,
        maximum: int = limits.MAX_AMOUNT,
    ) -> int | None:
        if key not in data or (data[key] is None and not required):
            if required:
                self.issues.append(issue([*path, key], "Required", "invalid_type"))
            return None
        value = data[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            self.issues.append(issue([*path, key], "Expected integer", "invalid_type"))
            return None
        if minimum is not None and value < minimum:
            message = f"Number must be greater than or equal to {minimum}"
            self.issues.append(issue([*path, key], message, "too_small"))
            return None
        if value > maximum:
            message = f"Number must be less than or equal to {maximum}"
            self.issues.append(issue([*path, key], message, "too_big"))
            return None
        return value

    def enum(
        self,
        data: Record,
        key: str,
        path: Sequence[str | int],
        options: tuple[str, ...],
        *,
        required: bool = True,
    ) -> str | None:
        if key not in data and not required:
            return None
        value = data.get(key)
        if value not in options:
            expected = " | ".join(repr(o) for o in options)
            self.issues.append(issue([*path, key], f"Expected {expected}", "invalid_enum_value"))
            return None
        return str(value)

    def one_of(self, data: Record, keys: tuple[str, ...], path: Sequence[str | int]) -> str | None:
        present = [k for k in keys if data.get(k) is not None]
        if len(present) != 1:
            message = f"Provide exactly one of {', '.join(keys)}"
            self.issues.append(issue(path, message))
            return None
        return present[0]

    def metadata(self, data: Record, key: str, path: Sequence[str | int]) -> Record | None:
        value = data.get(key)
        if value is None:
            return None
        if (
            not isinstance(value, dict)
            or len(value) > limits.MAX_KEYS
            or not all(len(k) <= limits.MAX_ID for k in value)
            or not all(
                isinstance(v, (int, float, bool)) or (isinstance(v, str) and len(v) <= 500)
                for v in value.values()
            )
        ):
            message = (
                f"Expected an object of at most {limits.MAX_KEYS} members (keys up to "
                f"{limits.MAX_ID} characters): strings (up to 500 characters), numbers or "
                "booleans"
            )
            self.issues.append(issue([*path, key], message))
            return None
        return value

    def string_list(self, data: Record, key: str, path: Sequence[str | int]) -> list[str] | None:
        value = data.get(key)
        if (
            not isinstance(value, list)
            or not 0 < len(value) <= limits.MAX_LIST
            or not all(isinstance(v, str) and len(v) <= limits.MAX_ID for v in value)
        ):
            message = (
                f"Expected an array of 1 to {limits.MAX_LIST} strings of at most "
                f"{limits.MAX_ID} characters"
            )
            self.issues.append(issue([*path, key], message))
            return None
        return value


def usage_input(check: Check, raw: Record, path: Sequence[str | int]) -> UsageInput | None:
    before = len(check.issues)
    subscription_id = check.string(raw, "subscriptionId", path, max_length=limits.MAX_ID)
    amount = check.integer(raw, "amount", path, minimum=1)
    transaction_id = check.string(raw, "transactionId", path, max_length=limits.MAX_ID)
    kind = check.one_of(raw, USAGE_IDENTIFIERS, path)
    identifier = check.string(raw, kind, path, max_length=limits.MAX_ID) if kind else None
    usage_date = check.integer(
        raw, "usageDate", path, required=False, minimum=0, maximum=limits.MAX_TIMESTAMP_MS
    )
    properties = raw.get("properties")
    if properties is not None and (
        not isinstance(properties, dict) or len(properties) > limits.MAX_KEYS
    ):
        message = f"Expected an object of at most {limits.MAX_KEYS} members"
        check.issues.append(issue([*path, "properties"], message))
    if len(check.issues) > before:
        return None
    assert subscription_id is not None and amount is not None and transaction_id is not None
    assert kind is not None and identifier is not None
    return UsageInput(
        subscription_id=subscription_id,
        amount=amount,
        transaction_id=transaction_id,
        identifier=(kind, identifier),
        usage_date=usage_date,
        properties=properties,
    )


def claim_target(
    check: Check, body: Record, kind: str | None
) -> tuple[int | None, list[str] | None]:
    if kind == "quantity":
        return check.integer(body, "quantity", [], minimum=1, maximum=limits.MAX_QUANTITY), None
    if kind == "externalId":
        value = check.string(body, "externalId", [], max_length=limits.MAX_ID)
        return None, [value] if value is not None else None
    if kind == "externalIds":
        return None, check.string_list(body, "externalIds", [])
    return None, None


def first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def list_param(query: dict[str, list[str]], key: str) -> list[str] | None:
    """Arrays arrive comma-joined (the Node client) or repeated (``requests``)."""
    values = query.get(key, []) + query.get(key + "[]", [])
    if not values:
        return None
    parts = [part for value in values for part in value.split(",") if part]
    if len(parts) > limits.MAX_LIST:
        raise bad_request([issue([key], f"Array must contain at most {limits.MAX_LIST} items")])
    return parts
