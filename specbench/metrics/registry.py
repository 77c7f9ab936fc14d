"""Every metric specbench reports, declared once; the summary table, the docs and `compare` read this.

Names follow vLLM's `vllm bench serve` result keys where vLLM has one. A *distribution* metric (TTFT,
ITL, …) is one entry here but several keys in the result: mean_X_ms, median_X_ms, std_X_ms, max_X_ms and
pNN_X_ms for each requested percentile.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

Better = Literal["lower", "higher"]

# Section headings of the summary table; a distribution metric's group is its own section.
RUN = "Run"
SPECULATIVE = "Speculative decoding"
ENGINE = "vLLM engine"
TRANSFORMERS = "Transformers engine"

DISTRIBUTION_STATS: tuple[str, ...] = ("mean", "median", "std", "max")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric: its result key (or key family), unit, which direction is better, and meaning."""

    name: str
    unit: str
    better: Better | None
    description: str
    label: str
    group: str = RUN
    distribution: bool = False


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "completed", "requests", "higher", "Requests that finished without error.", "Successful requests"
    ),
    MetricSpec("failed", "requests", "lower", "Requests that raised an error.", "Failed requests"),
    MetricSpec(
        "requested_rate",
        "req/s",
        None,
        "Arrival rate the schedule asked for: inf when every request was sent at once, None if unknown.",
        "Request rate configured (RPS)",
    ),
    MetricSpec(
        "achieved_rate",
        "req/s",
        None,
        "Rate the client actually sent at: (requests sent − 1) / (last sent − first sent).",
        "Request rate achieved (RPS)",
    ),
    MetricSpec(
        "duration",
        "s",
        None,
        "Benchmark duration, the divisor of every throughput.",
        "Benchmark duration (s)",
    ),
    MetricSpec(
        "total_input_tokens", "tokens", None, "Prompt tokens of the completed requests.", "Total input tokens"
    ),
    MetricSpec(
        "total_output_tokens",
        "tokens",
        None,
        "Output tokens of the completed requests.",
        "Total generated tokens",
    ),
    MetricSpec(
        "request_throughput", "req/s", "higher", "completed / duration.", "Request throughput (req/s)"
    ),
    MetricSpec(
        "request_goodput",
        "req/s",
        "higher",
        "Completed requests meeting every set SLO / duration; None when no SLO is set.",
        "Request goodput (req/s)",
    ),
    MetricSpec(
        "output_throughput",
        "tok/s",
        "higher",
        "total_output_tokens / duration.",
        "Output token throughput (tok/s)",
    ),
    MetricSpec(
        "total_token_throughput",
        "tok/s",
        "higher",
        "(total_input_tokens + total_output_tokens) / duration.",
        "Total token throughput (tok/s)",
    ),
    MetricSpec(
        "ttft",
        "ms",
        "lower",
        "Time to first token: first token arrival − sent.",
        "TTFT",
        group="Time to First Token",
        distribution=True,
    ),
    MetricSpec(
        "tpot",
        "ms",
        "lower",
        "Time per output token: (E2EL − TTFT) / (output tokens − 1); 1-token outputs excluded.",
        "TPOT",
        group="Time per Output Token (excl. 1st token)",
        distribution=True,
    ),
    MetricSpec(
        "itl",
        "ms",
        "lower",
        "Inter-token latency: every gap between consecutive token arrivals of a request.",
        "ITL",
        group="Inter-token Latency",
        distribution=True,
    ),
    MetricSpec(
        "e2el",
        "ms",
        "lower",
        "End-to-end latency: end − sent.",
        "E2EL",
        group="End-to-end Latency",
        distribution=True,
    ),
    MetricSpec(
        "dispatch_lag",
        "ms",
        "lower",
        "Harness lateness: ready − scheduled. Large values mean the client, not the engine, set the pace.",
        "Dispatch Lag",
        group="Dispatch Lag (client lateness)",
        distribution=True,
    ),
    MetricSpec(
        "client_queue",
        "ms",
        "lower",
        "Wait for a free slot under --max-concurrency: sent − ready.",
        "Client Queue",
        group="Client-side Queueing",
        distribution=True,
    ),
    MetricSpec(
        "spec_acceptance_rate",
        "fraction",
        "higher",
        "spec_num_accepted_tokens / spec_num_draft_tokens.",
        "Acceptance rate (%)",
        group=SPECULATIVE,
    ),
    MetricSpec(
        "spec_mean_acceptance_length",
        "tokens",
        "higher",
        "1 + spec_num_accepted_tokens / spec_num_drafts: tokens gained per target forward pass.",
        "Mean acceptance length",
        group=SPECULATIVE,
    ),
    MetricSpec(
        "spec_num_drafts",
        "drafts",
        None,
        "Speculation rounds (target verification passes that had draft tokens).",
        "Drafts",
        group=SPECULATIVE,
    ),
    MetricSpec(
        "spec_num_draft_tokens",
        "tokens",
        None,
        "Tokens proposed by the drafter.",
        "Draft tokens",
        group=SPECULATIVE,
    ),
    MetricSpec(
        "spec_num_accepted_tokens",
        "tokens",
        None,
        "Draft tokens the target accepted.",
        "Accepted tokens",
        group=SPECULATIVE,
    ),
    MetricSpec(
        "spec_acceptance_per_position",
        "fraction",
        "higher",
        "Per draft position i: drafts whose token i was accepted / spec_num_drafts (engine counters only).",
        "Per-position acceptance (%)",
        group=SPECULATIVE,
    ),
    MetricSpec(
        "prefix_cache_hit_rate",
        "fraction",
        None,
        "Prompt tokens found in vLLM's prefix cache / prompt tokens looked up.",
        "Prefix cache hit rate (%)",
        group=ENGINE,
    ),
    MetricSpec(
        "num_preemptions",
        "preemptions",
        "lower",
        "Requests vLLM preempted for lack of KV-cache room.",
        "Preemptions",
        group=ENGINE,
    ),
    MetricSpec(
        "peak_kv_cache_usage",
        "fraction",
        None,
        "Highest fraction of vLLM's KV cache in use at any engine step.",
        "Peak KV-cache usage (%)",
        group=ENGINE,
    ),
    MetricSpec(
        "mean_queue_time_ms",
        "ms",
        "lower",
        "Mean time requests waited in vLLM's scheduler queue (inside TTFT).",
        "Mean engine queue time (ms)",
        group=ENGINE,
    ),
    MetricSpec(
        "compile_time_s",
        "s",
        "lower",
        "--compile: wall time of the warm-up generate calls during which torch.compile produced code "
        "(an upper bound on compiling; never part of the measured requests).",
        "Compile time, in warm-up (s)",
        group=TRANSFORMERS,
    ),
    MetricSpec(
        "mean_batch_size",
        "requests",
        None,
        "Mean number of requests per generate call (1 when serial, more with dynamic batching).",
        "Mean batch size",
        group=TRANSFORMERS,
    ),
    MetricSpec(
        "target_forward_passes",
        "passes",
        None,
        "Forward passes of the serving model over the measured requests, counted during generation.",
        "Target forward passes",
        group=TRANSFORMERS,
    ),
)

_BY_NAME: dict[str, MetricSpec] = {spec.name: spec for spec in METRICS}
_DISTRIBUTION_KEY = re.compile(r"^(mean|median|std|max|p\d+(?:\.\d+)?)_(.+)_ms$")


def percentile_label(p: float) -> str:
    """'99' for 99.0 and '99.9' for 99.9, as vLLM writes percentiles into its keys."""
    return str(int(p)) if int(p) == p else str(p)


def distribution_key(stat: str, name: str) -> str:
    """Result key of one statistic of a distribution metric: ('p99', 'ttft') → 'p99_ttft_ms'."""
    return f"{stat}_{name}_ms"


def distribution_stats(percentiles: Sequence[float]) -> tuple[str, ...]:
    """Statistic names reported for every distribution metric, e.g. mean … max, p90, p99."""
    return (*DISTRIBUTION_STATS, *(f"p{percentile_label(p)}" for p in percentiles))


def metric_keys(percentiles: Sequence[float]) -> Iterator[tuple[str, MetricSpec]]:
    """Every result key the registry declares, with its spec, in registry order."""
    for spec in METRICS:
        if spec.distribution:
            for stat in distribution_stats(percentiles):
                yield distribution_key(stat, spec.name), spec
        else:
            yield spec.name, spec


def spec_for_key(key: str) -> MetricSpec | None:
    """The spec behind a result key ('p99.9_ttft_ms' → ttft), or None for keys that are not metrics."""
    if key in _BY_NAME:
        return _BY_NAME[key]
    match = _DISTRIBUTION_KEY.match(key)
    if match is None:
        return None
    spec = _BY_NAME.get(match.group(2))
    return spec if spec is not None and spec.distribution else None


def percentile_stats(result_keys: Sequence[str], name: str) -> list[str]:
    """The pNN statistics a result holds for distribution `name`, in ascending percentile order."""
    pattern = re.compile(rf"^p(\d+(?:\.\d+)?)_{re.escape(name)}_ms$")
    found = [(float(m.group(1)), f"p{m.group(1)}") for key in result_keys if (m := pattern.match(key))]
    return [stat for _, stat in sorted(found)]
