"""The run header: what is about to be measured, printed before the engine starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.engines.base import EngineInfo
from specbench.settings import describe_value


def describe_workload(summary: Mapping[str, Any]) -> str:
    """One line, e.g. '16 requests · poisson 8.0 req/s · 32 in / 16 out tokens (random) · 2 warm-up'."""
    size = f"{describe_value(summary.get('num_requests'))} requests"
    if summary.get("mode") == "rate":
        size += f" over {describe_value(summary.get('send_window_s'))} s"
    rate = summary.get("request_rate")
    if rate in ("inf", float("inf")):
        arrivals = "all at once"
    else:
        arrivals = f"{summary.get('arrival')} {rate} req/s"
        if summary.get("arrival") == "poisson" and summary.get("burstiness") not in (None, 1.0):
            arrivals += f" (burstiness {summary['burstiness']})"
    lengths = (
        f"{summary.get('input_len_mean', 0):.0f} in / {summary.get('output_len_mean', 0):.0f} out tokens "
        f"({summary.get('dataset')})"
    )
    parts = [size, arrivals, lengths]
    if summary.get("max_concurrency"):
        parts.append(f"max {summary['max_concurrency']} in flight")
    parts.append(f"{summary.get('num_warmup', 0)} warm-up · seed {summary.get('seed')}")
    return " · ".join(parts)


# How an engine measures, not a setting a user chooses: kept in the result file (and the docs), not shown.
_RESULT_FILE_ONLY = frozenset({"token_times"})


def render_header(
    console: Console, *, engine: EngineInfo, workload: Mapping[str, Any], notes: list[str]
) -> None:
    table = Table(
        title=escape(f"specbench · {engine.name} · {engine.method}"), show_header=False, title_justify="left"
    )
    table.add_column("setting", style="bold")
    table.add_column("value")
    table.add_row("model", escape(engine.model))
    if engine.version:
        table.add_row(f"{engine.name} version", escape(engine.version))
    for key, value in engine.settings.items():
        if key in _RESULT_FILE_ONLY or (key == "model" and value == engine.model):
            continue  # the model has its own row above
        table.add_row(escape(key), escape(describe_value(value)))
    table.add_row("workload", escape(describe_workload(workload)))
    console.print(table)
    for note in [*engine.notes, *notes]:
        console.print(f"[yellow]note:[/] {escape(note)}")
