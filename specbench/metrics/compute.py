"""Turn per-request records into the run's flat metrics: each registry entry's own formula, applied in
registry order (the formulas are in formulas.py, with vLLM's `vllm bench serve` definitions)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from specbench.config import SloConfig
from specbench.metrics.formulas import (
    MetricValue,
    RunRecords,
    achieved_rate,
    meets_slo,
    speculative_metrics,
)
from specbench.metrics.registry import METRICS, distribution_key, metric_keys, spec_for_key
from specbench.metrics.stats import check_percentiles, summarise
from specbench.records import RequestRecord

__all__ = [
    "MetricValue",
    "achieved_rate",
    "compute_metrics",
    "distribution_values",
    "meets_slo",
    "speculative_metrics",
]


def compute_metrics(
    records: Sequence[RequestRecord],
    *,
    duration_s: float,
    percentiles: Sequence[float],
    slo: SloConfig | None,
    requested_rate: float | None,
) -> dict[str, MetricValue]:
    """Flat metrics of one run, keyed as vLLM keys them; see docs/METRICS.md for every definition.

    An empty or all-failed run gives zero counts and throughputs and None latencies, never an error.
    """
    if not (math.isfinite(duration_s) and duration_s >= 0):
        raise ValueError(f"duration_s must be a finite number >= 0, got {duration_s}")
    check_percentiles(percentiles)
    run = RunRecords.of(records, duration_s=duration_s, slo=slo, requested_rate=requested_rate)
    metrics: dict[str, MetricValue] = {}
    for spec in METRICS:
        if spec.when is not None and not spec.when(run):
            continue
        if spec.values is not None:
            for stat, value in summarise(spec.values(run), percentiles).items():
                metrics[distribution_key(stat, spec.name)] = value
        elif spec.compute is not None:
            metrics[spec.name] = spec.compute(run)
    # Registry order keeps the result file and the summary table in the same order.
    return {key: metrics[key] for key, _ in metric_keys(percentiles) if key in metrics}


def distribution_values(name: str, records: Sequence[RequestRecord]) -> list[float]:
    """The per-request values that distribution metric `name` summarises (plots draw their CDFs)."""
    spec = spec_for_key(name)
    if spec is None or spec.values is None:
        raise KeyError(f"{name} is not a distribution computed from records")
    return spec.values(RunRecords.of(records))
