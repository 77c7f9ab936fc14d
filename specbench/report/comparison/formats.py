"""The comparison as Markdown, CSV and JSON: the same cells as the terminal table, for files and pages."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from specbench.compare import Comparison, Verdict
from specbench.report.categories import CATEGORY_TITLE, category_table
from specbench.report.comparison.cells import (
    MISSING,
    column_title,
    fact_rows,
    figure_text,
    grouped_rows,
    ratio_columns,
    ratio_text,
    ratio_title,
    row_title,
)
from specbench.report.speculative import speculative_markdown
from specbench.results.speculative import SpeculativeReport, speculative_report

# Markdown has no colour: the verdict is written beside the ratio.
_VERDICT_WORD: dict[Verdict | None, str] = {"better": " (better)", "worse": " (worse)", "same": "", None: ""}


def comparison_markdown(comparison: Comparison, *, title: str = "specbench compare") -> str:
    ratios = ratio_columns(comparison)
    header = ["", *(column_title(comparison, i) for i in range(len(comparison.runs)))]
    header += [ratio_title(comparison, i) for i in ratios]
    lines = [f"## {title}", "", _md_row(header), "| --- |" + " ---: |" * (len(header) - 1)]
    blank = [""] * len(ratios)
    for name, cells in fact_rows(comparison):
        lines.append(_md_row([f"*{name}*", *cells, *blank]))
    for group, rows in grouped_rows(comparison):
        lines.append(_md_row([f"**{group}**", *[""] * (len(header) - 1)]))
        for row in rows:
            cells = [
                row_title(row).replace("  ", "&nbsp;&nbsp;"),
                *(figure_text(v, row.spec) for v in row.values),
            ]
            cells += [ratio_text(row.ratios[i]) + _VERDICT_WORD[row.verdicts[i]] for i in ratios]
            lines.append(_md_row(cells))
    lines.append("")
    lines += [f"- **{sentence}**" for sentence in comparison.speedups]
    if comparison.categories is not None:
        if comparison.categories.columns:
            headers, rows = category_table(comparison.categories)
            lines += ["", f"### {CATEGORY_TITLE}", "", _md_row(headers), _md_row(["---"] * len(headers))]
            lines += [_md_row(cells) for cells in rows]
            lines.append("")
        lines += [f"- {check.sentence()}" for check in comparison.categories.lossless]
    lines += [f"- ⚠ {warning}" for warning in comparison.warnings]
    speculation = _speculation(comparison)
    if speculation is not None:
        lines += ["", "### Does speculation pay off?", "", speculative_markdown(speculation)]
    return "\n".join(lines).rstrip() + "\n"


def _speculation(comparison: Comparison) -> SpeculativeReport | None:
    return speculative_report([(run.label, run.result) for run in comparison.runs if run.result is not None])


def comparison_csv(comparison: Comparison) -> str:
    """A row per header fact and per figure; figures as the results hold them (fractions as fractions)."""
    ratios = ratio_columns(comparison)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    labels = [run.label for run in comparison.runs]
    baseline = labels[comparison.baseline]
    writer.writerow(
        ["group", "key", "label", "unit", "better", *labels, *(f"{labels[i]} / {baseline}" for i in ratios)]
    )
    for name, cells in fact_rows(comparison):
        cells = ["" if cell == MISSING else cell for cell in cells]
        writer.writerow(["run", name, name, "", "", *cells, *[""] * len(ratios)])
    for row in comparison.rows:
        values = ["" if value is None else repr(value) for value in row.values]
        shown = ["" if row.ratios[i] is None else f"{row.ratios[i]:.6g}" for i in ratios]
        writer.writerow([row.group, row.key, row.label, row.spec.unit, row.better or "", *values, *shown])
    if comparison.categories is not None and comparison.categories.columns:
        # A second table below the first, as the terminal and the page show it: a row per category.
        headers, rows = category_table(comparison.categories)
        writer.writerow([])
        writer.writerow(["per category", *headers])
        writer.writerows(["per category", *cells] for cells in rows)
    return out.getvalue()


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """Everything the table shows, with each run's facts and the figures unrounded."""
    return {
        "baseline": comparison.baseline_run.label,
        "runs": [
            {
                "label": run.label,
                "path": str(run.path),
                "source_format": run.result.source_format if run.result is not None else None,
                "error": run.error,
                "facts": asdict(run.facts) if run.facts is not None else None,
            }
            for run in comparison.runs
        ],
        "rows": [
            {
                "group": row.group,
                "key": row.key,
                "label": row.label,
                "unit": row.spec.unit,
                "better": row.better,
                "values": list(row.values),
                "ratios": list(row.ratios),
                "verdicts": list(row.verdicts),
            }
            for row in comparison.rows
        ],
        "speedups": list(comparison.speedups),
        "warnings": list(comparison.warnings),
        "speculative": speculation.model_dump() if (speculation := _speculation(comparison)) else None,
        # Per prompt category and the lossless check of each speculative run (compare/categories.py).
        "categories": asdict(comparison.categories) if comparison.categories is not None else None,
    }


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
