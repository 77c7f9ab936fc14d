"""Is a probe's load stationary, and from when? Measured from its records alone (docs/SWEEPS.md).

A probe starts on an empty engine. Until the queue holds the backlog it keeps at that rate, latency is better
than it will be: those requests are the transient. Here the transient ends when the number of requests in
flight (sent, not yet finished: waiting in the engine's queue or being served) first reaches nine tenths of
the level it holds over the second half of the window, smoothed over one end-to-end latency so that a single
Poisson burst does not count.

A latency still trends upward when, over TREND_BATCHES equal slices of the judged part by send time, the
slices' mean latencies rise with a slope TREND_T standard errors above zero (batch means: a queue's slow
swings make single requests far from independent, slices of seconds much less so) and by more than
TREND_SHARE of its SLO limit over the judged part. Then the engine has not reached a steady state at that
rate, and the probe does not pass however many requests met the SLOs. The halves of the judged part are
reported beside it: requests in flight and mean latencies, first half against second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from specbench.config import SloConfig
from specbench.records import RequestRecord

# Grid on which the number of requests in flight is sampled.
STEP_S = 0.05
# A trend: slices' mean latencies rising with a slope this many standard errors above zero (a stationary
# queue gets there about once in a hundred probes; one that overflows, at once) …
TREND_BATCHES = 8
TREND_T = 3.0
# … by more than this share of the SLO limit over the judged part (a rise that matters to the verdict).
TREND_SHARE = 0.10
# The queue has filled once its smoothed count is this close to its second-half level: a stationary count sits
# at its mean only now and then, so the level itself may never be met exactly.
REACHED_SHARE = 0.9
# The transient takes at most this share of the window: a probe still filling up past it has no steady state.
MAX_TRANSIENT_SHARE = 0.5
_SLO_LATENCIES = (("ttft_ms", "ttft_ms"), ("tpot_ms", "tpot_ms"), ("e2el_ms", "e2el_ms"))


@dataclass(frozen=True, slots=True)
class Half:
    """The figures of one half of a probe's judged part."""

    requests: int
    in_flight: float | None  # mean number of requests in flight over the half's time span
    latency_ms: dict[str, float]  # mean TTFT / TPOT / E2EL of its successful requests, by SLO name


@dataclass(frozen=True, slots=True)
class SteadyState:
    """Where a probe's transient ended, its two judged halves, and what still trends upward at its end."""

    transient_s: float
    first: Half
    second: Half
    trends: list[str] = field(default_factory=list)  # e.g. "TTFT mean 40 → 95 ms (limit 130 ms)"

    @property
    def stationary(self) -> bool:
        return not self.trends


def in_flight(records: Sequence[RequestRecord], times: np.ndarray) -> np.ndarray:
    """How many requests were in flight (sent, not ended) at each of `times`, from the records alone."""
    sent = np.sort([r.sent_s for r in records if r.sent_s is not None])
    ended = np.sort([r.end_s for r in records if r.sent_s is not None and r.end_s is not None])
    return np.searchsorted(sent, times, side="right") - np.searchsorted(ended, times, side="right")


def transient_end_s(
    records: Sequence[RequestRecord], *, window_s: float, smooth_s: float, at_least_s: float = 0.0
) -> float:
    """When the number in flight, averaged over `smooth_s`, first reached its second-half level.

    At least `at_least_s` (a transient known in advance), at most MAX_TRANSIENT_SHARE of the window.
    """
    latest = MAX_TRANSIENT_SHARE * window_s
    if window_s <= 0 or not records:
        return min(at_least_s, latest)
    times = np.arange(0.0, window_s, STEP_S)
    counts = in_flight(records, times).astype(float)
    level = counts[times >= window_s / 2].mean()
    width = max(1, round(smooth_s / STEP_S))
    smoothed = np.convolve(counts, np.ones(width) / width, mode="same")  # centred: no lag of its own
    reached = np.flatnonzero(smoothed >= REACHED_SHARE * level)
    filled = float(times[reached[0]]) if reached.size else latest
    return min(max(filled, at_least_s), latest)


def steady_state(
    records: Sequence[RequestRecord],
    *,
    window_s: float,
    slo: SloConfig,
    at_least_s: float = 0.0,
    judged_end_s: float | None = None,
) -> SteadyState:
    """The transient, the judged part's halves, and the SLO latencies that still trend upward.

    The judged part ends at `judged_end_s` (default: the window's end); requests sent after it are the tail
    that keeps the load up while the judged ones finish.
    """
    end = window_s if judged_end_s is None else min(judged_end_s, window_s)
    latencies = [r.e2el_ms for r in records if r.success and r.e2el_ms is not None]
    smooth_s = float(np.median(latencies)) / 1000 if latencies else 0.0
    transient = transient_end_s(records, window_s=end, smooth_s=smooth_s, at_least_s=at_least_s)
    middle = (transient + end) / 2
    judged = [r for r in records if transient <= r.scheduled_s < end]
    first = _half([r for r in judged if r.scheduled_s < middle], records, transient, middle)
    second = _half([r for r in judged if r.scheduled_s >= middle], records, middle, end)
    trends = []
    for key, label in (("ttft_ms", "TTFT"), ("tpot_ms", "TPOT"), ("e2el_ms", "E2EL")):
        limit = getattr(slo, key)
        rise = _rise(judged, key, transient, end) if limit is not None else None
        if rise is not None and rise > TREND_SHARE * limit:
            before, after = first.latency_ms.get(key), second.latency_ms.get(key)
            halves = f"halves' means {before:.3g} → {after:.3g} ms, " if before and after else ""
            trends.append(f"{label} rises {rise:.3g} ms over the judged part ({halves}limit {limit:g} ms)")
    return SteadyState(transient_s=transient, first=first, second=second, trends=trends)


def _rise(records: Sequence[RequestRecord], key: str, start_s: float, end_s: float) -> float | None:
    """How much the latency `key` rises over [start_s, end_s] by a significant slope of its slices' means;
    None when it does not rise significantly (or there is too little to tell)."""
    width = (end_s - start_s) / TREND_BATCHES
    if width <= 0:
        return None
    centres, means = [], []
    for batch in range(TREND_BATCHES):
        low = start_s + batch * width
        values = [
            value
            for r in records
            if r.success and low <= r.scheduled_s < low + width and (value := getattr(r, key)) is not None
        ]
        if values:
            centres.append(low + width / 2)
            means.append(float(np.mean(values)))
    if len(means) < 4:
        return None
    x, y = np.array(centres), np.array(means)
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    spread = np.sum((x - x.mean()) ** 2)
    error = math.sqrt(np.sum(residuals**2) / (len(x) - 2) / spread) if spread > 0 else math.inf
    if slope <= 0 or slope < TREND_T * error:
        return None
    return float(slope * (end_s - start_s))


def _half(
    half: Sequence[RequestRecord], records: Sequence[RequestRecord], start_s: float, end_s: float
) -> Half:
    done = [r for r in half if r.success]
    means = {}
    for key, attribute in _SLO_LATENCIES:
        values = [v for r in done if (v := getattr(r, attribute)) is not None]
        if values:
            means[key] = float(np.mean(values))
    times = np.arange(start_s, end_s, STEP_S)
    level = float(in_flight(records, times).mean()) if times.size else None
    return Half(requests=len(half), in_flight=level, latency_ms=means)
