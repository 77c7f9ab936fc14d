"""When each request is due: arrival times precomputed from a seeded generator.

Convention (as in vLLM's `vllm bench serve`): the first request arrives one gap after t=0, not at
t=0, so a count-mode schedule and a rate-mode window are the same Poisson process. Unlike vLLM we do
not rescale the times so the last arrival lands exactly on count/rate: that would make the gaps
depend on each other and is impossible in rate mode, where the count is not known in advance.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from specbench.errors import ConfigError

ArrivalProcess = Literal["poisson", "constant"]


def arrival_times(
    *,
    rate: float,
    count: int | None,
    window_s: float | None,
    arrival: ArrivalProcess,
    burstiness: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Seconds from the start at which each request is due, ascending.

    count mode (count set): exactly `count` arrivals, less those at or after window_s if it is set.
    rate mode (count None): every arrival in [0, window_s).
    rate=inf puts every arrival at 0.0. Poisson gaps are gamma(shape=burstiness,
    scale=1/(rate*burstiness)), so burstiness 1 is exponential; constant gaps are 1/rate and
    ignore burstiness.
    """
    _validate(rate=rate, count=count, window_s=window_s, arrival=arrival, burstiness=burstiness)
    if math.isinf(rate):
        return np.zeros(count or 0)  # rate mode with rate=inf was rejected above
    if count is not None:
        times = _first_arrivals(count, rate=rate, arrival=arrival, burstiness=burstiness, rng=rng)
        return times if window_s is None else times[times < window_s]
    assert window_s is not None  # guaranteed by _validate
    return _arrivals_within(window_s, rate=rate, arrival=arrival, burstiness=burstiness, rng=rng)


def _first_arrivals(
    count: int, *, rate: float, arrival: ArrivalProcess, burstiness: float, rng: np.random.Generator
) -> np.ndarray:
    if arrival == "constant":
        # i/rate rather than a cumulative sum, so the spacing carries no accumulated rounding.
        return np.arange(1, count + 1) / rate
    gaps = rng.gamma(shape=burstiness, scale=1.0 / (rate * burstiness), size=count)
    return np.cumsum(gaps)


def _arrivals_within(
    window_s: float, *, rate: float, arrival: ArrivalProcess, burstiness: float, rng: np.random.Generator
) -> np.ndarray:
    # Draw in blocks of about the expected count until the window is covered; the block size depends
    # only on the inputs, so a seed still fixes the schedule.
    block = max(16, math.ceil(rate * window_s * 1.1))
    times = _first_arrivals(block, rate=rate, arrival=arrival, burstiness=burstiness, rng=rng)
    while times[-1] < window_s:
        more = _first_arrivals(block, rate=rate, arrival=arrival, burstiness=burstiness, rng=rng)
        times = np.concatenate([times, times[-1] + more])
    return times[times < window_s]


def _validate(
    *, rate: float, count: int | None, window_s: float | None, arrival: str, burstiness: float
) -> None:
    if arrival not in ("poisson", "constant"):
        raise ConfigError(f"unknown arrival process {arrival!r}: use poisson or constant")
    if not rate > 0:
        raise ConfigError(f"request rate must be positive (or inf), got {rate}")
    if not (burstiness > 0 and math.isfinite(burstiness)):
        raise ConfigError(f"burstiness must be a positive number, got {burstiness}")
    if count is not None and count < 0:
        raise ConfigError(f"request count must not be negative, got {count}")
    if window_s is not None and not window_s > 0:
        raise ConfigError(f"sending window must be positive, got {window_s} s")
    if count is None and window_s is None:
        raise ConfigError("give a request count (--num-prompts) or a sending window (--duration)")
    if count is None and math.isinf(rate):
        raise ConfigError("rate mode (--duration without --num-prompts) needs a finite --rate")
