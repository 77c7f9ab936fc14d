"""Per-category tables: one run's figures by prompt category, and a comparison's with speed-ups and the
lossless check."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.compare.categories import CategoryComparison
from specbench.results.model import BenchmarkResult

_DASH = "—"


def render_result_categories(result: BenchmarkResult, console: Console) -> None:
    """The figures of each category of one result; nothing when its dataset had no categories."""
    if not result.categories:
        return
    speculative = any(f.get("spec_num_draft_tokens") is not None for f in result.categories.values())
    table = Table(title="Per category", title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
    for header in ("category", "requests", "output tok/s", "decode tok/s/req", "mean TPOT ms"):
        table.add_column(header, justify="left" if header == "category" else "right")
    if speculative:
        table.add_column("acceptance rate", justify="right")
        table.add_column("mean acceptance length", justify="right")
    for name, figures in result.categories.items():
        cells = [
            escape(name),
            _count(figures),
            _number(figures.get("output_throughput")),
            _number(figures.get("mean_decode_tokens_per_s")),
            _number(figures.get("mean_tpot_ms")),
        ]
        if speculative:
            cells += [
                _rate(figures.get("spec_acceptance_rate")),
                _number(figures.get("spec_mean_acceptance_length")),
            ]
        table.add_row(*cells)
    console.print(table)


CATEGORY_TITLE = "Per category (decode tok/s per request; speed-up over the same engine's target-ar)"


def category_table(comparison: CategoryComparison) -> tuple[list[str], list[list[str]]]:
    """The per-category table as text, for every format: its headers, then a row per category."""
    headers = ["category", "requests"]
    for column in comparison.columns:
        headers.append(f"{column.label} tok/s")
        if column.speculative:
            headers += ["accept", "acc. len"]
        if column.speedup is not None:
            headers.append("speed-up")
    rows = []
    for name in comparison.categories:
        first = comparison.columns[0].figures.get(name, {})
        cells = [name, _count(first)]
        for column in comparison.columns:
            figures = column.figures.get(name, {})
            cells.append(_number(figures.get("mean_decode_tokens_per_s")))
            if column.speculative:
                cells.append(_rate(figures.get("spec_acceptance_rate")))
                cells.append(_number(figures.get("spec_mean_acceptance_length")))
            if column.speedup is not None:
                speedup = column.speedup.get(name)
                cells.append(f"{speedup:.2f}×" if speedup is not None else _DASH)
        rows.append(cells)
    return headers, rows


def render_category_comparison(comparison: CategoryComparison, console: Console) -> None:
    """Decoding speed per category for every run, acceptance and speed-up for the speculative ones, then the
    lossless check of each speculative run."""
    if comparison.columns:
        table = Table(title=CATEGORY_TITLE, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
        headers, rows = category_table(comparison)
        for header in headers:
            table.add_column(
                escape(header),
                justify="left" if header == "category" else "right",
                style="bold" if header == "speed-up" else None,
            )
        for cells in rows:
            table.add_row(*(escape(cell) for cell in cells))
        console.print(table)
    for check in comparison.lossless:
        style = "green" if check.not_checked is None and not check.diverging else "yellow"
        console.print(f"[{style}]{escape(check.sentence())}[/]")


def _count(figures: Mapping[str, object]) -> str:
    completed, failed = figures.get("completed"), figures.get("failed")
    if completed is None:
        return _DASH
    return f"{completed}" + (f" ({failed} failed)" if failed else "")


def _number(value: object) -> str:
    if not isinstance(value, int | float):
        return _DASH
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def _rate(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else _DASH
