"""The comparison as a Rich table on the terminal: a column per run, a ratio column per run beside the
baseline coloured by whether the figure got better, then the speed-up in words and the warnings."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.compare import Comparison, Row, Verdict
from specbench.report.categories import render_category_comparison
from specbench.report.comparison.cells import (
    column_title,
    fact_rows,
    figure_text,
    grouped_rows,
    ratio_columns,
    ratio_text,
    ratio_title,
    row_title,
)

# Wide enough that a table of several runs written to a file does not wrap.
FILE_WIDTH = 200
VERDICT_STYLE: dict[Verdict | None, str] = {
    "better": "bold green",
    "worse": "bold red",
    "same": "dim",
    None: "",
}


def render_comparison(comparison: Comparison, console: Console, *, title: str | None = None) -> None:
    console.print(comparison_table(comparison, title=title))
    print_conclusions(comparison, console)


def comparison_text(comparison: Comparison, *, width: int = FILE_WIDTH) -> str:
    """The table and its conclusions as plain text, for a file."""
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    render_comparison(comparison, console)
    return console.export_text()


def comparison_table(comparison: Comparison, *, title: str | None = None) -> Table:
    ratios = ratio_columns(comparison)
    table = Table(
        title=escape(title or f"specbench compare · {len(comparison.runs)} runs"),
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("", no_wrap=True)
    for i in range(len(comparison.runs)):
        table.add_column(escape(column_title(comparison, i)), justify="right")
    for i in ratios:
        table.add_column(escape(ratio_title(comparison, i)), justify="right", no_wrap=True)
    for name, cells in fact_rows(comparison):
        table.add_row(f"[dim]{escape(name)}[/]", *(escape(cell) for cell in cells), *("" for _ in ratios))
    for group, rows in grouped_rows(comparison):
        table.add_section()
        table.add_row(f"[bold]{escape(group)}[/]")
        for row in rows:
            table.add_row(*_figure_cells(row, ratios))
    return table


def print_conclusions(comparison: Comparison, console: Console) -> None:
    if comparison.categories is not None:
        render_category_comparison(comparison.categories, console)
    for sentence in comparison.speedups:
        console.print(f"[bold]{escape(sentence)}[/]")
    for warning in comparison.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")


def _figure_cells(row: Row, ratios: list[int]) -> list[str]:
    cells = [escape(row_title(row))]
    cells += [figure_text(value, row.spec) for value in row.values]
    for i in ratios:
        style = VERDICT_STYLE[row.verdicts[i]]
        text = ratio_text(row.ratios[i])
        cells.append(f"[{style}]{text}[/]" if style else text)
    return cells
