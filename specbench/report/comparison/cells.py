"""The text of each cell of a comparison, shared by every format: header facts, figures and ratios."""

from __future__ import annotations

from itertools import groupby

from specbench.compare import Comparison, Row
from specbench.compare.facts import describe_facts
from specbench.metrics.registry import MetricSpec

MISSING = "—"
_COUNTS = ("requests", "tokens", "drafts", "calls", "passes", "preemptions")


def column_title(comparison: Comparison, index: int) -> str:
    """'[1] transformers · target-ar (baseline)'."""
    suffix = " (baseline)" if index == comparison.baseline else ""
    return f"[{index + 1}] {comparison.runs[index].label}{suffix}"


def ratio_title(comparison: Comparison, index: int) -> str:
    """'[2] ÷ [1]': run 2's figure over the baseline's."""
    return f"[{index + 1}] ÷ [{comparison.baseline + 1}]"


def ratio_columns(comparison: Comparison) -> list[int]:
    """The runs that get a ratio column: every run with a result but the baseline."""
    return [i for i, run in enumerate(comparison.runs) if i != comparison.baseline and run.result is not None]


def fact_rows(comparison: Comparison) -> list[tuple[str, list[str]]]:
    """The header facts, a row per fact any run states, a cell per run."""
    described = [describe_facts(run.facts, run.error) for run in comparison.runs]
    names = list(dict.fromkeys(name for facts in described for name in facts))
    rows = []
    for name in names:
        cells = [facts.get(name) for facts in described]
        if any(cell is not None for cell in cells):
            rows.append((name, [cell if cell is not None else MISSING for cell in cells]))
    return rows


def grouped_rows(comparison: Comparison) -> list[tuple[str, list[Row]]]:
    """The figure rows under their registry group headings, in registry order."""
    return [(group, list(rows)) for group, rows in groupby(comparison.rows, key=lambda row: row.group)]


def figure_text(value: float | None, spec: MetricSpec) -> str:
    """A figure as people read it: fractions in percent, counts whole, two decimals, or three significant
    figures below 1 where two decimals would read as zero."""
    if value is None:
        return MISSING
    if spec.unit == "fraction":
        value *= 100
    if isinstance(value, int) or (spec.unit in _COUNTS and float(value).is_integer()):
        return f"{int(value)}"
    if value != 0 and abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:,.2f}"


def ratio_text(value: float | None) -> str:
    """1.04×, 12.3×, 3435×, 0.071×: as many digits as tell ratios apart, no more."""
    if value is None:
        return MISSING
    if value >= 100:
        return f"{value:,.0f}×"
    if value >= 10:
        return f"{value:.1f}×"
    return f"{value:.2f}×" if value >= 0.1 else f"{value:.2g}×"


def row_title(row: Row) -> str:
    """Per-position rows are indented below the other speculative rows."""
    return f"  {row.label}" if "[" in row.key else row.label
