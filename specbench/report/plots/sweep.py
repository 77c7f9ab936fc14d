"""The latency–throughput curve of a sweep: achieved output tokens/s against TTFT and TPOT, p50 and p99."""

from __future__ import annotations

from collections.abc import Sequence

from specbench.compare.series import SweepPoint
from specbench.report.plots.canvas import Plot, colour, legend, new_figure

# (panel title, distribution) and the statistics drawn for each: p50 solid, p99 dashed.
PANELS = (("Time to first token", "ttft"), ("Time per output token", "tpot"))
STATS = (("median", "p50", "-"), ("p99", "p99", "--"))
KEYS = tuple(f"{stat}_{name}_ms" for _, name in PANELS for stat, _, _ in STATS)


def sweep_plot(
    curves: Sequence[tuple[str, list[SweepPoint]]], singles: Sequence[tuple[str, SweepPoint]] = ()
) -> Plot:
    """A line per sweep (its points joined in order of load); a run alone is a labelled point, joined to
    nothing."""
    figure, axes = new_figure(2, height=3.8, sharex=True)
    for ax, (title, name) in zip(axes, PANELS, strict=True):
        for index, (label, points) in enumerate(curves):
            for stat, shown, style in STATS:
                pairs = [(p.throughput, p.figures.get(f"{stat}_{name}_ms"), p.label) for p in points]
                pairs = [pair for pair in pairs if pair[1] is not None]
                if not pairs:
                    continue
                ax.plot(
                    [x for x, _, _ in pairs],
                    [y for _, y, _ in pairs],
                    style,
                    marker="o" if stat == "median" else "^",
                    markersize=4,
                    color=colour(index),
                    label=f"{label} {shown}",
                )
                if stat == "median":
                    # Above each point, alternating up and higher so neighbours' labels do not collide,
                    # and never down into the x-axis.
                    for step, (x, y, text) in enumerate(pairs):
                        ax.annotate(
                            text,
                            (x, y),
                            xytext=(0, 6 + 9 * (step % 2)),
                            textcoords="offset points",
                            ha="center",
                            fontsize="x-small",
                            color=colour(index),
                        )
        for offset, (label, point) in enumerate(singles):
            index = len(curves) + offset
            for stat, shown, marker in (("median", "p50", "o"), ("p99", "p99", "^")):
                value = point.figures.get(f"{stat}_{name}_ms")
                if value is None:
                    continue
                ax.plot(
                    [point.throughput],
                    [value],
                    linestyle="none",
                    marker=marker,
                    markersize=6,
                    color=colour(index),
                    label=f"{label} · {point.label} {shown}",
                )
                if stat == "median":
                    ax.annotate(
                        point.label,
                        (point.throughput, value),
                        xytext=(0, 8),
                        textcoords="offset points",
                        ha="center",
                        fontsize="x-small",
                        color=colour(index),
                    )
        ax.set_title(f"{title}: p50 (solid, ●) and p99 (dashed, ▲) against throughput")
        ax.set_ylabel(f"{name.upper()} (ms)")
        ax.set_ylim(bottom=0)
        ax.margins(x=0.08, y=0.15)  # room for the rate labels above the highest and outermost points
    axes[-1].set_xlabel("achieved output throughput (tokens/s)")
    legend(figure, axes[0])
    return Plot("latency_vs_throughput", "Latency against throughput (sweep)", figure)
