"""The latency–throughput curve of a sweep: achieved output tokens/s against TTFT and TPOT, p50 and p99."""

from __future__ import annotations

from collections.abc import Sequence

from specbench.compare.series import SweepPoint
from specbench.report.plots.canvas import Plot, colour, legend, new_figure

# (panel title, distribution) and the statistics drawn for each: p50 solid, p99 dashed.
PANELS = (("Time to first token", "ttft"), ("Time per output token", "tpot"))
STATS = (("median", "p50", "-"), ("p99", "p99", "--"))
KEYS = tuple(f"{stat}_{name}_ms" for _, name in PANELS for stat, _, _ in STATS)


def sweep_plot(curves: Sequence[tuple[str, list[SweepPoint]]]) -> Plot:
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
                    marker="o",
                    markersize=4,
                    color=colour(index),
                    label=f"{label} {shown}",
                )
                if stat == "median":
                    for x, y, text in pairs:
                        ax.annotate(
                            text,
                            (x, y),
                            xytext=(4, -10),
                            textcoords="offset points",
                            fontsize="x-small",
                            color=colour(index),
                        )
        ax.set_title(f"{title}: p50 (solid) and p99 (dashed) against throughput")
        ax.set_ylabel(f"{name.upper()} (ms)")
        ax.set_ylim(bottom=0)
        ax.margins(x=0.08)  # room for the last point's rate label
    axes[-1].set_xlabel("achieved output throughput (tokens/s)")
    legend(figure, axes[0])
    return Plot("latency_vs_throughput", "Latency against throughput (sweep)", figure)
