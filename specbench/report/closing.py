"""The tables that close an invocation of several results: a sweep's (with each search's outcome and the
session times), or the compare table of a head-to-head, where a combination that failed shows why."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from specbench.compare import compare_runs
from specbench.metrics.registry import percentile_label
from specbench.report.comparison.table import render_comparison
from specbench.report.sweep import render_search, render_session_times, render_sweep_table
from specbench.results.entries import PointEntry, measured
from specbench.results.readers import INDEX_FILE, LOAD_SETTINGS, LoadedRun
from specbench.results.sweep import SessionSummary


def render_sweep_close(
    entries: Sequence[PointEntry],
    sessions: Sequence[SessionSummary],
    console: Console,
    *,
    percentiles: Sequence[float],
    directory: Path | None,
) -> None:
    """One row per point, then each SLO search's outcome, then what one engine start per session saved."""
    tail = f"p{percentile_label(max(percentiles))}" if percentiles else None
    index = [entry.index for entry in entries]
    results = measured(entries)
    title = f"specbench · {len(index)} points in {directory}"
    render_sweep_table(index, results, console, tail=tail, title=title)
    for session in sessions:
        if session.search is not None:
            render_search(session.search, index, results, console, tail=tail)
    render_session_times(sessions, console)


def render_results_close(
    entries: Sequence[PointEntry], console: Console, *, directory: Path, varied: Sequence[str]
) -> None:
    """The compare table of every result of this invocation; a combination that failed shows why."""
    runs = [
        LoadedRun(directory / INDEX_FILE, None, label=entry.index.label, error=entry.index.error)
        if entry.result is None or entry.index.status == "failed"
        else LoadedRun(entry.saved or directory / INDEX_FILE, entry.result, label=entry.index.label)
        for entry in entries
    ]
    title = f"specbench · {len(runs)} results in {directory}"
    load_varied = any(key in LOAD_SETTINGS for key in varied)
    render_comparison(compare_runs(runs, load_varied=load_varied), console, title=title)
    where = escape(str(directory))
    console.print(f"To see this again: specbench compare {where}   plots: specbench plot {where}")
