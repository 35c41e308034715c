"""Timing and the few statistics the report uses.

Latencies are taken with :func:`time.perf_counter_ns` and summarised by the median (and the
95th percentile), which a stray garbage collection or scheduler hiccup barely moves.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

NS_PER_MS = 1_000_000


def timed(fn: Callable[[], T]) -> tuple[T, int]:
    """Call ``fn`` once: its result and the nanoseconds it took."""
    start = time.perf_counter_ns()
    result = fn()
    return result, time.perf_counter_ns() - start


def interleaved(round_: int, sides: Sequence[T]) -> Sequence[T]:
    """The sides in turn, reversed every other round, so drift weighs on both alike."""
    return sides if round_ % 2 == 0 else sides[::-1]


def median_ms(samples_ns: Sequence[int]) -> float:
    return statistics.median(samples_ns) / NS_PER_MS


def percentile_ms(samples_ns: Sequence[int], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100): a value that was actually observed."""
    ordered = sorted(samples_ns)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1] / NS_PER_MS
