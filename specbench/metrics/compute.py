"""Turn per-request records into the run's flat metrics, with vLLM's `vllm bench serve` definitions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from specbench.config import SloConfig
from specbench.metrics.registry import METRICS, distribution_key, metric_keys
from specbench.metrics.stats import check_percentiles, summarise
from specbench.records import RequestRecord
from specbench.speculative import spec_stats

MetricValue = float | int | list | None
Records = Sequence[RequestRecord]

# Per-request values of each distribution metric, from (all records, completed records). Latencies of
# the engine come from completed requests only; dispatch lag and client queue describe the client,
# which sent failed requests too.
_DISTRIBUTIONS: dict[str, Callable[[Records, Records], list[float]]] = {
    "ttft": lambda _, done: [r.ttft_ms for r in done if r.ttft_ms is not None],
    "tpot": lambda _, done: [r.tpot_ms for r in done if r.tpot_ms is not None],
    "itl": lambda _, done: [gap for r in done for gap in r.itl_ms],
    "e2el": lambda _, done: [r.e2el_ms for r in done if r.e2el_ms is not None],
    "ttfat": lambda _, done: [r.ttfat_ms for r in done if r.ttfat_ms is not None],
    "dispatch_lag": lambda sent, _: [r.dispatch_lag_ms for r in sent],
    "client_queue": lambda sent, _: [r.client_queue_ms for r in sent],
}


# Distributions of figures only some engines and workloads give: no keys at all where nothing was measured.
_ONLY_WHERE_MEASURED = frozenset({"ttfat"})


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
    done = [r for r in records if r.success]
    input_tokens = sum(r.prompt_tokens for r in done)
    output_tokens = sum(r.output_tokens for r in done)
    metrics: dict[str, MetricValue] = {
        "completed": len(done),
        "failed": len(records) - len(done),
        "requested_rate": requested_rate,
        "achieved_rate": achieved_rate(records),
        "duration": float(duration_s),
        "total_input_tokens": input_tokens,
        "total_output_tokens": output_tokens,
        "request_throughput": _per_second(len(done), duration_s),
        "request_goodput": _goodput(done, slo, duration_s),
        "output_throughput": _per_second(output_tokens, duration_s),
        "total_token_throughput": _per_second(input_tokens + output_tokens, duration_s),
    }
    for spec in METRICS:
        if spec.distribution:
            values = _DISTRIBUTIONS[spec.name](records, done)
            if spec.name in _ONLY_WHERE_MEASURED and not values:
                continue
            for stat, value in summarise(values, percentiles).items():
                metrics[distribution_key(stat, spec.name)] = value
    metrics.update(speculative_metrics(done))
    metrics.update(reasoning_metrics(done))
    # Registry order keeps the result file and the summary table in the same order.
    return {key: metrics[key] for key, _ in metric_keys(percentiles) if key in metrics}


def reasoning_metrics(done: Sequence[RequestRecord]) -> dict[str, MetricValue]:
    """Reasoning vs answer tokens over requests whose engine told the reasoning; empty when none did."""
    told = [r for r in done if r.reasoning_tokens is not None]
    if not told:
        return {}
    reasoning = sum(r.reasoning_tokens or 0 for r in told)
    return {
        "total_reasoning_tokens": reasoning,
        "total_answer_tokens": sum(r.output_tokens for r in told) - reasoning,
    }


def distribution_values(name: str, records: Sequence[RequestRecord]) -> list[float]:
    """The per-request values that distribution metric `name` summarises (plots draw their CDFs)."""
    return _DISTRIBUTIONS[name](records, [r for r in records if r.success])


def achieved_rate(records: Sequence[RequestRecord]) -> float | None:
    """Requests per second the client really sent at: (n − 1) gaps over the span of send times.

    Counting gaps rather than requests makes a perfectly kept constant-rate schedule read exactly its
    requested rate. None with fewer than two requests or when all were sent at the same instant.
    """
    sent = [r.sent_s for r in records]
    if len(sent) < 2:
        return None
    span = max(sent) - min(sent)
    return (len(sent) - 1) / span if span > 0 else None


def speculative_metrics(done: Sequence[RequestRecord]) -> dict[str, MetricValue]:
    """spec_* sums over requests that report drafting; empty when none does (not a speculative run)."""
    drafting = [r for r in done if r.drafted_tokens is not None or r.accepted_tokens is not None]
    if not drafting:
        return {}
    drafted = sum(r.drafted_tokens or 0 for r in drafting)
    accepted = sum(r.accepted_tokens or 0 for r in drafting)
    passes = [r.target_forward_passes for r in drafting if (r.drafted_tokens or 0) > 0]
    # Each target pass of a drafting request stands for one draft; unknown if any request lacks the count.
    drafts = None if any(p is None for p in passes) else sum(p for p in passes if p is not None)
    return spec_stats(drafts, drafted, accepted)


def meets_slo(record: RequestRecord, slo: SloConfig) -> bool:
    """True when the request is within every SLO that is set (limits inclusive, as vLLM)."""
    # vLLM counts a 1-token output's TPOT as 0 for goodput, though TPOT statistics leave it out.
    tpot = 0.0 if record.output_tokens < 2 else record.tpot_ms
    checks = ((slo.ttft_ms, record.ttft_ms), (slo.tpot_ms, tpot), (slo.e2el_ms, record.e2el_ms))
    return all(value is not None and value <= limit for limit, value in checks if limit is not None)


def _goodput(done: Sequence[RequestRecord], slo: SloConfig | None, duration_s: float) -> float | None:
    if slo is None or (slo.ttft_ms is None and slo.tpot_ms is None and slo.e2el_ms is None):
        return None
    return _per_second(sum(meets_slo(r, slo) for r in done), duration_s)


def _per_second(amount: int, duration_s: float) -> float | None:
    if amount == 0:
        return 0.0
    # Something finished in no time at all: no meaningful rate.
    return amount / duration_s if duration_s > 0 else None
