"""The tables that close an invocation of several results."""

from __future__ import annotations

from pathlib import Path

from results_factory import make_result
from rich.console import Console

from specbench.report.closing import render_results_close, render_sweep_close
from specbench.results.entries import PointEntry, measured
from specbench.results.model import IndexEntry
from specbench.results.sweep import SessionSummary


def entry(label: str, *, rate: float, throughput: float | None) -> PointEntry:
    settings = {"workload.rate": rate, "workload.max_concurrency": None}
    if throughput is None:
        return PointEntry(
            IndexEntry(label=label, status="failed", result_file=None, settings=settings, error="boom")
        )
    result = make_result(output_throughput=throughput, rate=rate, engine="echo", label=label)
    return PointEntry(
        IndexEntry(label=label, status="completed", result_file=f"{label}.json", settings=settings),
        result,
        Path(f"{label}.json"),
    )


def screen(draw) -> str:
    console = Console(record=True, width=200)
    draw(console)
    return console.export_text()


def test_measured_keeps_each_result_at_its_position_and_skips_failures() -> None:
    entries = [entry("rate 1", rate=1, throughput=10), entry("rate 2", rate=2, throughput=None)]
    assert list(measured(entries)) == [0]


def test_a_head_to_head_closes_with_the_compare_table_where_a_failed_combination_says_why(
    tmp_path: Path,
) -> None:
    entries = [entry("echo", rate=1, throughput=10), entry("transformers", rate=1, throughput=None)]
    text = screen(lambda c: render_results_close(entries, c, directory=tmp_path, varied=["engine"]))
    assert "echo" in text and "transformers" in text and "boom" in text
    assert f"specbench compare {tmp_path}" in text


def test_a_sweep_closes_with_a_row_per_point_and_the_session_times(tmp_path: Path) -> None:
    entries = [entry("rate 1", rate=1, throughput=10), entry("rate 2", rate=2, throughput=20)]
    sessions = [SessionSummary(kind="points", entries=[0, 1], engine_start_s=30.0)]
    text = screen(lambda c: render_sweep_close(entries, sessions, c, percentiles=[99.0], directory=tmp_path))
    assert "2 points in" in text and "p99" in text
    assert "starting it for every point would have added 30.0 s" in text
