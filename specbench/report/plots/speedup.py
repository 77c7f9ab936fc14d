"""Speed-up of speculative decoding against load: one line per K or acceptance length, 1× marked."""

from __future__ import annotations

from specbench.report.plots.canvas import Plot, colour, legend, new_figure
from specbench.results.speculative import SpeculativeReport


def speedup_plot(report: SpeculativeReport) -> Plot:
    figure, (ax,) = new_figure(1, height=4.2)
    loads = list(dict.fromkeys(row.load_label for row in report.rows))
    positions = {label: i for i, label in enumerate(loads)}
    for index, variant in enumerate(report.variants):
        points = [(positions[load], s) for load, s in zip(variant.loads, variant.speedups, strict=True) if s]
        ax.plot(
            [x for x, _ in points],
            [y for _, y in points],
            marker="o",
            color=colour(index),
            label=variant.variant,
        )
    ax.axhline(1.0, color="#555555", linewidth=1, linestyle="--")
    ax.annotate(
        "AR (1×)", (0, 1.0), xytext=(2, 3), textcoords="offset points", fontsize="small", color="#555555"
    )
    # Loads are evenly spaced and labelled: concurrency lists are usually geometric (1, 8, 32, 128).
    ax.set_xticks(range(len(loads)), [label.replace(" · ", "\n") for label in loads])
    ax.set_ylabel("speed-up (speculative / AR output tok/s)")
    ax.set_ylim(bottom=0)
    synthetic = " (acceptance synthetic)" if report.synthetic else ""
    ax.set_title(f"Speculative decoding: speed-up against load, above 1× it pays off{synthetic}")
    legend(figure, ax)
    return Plot("speculative_speedup", "Speed-up of speculative decoding against load", figure)
