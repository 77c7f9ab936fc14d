"""The end of a sweep or an SLO search: one table with a row per point, the search's outcome, and what
measuring every point in one engine session saved against starting the engine for each."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.metrics.registry import distribution_key
from specbench.results.model import BenchmarkResult, IndexEntry
from specbench.results.sweep import SearchSummary, SessionSummary
from specbench.settings import describe_value

Results = Mapping[int, BenchmarkResult]  # by position in the index entries


def render_sweep_table(
    entries: Sequence[IndexEntry],
    results: Results,
    console: Console,
    *,
    tail: str | None,
    title: str,
    rows: Sequence[int] | None = None,
) -> None:
    """One row per point: rate asked and achieved, throughputs, goodput, TTFT and TPOT mean and tail.

    Narrow enough for 80 columns: rate and concurrency are columns of their own (shown where some point sets
    them), so a label says only what else varies (engine, method).
    """
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    shown = list(range(len(entries))) if rows is None else list(rows)
    asked = {position: _float(entries[position].settings.get("workload.rate")) for position in shown}
    caps = {position: entries[position].settings.get("workload.max_concurrency") for position in shown}
    others = {position: _session_part(entries[position].label) for position in shown}
    with_label = any(others.values())
    with_rate = any(rate != math.inf for rate in asked.values())
    with_cap = any(cap is not None for cap in caps.values())
    table.add_column("#", justify="right")
    if with_label:
        table.add_column("point")
    # asked: the point's rate; sent: the rate the client achieved; served: the request throughput.
    columns = ["asked\nreq/s"] if with_rate else []
    columns += ["max in\nflight"] if with_cap else []
    columns += ["sent\nreq/s", "served\nreq/s", "out\ntok/s", "goodput\nreq/s"]
    stats = ("mean", tail) if tail is not None else ("mean",)
    columns += [f"{name} ms\n{' / '.join(stats)}" for name in ("TTFT", "TPOT")]
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    notes = []
    for position in shown:
        entry = entries[position]
        head = [str(position + 1)] + ([escape(others[position])] if with_label else [])
        head += [describe_value(asked[position])] if with_rate else []
        head += [describe_value(caps[position])] if with_cap else []
        result = results.get(position)
        if result is None:
            table.add_row(*head, "[red]failed[/]")
            notes.append(
                f"[red]{position + 1} ({escape(entry.label)}) failed:[/] {escape(entry.error or '')}"
            )
            continue
        if entry.status != "completed":
            head[0] += "*"
            notes.append(
                f"[yellow]{position + 1}* {entry.status}:[/] its figures cover the requests that finished"
            )
        m = result.metrics
        burst = asked[position] == math.inf and caps[position] is None
        sent = "burst" if burst else _fmt(m.get("achieved_rate"))
        figures = [_fmt(m.get(key)) for key in ("request_throughput", "output_throughput", "request_goodput")]
        figures += [
            " / ".join(_fmt(m.get(distribution_key(stat, name))) for stat in stats)
            for name in ("ttft", "tpot")
        ]
        table.add_row(*head, sent, *figures)
    console.print(table)
    for note in notes:
        console.print(note)


def _session_part(label: str) -> str:
    """What sets a point apart besides rate and concurrency: 'vllm · speculative · rate 4' → 'vllm ·
    speculative'."""
    parts = label.split(" · ")
    return " · ".join(part for part in parts if not part.startswith(("rate ", "concurrency ")))


def render_search(
    search: SearchSummary,
    entries: Sequence[IndexEntry],
    results: Results,
    console: Console,
    *,
    tail: str | None,
) -> None:
    """Every probe with its verdict, then the rate found, its bracket and the figures measured there."""
    slo = ", ".join(f"{key.removesuffix('_ms').upper()} ≤ {value:g} ms" for key, value in search.slo.items())
    console.print(f"[bold]SLO search: {slo} for at least {search.goodput_target:.0%} of requests[/]")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    # Numbered as in the table of every point above.
    columns = (
        "#",
        "asked\nreq/s",
        "sent\nreq/s",
        "verdict",
        "met\nSLOs",
        "judged\nrequests",
        "seconds\nran / planned",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "verdict" else "right")
    notes = []
    for probe in search.probes:
        number = str(probe.entry + 1) if probe.entry is not None else "—"
        verdict = "stopped" if probe.stopped_early is not None else probe.verdict
        if verdict != "pass":
            notes.append(f"{number}: {escape(probe.reason)}")
        if probe.confirmation:
            verdict = f"{verdict} (confirm)"
        colour = "green" if verdict == "pass" else "red"
        fraction = f"{probe.goodput_fraction:.1%}" if probe.goodput_fraction is not None else "—"
        table.add_row(
            number,
            f"{probe.rate:g}",
            _fmt(probe.sent_rate),
            f"[{colour}]{verdict}[/]",
            fraction,
            str(probe.counted_requests),
            f"{_fmt(probe.duration_s)} / {probe.planned_s:.1f}",
        )
    console.print(table)
    for note in notes:
        console.print(note)
    low, high = search.bracket
    if search.max_rate is None:
        console.print(f"[bold red]No probed rate met the SLOs[/] ({escape(search.stop_reason)}).")
        return
    bracket = (
        f"bracket {low:g} – {high:g} req/s, precision {search.rate_precision:.0%}"
        if high is not None
        else "no probe failed, so this is a lower bound"
    )
    if low is not None and search.max_rate < low:
        bracket = f"below the bisection's {bracket}, where the confirmation failed"
    console.print(
        f"[bold]Highest rate meeting the SLOs: {search.max_rate:g} req/s[/] "
        f"({bracket}; {escape(search.stop_reason)})"
    )
    confirmation = search.confirmation
    if confirmation is not None and confirmation.goodput_fraction is not None:
        console.print(
            f"Confirmed by {confirmation.duration_s or confirmation.planned_s:.0f} s at "
            f"{confirmation.rate:g} req/s: {confirmation.goodput_fraction:.1%} of "
            f"{confirmation.counted_requests} requests met every SLO after a "
            f"{confirmation.transient_s or 0:.1f} s transient"
            + (f", sent at {confirmation.sent_rate:.3g} req/s" if confirmation.sent_rate is not None else "")
            + "."
        )
    chosen_probe = next((probe for probe in search.probes if probe.entry == search.chosen_entry), None)
    if chosen_probe is not None and chosen_probe.sent_rate is not None:
        console.print(
            f"In that probe the requests went out at {chosen_probe.sent_rate:.3g} req/s, the load the engine "
            "really met (Poisson arrivals over a finite window; longer probes come closer to the rate asked)."
        )
    chosen = search.chosen_entry
    if chosen is not None and chosen in results:
        render_sweep_table(
            entries, results, console, tail=tail, title="Figures at the rate found", rows=[chosen]
        )


def render_session_times(sessions: Sequence[SessionSummary], console: Console) -> None:
    """Engine start once, points many: what restarting the engine for every point would have cost."""
    for session in sessions:
        cost = session.restart_cost_s
        if session.engine_start_s is None or cost is None:
            continue
        name = f"{escape(session.label)}: " if session.label else ""
        points = len(session.entries)
        console.print(
            f"{name}engine started once in {session.engine_start_s:.1f} s; {points} point"
            f"{'s' if points != 1 else ''} took {sum(session.point_wall_s):.1f} s; starting it for every "
            f"point would have added {session.engine_start_s:.1f} s × {points - 1} = {cost:.1f} s"
        )


def _float(value: Any) -> Any:
    """A rate as read from index.json, which writes inf as "inf"."""
    return float(value) if value == "inf" else value


def _fmt(value: Any) -> str:
    """Two decimals below 100, whole numbers above: short enough for an 80-column terminal."""
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return "—" if value is None else str(value)
