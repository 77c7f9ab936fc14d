"""`--sweep N`: the saturation throughput first, then N rates spread evenly up to it, in one engine session.

Spacing (docs/SWEEPS.md): linear, as guidellm's sweep profile and vLLM's `bench sweep` space theirs, because
the latency curve bends near saturation and linear spacing puts half the points in the upper half of the
load. The low end is saturation / N rather than a measured one-at-a-time rate: that point would take
num-prompts × one request's latency and show only the unloaded latency, which the lowest rate shows too.
"""

from __future__ import annotations

import math

from specbench.config import DEFAULT_NUM_PROMPTS
from specbench.results.sweep import SessionKind, SessionSummary
from specbench.session.points import PointGenerator, PointReport, PointSpec, with_rate
from specbench.settings import ResolvedConfig

SATURATION = "sweep: saturation (rate inf)"


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


class RateSweep:
    kind: SessionKind = "sweep"

    def __init__(self, base: ResolvedConfig) -> None:
        points = base.config.sweep.points
        if points is None:
            raise ValueError("RateSweep needs sweep.points")
        self._base = base
        self._count = points
        self._saturation: PointReport | None = None

    def points(self) -> PointGenerator:
        self._saturation = yield saturation_point(self._base)
        throughput, _ = saturation_figures(self._saturation)
        if throughput is None:
            return  # nothing to spread the rates over; the index entry says why
        # Conversations arrive as sessions of several requests: --rate counts sessions.
        throughput /= _requests_per_arrival(self._saturation)
        for rate in sweep_rates(throughput, self._count):
            yield PointSpec(with_rate(self._base, rate, f"sweep: {self._count} rates up to {throughput:.3g}"))

    def summarize(self, summary: SessionSummary) -> None:
        summary.saturation_throughput, summary.saturation_output_throughput = saturation_figures(
            self._saturation
        )


def _requests_per_arrival(report: PointReport | None) -> float:
    """Requests each arrival of the schedule makes: the mean turns of a conversation's session, else 1."""
    result = report.result if report is not None else None
    turns = result.workload.get("turns_per_session_mean") if result is not None else None
    return float(turns) if isinstance(turns, int | float) and turns > 0 else 1.0
