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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from specbench.metrics import formulas as f
from specbench.metrics.formulas import MetricValue, RunRecords

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
    # Its formula from the records: the per-request values a distribution summarises, or the aggregation
    # that gives a single figure; `when` limits it to the runs it applies to. None: another source's.
    values: Callable[[RunRecords], list[float]] | None = None
    compute: Callable[[RunRecords], MetricValue] | None = None
    when: Callable[[RunRecords], bool] | None = None


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
    values: Callable[[RunRecords], list[float]] | None = None,
    compute: Callable[[RunRecords], MetricValue] | None = None,
    when: Callable[[RunRecords], bool] | None = None,
) -> MetricSpec:
    return MetricSpec(
        values=values,
        compute=compute,
        when=when,
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


def _latency(
    name: str,
    label: str,
    group: str,
    description: str,
    *,
    values: Callable[[RunRecords], list[float]],
    vllm: str | bool = True,
    when: Callable[[RunRecords], bool] | None = None,
) -> MetricSpec:
    return _m(
        name,
        "ms",
        "lower",
        label,
        description,
        group=group,
        vllm=vllm,
        distribution=True,
        values=values,
        when=when,
    )


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
        compute=lambda run: len(run.done),
    ),
    _m(
        "failed",
        "requests",
        "lower",
        "Failed requests",
        "Requests that raised an error.",
        vllm=True,
        compute=lambda run: len(run.sent) - len(run.done),
    ),
    _m(
        "requested_rate",
        "req/s",
        None,
        "Request rate configured (RPS)",
        "Arrival rate the schedule asked for: inf when every request was sent at once, None if unknown.",
        vllm="request_rate",
        compute=lambda run: run.requested_rate,
    ),
    _m(
        "achieved_rate",
        "req/s",
        None,
        "Request rate achieved (RPS)",
        "Rate the client actually sent at: (requests sent − 1) / (last sent − first sent).",
        compute=lambda run: f.achieved_rate(run.sent),
    ),
    _m(
        "duration",
        "s",
        None,
        "Benchmark duration (s)",
        "Benchmark duration, the divisor of every throughput.",
        vllm=True,
        compute=lambda run: float(run.duration_s),
    ),
    _m(
        "total_input_tokens",
        "tokens",
        None,
        "Total input tokens",
        "Prompt tokens of the completed requests.",
        vllm=True,
        compute=lambda run: run.input_tokens,
    ),
    _m(
        "total_output_tokens",
        "tokens",
        None,
        "Total generated tokens",
        "Output tokens of the completed requests.",
        vllm=True,
        compute=lambda run: run.output_tokens,
    ),
    _m(
        "request_throughput",
        "req/s",
        "higher",
        "Request throughput (req/s)",
        "completed / duration.",
        group=THROUGHPUT,
        vllm=True,
        compute=lambda run: f.per_second(len(run.done), run.duration_s),
    ),
    _m(
        "request_goodput",
        "req/s",
        "higher",
        "Request goodput (req/s)",
        "Completed requests meeting every set SLO / duration; None when no SLO is set.",
        group=THROUGHPUT,
        vllm=True,
        compute=f.goodput,
    ),
    _m(
        "output_throughput",
        "tok/s",
        "higher",
        "Output token throughput (tok/s)",
        "total_output_tokens / duration.",
        group=THROUGHPUT,
        vllm=True,
        compute=lambda run: f.per_second(run.output_tokens, run.duration_s),
    ),
    _m(
        "total_token_throughput",
        "tok/s",
        "higher",
        "Total token throughput (tok/s)",
        "(total_input_tokens + total_output_tokens) / duration.",
        group=THROUGHPUT,
        vllm=True,
        compute=lambda run: f.per_second(run.input_tokens + run.output_tokens, run.duration_s),
    ),
    # Latencies of the engine come from completed requests only; dispatch lag and client queue describe
    # the client, which sent failed requests too.
    _latency(
        "ttft",
        "TTFT",
        "Time to First Token",
        "Time to first token: first token arrival − sent.",
        values=lambda run: [r.ttft_ms for r in run.done if r.ttft_ms is not None],
    ),
    _latency(
        "tpot",
        "TPOT",
        "Time per Output Token (excl. 1st token)",
        "Time per output token: (E2EL − TTFT) / (output tokens − 1); 1-token outputs excluded.",
        values=lambda run: [r.tpot_ms for r in run.done if r.tpot_ms is not None],
    ),
    _latency(
        "itl",
        "ITL",
        "Inter-token Latency",
        "Inter-token latency: every gap between consecutive token arrivals of a request.",
        values=lambda run: [gap for r in run.done for gap in r.itl_ms],
    ),
    _latency(
        "e2el",
        "E2EL",
        "End-to-end Latency",
        "End-to-end latency: end − sent.",
        values=lambda run: [r.e2el_ms for r in run.done if r.e2el_ms is not None],
    ),
    _latency(
        "itl_per_token",
        "ITL per token",
        "Inter-token Latency per token",
        "Per-token ITL: each chunk's gap shared by the tokens it carried, one value per output token after "
        "the first (its mean is the token-weighted TPOT); equals ITL when every chunk holds one token.",
        vllm=False,
        values=lambda run: [gap for r in run.done for gap in r.itl_per_token_ms],
    ),
    _latency(
        "ttfat",
        "TTFAT",
        "Time to First Answer Token (reasoning models)",
        "Time to the first answer token, after the reasoning: first answer chunk arrival − sent (chat over "
        "the openai engine; TTFT counts the first token of any kind).",
        vllm=False,
        values=lambda run: [r.ttfat_ms for r in run.done if r.ttfat_ms is not None],
        when=f.reasoned,
    ),
    _m(
        "total_reasoning_tokens",
        "tokens",
        None,
        "Reasoning tokens",
        "Output tokens of the completed requests spent reasoning before the answer (the server's usage "
        "details where it gives them, else counted from the reasoning chunks).",
        compute=lambda run: sum(r.reasoning_tokens or 0 for r in f.told_reasoning(run)),
        when=f.reasoned,
    ),
    _m(
        "total_answer_tokens",
        "tokens",
        None,
        "Answer tokens",
        "Output tokens of the completed requests that were answer, not reasoning.",
        compute=lambda run: sum(r.output_tokens - (r.reasoning_tokens or 0) for r in f.told_reasoning(run)),
        when=f.reasoned,
    ),
    _latency(
        "dispatch_lag",
        "Dispatch Lag",
        "Dispatch Lag (client lateness)",
        "Harness lateness: ready − scheduled. Large values mean the client, not the engine, set the pace.",
        vllm=False,
        values=lambda run: [r.dispatch_lag_ms for r in run.sent],
    ),
    _latency(
        "client_queue",
        "Client Queue",
        "Client-side Queueing",
        "Wait for a free slot under --max-concurrency: sent − ready.",
        vllm="client_queue_time",
        values=lambda run: [r.client_queue_ms for r in run.sent],
    ),
    _m(
        "mean_tokens_per_chunk",
        "tokens",
        None,
        "Mean tokens per chunk",
        "Output tokens per streamed chunk, averaged over every chunk of the completed requests (1 unless "
        "the engine speculates or coalesces).",
        compute=lambda run: float(np.mean(f.chunk_sizes(run))),
        when=f.streamed,
    ),
    _m(
        "median_tokens_per_chunk",
        "tokens",
        None,
        "Median tokens per chunk",
        "Median of the output tokens per streamed chunk.",
        compute=lambda run: float(np.median(f.chunk_sizes(run))),
        when=f.streamed,
    ),
    _m(
        "max_tokens_per_chunk",
        "tokens",
        None,
        "Max tokens per chunk",
        "Most tokens one chunk carried.",
        compute=lambda run: max(f.chunk_sizes(run)),
        when=f.streamed,
    ),
    _m(
        "multi_token_chunk_share",
        "fraction",
        None,
        "Chunks with several tokens (%)",
        "Share of streamed chunks that carried more than one token.",
        compute=lambda run: float(np.mean([n > 1 for n in f.chunk_sizes(run)])),
        when=f.streamed,
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
        compute=f.speculative("spec_acceptance_rate"),
        when=f.drafting,
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
        compute=f.speculative("spec_mean_acceptance_length"),
        when=f.drafting,
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
        compute=f.speculative("spec_num_drafts"),
        when=f.drafting,
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
        compute=f.speculative("spec_num_draft_tokens"),
        when=f.drafting,
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
        compute=f.speculative("spec_num_accepted_tokens"),
        when=f.drafting,
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
