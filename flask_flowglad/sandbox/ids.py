"""Identifiers and time: Flowglad-looking ids, and a clock that never repeats a millisecond.

Creation order decides which subscription is "current", so two records made in the same
millisecond must still be told apart: the clock hands out strictly increasing values.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import secrets
import string
import time
from collections.abc import Callable

_ALPHABET = string.ascii_letters + string.digits


def random_text(alphabet: str, length: int) -> str:
    """``length`` characters of ``alphabet``, drawn from the system's random source at once
    (one call, not one per character: ids are made on every request)."""
    number = int.from_bytes(secrets.token_bytes(length), "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def new_id(prefix: str) -> str:
    """``prefix_`` + 21 random characters, like Flowglad's nanoid-based ids."""
    return prefix + "_" + random_text(_ALPHABET, 21)


def stable_id(prefix: str, *parts: str) -> str:
    """An id that looks like :func:`new_id` but is the same for the same ``parts``: the
    pricing model's records keep their ids in every process that loads the same file."""
    number = int.from_bytes(hashlib.sha256("\x00".join(parts).encode()).digest(), "big")
    chars = []
    for _ in range(21):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return prefix + "_" + "".join(chars)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Clock:
    """Epoch milliseconds, strictly increasing across calls, ahead of real time by an offset.

    The offset is how far the sandbox's time was moved forward (``advance_time``); it lives
    with the records, so every process sharing a sandbox reads the same time.
    """

    def __init__(
        self, source: Callable[[], int] = wall_clock_ms, offset: Callable[[], int] = lambda: 0
    ) -> None:
        self._source = source
        self._offset = offset
        self._last = 0

    def now(self) -> int:
        value = max(int(self._source()) + self._offset(), self._last + 1)
        self._last = value
        return value

    def real_now(self) -> int:
        """The source's time, without the offset: what the offset is measured from."""
        return int(self._source())


DAY_MS = 24 * 60 * 60 * 1000
_LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def add_interval(start_ms: int, unit: str, count: int) -> int:
    """The end of a billing period: calendar months/years, like a real billing system.

    Raises :class:`OverflowError` past the year 9999.
    """
    if unit in ("day", "week"):
        end_ms = start_ms + count * (7 if unit == "week" else 1) * DAY_MS
        if end_ms > _LAST_MS:
            raise OverflowError("billing period ends after the year 9999")
        return end_ms
    start = dt.datetime.fromtimestamp(start_ms / 1000, tz=dt.timezone.utc)
    months = count if unit == "month" else 12 * count
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    if year > 9999:
        raise OverflowError("billing period ends after the year 9999")
    month = month_index % 12 + 1
    day = min(start.day, _days_in_month(year, month))
    end = start.replace(year=year, month=month, day=day)
    return int(end.timestamp() * 1000)


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]
