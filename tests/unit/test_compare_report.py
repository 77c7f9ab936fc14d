"""The comparison rendered: terminal table (colours by direction), Markdown, CSV, JSON and the HTML page."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from specbench.compare import Comparison, compare_runs
from specbench.metrics.registry import spec_for_key
from specbench.report.comparison.cells import figure_text, ratio_text
from specbench.report.comparison.formats import comparison_csv, comparison_json, comparison_markdown
from specbench.report.comparison.page import comparison_page
from specbench.report.comparison.table import comparison_text, render_comparison
from specbench.results.files import to_json_text
from specbench.results.readers import LoadedRun
from tests.results_factory import make_result

GREEN, RED = "\x1b[1;32m", "\x1b[1;31m"


@pytest.fixture
def comparison() -> Comparison:
    """vLLM: 7.3× the throughput, 4× lower TTFT; a third run that failed to start."""
    runs = [
        LoadedRun(Path("t.json"), make_result(engine="transformers", output_throughput=100.0, ttft_ms=200.0)),
        LoadedRun(
            Path("v.json"), make_result(engine="vllm", output_throughput=730.0, ttft_ms=50.0, tpot_ms=60.0)
        ),
        LoadedRun(Path("index.json"), None, label="vllm · speculative", error="CUDA out of memory"),
    ]
    return compare_runs(runs)


def test_terminal_table_colours_better_green_and_worse_red(comparison: Comparison) -> None:
    console = Console(record=True, width=220, force_terminal=True, color_system="standard")
    render_comparison(comparison, console)
    text = console.export_text(styles=True)
    line = next(line for line in text.splitlines() if "Output token throughput" in line)
    assert f"{GREEN}7.30×" in line
    tpot = next(line for line in text.splitlines() if "Median TPOT" in line)
    assert f"{RED}1.50×" in tpot  # 60 ms against 40 ms: lower is better, so worse


def test_plain_table_has_a_column_per_run_the_failure_and_the_conclusions(comparison: Comparison) -> None:
    text = comparison_text(comparison)
    assert "[1] transformers · target-ar (baseline)" in text
    assert "[3] vllm · speculative" in text and "no result: CUDA out of memory" in text
    assert "[2] ÷ [1]" in text and "[3] ÷ [1]" not in text  # no ratio for a run without result
    assert re.search(r"Output token throughput \(tok/s\)\s+100\.00\s+730\.00\s+—\s+7\.30×", text)
    assert "vllm · target-ar: 7.3× the output throughput of transformers · target-ar" in text
    assert "warning: vllm · speculative: no result (CUDA out of memory)" in text


def test_markdown_writes_the_verdict_beside_the_ratio(comparison: Comparison) -> None:
    text = comparison_markdown(comparison)
    assert "| Output token throughput (tok/s) | 100.00 | 730.00 | — | 7.30× (better) |" in text
    assert "| Median TPOT (ms) | 40.00 | 60.00 | — | 1.50× (worse) |" in text
    assert "| *model* | qwen3-8b | qwen3-8b | — |  |" in text
    assert "- **vllm · target-ar: 7.3× the output throughput" in text


def test_csv_holds_raw_figures_and_ratios(comparison: Comparison) -> None:
    rows = list(csv.reader(io.StringIO(comparison_csv(comparison))))
    header = rows[0]
    assert header[:5] == ["group", "key", "label", "unit", "better"]
    assert header[5:] == [
        "transformers · target-ar",
        "vllm · target-ar",
        "vllm · speculative",
        "vllm · target-ar / transformers · target-ar",
    ]
    throughput = next(row for row in rows if row[1] == "output_throughput")
    assert throughput[3:] == ["tok/s", "higher", "100.0", "730.0", "", "7.3"]


def test_json_is_the_whole_comparison(comparison: Comparison) -> None:
    data = json.loads(to_json_text(comparison_json(comparison)))
    assert data["baseline"] == "transformers · target-ar"
    assert [run["error"] for run in data["runs"]] == [None, None, "CUDA out of memory"]
    assert data["runs"][1]["facts"]["gpu"] == "1× NVIDIA H200"
    throughput = next(row for row in data["rows"] if row["key"] == "output_throughput")
    assert throughput["values"] == [100.0, 730.0, None]
    assert throughput["ratios"][1] == pytest.approx(7.3)
    assert throughput["verdicts"] == [None, "better", None]


def test_html_page_is_self_contained(comparison: Comparison) -> None:
    page = comparison_page(comparison, None)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert '<td class="ratio better">7.30×</td>' in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing fetched from elsewhere


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("output_throughput", 1234.567, "1,234.57"),
        ("mean_ttft_ms", 0.00251, "0.00251"),
        ("spec_acceptance_rate", 0.625, "62.50"),
        ("completed", 100, "100"),
        ("total_output_tokens", 12800.0, "12800"),
    ],
)
def test_figures_read_as_people_read_them(key: str, value: float, shown: str) -> None:
    spec = spec_for_key(key)
    assert spec is not None
    assert figure_text(value, spec) == shown


def test_ratios_keep_the_digits_that_matter() -> None:
    assert [ratio_text(r) for r in (7.3, 12.34, 3435.1, 0.25, 0.0712, None)] == [
        "7.30×",
        "12.3×",
        "3,435×",
        "0.25×",
        "0.071×",
        "—",
    ]


def _four_results() -> Comparison:
    """The H100 head-to-head's shape: transformers/vllm × target-ar/speculative."""
    runs = [
        LoadedRun(
            Path(f"{engine}_{method}.json"),
            make_result(engine=engine, method=method, output_throughput=throughput, ttft_ms=ttft),
        )
        for engine, method, throughput, ttft in (
            ("transformers", "target-ar", 812.25, 95.5),
            ("transformers", "speculative", 1210.5, 120.25),
            ("vllm", "target-ar", 6543.75, 31.5),
            ("vllm", "speculative", 9876.5, 28.75),
        )
    ]
    return compare_runs(runs)


@pytest.mark.parametrize("count", [2, 4])
def test_every_value_is_readable_at_80_columns_before_any_ratio(count: int) -> None:
    comparison = _four_results() if count == 4 else compare_runs([r.loaded for r in _four_results().runs[:2]])
    console = Console(record=True, width=80, color_system=None, file=io.StringIO())
    render_comparison(comparison, console)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    for i in range(count):  # each label whole, on its own line
        assert f"[{i + 1}] {comparison.runs[i].label}" in text.splitlines()[1 + i]
    values = ("812.25", "1,210.50", "6,543.75", "9,876.50")[:count]
    for value in values:
        assert value in text
    assert max(text.index(value) for value in values) < text.index("÷")  # values first, then ratios
    assert "…" not in text


def test_the_full_table_is_kept_where_it_fits() -> None:
    console = Console(record=True, width=200, color_system=None, file=io.StringIO())
    render_comparison(_four_results(), console)
    text = console.export_text()
    assert re.search(
        r"Output token throughput \(tok/s\)\s+812\.25\s+1,210\.50\s+6,543\.75\s+9,876\.50\s+1\.49×", text
    )


def test_the_page_keeps_at_most_eight_figure_columns_per_table_values_first() -> None:
    runs = [LoadedRun(Path(f"r{i}.json"), make_result(rate=float(i + 1))) for i in range(9)]
    page = comparison_page(compare_runs(runs), None)
    tables = page.split("<table>")[1:]
    assert [table.split("</thead>")[0].count("</th>") - 1 for table in tables] == [7, 2, 7, 1]
    assert "÷" not in tables[0] + tables[1] and "÷" in tables[2]
    assert "@media print" in page
