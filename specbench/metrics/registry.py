"""Every figure specbench reports, declared once: the summary, docs/METRICS.md, `compare` and the plots read
this, and the result file holds no key it does not declare.

Names follow vLLM's `vllm bench serve` result keys where vLLM has one; `vllm_key` and `vllm_scale` say how
vLLM writes a figure that specbench names or scales differently. A *distribution* metric (TTFT, ITL, …) is
one entry here but several keys in the result: mean_X_ms, median_X_ms, std_X_ms, max_X_ms and pNN_X_ms.

Each figure comes from one or more *sources*, in order of preference: the per-request records, the
engine's own counters, or the GPU telemetry. When two sources give the same key, the first one listed wins
(engines count speculative decoding per draft position, which records cannot).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Better = Literal["lower", "higher"]
Source = Literal["records", "engine", "telemetry"]

# Section headings of the summary and compare tables; a distribution metric's group is its own section.
RUN = "Run"
THROUGHPUT = "Throughput"
SPECULATIVE = "Speculative decoding"
GPU = "GPU"
VLLM = "vLLM engine"
TRANSFORMERS = "Transformers engine"
ECHO = "Echo engine"

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
    sources: tuple[Source, ...] = ("records",)
    vllm_key: str | None = None  # the key in a `vllm bench serve --save-result` file, where it differs
    vllm_scale: float = 1.0  # vLLM's value = specbench's value × vllm_scale
    in_vllm: bool = False  # `vllm bench serve` reports this figure (under vllm_key or the same name)


def _m(
    name: str,
    unit: str,
    better: Better | None,
    label: str,
    description: str,
    *,
    group: str = RUN,
    sources: tuple[Source, ...] = ("records",),
    vllm: str | bool = False,
    vllm_scale: float = 1.0,
    distribution: bool = False,
) -> MetricSpec:
    return MetricSpec(
        name=name,
        unit=unit,
        better=better,
        description=description,
        label=label,
        group=group,
        distribution=distribution,
        sources=sources,
        vllm_key=vllm if isinstance(vllm, str) else None,
        vllm_scale=vllm_scale,
        in_vllm=bool(vllm),
    )


def _latency(name: str, label: str, group: str, description: str, *, vllm: str | bool = True) -> MetricSpec:
    return _m(name, "ms", "lower", label, description, group=group, vllm=vllm, distribution=True)


_SPEC_SOURCES: tuple[Source, ...] = ("engine", "records")
_ENGINE: tuple[Source, ...] = ("engine",)
_TELEMETRY: tuple[Source, ...] = ("telemetry",)

METRICS: tuple[MetricSpec, ...] = (
    _m(
        "completed",
        "requests",
        "higher",
        "Successful requests",
        "Requests that finished without error.",
        vllm=True,
    ),
    _m("failed", "requests", "lower", "Failed requests", "Requests that raised an error.", vllm=True),
    _m(
        "requested_rate",
        "req/s",
        None,
        "Request rate configured (RPS)",
        "Arrival rate the schedule asked for: inf when every request was sent at once, None if unknown.",
        vllm="request_rate",
    ),
    _m(
        "achieved_rate",
        "req/s",
        None,
        "Request rate achieved (RPS)",
        "Rate the client actually sent at: (requests sent − 1) / (last sent − first sent).",
    ),
    _m(
        "duration",
        "s",
        None,
        "Benchmark duration (s)",
        "Benchmark duration, the divisor of every throughput.",
        vllm=True,
    ),
    _m(
        "total_input_tokens",
        "tokens",
        None,
        "Total input tokens",
        "Prompt tokens of the completed requests.",
        vllm=True,
    ),
    _m(
        "total_output_tokens",
        "tokens",
        None,
        "Total generated tokens",
        "Output tokens of the completed requests.",
        vllm=True,
    ),
    _m(
        "request_throughput",
        "req/s",
        "higher",
        "Request throughput (req/s)",
        "completed / duration.",
        group=THROUGHPUT,
        vllm=True,
    ),
    _m(
        "request_goodput",
        "req/s",
        "higher",
        "Request goodput (req/s)",
        "Completed requests meeting every set SLO / duration; None when no SLO is set.",
        group=THROUGHPUT,
        vllm=True,
    ),
    _m(
        "output_throughput",
        "tok/s",
        "higher",
        "Output token throughput (tok/s)",
        "total_output_tokens / duration.",
        group=THROUGHPUT,
        vllm=True,
    ),
    _m(
        "total_token_throughput",
        "tok/s",
        "higher",
        "Total token throughput (tok/s)",
        "(total_input_tokens + total_output_tokens) / duration.",
        group=THROUGHPUT,
        vllm=True,
    ),
    _latency("ttft", "TTFT", "Time to First Token", "Time to first token: first token arrival − sent."),
    _latency(
        "tpot",
        "TPOT",
        "Time per Output Token (excl. 1st token)",
        "Time per output token: (E2EL − TTFT) / (output tokens − 1); 1-token outputs excluded.",
    ),
    _latency(
        "itl",
        "ITL",
        "Inter-token Latency",
        "Inter-token latency: every gap between consecutive token arrivals of a request.",
    ),
    _latency("e2el", "E2EL", "End-to-end Latency", "End-to-end latency: end − sent."),
    _latency(
        "ttfat",
        "TTFAT",
        "Time to First Answer Token (reasoning models)",
        "Time to the first answer token, after the reasoning: first answer chunk arrival − sent (chat over "
        "the openai engine; TTFT counts the first token of any kind).",
        vllm=False,
    ),
    _m(
        "total_reasoning_tokens",
        "tokens",
        None,
        "Reasoning tokens",
        "Output tokens of the completed requests spent reasoning before the answer (the server's usage "
        "details where it gives them, else counted from the reasoning chunks).",
    ),
    _m(
        "total_answer_tokens",
        "tokens",
        None,
        "Answer tokens",
        "Output tokens of the completed requests that were answer, not reasoning.",
    ),
    _latency(
        "dispatch_lag",
        "Dispatch Lag",
        "Dispatch Lag (client lateness)",
        "Harness lateness: ready − scheduled. Large values mean the client, not the engine, set the pace.",
        vllm=False,
    ),
    _latency(
        "client_queue",
        "Client Queue",
        "Client-side Queueing",
        "Wait for a free slot under --max-concurrency: sent − ready.",
        vllm="client_queue_time",
    ),
    _m(
        "spec_acceptance_rate",
        "fraction",
        "higher",
        "Acceptance rate (%)",
        "spec_num_accepted_tokens / spec_num_draft_tokens.",
        group=SPECULATIVE,
        sources=_SPEC_SOURCES,
        vllm="spec_decode_acceptance_rate",
        vllm_scale=100.0,
    ),
    _m(
        "spec_mean_acceptance_length",
        "tokens",
        "higher",
        "Mean acceptance length",
        "1 + spec_num_accepted_tokens / spec_num_drafts: tokens gained per target forward pass.",
        group=SPECULATIVE,
        sources=_SPEC_SOURCES,
        vllm="spec_decode_acceptance_length",
    ),
    _m(
        "spec_num_drafts",
        "drafts",
        None,
        "Drafts",
        "Speculation rounds (target verification passes that had draft tokens).",
        group=SPECULATIVE,
        sources=_SPEC_SOURCES,
        vllm="spec_decode_num_drafts",
    ),
    _m(
        "spec_num_draft_tokens",
        "tokens",
        None,
        "Draft tokens",
        "Tokens proposed by the drafter.",
        group=SPECULATIVE,
        sources=_SPEC_SOURCES,
        vllm="spec_decode_draft_tokens",
    ),
    _m(
        "spec_num_accepted_tokens",
        "tokens",
        None,
        "Accepted tokens",
        "Draft tokens the target accepted.",
        group=SPECULATIVE,
        sources=_SPEC_SOURCES,
        vllm="spec_decode_accepted_tokens",
    ),
    _m(
        "spec_acceptance_per_position",
        "fraction",
        "higher",
        "Per-position acceptance (%)",
        "Per draft position i: drafts whose token i was accepted / spec_num_drafts (engine counters only).",
        group=SPECULATIVE,
        sources=_ENGINE,
        vllm="spec_decode_per_position_acceptance_rates",
    ),
    _m(
        "prefix_cache_hit_rate",
        "fraction",
        None,
        "Prefix cache hit rate (%)",
        "Prompt tokens found in vLLM's prefix cache / prompt tokens looked up.",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "num_preemptions",
        "preemptions",
        "lower",
        "Preemptions",
        "Requests vLLM preempted for lack of KV-cache room.",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "peak_kv_cache_usage",
        "fraction",
        None,
        "Peak KV-cache usage (%)",
        "Highest fraction of vLLM's KV cache in use at any engine step.",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "mean_queue_time_ms",
        "ms",
        "lower",
        "Mean engine queue time (ms)",
        "Mean time requests waited in vLLM's scheduler queue (inside TTFT).",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "mean_prefill_time_ms",
        "ms",
        "lower",
        "Mean prefill time (ms)",
        "Mean of vLLM's per-request prefill phase (vllm:request_prefill_time_seconds).",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "mean_decode_time_ms",
        "ms",
        "lower",
        "Mean decode time (ms)",
        "Mean of vLLM's per-request decode phase (vllm:request_decode_time_seconds).",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "mean_inference_time_ms",
        "ms",
        "lower",
        "Mean inference time (ms)",
        "Mean of vLLM's per-request time from scheduled to finished (vllm:request_inference_time_seconds).",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "engine_prompt_tokens",
        "tokens",
        None,
        "Engine prompt tokens",
        "Prompt tokens the engine processed over the measured requests (vllm:prompt_tokens).",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "engine_generation_tokens",
        "tokens",
        None,
        "Engine generated tokens",
        "Tokens the engine generated over the measured requests (vllm:generation_tokens).",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "prefix_cache_queries",
        "tokens",
        None,
        "Prefix cache queries",
        "Prompt tokens looked up in vLLM's prefix cache (vllm:prefix_cache_queries).",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "prefix_cache_hits",
        "tokens",
        None,
        "Prefix cache hits",
        "Prompt tokens found in vLLM's prefix cache (vllm:prefix_cache_hits).",
        group=VLLM,
        sources=_ENGINE,
    ),
    _m(
        "compile_time_s",
        "s",
        "lower",
        "Compile time, in warm-up (s)",
        "--compile: wall time of the warm-up generate calls during which torch.compile produced code "
        "(an upper bound on compiling; never part of the measured requests).",
        group=TRANSFORMERS,
        sources=_ENGINE,
    ),
    _m(
        "compiling_generate_calls",
        "calls",
        None,
        "Compiling generate calls",
        "--compile: generate calls during which torch.compile produced code, warm-up included.",
        group=TRANSFORMERS,
        sources=_ENGINE,
    ),
    _m(
        "compiling_generate_calls_measured",
        "calls",
        "lower",
        "Compiling calls, measured",
        "--compile: of those, calls among the measured requests (should be 0: warm-up too short otherwise).",
        group=TRANSFORMERS,
        sources=_ENGINE,
    ),
    _m(
        "mean_batch_size",
        "requests",
        None,
        "Mean batch size",
        "Mean number of requests per generate call (1 when serial, more with dynamic batching).",
        group=TRANSFORMERS,
        sources=_ENGINE,
    ),
    _m(
        "generate_calls",
        "calls",
        None,
        "Generate calls",
        "generate() calls over the measured requests.",
        group=TRANSFORMERS,
        sources=_ENGINE,
    ),
    _m(
        "target_forward_passes",
        "passes",
        None,
        "Target forward passes",
        "Forward passes of the serving model over the measured requests, counted during generation.",
        group=TRANSFORMERS,
        sources=_ENGINE,
    ),
    _m(
        "mean_gpu_utilization",
        "%",
        None,
        "Mean GPU utilisation (%)",
        "NVML GPU utilisation sampled over the measured window: each GPU's mean, averaged over the run's "
        "GPUs.",
        group=GPU,
        sources=_TELEMETRY,
    ),
    _m(
        "max_gpu_memory_used_gib",
        "GiB",
        "lower",
        "Peak GPU memory used (GiB)",
        "Highest NVML memory used on any of the run's GPUs during the measured window.",
        group=GPU,
        sources=_TELEMETRY,
    ),
    _m(
        "mean_power_w",
        "W",
        None,
        "Mean power, all GPUs (W)",
        "Power the run's GPUs drew together, averaged over the measured window: energy_j / window length.",
        group=GPU,
        sources=_TELEMETRY,
    ),
    _m(
        "energy_j",
        "J",
        "lower",
        "Energy, all GPUs (J)",
        "Energy the run's GPUs drew over the measured window: NVML's total-energy counter, else integrated "
        "power samples (the result's gpus.energy_source says which).",
        group=GPU,
        sources=_TELEMETRY,
    ),
    _m(
        "joules_per_output_token",
        "J/token",
        "lower",
        "Energy per output token (J)",
        "energy_j / total_output_tokens.",
        group=GPU,
        sources=_TELEMETRY,
    ),
    _m(
        "output_tokens_per_joule",
        "tok/J",
        "higher",
        "Output tokens per joule",
        "total_output_tokens / energy_j.",
        group=GPU,
        sources=_TELEMETRY,
    ),
    _m(
        "decode_roofline_tok_s",
        "tok/s",
        None,
        "Batch-1 decode ceiling (tok/s)",
        "Peak memory bandwidth (NVML bus width / 8 × max memory clock × 2) / (parameters from config.json × "
        "dtype size / tensor-parallel size): how fast one stream could decode if every weight were read once "
        "per token at full bandwidth.",
        group=GPU,
        sources=_TELEMETRY,
    ),
    _m(
        "decode_bandwidth_utilization",
        "fraction",
        "higher",
        "Decode bandwidth utilisation (%)",
        "Achieved per-stream decode rate (1000 / mean TPOT) / decode_roofline_tok_s.",
        group=GPU,
        sources=_TELEMETRY,
    ),
    _m(
        "echo_requests",
        "requests",
        None,
        "Echo requests",
        "Requests the echo engine served (measured).",
        group=ECHO,
        sources=_ENGINE,
    ),
    _m(
        "echo_output_tokens",
        "tokens",
        None,
        "Echo tokens",
        "Tokens the echo engine streamed (measured).",
        group=ECHO,
        sources=_ENGINE,
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


def merge_sources(by_source: Mapping[Source, Mapping[str, Any]]) -> dict[str, Any]:
    """One flat dict of figures from several sources, each key taken from its preferred source.

    Raises ValueError for a key the registry does not declare, or one a source may not give: an engine
    cannot silently overwrite a figure computed from the records.
    """
    chosen: dict[str, tuple[int, Any]] = {}
    for source, figures in by_source.items():
        for key, value in figures.items():
            spec = spec_for_key(key)
            if spec is None:
                raise ValueError(f"{source} figure {key!r} is not declared in specbench.metrics.registry")
            if source not in spec.sources:
                raise ValueError(f"{key!r} may come from {', '.join(spec.sources)}, not from {source}")
            rank = spec.sources.index(source)
            if value is None and key in chosen:
                continue
            if key not in chosen or rank < chosen[key][0] or chosen[key][1] is None:
                chosen[key] = (rank, value)
    return {key: chosen[key][1] for key in _ordered(chosen)}


def _ordered(keys: Mapping[str, Any]) -> list[str]:
    """Registry order, percentiles ascending within each distribution."""
    order: dict[str, int] = {spec.name: i for i, spec in enumerate(METRICS)}
    stat_rank = {stat: i for i, stat in enumerate(DISTRIBUTION_STATS)}

    def rank(key: str) -> tuple[int, float]:
        spec = spec_for_key(key)
        assert spec is not None
        if not spec.distribution:
            return order[spec.name], 0.0
        stat = key.split("_", 1)[0]
        return order[spec.name], float(stat_rank[stat]) if stat in stat_rank else 10.0 + float(stat[1:])

    return sorted(keys, key=rank)
