"""A list that keeps only its newest entries: the sandbox's call log and delivery log."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar, overload

T = TypeVar("T")


class Ring(Sequence[T]):
    """The last ``size`` entries appended, oldest first; indexes and slices like a list.

    Memory stays bounded however long a sandbox runs: the oldest entry is dropped when a
    new one arrives at a full ring.
    """

    def __init__(self, size: int, entries: Iterable[T] = ()) -> None:
        if size < 1:
            raise ValueError("a ring holds at least one entry")
        self._entries: deque[T] = deque(entries, maxlen=size)

    @property
    def size(self) -> int:
        size = self._entries.maxlen
        assert size is not None
        return size

    def append(self, entry: T) -> None:
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries.clear()

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self._entries))
            if step == 1:
                return list(islice(self._entries, start, max(start, stop)))
            return list(self._entries)[index]
        return self._entries[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._entries))

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, (Ring, list, tuple)):
            return list(self._entries) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Ring({list(self._entries)!r}, size={self.size})"
