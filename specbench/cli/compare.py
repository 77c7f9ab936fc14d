"""`specbench compare`: result files or directories → one aligned table (terminal, Markdown, CSV, JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from specbench.compare import Comparison, compare_runs
from specbench.errors import cannot_write
from specbench.report.comparison.formats import comparison_csv, comparison_json, comparison_markdown
from specbench.report.comparison.page import comparison_page
from specbench.report.comparison.table import comparison_text, render_comparison
from specbench.report.plots import build_plots
from specbench.report.plots.canvas import MISSING, available
from specbench.report.speculative import render_speculative_report
from specbench.results.files import to_json_text
from specbench.results.readers import read_results
from specbench.results.speculative import speculative_report


class OutputFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


EPILOG = (
    "Reads specbench results of every schema version (a head-to-head or sweep directory gives all its "
    "results), `vllm bench serve --save-result` JSON, guidellm's benchmarks JSON and AIPerf's "
    "profile_export_aiperf.json. See docs/COMPARE.md."
)
PATHS_HELP = "Result files, or directories with an index.json (a head-to-head or sweep)."


def read_comparison(
    paths: Sequence[Path], *, baseline: int | None = None, metrics: str | None = None
) -> Comparison:
    """Every run the paths hold, side by side; `baseline` counts from 1 as the user does."""
    sets = [read_results(path) for path in paths]
    names = [name.strip() for name in metrics.split(",") if name.strip()] if metrics else None
    return compare_runs(
        [run for result_set in sets for run in result_set.runs],
        baseline=baseline - 1 if baseline is not None else None,
        metrics=names,
        # One sweep alone: its points differ in load by design.
        load_varied=len(sets) == 1 and sets[0].load_varied,
    )


def compare(
    paths: Annotated[list[Path], typer.Argument(help=PATHS_HELP, show_default=False, metavar="RESULTS...")],
    baseline: Annotated[
        int | None,
        typer.Option(min=1, help="The run ratios divide by, counting columns from 1 (default: the first)."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table (terminal), markdown, csv or json.")
    ] = OutputFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of the terminal.")
    ] = None,
    metrics: Annotated[
        str | None,
        typer.Option(
            metavar="NAME[,NAME…]",
            help="Rows to show: registry names (ttft → mean, median, p99; output_throughput; "
            "spec_acceptance_rate) or result keys (p90_ttft_ms). Default: throughput, TTFT, TPOT, ITL, "
            "E2EL, speculative acceptance, GPU.",
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(help="Also write one self-contained HTML page with the table and the plots."),
    ] = None,
) -> None:
    """Put runs side by side: a column per run, ratios to a baseline, and every reason it may be unfair."""
    comparison = read_comparison(paths, baseline=baseline, metrics=metrics)
    _warn_of_runs_without_result(comparison)
    if output_format is OutputFormat.table and output is None:
        console = Console()
        render_comparison(comparison, console)
        # AR and speculative runs at the same loads: whether speculation pays off, and where.
        speculation = speculative_report([(run.label, run.result) for run in comparison.runs if run.result])
        if speculation is not None:
            render_speculative_report(speculation, console)
    else:
        text = {
            OutputFormat.table: comparison_text,
            OutputFormat.markdown: comparison_markdown,
            OutputFormat.csv: comparison_csv,
            OutputFormat.json: lambda c: to_json_text(comparison_json(c)),
        }[output_format](comparison)
        if output is None:
            typer.echo(text, nl=False)
        else:
            _write(output, text, "--output")
    if html is not None:
        err = Console(stderr=True)
        plots = build_plots(comparison) if available() else None
        if plots is None:
            err.print(f"[yellow]note:[/] {escape(MISSING)}: the page has the table only")
        _write(html, comparison_page(comparison, plots), "--html")
        err.print(f"wrote {escape(str(html))}")


def _warn_of_runs_without_result(comparison: Comparison) -> None:
    """A run of a directory that could not be read (a corrupt figure, a missing file) is a column saying so;
    stderr says it too, so it is seen whatever the format (JSON on stdout stays JSON)."""
    err = Console(stderr=True)
    for run in comparison.runs:
        if run.result is None and run.error:
            line = f"[yellow]warning:[/] {escape(run.label)}: no result ({escape(run.error)})"
            err.print(line, soft_wrap=True)


def _write(path: Path, text: str, flag: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise cannot_write(path, exc, flag) from None
