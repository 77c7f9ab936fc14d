"""Latency CDFs: every run's TTFT, TPOT, ITL or E2EL on one axis."""

from __future__ import annotations

from collections.abc import Sequence

from specbench.compare.series import Cdf
from specbench.report.plots.canvas import Plot, colour, legend, new_figure

# distribution → (what one value is, title)
CDF_METRICS: dict[str, tuple[str, str]] = {
    "ttft": ("requests", "Time to first token"),
    "tpot": ("requests", "Time per output token (excl. 1st)"),
    "itl": ("token gaps", "Inter-token latency"),
    "e2el": ("requests", "End-to-end latency"),
}
# Beyond this ratio of largest to smallest value the x axis is logarithmic, so both ends stay readable.
LOG_SPAN = 100.0


def latency_cdf_plot(name: str, curves: Sequence[tuple[int, str, Cdf]]) -> Plot:
    """`curves`: (run index for its colour, run label, CDF)."""
    unit_of, title = CDF_METRICS[name]
    figure, (ax,) = new_figure()
    smallest, largest = float("inf"), 0.0
    for index, label, cdf in curves:
        ax.step(
            cdf.values, cdf.fractions * 100, where="post", color=colour(index), label=label, linewidth=1.6
        )
        positive = cdf.values[cdf.values > 0]
        if positive.size:
            smallest, largest = min(smallest, float(positive[0])), max(largest, float(positive[-1]))
    log = largest > 0 and largest / smallest > LOG_SPAN
    if log:
        ax.set_xscale("log")
    for share in (50, 99):
        ax.axhline(share, color="grey", linewidth=0.8, linestyle=":")
        ax.annotate(
            f"p{share}",
            xy=(1.0, share),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
            color="grey",
        )
    ax.set_ylim(0, 101)
    ax.set_xlabel(f"{name.upper()} (ms{', log scale' if log else ''})")
    ax.set_ylabel(f"{unit_of} at or below (%)")
    ax.set_title(f"{title} — cumulative distribution")
    legend(figure, ax)
    return Plot(f"{name}_cdf", f"{title} (CDF)", figure)
