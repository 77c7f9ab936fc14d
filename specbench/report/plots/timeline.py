"""Over the measured window: output tokens/s and requests in flight, GPU utilisation and power."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from specbench.compare.series import GpuTimeline, Timeline
from specbench.report.plots.canvas import Plot, colour, legend, new_figure

TIME_AXIS = "time since the measured window began (s)"


def load_plot(series: Sequence[tuple[int, str, Timeline, Timeline]]) -> Plot:
    """`series`: (run index, label, output tokens/s, requests in flight)."""
    figure, (rate_ax, flight_ax) = new_figure(2, height=3.4, sharex=True)
    for index, label, rate, flight in series:
        rate_ax.plot(
            rate.times_s, rate.values, drawstyle="steps-mid", color=colour(index), label=label, linewidth=1.4
        )
        flight_ax.step(
            flight.times_s, flight.values, where="post", color=colour(index), label=label, linewidth=1.4
        )
    rate_ax.set_title("Output tokens per second (averaged over each time bin)")
    rate_ax.set_ylabel("output tokens/s")
    rate_ax.set_ylim(bottom=0)
    flight_ax.set_title("Requests in flight (sent, not yet finished)")
    flight_ax.set_ylabel("requests")
    flight_ax.set_ylim(bottom=0)
    flight_ax.yaxis.get_major_locator().set_params(integer=True)
    flight_ax.set_xlabel(TIME_AXIS)
    legend(figure, rate_ax)
    return Plot("throughput_over_time", "Output tokens/s and requests in flight over time", figure)


def gpu_plot(series: Sequence[tuple[int, str, list[GpuTimeline]]]) -> Plot:
    """`series`: (run index, run label, its GPUs' timelines); GPUs of one run share its colour."""
    figure, (util_ax, power_ax) = new_figure(2, height=3.4, sharex=True)
    styles = ("-", "--", ":", "-.")
    for index, label, gpus in series:
        for n, gpu in enumerate(gpus):
            name = label if len(gpus) == 1 else f"{label} · {gpu.name}"
            style = dict(color=colour(index), linestyle=styles[n % len(styles)], linewidth=1.4)
            if gpu.utilization_pct is not None:
                util_ax.plot(gpu.utilization_pct.times_s, gpu.utilization_pct.values, label=name, **style)
            if gpu.power_w is not None:
                power_ax.plot(gpu.power_w.times_s, gpu.power_w.values, label=name, **style)
    earliest = min(
        (float(t.times_s.min()) for _, _, gpus in series for gpu in gpus for t in _readings(gpu)), default=0.0
    )
    if earliest < 0:
        for ax in (util_ax, power_ax):
            ax.axvspan(
                earliest,
                0,
                color="grey",
                alpha=0.12,
                label="warm-up (not measured)" if ax is util_ax else None,
            )
    util_ax.set_title("GPU utilisation")
    util_ax.set_ylabel("utilisation (%)")
    util_ax.set_ylim(0, 105)
    power_ax.set_title("GPU power")
    power_ax.set_ylabel("power (W)")
    power_ax.set_ylim(bottom=0)
    power_ax.set_xlabel(TIME_AXIS)
    legend(figure, util_ax)
    return Plot("gpu_over_time", "GPU utilisation and power over time", figure)


def _readings(gpu: GpuTimeline) -> list[Timeline]:
    return [t for t in (gpu.utilization_pct, gpu.power_w) if t is not None and t.times_s.size]


def window_plot(series: Sequence[tuple[int, str, Sequence[dict[str, Any]]]]) -> Plot:
    """`series`: (run index, label, the result's per-window rows): sent rate and TTFT p50/p99 per window, so
    a ramp's knee (latency turning up while the sent rate still rises) shows in one run."""
    figure, (rate_ax, ttft_ax) = new_figure(2, height=3.4, sharex=True)
    for index, label, rows in series:
        middles = [(row["start_s"] + row["end_s"]) / 2 for row in rows]
        rate_ax.plot(
            middles, [row["sent_rate"] for row in rows], marker="o", color=colour(index), label=label
        )
        ttft_ax.plot(
            middles, [row["median_ttft_ms"] for row in rows], marker="o", color=colour(index), label=label
        )
        ttft_ax.plot(middles, [row["p99_ttft_ms"] for row in rows], linestyle="--", color=colour(index))
    rate_ax.set_title("Requests sent per second, per time window")
    rate_ax.set_ylabel("requests/s")
    rate_ax.set_ylim(bottom=0)
    ttft_ax.set_title("TTFT of the requests sent in each window: p50 (solid), p99 (dashed)")
    ttft_ax.set_ylabel("TTFT (ms)")
    ttft_ax.set_ylim(bottom=0)
    ttft_ax.set_xlabel(TIME_AXIS)
    legend(figure, rate_ax)
    return Plot("latency_over_time", "Sent rate and TTFT per time window", figure)
