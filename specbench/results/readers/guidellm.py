"""guidellm's benchmarks JSON (`guidellm benchmark … --outputs json`) → one BenchmarkResult per benchmark.

guidellm names and defines some figures differently from vLLM; the mapping below is the one place that
says how each of its figures becomes specbench's. Its `inter_token_latency_ms` is (last − first token) /
(output tokens − 1) per request, which is vLLM's TPOT; its `time_per_output_token_ms` divides by every
token including the first and has no vLLM counterpart, and it reports no per-gap ITL, so `itl` stays
empty. Its latency distributions are weighted per token (a request counts once per token or gap).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from specbench.metrics.registry import distribution_key
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.speculative import accepted_per_position, spec_stats

FORMAT = "guidellm"

# specbench distribution → (guidellm distribution over successful requests, factor to milliseconds).
DISTRIBUTIONS: dict[str, tuple[str, float]] = {
    "ttft": ("time_to_first_token_ms", 1.0),
    "tpot": ("inter_token_latency_ms", 1.0),
    "e2el": ("request_latency", 1000.0),  # seconds
}
# guidellm statistic → specbench statistic.
STATISTICS: dict[str, str] = {"mean": "mean", "median": "median", "std_dev": "std", "max": "max"}
PERCENTILES: dict[str, str] = {
    "p001": "p0.1",
    "p01": "p1",
    "p05": "p5",
    "p10": "p10",
    "p25": "p25",
    "p50": "p50",
    "p75": "p75",
    "p90": "p90",
    "p95": "p95",
    "p99": "p99",
    "p999": "p99.9",
}
# specbench count → guidellm's `request_totals` entry.
REQUEST_TOTALS: dict[str, str] = {"completed": "successful", "failed": "errored"}
# specbench figure → (guidellm metric, statistic over its successful requests).
FIGURES: dict[str, tuple[str, str]] = {
    "request_throughput": ("requests_per_second", "mean"),
    "output_throughput": ("output_tokens_per_second", "mean"),
    "total_token_throughput": ("tokens_per_second", "mean"),
    "total_input_tokens": ("prompt_token_count", "total_sum"),
    "total_output_tokens": ("output_token_count", "total_sum"),
}


def matches(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        return False
    return all(isinstance(b, dict) and "metrics" in b and "config" in b for b in data["benchmarks"])


def figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """One benchmark's `metrics` section as specbench's figures, by the tables above."""
    out: dict[str, Any] = {}
    totals = metrics.get("request_totals") or {}
    out.update({name: totals.get(theirs) for name, theirs in REQUEST_TOTALS.items()})
    for name, (theirs, statistic) in FIGURES.items():
        out[name] = _successful(metrics, theirs).get(statistic)
    for name, (theirs, factor) in DISTRIBUTIONS.items():
        stats = _successful(metrics, theirs)
        if not stats.get("count"):
            continue
        for their_stat, stat in STATISTICS.items():
            out[distribution_key(stat, name)] = _scaled(stats.get(their_stat), factor)
        for their_stat, stat in PERCENTILES.items():
            value = (stats.get("percentiles") or {}).get(their_stat)
            if value is not None:
                out[distribution_key(stat, name)] = _scaled(value, factor)
    for key in ("completed", "failed", "total_input_tokens", "total_output_tokens"):
        if isinstance(out.get(key), float) and out[key].is_integer():
            out[key] = int(out[key])
    return {key: value for key, value in out.items() if value is not None}


def speculative_figures(benchmark: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """guidellm does not aggregate speculative decoding; vLLM's per-request counts (on each successful
    request's `response_metrics`) are summed here, but only when guidellm kept every request's record.
    Returns the figures, or a note saying why there are none although the server speculated."""
    kept = ((benchmark.get("requests") or {}).get("successful")) or []
    stats = [((r.get("response_metrics") or {}).get("speculative_decoding")) for r in kept]
    stats = [s for s in stats if isinstance(s, dict)]
    if not stats:
        return {}, None
    counted = ((benchmark.get("metrics") or {}).get("request_totals") or {}).get("successful")
    if len(stats) != counted:
        return {}, (
            f"guidellm kept the speculative-decoding counts of {len(stats)} of {counted} requests "
            "(its sample size): acceptance figures are left out rather than taken from a sample"
        )
    histogram: dict[int, int] = {}
    for one in stats:
        for accepted, drafts in enumerate(one.get("acceptance_histogram") or []):
            histogram[accepted] = histogram.get(accepted, 0) + int(drafts)
    figures = spec_stats(
        sum(int(one.get("num_spec_steps") or 0) for one in stats),
        sum(int(one.get("num_draft_tokens") or 0) for one in stats),
        sum(int(one.get("num_accepted_draft_tokens") or 0) for one in stats),
        accepted_per_position(histogram) if histogram else None,
    )
    return figures, None


def read(data: dict[str, Any], path: Path) -> list[BenchmarkResult]:
    version = (data.get("metadata") or {}).get("guidellm_version")
    return [_benchmark(b, path, i, version) for i, b in enumerate(data["benchmarks"])]


def profile_kind(data: dict[str, Any]) -> str | None:
    """guidellm's profile (sweep, synchronous, concurrent, throughput, constant, poisson)."""
    profile = ((data.get("config") or {}).get("spec") or {}).get("profile") or {}
    return profile.get("kind")


def _benchmark(benchmark: dict[str, Any], path: Path, index: int, version: str | None) -> BenchmarkResult:
    config = benchmark.get("config") or {}
    strategy = config.get("strategy") or {}
    backend = config.get("backend") or {}
    metrics = figures(benchmark.get("metrics") or {})
    speculative, note = speculative_figures(benchmark)
    metrics.update(speculative)
    metrics["duration"] = benchmark.get("duration")
    rate, concurrency = _load(strategy, config.get("profile") or {})
    metrics["requested_rate"] = "inf" if rate == math.inf else rate
    warnings = _warnings(benchmark) + ([note] if note else [])
    return BenchmarkResult(
        run=RunSection(
            id=str(config.get("run_id") or path.name),
            status="completed",
            started_at=_iso(benchmark.get("start_time")),
            label=_strategy_label(strategy),
            warnings=warnings,
        ),
        engine=EngineSection(
            name=f"endpoint ({backend.get('kind') or 'unknown'})",
            model=str(backend.get("model") or "unknown"),
            method="speculative" if speculative or note else "unknown",
            settings={"target": backend.get("target"), "request_format": backend.get("request_format")},
        ),
        workload={
            "request_rate": metrics["requested_rate"],
            "max_concurrency": concurrency,
            "strategy": strategy.get("type_"),
            "arrival": strategy.get("type_") if strategy.get("type_") in ("constant", "poisson") else None,
            "benchmark_index": index,
        },
        metrics={key: value for key, value in metrics.items() if value is not None},
        environment={"tool": "guidellm", "packages": {"guidellm": version}},
        source_format=FORMAT,
    )


def _warnings(benchmark: dict[str, Any]) -> list[str]:
    """guidellm's own warnings, and requests that are in none of its figures."""
    warnings = [str(w.get("message")) for w in benchmark.get("warnings") or [] if isinstance(w, dict)]
    totals = (benchmark.get("metrics") or {}).get("request_totals") or {}
    incomplete, counted = totals.get("incomplete"), totals.get("total")
    created = (benchmark.get("scheduler_state") or {}).get("created_requests")
    if incomplete:
        warnings.append(f"{incomplete} requests were still running when the benchmark ended (incomplete)")
    if isinstance(created, int) and isinstance(counted, int) and created > counted:
        warnings.append(
            f"guidellm sent {created} requests but counts {counted}: {created - counted} are in none of "
            "its figures"
        )
    return warnings


def _load(strategy: dict[str, Any], profile: dict[str, Any]) -> tuple[float | None, int | None]:
    """(requested rate, concurrency cap) of one benchmark's strategy."""
    kind = strategy.get("type_")
    if kind in ("constant", "poisson"):
        return strategy.get("rate"), profile.get("max_concurrency")
    if kind == "throughput":
        return math.inf, profile.get("max_concurrency")
    if kind == "synchronous":
        return None, 1
    if kind == "concurrent":
        return None, strategy.get("streams")
    return None, None


def _strategy_label(strategy: dict[str, Any]) -> str | None:
    kind = strategy.get("type_")
    if kind in ("constant", "poisson"):
        return f"{kind} {strategy.get('rate'):g} req/s"
    if kind == "concurrent":
        return f"concurrent {strategy.get('streams')}"
    return kind


def _successful(metrics: dict[str, Any], name: str) -> dict[str, Any]:
    return ((metrics.get(name) or {}).get("successful")) or {}


def _scaled(value: Any, factor: float) -> Any:
    return value * factor if isinstance(value, int | float) else value


def _iso(timestamp: Any) -> str | None:
    if not isinstance(timestamp, int | float):
        return None
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat()
