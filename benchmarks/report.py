"""What a benchmark produces, the table printed at the end, and ``results.json``.

Every number is paired with a baseline measured in the same run, and reported as
``ratio = ours / baseline``: lower is better for every row (time, memory, upstream calls),
so a ratio below 1 means flask-flowglad did better.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """One measured quantity, ours against a baseline."""

    #: Short name shown in the table.
    name: str
    #: One sentence: what exactly was measured, and how often.
    measured: str
    unit: str
    ours: float | None
    baseline: float | None
    #: What the baseline is (another server, another way of doing the same thing).
    baseline_name: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline


@dataclass
class Report:
    environment: dict[str, Any]
    results: list[Result] = field(default_factory=list)
    #: Things a reader must know about, e.g. answers of the two servers that differ.
    findings: list[str] = field(default_factory=list)
    #: ``{"benchmark": ..., "reason": ...}`` for benchmarks that could not run.
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        results = [{**asdict(r), "ratio": _round(r.ratio)} for r in self.results]
        return {
            "environment": self.environment,
            "results": results,
            "findings": self.findings,
            "skipped": self.skipped,
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    def table(self) -> str:
        header = ("benchmark", "unit", "ours", "baseline", "ratio")
        rows = [
            (r.name, r.unit, _fmt(r.ours), _fmt(r.baseline), _fmt(r.ratio, ratio=True))
            for r in self.results
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [_line(header, widths), _line(tuple("-" * w for w in widths), widths)]
        lines += [_line(row, widths) for row in rows]
        return "\n".join(lines)


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    first, *rest = cells
    right = [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
    return "  ".join([first.ljust(widths[0]), *right])


def _fmt(value: float | None, *, ratio: bool = False) -> str:
    if value is None:
        return "n/a"
    if ratio:
        return f"{value:.2f}x"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
