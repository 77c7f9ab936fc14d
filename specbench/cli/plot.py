"""`specbench plot`: result files or directories → PNG plots in one directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from specbench.cli.compare import PATHS_HELP, read_comparison
from specbench.errors import SpecbenchError
from specbench.report.plots import build_plots, save_plots


def plot(
    paths: Annotated[list[Path], typer.Argument(help=PATHS_HELP, show_default=False, metavar="RESULTS...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the PNG files.")] = Path(
        "plots"
    ),
) -> None:
    """Draw latency CDFs, load and GPU over time, and a sweep's latency–throughput curve (matplotlib)."""
    plots = build_plots(read_comparison(paths))
    console = Console()
    for note in plots.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if not plots.plots:
        raise SpecbenchError(
            "nothing to plot: these results have no per-request records, GPU timeline or several loads"
        )
    for path in save_plots(plots, output):
        console.print(f"wrote {escape(str(path))}")
