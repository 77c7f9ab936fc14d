"""Rate ramps: a rate rising (or falling) linearly or exponentially from one rate to another over a duration.

Arrivals of a changing rate come from a unit-rate schedule stretched by the ramp's cumulative rate
(time rescaling): with Λ(t) = ∫ r, a unit-rate arrival at u is due at Λ⁻¹(u). Poisson gaps stay Poisson
(a non-homogeneous Poisson process), constant gaps follow the rate exactly, and the seed fixes both.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from specbench.errors import ConfigError

RampShape = Literal["linear", "exponential"]


def ramp_rate(
    t: np.ndarray | float, *, shape: RampShape, start: float, end: float, duration_s: float
) -> np.ndarray:
    """The planned rate at time t."""
    fraction = np.clip(np.asarray(t, dtype=float) / duration_s, 0.0, 1.0)
    if shape == "linear":
        return start + (end - start) * fraction
    return start * (end / start) ** fraction


def ramp_arrivals(
    *,
    shape: RampShape,
    start: float,
    end: float,
    duration_s: float,
    count: int | None,
    arrival: Literal["poisson", "constant"],
    burstiness: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Due times in [0, duration_s), ascending; at most `count` of them when it is set."""
    if not (start > 0 and end > 0 and math.isfinite(start) and math.isfinite(end)):
        raise ConfigError(f"a ramp needs finite positive rates: --rate {start:g} --ramp-to {end:g}")
    total = _cumulative(duration_s, shape=shape, start=start, end=end, duration_s=duration_s)
    expected = max(16, math.ceil(total * 1.1) + 16)
    if arrival == "constant":
        units = np.arange(1, expected + 1, dtype=float)
    else:
        units = np.cumsum(rng.gamma(shape=burstiness, scale=1.0 / burstiness, size=expected))
        while units[-1] < total:
            more = np.cumsum(rng.gamma(shape=burstiness, scale=1.0 / burstiness, size=expected))
            units = np.concatenate([units, units[-1] + more])
    units = units[units < total]
    if count is not None:
        units = units[:count]
    return _inverse(units, shape=shape, start=start, end=end, duration_s=duration_s)


def _cumulative(t: float, *, shape: RampShape, start: float, end: float, duration_s: float) -> float:
    if shape == "linear" or end == start:
        return start * t + (end - start) * t * t / (2 * duration_s)
    growth = math.log(end / start)
    return start * duration_s / growth * (math.exp(growth * t / duration_s) - 1)


def _inverse(u: np.ndarray, *, shape: RampShape, start: float, end: float, duration_s: float) -> np.ndarray:
    if end == start:
        return u / start
    if shape == "linear":
        a = (end - start) / (2 * duration_s)
        # The root of a t² + start t − u = 0 written without the cancellation of (−b + √…) / 2a.
        return 2 * u / (start + np.sqrt(np.maximum(start * start + 4 * a * u, 0.0)))
    growth = math.log(end / start)
    return duration_s / growth * np.log1p(u * growth / (start * duration_s))
