"""AIPerf's profile_export_aiperf.json (`aiperf profile`) → BenchmarkResult.

AIPerf writes each metric as {"unit": …, "avg": …, "p50": …, …}; the tables below are the one place that
says which of its metrics is which of specbench's. Units are read from the file. Definitions differ in
places: AIPerf counts output tokens by tokenizing the returned text on the client (its
`output_sequence_length`; the server's own count is `usage_completion_tokens`), its `inter_token_latency`
is (request latency − TTFT) / (output tokens − first chunk's tokens), which is vLLM's TPOT, and its
`inter_chunk_latency` (every gap between streamed chunks) is vLLM's ITL. Its throughputs divide by the
profiling phase's observation window, slightly longer than `benchmark_duration` (first request to last
response), which is what becomes `duration` here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from specbench.metrics.registry import distribution_key
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.speculative import accepted_per_position, spec_stats

FORMAT = "aiperf"

# specbench distribution → AIPerf metric (converted to milliseconds from the file's unit).
DISTRIBUTIONS: dict[str, str] = {
    "ttft": "time_to_first_token",
    "tpot": "inter_token_latency",
    "itl": "inter_chunk_latency",
    "e2el": "request_latency",
}
STATISTICS: dict[str, str] = {"avg": "mean", "p50": "median", "std": "std", "max": "max"}
# specbench figure → AIPerf metric (its `avg`).
FIGURES: dict[str, str] = {
    "completed": "request_count",
    "failed": "error_request_count",
    "duration": "benchmark_duration",
    "total_input_tokens": "total_isl",
    "total_output_tokens": "total_osl",
    "request_throughput": "request_throughput",
    "request_goodput": "goodput",
    "output_throughput": "output_token_throughput",
    "total_token_throughput": "total_token_throughput",
}
# specbench speculative count → AIPerf run total (its `avg`); the rest follows from speculative.py.
SPECULATIVE_TOTALS: dict[str, str] = {
    "spec_num_drafts": "total_spec_decode_steps",
    "spec_num_draft_tokens": "total_draft_tokens",
    "spec_num_accepted_tokens": "total_accepted_draft_tokens",
}
# Drafts that accepted exactly j tokens, by j: gives the per-position acceptance.
ACCEPTANCE_HISTOGRAM = "pooled_spec_decode_acceptance_histogram"
_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "sec": 1000.0, "s": 1000.0}
_TO_S = {unit: factor / 1000.0 for unit, factor in _TO_MS.items()}
_PERCENTILE = re.compile(r"p\d+(?:\.\d+)?")
_COUNTS = ("completed", "failed", "total_input_tokens", "total_output_tokens")


def matches(data: Any) -> bool:
    return isinstance(data, dict) and "aiperf_version" in data and "input_config" in data


def figures(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, theirs in FIGURES.items():
        metric = data.get(theirs)
        if isinstance(metric, dict) and metric.get("avg") is not None:
            factor = _TO_S.get(metric.get("unit", ""), 1.0) if name == "duration" else 1.0
            value = metric["avg"] * factor
            out[name] = int(value) if name in _COUNTS and float(value).is_integer() else value
    if "failed" not in out and data.get("error_summary") == []:
        out["failed"] = 0
    for name, theirs in DISTRIBUTIONS.items():
        metric = data.get(theirs)
        if not isinstance(metric, dict):
            continue
        factor = _TO_MS.get(metric.get("unit", "ms"))
        if factor is None:
            continue
        for key, value in metric.items():
            if not isinstance(value, int | float):
                continue
            if key in STATISTICS:
                out[distribution_key(STATISTICS[key], name)] = value * factor
            if _PERCENTILE.fullmatch(key):
                out[distribution_key(key, name)] = value * factor
    return out | speculative_figures(data)


def speculative_figures(data: dict[str, Any]) -> dict[str, Any]:
    """specbench's speculative figures from AIPerf's totals, by the one definition (speculative.py)."""
    totals = {name: (data.get(theirs) or {}).get("avg") for name, theirs in SPECULATIVE_TOTALS.items()}
    if any(value is None for value in totals.values()):
        return {}
    histogram = data.get(ACCEPTANCE_HISTOGRAM)
    per_position = None
    if isinstance(histogram, dict):
        per_position = accepted_per_position({int(j): int(n) for j, n in histogram.items()})
    counts = {name: int(value) for name, value in totals.items()}
    return spec_stats(
        counts["spec_num_drafts"],
        counts["spec_num_draft_tokens"],
        counts["spec_num_accepted_tokens"],
        per_position,
    )


def read(data: dict[str, Any], path: Path) -> list[BenchmarkResult]:
    config = data.get("input_config") or {}
    models = (config.get("models") or {}).get("items") or [{}]
    endpoint = config.get("endpoint") or {}
    phase = next((p for p in config.get("phases") or [] if p.get("kind") == "profiling"), {})
    metrics = figures(data)
    rate = phase.get("rate")
    metrics["requested_rate"] = rate
    cancelled = bool(data.get("was_cancelled")) or data.get("is_complete") is False
    return [
        BenchmarkResult(
            run=RunSection(
                id=str((data.get("run_info") or {}).get("benchmark_id") or path.name),
                status="interrupted" if cancelled else "completed",
                started_at=data.get("start_time"),
                warnings=_warnings(data),
            ),
            engine=EngineSection(
                name=f"endpoint ({endpoint.get('type') or 'unknown'})",
                model=str(models[0].get("name") or "unknown"),
                method="speculative" if "spec_num_drafts" in metrics else "unknown",
                settings={"url": ", ".join(endpoint.get("urls") or []) or None},
            ),
            workload={
                "request_rate": rate,
                "arrival": phase.get("type") if phase.get("type") in ("constant", "poisson") else None,
                "max_concurrency": phase.get("concurrency"),
                "num_requests": phase.get("requests"),
            },
            metrics={key: value for key, value in metrics.items() if value is not None},
            environment={"tool": "aiperf", "packages": {"aiperf": data.get("aiperf_version")}},
            source_format=FORMAT,
        )
    ]


def _warnings(data: dict[str, Any]) -> list[str]:
    warnings = []
    for error in data.get("error_summary") or []:
        if isinstance(error, dict):
            details = error.get("error_details") or {}
            what = details.get("message") or details.get("type") if isinstance(details, dict) else details
            warnings.append(f"{error.get('count', '?')} requests failed: {what}")
    client = (data.get("total_osl") or {}).get("avg")
    server = (data.get("total_usage_completion_tokens") or {}).get("avg")
    if client is not None and server is not None and client != server:
        warnings.append(
            f"AIPerf counted {client:g} output tokens by tokenizing the returned text, the server reported "
            f"{server:g}: its token throughputs and TPOT rest on its own count"
        )
    return warnings
