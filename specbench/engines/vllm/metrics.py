"""Engine-side figures from vLLM's Prometheus metrics and its stat-logger hook.

vLLM's front end records counters for everything its engine process reports, so reading them is the
one view that works across the process boundary; the openai engine reads the same counters from a served
vLLM's /metrics through the same snapshot code, so both engines report the same figures. Counters only
grow: a run's figures are the difference between a snapshot after warm-up and one at the end. A peak is no
counter: it comes from a stat logger that vLLM calls with every step's scheduler stats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from specbench.speculative import spec_stats

_SPEC_PREFIX = "vllm:spec_decode_"
_ACCEPTED_PER_POS = "vllm:spec_decode_num_accepted_tokens_per_pos"
# Request-phase histograms reported as their mean in milliseconds, keyed by vLLM's own names.
_MEAN_MS = {
    "mean_queue_time_ms": "vllm:request_queue_time_seconds",
    "mean_prefill_time_ms": "vllm:request_prefill_time_seconds",
    "mean_decode_time_ms": "vllm:request_decode_time_seconds",
    "mean_inference_time_ms": "vllm:request_inference_time_seconds",
}


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """vLLM's counters and histograms at one moment, summed over label sets (engines, finish reasons)."""

    counters: dict[str, int] = field(default_factory=dict)
    vectors: dict[str, list[int]] = field(default_factory=dict)
    histograms: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> (count, sum)

    @classmethod
    def capture(cls) -> MetricsSnapshot:
        """This process's vLLM metrics (the in-process engine's front end records them here)."""
        from prometheus_client import REGISTRY

        return cls.from_families(REGISTRY.collect())

    @classmethod
    def from_families(
        cls, families: Iterable[Any], *, labels: Mapping[str, str] | None = None
    ) -> MetricsSnapshot:
        """From Prometheus metric families as prometheus_client gives them: its registry's (in-process) or
        its text parser's (a served vLLM's /metrics), so both engines report through the same code.

        Samples whose labels differ from `labels` (say, another model_name of the same server) are left out.
        """
        counters: dict[str, int] = {}
        vectors: dict[str, list[int]] = {}
        histograms: dict[str, tuple[int, float]] = {}
        for family in families:
            name = family.name
            if not name.startswith("vllm:") or family.type not in ("counter", "histogram"):
                continue
            if family.type == "counter":
                for sample in family.samples:
                    if sample.name != name + "_total" or not _matches(sample.labels, labels):
                        continue
                    if name == _ACCEPTED_PER_POS:
                        # One counter per draft position (label "position"): vLLM's reader calls it a Vector.
                        position = int(sample.labels.get("position", 0))
                        per_pos = [0] * (position + 1)
                        per_pos[position] = int(sample.value)
                        vectors[name] = _add(vectors.get(name, []), per_pos)
                    else:
                        counters[name] = counters.get(name, 0) + int(sample.value)
                continue
            count, total = histograms.get(name, (0, 0.0))
            for sample in family.samples:
                if not _matches(sample.labels, labels):
                    continue
                if sample.name == name + "_count":
                    count += int(sample.value)
                elif sample.name == name + "_sum":
                    total += float(sample.value)
            histograms[name] = (count, total)
        return cls(counters, vectors, histograms)


def _matches(sample_labels: Mapping[str, str], wanted: Mapping[str, str] | None) -> bool:
    return wanted is None or all(sample_labels.get(key, value) == value for key, value in wanted.items())


def _add(a: list[int], b: list[int]) -> list[int]:
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    return [x + (shorter[i] if i < len(shorter) else 0) for i, x in enumerate(longer)]


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def run_stats(before: MetricsSnapshot, after: MetricsSnapshot, peak_kv_usage: float | None) -> dict[str, Any]:
    """The run's engine-side figures (flat keys) from the snapshots taken after warm-up and at the end.

    Empty when vLLM recorded nothing (stat logging disabled).
    """
    if not after.counters and not after.histograms:
        return {}

    def delta(name: str) -> int:
        return after.counters.get(name, 0) - before.counters.get(name, 0)

    queries, hits = delta("vllm:prefix_cache_queries"), delta("vllm:prefix_cache_hits")
    stats: dict[str, Any] = {
        "engine_prompt_tokens": delta("vllm:prompt_tokens"),
        "engine_generation_tokens": delta("vllm:generation_tokens"),
        "num_preemptions": delta("vllm:num_preemptions"),
        "prefix_cache_queries": queries,
        "prefix_cache_hits": hits,
        "prefix_cache_hit_rate": _ratio(hits, queries),
        "peak_kv_cache_usage": peak_kv_usage,
    }
    for key, name in _MEAN_MS.items():
        count_after, sum_after = after.histograms.get(name, (0, 0.0))
        count_before, sum_before = before.histograms.get(name, (0, 0.0))
        mean_s = _ratio(sum_after - sum_before, count_after - count_before)
        stats[key] = mean_s * 1000 if mean_s is not None else None
    if any(name.startswith(_SPEC_PREFIX) for name in after.counters):
        stats.update(_spec_stats(before, after))
    return stats


def _spec_stats(before: MetricsSnapshot, after: MetricsSnapshot) -> dict[str, Any]:
    def delta(name: str) -> int:
        return after.counters.get(name, 0) - before.counters.get(name, 0)

    drafts = delta("vllm:spec_decode_num_drafts")
    draft_tokens = delta("vllm:spec_decode_num_draft_tokens")
    accepted = delta("vllm:spec_decode_num_accepted_tokens")
    per_pos_after = after.vectors.get(_ACCEPTED_PER_POS, [])
    per_pos_before = before.vectors.get(_ACCEPTED_PER_POS, [])
    per_pos = [n - (per_pos_before[i] if i < len(per_pos_before) else 0) for i, n in enumerate(per_pos_after)]
    return spec_stats(drafts, draft_tokens, accepted, per_pos)


class KvCachePeak:
    """The highest KV-cache usage any engine step reported since the last reset.

    Exact rather than sampled: vLLM hands every step's scheduler stats to its stat loggers, and
    `logger_factory()` gives it one more logger that keeps only this maximum (no registry scans).
    """

    def __init__(self) -> None:
        self.peak: float | None = None

    def observe(self, usage: float) -> None:
        if self.peak is None or usage > self.peak:
            self.peak = usage

    def reset(self) -> None:
        self.peak = None

    def logger_factory(self) -> type:
        """A vLLM stat-logger class (built per engine by vLLM) that reports into this object."""
        from vllm.v1.metrics.loggers import StatLoggerBase

        peak = self

        class KvCachePeakLogger(StatLoggerBase):
            def __init__(self, vllm_config: Any, engine_index: int = 0) -> None:
                pass

            def record(
                self,
                scheduler_stats: Any,
                iteration_stats: Any,
                mm_cache_stats: Any = None,
                engine_idx: int = 0,
            ) -> None:
                if scheduler_stats is not None:
                    peak.observe(scheduler_stats.kv_cache_usage)

            def log_engine_initialized(self) -> None:
                pass

        return KvCachePeakLogger
