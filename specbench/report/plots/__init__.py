"""Plots of finished runs (matplotlib, the optional `plot` extra): latency CDFs, load over time, GPU over
time and the latency–throughput curve of a sweep; each skipped with a note when the runs lack its data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from specbench.compare import Comparison
from specbench.compare.series import (
    bin_width,
    gpu_timelines,
    in_flight,
    latency_cdf,
    lone_points,
    output_rate,
    sweeps,
)
from specbench.errors import SpecbenchError, cannot_write
from specbench.records import RequestRecord
from specbench.report.plots.canvas import MISSING, Plot, available
from specbench.report.plots.latency import CDF_METRICS, latency_cdf_plot
from specbench.report.plots.speedup import speedup_plot
from specbench.report.plots.sweep import KEYS, sweep_plot
from specbench.report.plots.timeline import gpu_plot, load_plot, window_plot
from specbench.results.readers.records import NoRecords, load_records
from specbench.results.speculative import speculative_report


@dataclass(slots=True)
class PlotSet:
    plots: list[Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left out, and why


def build_plots(comparison: Comparison) -> PlotSet:
    if not available():
        raise SpecbenchError(MISSING)
    out = PlotSet()
    records: dict[int, list[RequestRecord]] = {}
    for i, run in enumerate(comparison.runs):
        try:
            records[i] = load_records(run.loaded)
        except NoRecords as exc:
            out.notes.append(f"{run.label}: no per-request records ({exc}): not in the CDF and load plots")
    labels = [run.label for run in comparison.runs]
    for name in CDF_METRICS:
        curves = [
            (i, labels[i], cdf) for i, rows in records.items() if not (cdf := latency_cdf(rows, name)).empty
        ]
        if curves:
            out.plots.append(latency_cdf_plot(name, curves))
    width = bin_width(*records.values())
    load = [(i, labels[i], output_rate(rows, width), in_flight(rows)) for i, rows in records.items() if rows]
    if load:
        out.plots.append(load_plot(load))
    windows = [
        (i, run.label, run.result.windows)
        for i, run in enumerate(comparison.runs)
        if run.result is not None and run.result.windows and len(run.result.windows) > 1
    ]
    if windows:
        out.plots.append(window_plot(windows))
    gpus = [
        (i, run.label, timelines)
        for i, run in enumerate(comparison.runs)
        if run.result is not None and (timelines := gpu_timelines(run.result))
    ]
    if gpus:
        out.plots.append(gpu_plot(gpus))
    else:
        out.notes.append("no run has a GPU timeline (the result's gpus.timeline): GPU plots skipped")
    curves = sweeps(comparison.runs, KEYS)
    singles = lone_points(comparison.runs, KEYS)
    if curves or len(singles) > 1:
        out.plots.append(sweep_plot(curves, singles))
    speculation = speculative_report([(run.label, run.result) for run in comparison.runs if run.result])
    if speculation is not None:
        out.plots.append(speedup_plot(speculation))
    return out


def save_plots(plots: PlotSet, directory: Path) -> list[Path]:
    """Write each plot as <name>.png into `directory`; one line if it cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return [plot.save(directory) for plot in plots.plots]
    except OSError as exc:
        raise cannot_write(f"plots to {directory}", exc) from None
