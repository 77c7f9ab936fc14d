"""One summary (mean, median, std, max, percentiles) shared by every latency family."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from specbench.errors import SpecbenchError
from specbench.metrics.registry import distribution_stats, percentile_label


def check_percentiles(percentiles: Sequence[float]) -> None:
    """Raise SpecbenchError unless every percentile lies in [0, 100]."""
    bad = [p for p in percentiles if not 0 <= p <= 100]
    if bad:
        raise SpecbenchError(f"percentiles must lie between 0 and 100, got {bad}: fix --percentiles")


def summarise(values: Sequence[float], percentiles: Sequence[float]) -> dict[str, float | None]:
    """mean, median, std (population, as vLLM), max and pNN of `values`; all None when there are none.

    Percentiles use numpy's default linear interpolation between the two nearest ranks, as vLLM does.
    """
    check_percentiles(percentiles)
    stats = distribution_stats(percentiles)
    if len(values) == 0:
        # No data is not zero latency: None keeps an empty family from looking perfect.
        return dict.fromkeys(stats)
    array = np.asarray(values, dtype=float)
    summary = {
        "mean": np.mean(array),
        "median": np.median(array),
        "std": np.std(array),
        "max": np.max(array),
    }
    if percentiles:
        for p, value in zip(percentiles, np.percentile(array, list(percentiles)), strict=True):
            summary[f"p{percentile_label(p)}"] = value
    return {stat: float(summary[stat]) for stat in stats}
