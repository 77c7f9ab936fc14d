"""The results of one invocation as one list: each point's index entry beside its result and its file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from specbench.results.model import BenchmarkResult, IndexEntry


@dataclass(slots=True)
class PointEntry:
    """One point of a plan: what the index says of it, its result (None when it failed) and where that went
    (None when it could only be printed)."""

    index: IndexEntry
    result: BenchmarkResult | None = None
    saved: Path | None = None


def measured(entries: Sequence[PointEntry]) -> dict[int, BenchmarkResult]:
    """Each measured result by its position in the list, as the sweep's tables read them."""
    return {position: entry.result for position, entry in enumerate(entries) if entry.result is not None}
