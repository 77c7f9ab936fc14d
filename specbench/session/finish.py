"""Finish a measured point: its result built, saved (with a fallback), shown, and its problems named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from specbench.config import RunConfig
from specbench.engines.base import EngineInfo
from specbench.report.breakdown import render_breakdown
from specbench.report.summary import render_summary
from specbench.results.model import BenchmarkResult
from specbench.session.output import PointOutput, mark_incomplete, print_files, save_result
from specbench.session.point import MeasuredPoint, Telemetry, build_result
from specbench.workload.types import Workload


@dataclass(slots=True)
class FinishedPoint:
    """A point's result, where it was saved (None: printed), and one line for each problem met on the way."""

    result: BenchmarkResult
    saved: Path | None
    problems: list[str] = field(default_factory=list)


def finish_point(
    point: MeasuredPoint,
    *,
    run_id: str,
    label: str | None,
    config: RunConfig,
    sources: Mapping[str, str],
    engine: EngineInfo,
    workload: Workload,
    output: PointOutput,
    notes: Sequence[str],
    telemetry: Telemetry,
    stopped_early: str | None,
    console: Console,
) -> FinishedPoint:
    """Close the per-request file, build and save the result, then print its summary, warnings and files.

    Nothing here raises for a file that cannot be written: what was measured is saved elsewhere or printed.
    """
    records_problem = output.close_records()
    result = build_result(
        run_id=run_id,
        label=label,
        config=config,
        sources=sources,
        engine=engine,
        workload=workload,
        point=point,
        files=output.files,
        notes=notes,
        telemetry=telemetry,
    )
    if stopped_early is not None:
        result.run.warnings.append(f"stopped early by the SLO search: {stopped_early}")
    if records_problem:
        mark_incomplete(result, records_problem)
    saved, save_problem = save_result(result, output.files.result, console)
    render_summary(result, console)
    render_breakdown(result, console)
    for warning in result.run.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    print_files(console, saved, output.files)
    return FinishedPoint(result, saved, [p for p in (records_problem, save_problem) if p])
