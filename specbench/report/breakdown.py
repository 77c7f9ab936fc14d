"""The per-window and per-turn tables under the summary: a ramp's knee and a conversation's later turns."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from specbench.results.model import BenchmarkResult

# Workload kinds whose load changes over the run, so a row per window says something the totals do not.
_VARYING_LOAD = frozenset({"ramp", "trace"})


def render_breakdown(result: BenchmarkResult, console: Console) -> None:
    if result.windows and result.workload.get("kind") in _VARYING_LOAD:
        console.print(_windows_table(result.windows))
    if result.turns:
        console.print(_turns_table(result.turns))


def _windows_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Per time window", box=box.SIMPLE_HEAD, title_style="bold")
    for column in ("window (s)", "sent/s", "out tok/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            f"{row['start_s']:g}–{row['end_s']:.4g}",
            _num(row["sent_rate"]),
            _num(row["output_throughput"]),
            *(_num(row[key]) for key in ("median_ttft_ms", "p99_ttft_ms", "median_tpot_ms", "p99_tpot_ms")),
        )
    table.caption = "latencies in ms, of the requests sent in each window"
    return table


def _turns_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Per conversation turn", box=box.SIMPLE_HEAD, title_style="bold")
    for column in (
        "turn",
        "requests",
        "prompt tokens",
        "TTFT p50 (ms)",
        "TTFT p99 (ms)",
        "prefix-cache hits",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        rate = row["prefix_cache_hit_rate"]
        table.add_row(
            str(row["turn"]),
            f"{row['completed']}/{row['requests']}",
            _num(row["mean_prompt_tokens"]),
            _num(row["median_ttft_ms"]),
            _num(row["p99_ttft_ms"]),
            "—" if rate is None else f"{rate:.1%}",
        )
    return table


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"
