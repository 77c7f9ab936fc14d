"""One self-contained HTML page: the comparison table, the speed-up, the warnings and the plots (inline
PNG), with its CSS inline, so the file can be mailed or attached as it is."""

from __future__ import annotations

import base64
import datetime as dt
from html import escape

from specbench import __version__
from specbench.compare import Comparison
from specbench.compare.categories import CategoryComparison
from specbench.report.categories import CATEGORY_TITLE, category_table
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
from specbench.report.plots import PlotSet

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1b1b1b; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #888; vertical-align: bottom; white-space: normal; }
tr.fact td { color: #555; } tr.group td { font-weight: 600; padding-top: 1rem; border-bottom: none; }
td.better { color: #0a7d32; font-weight: 600; } td.worse { color: #b3261e; font-weight: 600; }
td.same { color: #888; }
.speedup { font-weight: 600; } .warning { color: #8a5300; } .note { color: #555; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
/* Read at 1280 px and on paper: facts and headers wrap, figures never do; a table wider than the page
   scrolls inside its box on screen rather than being cut, and prints smaller. */
tr.fact td { white-space: normal; overflow-wrap: anywhere; min-width: 6rem; }
th.ratio, td.ratio { border-left: 1px solid #ccc; }
.scroll { overflow-x: auto; max-width: 100%; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  table { font-size: 7.5pt; } th, td { padding: 0.1rem 0.3rem; }
  .scroll { overflow: visible; } figure { break-inside: avoid; } figure img { max-width: 100%; }
}
"""


def comparison_page(
    comparison: Comparison, plots: PlotSet | None, *, title: str = "specbench compare"
) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)} · {len(comparison.runs)} runs</h1>",
        _tables(comparison),
    ]
    parts += [f'<p class="speedup">{escape(sentence)}</p>' for sentence in comparison.speedups]
    if comparison.categories is not None:
        parts.append(_category_table(comparison.categories))
        parts += [
            f'<p class="note">{escape(check.sentence())}</p>' for check in comparison.categories.lossless
        ]
    parts += [f'<p class="warning">⚠ {escape(warning)}</p>' for warning in comparison.warnings]
    if plots is not None:
        parts.append("<h2>Plots</h2>")
        for plot in plots.plots:
            data = base64.b64encode(plot.png()).decode("ascii")
            parts.append(
                f'<figure><img alt="{escape(plot.title)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{escape(plot.title)}</figcaption></figure>"
            )
        parts += [f'<p class="note">note: {escape(note)}</p>' for note in plots.notes]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f'<p class="note">Written by specbench {escape(__version__)} on {stamp}.</p></body></html>')
    return "\n".join(parts) + "\n"


def _category_table(categories: CategoryComparison) -> str:
    if not categories.columns:
        return ""
    headers, rows = category_table(categories)
    head = "".join(f"<th>{escape(header)}</th>" for header in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>" for cells in rows)
    return f"<h2>{escape(CATEGORY_TITLE)}</h2><table><tr>{head}</tr>{body}</table>"


# Columns of figures one table holds and still reads at 1280 px (about 120 px each beside the names).
_COLUMNS_AT_1280 = 8


def _tables(comparison: Comparison) -> str:
    """One table where every run and ratio fits 1280 px; else the runs' values in tables of a readable
    width first, then the ratios in their own."""
    runs = list(range(len(comparison.runs)))
    ratios = ratio_columns(comparison)
    if len(runs) + len(ratios) <= _COLUMNS_AT_1280:
        return _table(comparison, runs, ratios)
    step = _COLUMNS_AT_1280 - 1
    parts = [_table(comparison, runs[i : i + step], []) for i in range(0, len(runs), step)]
    parts += [_table(comparison, [], ratios[i : i + step]) for i in range(0, len(ratios), step)]
    return "\n".join(parts)


def _table(comparison: Comparison, runs: list[int], ratios: list[int]) -> str:
    head = ["<th></th>"] + [f"<th>{escape(column_title(comparison, i))}</th>" for i in runs]
    head += [f'<th class="ratio">{escape(ratio_title(comparison, i))}</th>' for i in ratios]
    rows = [f'<div class="scroll"><table><thead><tr>{"".join(head)}</tr></thead><tbody>']
    width = len(head)
    for name, cells in fact_rows(comparison) if runs else []:
        tds = "".join(f"<td>{escape(cells[i])}</td>" for i in runs)
        blanks = '<td class="ratio"></td>' * len(ratios)
        rows.append(f'<tr class="fact"><td>{escape(name)}</td>{tds}{blanks}</tr>')
    for group, group_rows in grouped_rows(comparison):
        rows.append(f'<tr class="group"><td colspan="{width}">{escape(group)}</td></tr>')
        for row in group_rows:
            tds = "".join(f"<td>{escape(figure_text(row.values[i], row.spec))}</td>" for i in runs)
            for i in ratios:
                verdict = row.verdicts[i]
                css = f' class="ratio {verdict}"' if verdict else ' class="ratio"'
                tds += f"<td{css}>{escape(ratio_text(row.ratios[i]))}</td>"
            label = escape(row_title(row).strip())
            indent = ' style="padding-left: 1.5rem"' if row_title(row).startswith(" ") else ""
            rows.append(f"<tr><td{indent}>{label}</td>{tds}</tr>")
    rows.append("</tbody></table></div>")
    return "\n".join(rows)
