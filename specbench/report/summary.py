"""The end-of-run table, laid out like vLLM's "Serving Benchmark Result" block.

Rows come from the metric registry: a metric appears when the result holds a value for it, so engine
extras and the speculative block show up only for runs that produced them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import groupby
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from specbench.metrics import METRICS, MetricSpec, distribution_key, percentile_stats
from specbench.metrics.registry import RUN, SPECULATIVE
from specbench.report.categories import render_result_categories
from specbench.report.gpu_table import render_gpu_window
from specbench.results.model import BenchmarkResult

Row = tuple[str, str]
TITLE = "Serving Benchmark Result"
INTERRUPTED_NOTE = "Run interrupted: figures cover only the requests that finished"
INCOMPLETE_NOTE = "Run incomplete: some of its files were not written (see the warnings)"


def render_summary(result: BenchmarkResult, console: Console) -> None:
    """Print the result's figures as one table, grouped as the registry groups them."""
    table = Table(title=TITLE, box=box.SIMPLE_HEAD, show_header=False, title_style="bold")
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    metrics = _shown(result.metrics)
    if result.run.status == "interrupted":
        table.add_row(f"[bold yellow]⚠ {INTERRUPTED_NOTE}[/]", "")
        table.add_section()
    elif result.run.status == "incomplete":
        table.add_row(f"[bold yellow]⚠ {INCOMPLETE_NOTE}[/]", "")
        table.add_section()
    for group, specs in groupby(METRICS, key=lambda spec: spec.group):
        rows = [row for spec in specs for row in _rows(spec, metrics)]
        if not rows:
            continue
        if group != RUN:
            table.add_section()
            table.add_row(f"[bold]{group}[/]" + (_synthetic_note(result) if group == SPECULATIVE else ""), "")
        for label, value in rows:
            table.add_row(label, value)
    console.print(table)
    render_result_categories(result, console)
    if result.gpus is not None:
        render_gpu_window(result.gpus, console)


def _synthetic_note(result: BenchmarkResult) -> str:
    """Acceptance set with --synthetic-acceptance is what the user asked for, not what a drafter achieved."""
    spec = result.config.get("speculative") or {}
    length, rates = spec.get("synthetic_acceptance_length"), spec.get("synthetic_acceptance_rates")
    if length is not None:
        return f" [yellow](synthetic acceptance: length {length:g} set, not measured)[/]"
    if rates:
        shown = ", ".join(f"{r:g}" for r in rates)
        return f" [yellow](synthetic acceptance: rates {shown} set, not measured)[/]"
    return ""


def _shown(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A burst sent all at once has no rate worth a number on screen (the file keeps the number)."""
    shown = dict(metrics)
    if shown.get("requested_rate") in (float("inf"), "inf"):
        shown["requested_rate"] = "inf"
        if shown.get("achieved_rate") is not None:
            shown["achieved_rate"] = "all at once"
    return shown


def _rows(spec: MetricSpec, result: Mapping[str, Any]) -> Iterator[Row]:
    if spec.distribution:
        yield from _distribution_rows(spec, result)
        return
    value = result.get(spec.name)
    if value is None:
        return
    if isinstance(value, list):
        yield spec.label, ""
        for position, item in enumerate(value):
            yield f"  Position {position}", _format(item, spec)
    else:
        yield spec.label, _format(value, spec)


def _distribution_rows(spec: MetricSpec, result: Mapping[str, Any]) -> Iterator[Row]:
    stats = ["mean", "median", *percentile_stats(list(result), spec.name), "max"]
    values = [(stat, result.get(distribution_key(stat, spec.name))) for stat in stats]
    present = [(stat, value) for stat, value in values if value is not None]
    # An all-zero family says nothing (e.g. client queue without --max-concurrency): leave it out.
    if all(value == 0 for _, value in present):
        return
    for stat, value in present:
        yield f"{stat.capitalize()} {spec.label} ({spec.unit})", _format(value, spec)


def _format(value: Any, spec: MetricSpec) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if spec.unit == "fraction":
        return f"{value * 100:.2f}"
    return str(value) if isinstance(value, int) else f"{value:.2f}"
