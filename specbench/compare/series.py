"""What the plots draw, computed from per-request records and results with numpy (no plotting here)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from specbench.compare.comparison import ComparedRun
from specbench.compare.facts import as_number
from specbench.compare.labels import group_label
from specbench.metrics.compute import distribution_values
from specbench.records import RequestRecord
from specbench.results.model import BenchmarkResult

# Bin widths for per-second rates over time (s); the smallest giving at most MAX_BINS bins is used.
BIN_WIDTHS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
MAX_BINS = 50


@dataclass(frozen=True, slots=True)
class Cdf:
    values: np.ndarray  # sorted
    fractions: np.ndarray  # fraction of values ≤ each value

    @property
    def empty(self) -> bool:
        return self.values.size == 0


def latency_cdf(records: Sequence[RequestRecord], name: str) -> Cdf:
    """Empirical CDF of distribution `name` (ttft, tpot, itl, e2el): exactly the values its statistics
    summarise."""
    values = np.sort(np.asarray(distribution_values(name, records), dtype=float))
    return Cdf(values, np.arange(1, values.size + 1) / max(values.size, 1))


@dataclass(frozen=True, slots=True)
class Timeline:
    times_s: np.ndarray
    values: np.ndarray


def bin_width(*runs: Sequence[RequestRecord]) -> float:
    """One bin width for every run drawn together: the smallest giving the longest run at most MAX_BINS."""
    end = max((t for records in runs for r in records for t in r.chunk_times_s), default=0.0)
    return next((w for w in BIN_WIDTHS if end / w <= MAX_BINS), BIN_WIDTHS[-1])


def output_rate(records: Sequence[RequestRecord], width: float | None = None) -> Timeline:
    """Output tokens per second in consecutive bins of `width` seconds from t = 0 (bin centres)."""
    times = np.asarray([t for r in records for t in r.chunk_times_s], dtype=float)
    tokens = np.asarray([n for r in records for n in r.chunk_tokens], dtype=float)
    if times.size == 0:
        return Timeline(np.empty(0), np.empty(0))
    width = width or bin_width(records)
    edges = np.arange(0.0, float(times.max()) + width, width)
    counts, _ = np.histogram(np.clip(times, 0.0, None), bins=edges, weights=tokens)
    return Timeline((edges[:-1] + edges[1:]) / 2, counts / width)


def in_flight(records: Sequence[RequestRecord]) -> Timeline:
    """Requests between sent and their end, as a step function (each value holds until the next time)."""
    events: list[tuple[float, int]] = []
    for r in records:
        end = r.end_s if r.end_s is not None else (r.chunk_times_s[-1] if r.chunk_times_s else r.sent_s)
        events += [(r.sent_s, 1), (end, -1)]
    if not events:
        return Timeline(np.empty(0), np.empty(0))
    # At equal times an end sorts before a start, so back-to-back requests do not count twice.
    events.sort()
    times = np.asarray([t for t, _ in events], dtype=float)
    counts = np.cumsum([step for _, step in events])
    return Timeline(np.concatenate(([0.0], times)), np.concatenate(([0], counts)))


@dataclass(frozen=True, slots=True)
class SweepPoint:
    label: str  # 'rate 4' / 'concurrency 8'
    throughput: float  # output tok/s achieved
    figures: dict[str, float | None]  # result key → value, e.g. median_ttft_ms


def sweep_point(run: ComparedRun, keys: Sequence[str]) -> SweepPoint | None:
    if run.result is None or run.facts is None:
        return None
    throughput = as_number(run.result.metrics.get("output_throughput"))
    if throughput is None:
        return None
    rate, concurrency = run.facts.rate, run.facts.max_concurrency
    if rate is not None and math.isfinite(rate):
        label = f"{rate:g} req/s"
    elif concurrency:
        label = f"{concurrency} in flight"
    else:
        label = "all at once"
    return SweepPoint(label, throughput, {key: as_number(run.result.metrics.get(key)) for key in keys})


def sweeps(runs: Sequence[ComparedRun], keys: Sequence[str]) -> list[tuple[str, list[SweepPoint]]]:
    """The points of one sweep or search — one invocation, one engine, method and model, at several rates
    or concurrencies — each as a curve in order of load. Runs of separate invocations are never joined."""
    members = _curve_members(runs, keys)
    curves = [
        (
            group_label(group[0].result),
            [point for run in group if (point := sweep_point(run, keys)) is not None],
        )
        for group in members
    ]
    labels = [label for label, _ in curves]
    # Two sweeps of one setup (two invocations): their curves are told apart by when they ran.
    return [
        (f"{label} · {_run_date(group)}" if labels.count(label) > 1 else label, points)
        for (label, points), group in zip(curves, members, strict=True)
    ]


def lone_points(runs: Sequence[ComparedRun], keys: Sequence[str]) -> list[tuple[str, SweepPoint]]:
    """Runs that belong to no curve, each a point labelled with the run's own label."""
    in_curves = {id(run) for members in _curve_members(runs, keys) for run in members}
    lone = []
    for run in runs:
        if id(run) not in in_curves and (point := sweep_point(run, keys)) is not None:
            lone.append((run.label, point))
    return lone


def _sweep_groups(runs: Sequence[ComparedRun]) -> list[list[ComparedRun]]:
    groups: dict[tuple[str, ...], list[ComparedRun]] = {}
    for run in runs:
        if run.result is None:
            continue
        engine = run.result.engine
        key = (
            run.result.source_format,
            run.result.run.id,  # shared by every point of one invocation, and only by them
            engine.name,
            engine.method,
            engine.model,
            engine.draft_model or "",
        )
        groups.setdefault(key, []).append(run)
    for members in groups.values():
        members.sort(key=_load)
    return list(groups.values())


def _curve_members(runs: Sequence[ComparedRun], keys: Sequence[str]) -> list[list[ComparedRun]]:
    """The runs of each group that makes a curve, in the order sweeps() returns the curves."""
    curves = []
    for members in _sweep_groups(runs):
        points = [point for run in members if (point := sweep_point(run, keys)) is not None]
        if len({point.label for point in points}) > 1:
            curves.append(members)
    return curves


def _run_date(members: list[ComparedRun]) -> str:
    facts = members[0].facts
    return (facts.date if facts is not None and facts.date else None) or members[0].result.run.id


def _load(run: ComparedRun) -> tuple[float, float]:
    facts = run.facts
    if facts is None:
        return (math.inf, 0.0)
    return (facts.rate if facts.rate is not None else math.inf, float(facts.max_concurrency or 0))


@dataclass(frozen=True, slots=True)
class GpuTimeline:
    name: str  # 'GPU 0 (NVIDIA H200)'
    utilization_pct: Timeline | None
    power_w: Timeline | None


def gpu_timelines(result: BenchmarkResult) -> list[GpuTimeline]:
    """Per-GPU utilisation and power over time from the result's `gpus.timeline` (seconds from the measured
    window's start; negative during warm-up). A result without GPU telemetry gives an empty list."""
    gpus = result.gpus
    if gpus is None or not gpus.timeline.t_s:
        return []
    times = np.asarray(gpus.timeline.t_s, float)
    columns = gpus.timeline.columns
    out = []
    for position, device in enumerate(gpus.devices):
        name = f"GPU {device.index} ({device.name})"
        util = _column(columns, "gpu_utilization_pct", position, times)
        power = _column(columns, "power_w", position, times)
        if util is not None or power is not None:
            out.append(GpuTimeline(name, util, power))
    return out


def _column(
    columns: dict[str, list[list[float | int | None]]], name: str, position: int, times: np.ndarray
) -> Timeline | None:
    per_gpu = columns.get(name)
    if per_gpu is None or position >= len(per_gpu):
        return None
    values = np.asarray([np.nan if v is None else v for v in per_gpu[position]], float)
    keep = ~np.isnan(values)
    return Timeline(times[keep], values[keep]) if keep.any() else None
