"""`--sweep N`: the saturation throughput first, then N rates spread evenly up to it, in one engine session.

Spacing (docs/SWEEPS.md): linear, as guidellm's sweep profile and vLLM's `bench sweep` space theirs, because
the latency curve bends near saturation and linear spacing puts half the points in the upper half of the
load. The low end is saturation / N rather than a measured one-at-a-time rate: that point would take
num-prompts × one request's latency and show only the unloaded latency, which the lowest rate shows too.

Saturation (issue 24): one burst at rate inf measures a ramp-up and a tail as well as the engine at full load
(on an H100 the burst said 45.9 req/s while 50 req/s ran). So the burst is only a first estimate T0; then the
engine is overloaded for a probe's window at OVERLOAD × T0, open-loop, and its capacity is the rate requests
finished at over the window's second half, when the queue in front of it never ran dry. If the engine kept up
with that rate, it was no overload: the rate doubles, MAX_OVERLOADS times at most.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass

from specbench.config import DEFAULT_NUM_PROMPTS
from specbench.results.sweep import SessionKind, SessionSummary
from specbench.session.points import PointGenerator, PointReport, PointSpec, with_rate
from specbench.settings import ResolvedConfig

SATURATION = "sweep: saturation (rate inf)"
SUSTAINED = "sweep: saturation, sustained overload"
# The first overload is this many times the burst's throughput; the engine kept up: twice that, and so on.
OVERLOAD = 1.5
MAX_OVERLOADS = 3
# Served less than this share of what was sent over the second half: a queue grew, the engine was saturated.
_KEPT_UP = 0.95


@dataclass(frozen=True, slots=True)
class Saturation:
    """What the saturation points measured: the steady capacity, and the burst it started from."""

    throughput: float | None = None  # req/s, steady state under overload (else the burst's)
    output_throughput: float | None = None
    burst_throughput: float | None = None
    saturated: bool = False  # a sustained point overloaded the engine: `throughput` is its capacity
    requests_per_arrival: float = 1.0  # conversations: the mean turns of a session (a rate counts sessions)


def round_rate(rate: float) -> float:
    """Three significant digits: finer than any sweep step or search precision, and readable in a table."""
    return float(f"{rate:.3g}")


def sweep_rates(saturation: float, count: int) -> list[float]:
    """`count` rates evenly spaced from saturation / count up to the saturation throughput itself."""
    return [round_rate(saturation * step / count) for step in range(1, count + 1)]


def saturation_point(base: ResolvedConfig) -> PointSpec:
    """Every request at once: what the engine serves when it never waits for work. Rate mode has no count,
    so there the point sends the default number of requests."""
    workload = base.config.workload
    if workload.num_requests is None:
        return PointSpec(
            with_rate(base, math.inf, SATURATION, num_prompts=DEFAULT_NUM_PROMPTS, duration=None)
        )
    return PointSpec(with_rate(base, math.inf, SATURATION))


def saturation_figures(report: PointReport | None) -> tuple[float | None, float | None]:
    """(request throughput, output throughput) of a measured saturation point that completed requests."""
    if report is None or report.result is None or report.error is not None:
        return None, None
    metrics = report.result.metrics
    requests, tokens = metrics.get("request_throughput"), metrics.get("output_throughput")
    if not isinstance(requests, float) or requests <= 0:
        return None, None
    return requests, tokens if isinstance(tokens, float) else None


def sustained_point(base: ResolvedConfig, rate: float) -> PointSpec:
    """Open-loop at `rate` for a probe's window (--probe-seconds, --probe-requests)."""
    sweep = base.config.sweep
    window = max(sweep.probe_seconds, sweep.probe_requests / rate)
    return PointSpec(with_rate(base, round_rate(rate), SUSTAINED, num_prompts=0, duration=window))


def steady_capacity(report: PointReport) -> tuple[float, float, bool] | None:
    """(req/s, output tok/s, saturated) finished over the second half of a sustained point's window."""
    window = report.spec.config.workload.duration
    if report.error is not None or report.result is None or not window:
        return None
    half = window / 2
    ended = [r for r in report.records if r.success and r.end_s is not None and half <= r.end_s < window]
    sent = sum(1 for r in report.records if half <= r.scheduled_s < window)
    if not ended:
        return None
    served = len(ended) / half
    return served, sum(r.output_tokens for r in ended) / half, served < _KEPT_UP * sent / half


def saturation_points(base: ResolvedConfig) -> Generator[PointSpec, PointReport, Saturation]:
    """The burst, then sustained overloads until one saturates the engine; its steady capacity."""
    burst = yield saturation_point(base)
    burst_throughput, burst_tokens = saturation_figures(burst)
    if burst_throughput is None:
        return Saturation()
    per_arrival = _requests_per_arrival(burst)
    found = Saturation(burst_throughput, burst_tokens, burst_throughput, requests_per_arrival=per_arrival)
    rate = OVERLOAD * burst_throughput
    for _ in range(MAX_OVERLOADS):
        measured = steady_capacity((yield sustained_point(base, rate)))
        if measured is None:
            return found  # the sustained point broke: the burst is all there is
        served, tokens, saturated = measured
        found = Saturation(max(served, burst_throughput), tokens, burst_throughput, saturated, per_arrival)
        if saturated:
            return found
        rate *= 2
    return found


class RateSweep:
    kind: SessionKind = "sweep"

    def __init__(self, base: ResolvedConfig) -> None:
        points = base.config.sweep.points
        if points is None:
            raise ValueError("RateSweep needs sweep.points")
        self._base = base
        self._count = points
        self._saturation = Saturation()

    def points(self) -> PointGenerator:
        self._saturation = yield from saturation_points(self._base)
        throughput = self._saturation.throughput
        if throughput is None:
            return  # nothing to spread the rates over; the index entry says why
        # Conversations arrive as sessions of several requests: --rate counts sessions.
        throughput /= self._saturation.requests_per_arrival
        for rate in sweep_rates(throughput, self._count):
            yield PointSpec(with_rate(self._base, rate, f"sweep: {self._count} rates up to {throughput:.3g}"))

    def summarize(self, summary: SessionSummary) -> None:
        summarize_saturation(self._saturation, summary)


def summarize_saturation(saturation: Saturation, summary: SessionSummary) -> None:
    summary.saturation_throughput = saturation.throughput
    summary.saturation_output_throughput = saturation.output_throughput
    summary.saturation_burst_throughput = saturation.burst_throughput
    summary.saturation_sustained = saturation.saturated


def _requests_per_arrival(report: PointReport | None) -> float:
    """Requests each arrival of the schedule makes: the mean turns of a conversation's session, else 1."""
    result = report.result if report is not None else None
    turns = result.workload.get("turns_per_session_mean") if result is not None else None
    return float(turns) if isinstance(turns, int | float) and turns > 0 else 1.0
