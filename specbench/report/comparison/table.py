"""The comparison as a Rich table on the terminal: a column per run, a ratio column per run beside the
baseline coloured by whether the figure got better, then the speed-up in words and the warnings."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
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
    """The full table where it fits the console; else the narrow layout, values before ratios."""
    # Headers may wrap onto a few lines; a figure or a ratio must never be cut or squeezed out.
    if _width(console, comparison_table(comparison, title=title, short_headers=True)) <= console.width:
        console.print(comparison_table(comparison, title=title))
    else:
        _print_narrow(comparison, console, title=title)
    print_conclusions(comparison, console)


def comparison_text(comparison: Comparison, *, width: int = FILE_WIDTH) -> str:
    """The table and its conclusions as plain text, for a file."""
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    render_comparison(comparison, console)
    return console.export_text()


def comparison_table(
    comparison: Comparison, *, title: str | None = None, short_headers: bool = False
) -> Table:
    ratios = ratio_columns(comparison)
    table = Table(
        title=escape(title or f"specbench compare · {len(comparison.runs)} runs"),
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("", no_wrap=True)
    for i in range(len(comparison.runs)):
        header = f"[{i + 1}]" if short_headers else column_title(comparison, i)
        table.add_column(escape(header), justify="right")
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


# In the narrow layout the metric names may wrap to this many characters.
_NARROW_NAME_WIDTH = 30


def _width(console: Console, table: Table) -> int:
    """The width `table` takes without wrapping or cutting a cell."""
    unbounded = console.options.update_width(10_000)  # a measurement is clamped to the width it is given
    return Measurement.get(console, unbounded, table).maximum


def _print_narrow(comparison: Comparison, console: Console, *, title: str | None) -> None:
    """Every run's values, in blocks of as many runs as fit (80 columns, a pipe, a CI log), then the ratios
    in blocks of their own. Runs are numbered in the headers and named once, whole, in a legend above."""
    console.print(f"[bold]{escape(title or f'specbench compare · {len(comparison.runs)} runs')}[/]")
    for i in range(len(comparison.runs)):
        console.print(escape(column_title(comparison, i)))
    everyone = list(range(len(comparison.runs)))
    for block in _blocks(console, everyone, lambda runs: _values_table(comparison, runs)):
        console.print(_values_table(comparison, block))
    ratios = ratio_columns(comparison)
    for block in _blocks(console, ratios, lambda runs: _ratios_table(comparison, runs)):
        console.print(_ratios_table(comparison, block))


def _blocks(console: Console, runs: list[int], table: Callable[[list[int]], Table]) -> list[list[int]]:
    """`runs` cut into consecutive blocks, each as wide as still fits (at least one run per block)."""
    blocks: list[list[int]] = []
    for run in runs:
        if blocks and _width(console, table([*blocks[-1], run])) <= console.width:
            blocks[-1].append(run)
        else:
            blocks.append([run])
    return blocks


def _narrow_table() -> Table:
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    table.add_column("", max_width=_NARROW_NAME_WIDTH, overflow="fold")
    return table


def _values_table(comparison: Comparison, runs: list[int]) -> Table:
    table = _narrow_table()
    for i in runs:
        table.add_column(f"[{i + 1}]", justify="right")
    for name, cells in fact_rows(comparison):
        table.add_row(f"[dim]{escape(name)}[/]", *(escape(cells[i]) for i in runs))
    for group, rows in grouped_rows(comparison):
        table.add_section()
        table.add_row(f"[bold]{escape(group)}[/]")
        for row in rows:
            table.add_row(escape(row_title(row)), *(figure_text(row.values[i], row.spec) for i in runs))
    return table


def _ratios_table(comparison: Comparison, runs: list[int]) -> Table:
    table = _narrow_table()
    table.title = f"Ratios to [{comparison.baseline + 1}], the baseline"
    table.title_justify = "left"
    for i in runs:
        table.add_column(escape(ratio_title(comparison, i)), justify="right", no_wrap=True)
    for group, rows in grouped_rows(comparison):
        table.add_section()
        table.add_row(f"[bold]{escape(group)}[/]")
        for row in rows:
            cells = []
            for i in runs:
                style = VERDICT_STYLE[row.verdicts[i]]
                text = ratio_text(row.ratios[i])
                cells.append(f"[{style}]{text}[/]" if style else text)
            table.add_row(escape(row_title(row)), *cells)
    return table
