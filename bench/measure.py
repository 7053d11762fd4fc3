"""Repeat a measurement, summarize it (median, min, max) and render results as a table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

RATE = "hub/baseline rate"  # ratio > 1: the hub handles more per second than its baseline
COST = "cost over baseline"  # ratio > 1: the hub's work takes that many times the baseline's
TIMES = "hub/baseline"  # a plain quotient of two costs (µs per event): > 1, the hub spends more


@dataclass
class Stat:
    """One measured quantity over repeated runs (``runs`` keeps every sample for the JSON file)."""

    unit: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def to_json(self) -> dict[str, Any]:
        return {"unit": self.unit, "median": self.median, "min": min(self.runs), "max": max(self.runs),
                "runs": self.runs}


@dataclass
class Row:
    """One line of the results: the hub's number, its baseline's number, and their ratio.

    ``ratio`` is always computed from the medians of the same run, so machine speed cancels out;
    ``ratio_meaning`` says which way it reads.
    """

    bench: str
    case: str
    value: Stat
    baseline_name: str | None = None
    baseline: Stat | None = None
    ratio_meaning: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.median or not self.value.median:
            return None
        if self.ratio_meaning == COST:  # a cost factor: baseline rate / hub rate
            return self.baseline.median / self.value.median
        return self.value.median / self.baseline.median

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["value"] = self.value.to_json()
        out["baseline"] = self.baseline.to_json() if self.baseline else None
        out["ratio"] = self.ratio
        return out


def rate(fn: Callable[[], int], *, runs: int, min_time_s: float = 0.0) -> list[float]:
    """Items per second of ``fn`` (which returns how many items it handled), once per run.

    With ``min_time_s``, ``fn`` is called repeatedly within a run until that much time passed,
    so fast operations are timed over more than a clock tick.
    """
    fn()  # warm-up: imports, caches, parsed schemas
    out = []
    for _ in range(runs):
        items = 0
        start = time.perf_counter()
        while True:
            items += fn()
            elapsed = time.perf_counter() - start
            if elapsed >= min_time_s:
                break
        out.append(items / elapsed)
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    idx = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[idx]


def _fmt(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _stat(s: Stat | None) -> str:
    if s is None:
        return "-"
    return f"{_fmt(s.median)} [{_fmt(min(s.runs))}..{_fmt(max(s.runs))}] {s.unit}"


def table(rows: list[Row]) -> str:
    """A fixed-width text table: median [min..max] of the hub and of its baseline, and the ratio."""
    header = ("bench", "case", "hub: median [min..max]", "baseline", "baseline: median [min..max]", "ratio")
    body = []
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f} ({r.ratio_meaning})"
        body.append((r.bench, r.case, _stat(r.value), r.baseline_name or "-", _stat(r.baseline), ratio))
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
