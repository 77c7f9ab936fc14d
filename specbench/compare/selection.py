"""Which rows a comparison shows: a default set declared once here, or what `--metrics` names."""

from __future__ import annotations

import re
from collections.abc import Sequence

from specbench.errors import ConfigError
from specbench.metrics.registry import METRICS, MetricSpec, distribution_key, spec_for_key

# Registry names shown by default, in the registry's groups: throughput, the four latencies, speculative
# acceptance and the GPU figures (each row only where some run has a value).
DEFAULT_METRICS: tuple[str, ...] = (
    "request_throughput",
    "request_goodput",
    "output_throughput",
    "total_token_throughput",
    "ttft",
    "tpot",
    "itl",
    "e2el",
    "ttfat",
    "total_reasoning_tokens",
    "total_answer_tokens",
    "spec_acceptance_rate",
    "spec_mean_acceptance_length",
    "spec_acceptance_per_position",
    "mean_gpu_utilization",
    "max_gpu_memory_used_gib",
    "mean_power_w",
    "joules_per_output_token",
)
# A distribution named without a statistic shows these.
DEFAULT_STATS: tuple[str, ...] = ("mean", "median", "p99")

_BY_NAME = {spec.name: spec for spec in METRICS}
_ORDER = {spec.name: i for i, spec in enumerate(METRICS)}


def selected_keys(names: Sequence[str] | None = None) -> list[tuple[str, MetricSpec]]:
    """Result keys and their specs, in registry order: the defaults, or each name of `names` (a registry
    name such as 'ttft' or 'output_throughput', or a result key such as 'p90_ttft_ms')."""
    chosen: dict[str, MetricSpec] = {}
    for name in names or DEFAULT_METRICS:
        spec = _BY_NAME.get(name)
        if spec is not None and spec.distribution:
            chosen.update({distribution_key(stat, name): spec for stat in DEFAULT_STATS})
            continue
        spec = spec or spec_for_key(name)
        if spec is None:
            raise ConfigError(
                f"--metrics: no metric {name!r}; give registry names (ttft, output_throughput, "
                "spec_acceptance_rate, …) or result keys (p90_ttft_ms, …), as docs/METRICS.md lists them"
            )
        chosen[name] = spec
    return sorted(chosen.items(), key=lambda item: (_ORDER[item[1].name], _stat_rank(item[0], item[1])))


def _stat_rank(key: str, spec: MetricSpec) -> float:
    if not spec.distribution:
        return 0.0
    stat = key.split("_", 1)[0]
    fixed = {"mean": 0.0, "median": 1.0, "std": 300.0, "max": 301.0}
    if stat in fixed:
        return fixed[stat]
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
    return 2.0 + float(match.group(1)) if match else 400.0
