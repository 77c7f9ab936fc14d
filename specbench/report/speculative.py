"""The end of a plan with AR and speculative runs: does speculation pay off, at which load, with which K."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.results.speculative import NEVER_WINS, NOT_REACHED, SpeculativeReport
from specbench.results.sweep import SessionSummary

SYNTHETIC_NOTE = (
    "acceptance marked * is synthetic (--synthetic-acceptance): set by the user, not measured on real text; "
    "the speed-up is what the hardware gives at that acceptance"
)


def render_speculative_report(report: SpeculativeReport, console: Console) -> None:
    """Speed-up per load point, where a step's time goes, break-even, and the matrix and best K when
    several variants ran."""
    several = len(report.variants) > 1
    _speedup_table(report, console, several)
    _time_table(report, console, several)
    for variant in report.variants:
        name = f"{escape(variant.variant)}: " if several else ""
        if variant.break_even == NOT_REACHED:
            verdict = "[green]still wins at the highest load measured[/] (break-even not reached)"
        elif variant.break_even == NEVER_WINS:
            verdict = "[red]wins at no load measured[/]"
        else:
            after = f", loses from {escape(variant.first_loss)}" if variant.first_loss else ""
            verdict = f"break-even: wins up to {escape(variant.break_even)}{after}"
        console.print(f"[bold]Speculation[/] {name}{verdict}")
    if several:
        _matrix(report, console)
        _best(report, console)
    if report.synthetic:
        console.print(f"[yellow]note:[/] {SYNTHETIC_NOTE}")


def render_engine_starts(sessions: Sequence[SessionSummary], console: Console) -> None:
    """Each K or acceptance length needs an engine of its own; the AR session serves them all."""
    starts = [
        f"{escape(s.label or 'session')} {s.engine_start_s:.1f} s"
        for s in sessions
        if s.engine_start_s is not None
    ]
    if starts:
        console.print("Engine sessions started in: " + " · ".join(starts))


def _table(title: str) -> Table:
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )


def _speedup_table(report: SpeculativeReport, console: Console, several: bool) -> None:
    table = _table("Speculative vs AR, per load point")
    table.add_column("load")
    if several:
        table.add_column("variant")
    for column in (
        "AR\ntok/s",
        "spec\ntok/s",
        "speed-\nup",
        "TPOT\nratio",
        "TTFT\nratio",
        "accept\n%",
        "accept\nlength",
        "per position\n%",
    ):
        table.add_column(column, justify="right", no_wrap=column != "per position\n%")
    for row in report.rows:
        mark = "*" if row.synthetic else ""
        positions = (
            " ".join(f"{p * 100:.0f}" for p in row.acceptance_per_position)
            if row.acceptance_per_position
            else "—"
        )
        colour = "green" if (row.speedup or 0) > 1 else "red"
        cells = [escape(row.load_label)] + ([escape(row.variant)] if several else [])
        cells += [
            _fmt(row.ar_output_throughput),
            _fmt(row.spec_output_throughput),
            f"[{colour}]{row.speedup:.2f}×[/]" if row.speedup is not None else "—",
            _fmt(row.tpot_ratio),
            _fmt(row.ttft_ratio),
            _fmt(row.acceptance_rate * 100 if row.acceptance_rate is not None else None) + mark,
            _fmt(row.mean_acceptance_length) + mark,
            positions + (mark if row.acceptance_per_position else ""),
        ]
        table.add_row(*cells)
    console.print(table)


def _time_table(report: SpeculativeReport, console: Console, several: bool) -> None:
    table = _table("Where the time goes: one speculative step (draft + verification) against AR's token")
    table.add_column("load")
    if several:
        table.add_column("variant")
    for column in ("step\nms", "AR ms\n/token", "step /\nAR token", "break-even\nlength", "accept\nlength"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in report.rows:
        cells = [escape(row.load_label)] + ([escape(row.variant)] if several else [])
        relative = row.break_even_length
        cells += [
            _fmt(row.step_ms),
            _fmt(row.ar_token_ms),
            f"{relative:.2f}×" if relative is not None else "—",
            _fmt(relative),
            _fmt(row.mean_acceptance_length) + ("*" if row.synthetic else ""),
        ]
        table.add_row(*cells)
    console.print(table)
    console.print(
        "A step yields 'accept length' tokens for its time; it pays off when that length exceeds the "
        "break-even length (step time / AR time per token)."
    )


def _matrix(report: SpeculativeReport, console: Console) -> None:
    loads = list(dict.fromkeys(row.load_label for row in report.rows))
    table = _table("Speed-up matrix (speculative / AR output throughput)")
    table.add_column("variant")
    for load in loads:
        table.add_column(escape(load).replace(" · ", "\n"), justify="right")
    for variant in report.variants:
        by_load = dict(zip(variant.loads, variant.speedups, strict=True))
        cells = []
        for load in loads:
            speedup = by_load.get(load)
            colour = "green" if (speedup or 0) > 1 else "red"
            cells.append(f"[{colour}]{speedup:.2f}×[/]" if speedup is not None else "—")
        table.add_row(escape(variant.variant), *cells)
    console.print(table)


def _best(report: SpeculativeReport, console: Console) -> None:
    table = _table("Best per load")
    for column in ("load", "best", "speed-up"):
        table.add_column(column, justify="right" if column == "speed-up" else "left")
    for best in report.best:
        table.add_row(
            escape(best.load_label), escape(best.best), f"{best.speedup:.2f}×" if best.speedup else "—"
        )
    console.print(table)


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def speculative_markdown(report: SpeculativeReport) -> str:
    """The same tables as Markdown, for README sections and notes."""
    mark = lambda synthetic: "*" if synthetic else ""  # noqa: E731
    lines = [
        "| load | variant | AR tok/s | spec tok/s | speed-up | TPOT ratio | TTFT ratio | accept % "
        "| accept length | per position % | step ms | AR ms/token | break-even length |",
        "| --- | --- |" + " ---: |" * 11,
    ]
    for row in report.rows:
        positions = " ".join(f"{p * 100:.0f}" for p in row.acceptance_per_position or []) or "—"
        rate = row.acceptance_rate * 100 if row.acceptance_rate is not None else None
        cells = [
            row.load_label,
            row.variant,
            _fmt(row.ar_output_throughput),
            _fmt(row.spec_output_throughput),
            f"**{row.speedup:.2f}×**" if row.speedup is not None else "—",
            _fmt(row.tpot_ratio),
            _fmt(row.ttft_ratio),
            _fmt(rate) + mark(row.synthetic),
            _fmt(row.mean_acceptance_length) + mark(row.synthetic),
            positions,
            _fmt(row.step_ms),
            _fmt(row.ar_token_ms),
            _fmt(row.break_even_length),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    loads = list(dict.fromkeys(row.load_label for row in report.rows))
    lines += [
        "",
        "| speed-up | " + " | ".join(loads) + " | break-even |",
        "| --- |" + " ---: |" * (len(loads) + 1),
    ]
    for variant in report.variants:
        by_load = dict(zip(variant.loads, variant.speedups, strict=True))
        cells = [f"{by_load[load]:.2f}×" if by_load.get(load) is not None else "—" for load in loads]
        after = f" (loses from {variant.first_loss})" if variant.first_loss else ""
        lines.append(f"| {variant.variant} | " + " | ".join(cells) + f" | {variant.break_even}{after} |")
    lines += ["", "| load | best | speed-up |", "| --- | --- | ---: |"]
    lines += [
        f"| {best.load_label} | {best.best} | {best.speedup:.2f}× |"
        if best.speedup
        else f"| {best.load_label} | {best.best} | — |"
        for best in report.best
    ]
    if report.synthetic:
        lines += ["", f"\\* {SYNTHETIC_NOTE}"]
    return "\n".join(lines) + "\n"
