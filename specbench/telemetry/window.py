"""What the samples say about the measured window: per-GPU mean and max, energy, the compact timeline.

Pure functions of the sampled rounds, so each rule can be checked on hand-made samples. The window runs
from the measured requests' start (warm-up done) until the last of them ended; a reading counts when its
round's time lies inside. Energy comes from NVML's total-energy counter where the GPU has one —
interpolated to the window's exact edges — and otherwise from the trapezoid integral of the power samples,
also clipped to the edges. Either needs samples on both sides of the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from specbench.results.gpus import (
    TIMELINE_COLUMNS,
    WINDOW_READINGS,
    EnergySource,
    GpuTimeline,
    GpuWindow,
    ReadingStats,
)
from specbench.telemetry.readings import CLOCK_EVENT_REASONS, GpuReading

# Decimals kept in the timeline: below what NVML resolves (1 mW, 1 mJ, 1 MiB) is noise.
_TIMELINE_DECIMALS = {"t_s": 3, "memory_used_gib": 3, "power_w": 3, "energy_j": 3}


def _column(readings: Sequence[GpuReading], name: str) -> list[float | int | None]:
    return [getattr(reading, name) for reading in readings]


def _known(times: np.ndarray, values: Sequence[float | int | None]) -> tuple[np.ndarray, np.ndarray]:
    """The rounds where the reading answered, as (times, values)."""
    mask = np.array([value is not None for value in values], dtype=bool)
    return times[mask], np.array([value for value in values if value is not None], dtype=float)


def counter_energy_j(
    times: np.ndarray, counter_j: Sequence[float | None], start: float, end: float
) -> float | None:
    """Energy between start and end from a cumulative counter read at `times`, or None if the counter's
    readings do not reach both edges."""
    t, values = _known(times, counter_j)
    if t.size < 2 or t[0] > start or t[-1] < end:
        return None
    return float(np.interp(end, t, values) - np.interp(start, t, values))


def integrated_energy_j(
    times: np.ndarray, power_w: Sequence[float | None], start: float, end: float
) -> float | None:
    """Trapezoid integral of power from start to end, power interpolated at the edges; None if the power
    readings do not reach both edges."""
    t, values = _known(times, power_w)
    if t.size < 2 or t[0] > start or t[-1] < end:
        return None
    inside = (t > start) & (t < end)
    edges_t = np.concatenate(([start], t[inside], [end]))
    edges_p = np.concatenate(([np.interp(start, t, values)], values[inside], [np.interp(end, t, values)]))
    return float(np.sum((edges_p[1:] + edges_p[:-1]) * np.diff(edges_t)) / 2)


def _stats(values: Sequence[float | int | None]) -> ReadingStats:
    known = [value for value in values if value is not None]
    if not known:
        return ReadingStats()
    return ReadingStats(mean=float(np.mean(known)), max=float(np.max(known)))


def _reason_shares(masks: Sequence[int | None]) -> dict[str, float]:
    known = [mask for mask in masks if mask is not None]
    if not known:
        return {}
    shares = {
        name: sum(bool(mask & bit) for mask in known) / len(known)
        for bit, name in CLOCK_EVENT_REASONS.items()
    }
    return {name: share for name, share in shares.items() if share > 0}


def gpu_window(
    index: int, times: np.ndarray, readings: Sequence[GpuReading], start: float, end: float
) -> GpuWindow:
    """One GPU over [start, end]: mean and max of each reading, energy and where it came from."""
    inside = [reading for t, reading in zip(times, readings, strict=True) if start <= t <= end]
    energy = counter_energy_j(times, _column(readings, "energy_j"), start, end)
    source: EnergySource | None = "nvml_energy_counter"
    if energy is None:
        energy = integrated_energy_j(times, _column(readings, "power_w"), start, end)
        source = "integrated_power" if energy is not None else None
    return GpuWindow(
        index=index,
        samples=len(inside),
        **{name: _stats(_column(inside, name)) for name in WINDOW_READINGS},
        energy_j=energy,
        energy_source=source,
        clock_event_reasons=_reason_shares(_column(inside, "clock_event_reasons")),
    )


def energy_source(windows: Sequence[GpuWindow]) -> EnergySource | Literal["mixed"] | None:
    """The section's energy source: one of the GPUs' own when they agree, 'mixed' when they do not."""
    sources = {window.energy_source for window in windows}
    if None in sources or not sources:
        return None
    return sources.pop() if len(sources) == 1 else "mixed"


def _rounded(value: float | int | None, decimals: int | None) -> float | int | None:
    if value is None or decimals is None:
        return value
    return round(float(value), decimals)


def timeline(times: np.ndarray, rounds: Sequence[Sequence[GpuReading]], origin: float) -> GpuTimeline:
    """Every round, column by column, with times relative to `origin` (the measured window's start)."""
    gpus = len(rounds[0]) if rounds else 0
    return GpuTimeline(
        t_s=[round(float(t - origin), _TIMELINE_DECIMALS["t_s"]) for t in times],
        columns={
            name: [
                [_rounded(getattr(row[gpu], name), _TIMELINE_DECIMALS.get(name)) for row in rounds]
                for gpu in range(gpus)
            ]
            for name in TIMELINE_COLUMNS
        },
    )
