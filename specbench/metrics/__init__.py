"""Metrics of a run, computed from RequestRecords alone (they know nothing of engines)."""

from specbench.metrics.compute import (
    MetricValue,
    achieved_rate,
    compute_metrics,
    meets_slo,
    speculative_metrics,
)
from specbench.metrics.registry import (
    METRICS,
    MetricSpec,
    distribution_key,
    metric_keys,
    percentile_label,
    percentile_stats,
    spec_for_key,
)
from specbench.metrics.stats import summarise

__all__ = [
    "METRICS",
    "MetricSpec",
    "MetricValue",
    "achieved_rate",
    "compute_metrics",
    "distribution_key",
    "meets_slo",
    "metric_keys",
    "percentile_label",
    "percentile_stats",
    "spec_for_key",
    "speculative_metrics",
    "summarise",
]
