"""Where the points of one engine session come from: a generator that sees each point's outcome before it
chooses the next. A plain list of points (`--rate 1,2,4`, a single run) is the simplest such generator; a
`--sweep` and the SLO search choose their rates from what the earlier points measured."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Protocol

from specbench.config import RunConfig
from specbench.records import RequestRecord
from specbench.results.model import BenchmarkResult
from specbench.results.sweep import SessionKind, SessionSummary
from specbench.session.probe_watch import ProbeRules
from specbench.settings import ResolvedConfig
from specbench.workload.types import Workload


@dataclass(frozen=True, slots=True)
class PointSpec:
    """One point to measure: its config, where each value came from, and how to run it."""

    resolved: ResolvedConfig
    workload: Workload | None = None  # built already (listed points are built before the engine starts)
    watch: ProbeRules | None = None  # an SLO probe: stop as soon as its verdict can only be a fail

    @property
    def config(self) -> RunConfig:
        return self.resolved.config


@dataclass(slots=True)
class PointReport:
    """What became of a point: its result and records, or why it has none."""

    spec: PointSpec
    entry: int | None = None  # its position in the index entries
    result: BenchmarkResult | None = None
    records: list[RequestRecord] = field(default_factory=list)
    error: str | None = None
    stopped_early: str | None = None
    wall_s: float = 0.0


PointGenerator = Generator[PointSpec, PointReport, None]


class PointSource(Protocol):
    """The points of one engine session."""

    kind: SessionKind

    def points(self) -> PointGenerator:
        """Yield each point; receive its report before yielding the next."""

    def summarize(self, summary: SessionSummary) -> None:
        """Add what this source found (saturation throughput, the search's outcome) to the session summary."""


class ListedPoints:
    """Points given up front (a single run, --rate 1,2,4, --max-concurrency 1,8,32), run in order."""

    kind: SessionKind = "points"

    def __init__(self, points: list[PointSpec]) -> None:
        self._points = points

    def points(self) -> PointGenerator:
        # A loop, not `yield from`: send() would be passed on to the list's iterator, which has none.
        for point in self._points:  # noqa: UP028
            yield point

    def summarize(self, summary: SessionSummary) -> None:
        """A list finds nothing beyond its points."""


def with_rate(resolved: ResolvedConfig, rate: float, source: str, **workload: object) -> ResolvedConfig:
    """The same config at another rate (and other workload settings), validated again."""
    data = resolved.config.model_dump()
    data["workload"].update(rate=rate, **workload)
    sources = dict(resolved.sources)
    sources["workload.rate"] = source
    for key in workload:
        sources[f"workload.{key}"] = source
    return ResolvedConfig(config=RunConfig.model_validate(data), sources=sources)
