"""What reading a path gives: the runs it holds, each a result or the reason there is none."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from specbench.records import RequestRecord
from specbench.results.model import BenchmarkResult


@dataclass(frozen=True, slots=True)
class LoadedRun:
    """One run as read from disk: its result, or why it has none (a combination that failed to start).

    `path` is the file the result came from (for a run without one, the index that lists it): the
    per-request records named in `result.run.requests_file` lie beside it.
    """

    path: Path
    result: BenchmarkResult | None
    label: str | None = None
    error: str | None = None
    records: list[RequestRecord] | None = None  # per-request records the file itself carries

    @property
    def directory(self) -> Path:
        return self.path.parent


@dataclass(frozen=True, slots=True)
class ResultSet:
    """Every run one argument named: a file holds one (or several: guidellm, vLLM --append-result), a
    directory with index.json every run of a head-to-head or sweep."""

    path: Path
    runs: list[LoadedRun] = field(default_factory=list)
    kind: str | None = None  # the index's kind (head-to-head, sweep, …) or the other tool's profile
    load_varied: bool = False  # its runs are points of one sweep over rates or concurrencies
