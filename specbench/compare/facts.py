"""The facts of one run that a reader needs beside its figures, taken from whichever tool wrote it."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from specbench.engines.registry import ENGINES
from specbench.metrics.token_counts import counted_by_tokenizer
from specbench.results.model import BenchmarkResult

TOOL_NAMES = {
    "specbench": "specbench",
    "vllm-bench-serve": "vllm bench serve",
    "guidellm": "guidellm",
    "aiperf": "aiperf",
}


# Methods that run no draft model, though the config may name one.
_NO_DRAFT = ("target-ar", "prompt-lookup")


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What was run and how: None where the file does not say."""

    engine: str
    method: str | None
    model: str
    draft_model: str | None
    profile: str | None
    rate: float | None  # requests/s; inf = all at once
    arrival: str | None  # 'poisson', 'constant', 'gamma, burstiness 0.5' (a finite rate only)
    max_concurrency: int | None
    duration_s: float | None
    completed: int | None
    failed: int | None
    mean_input_tokens: float | None
    mean_output_tokens: float | None
    dataset: str | None
    gpu: str | None  # "1× NVIDIA H200", "CPU"
    weights: str | None  # "dummy", "real"
    date: str | None
    source: str  # the tool that wrote the file, with its version when known
    status: str
    not_sent: int = 0
    token_counts: str | None = None  # "exact", or "re-tokenized text" (a server without usage)
    acceptance: str | None = None  # "synthetic" (set by the user) or "measured"; None without drafting


def _acceptance(result: BenchmarkResult) -> str | None:
    """Whether the run's acceptance figures were measured or set by --synthetic-acceptance."""
    if (
        result.metrics.get("spec_num_draft_tokens") is None
        and result.metrics.get("spec_acceptance_rate") is None
    ):
        return None
    spec = result.config.get("speculative") or {}
    synthetic = spec.get("synthetic_acceptance_length") is not None or spec.get("synthetic_acceptance_rates")
    return "synthetic" if synthetic else "measured"


def facts_of(result: BenchmarkResult) -> RunFacts:
    metrics = result.metrics
    completed = as_number(metrics.get("completed"))
    return RunFacts(
        engine=_engine(result),
        method=None if result.engine.method == "unknown" else result.engine.method,
        model=result.engine.model,
        draft_model=result.engine.draft_model if result.engine.method not in _NO_DRAFT else None,
        profile=_profile(result),
        rate=_rate(metrics.get("requested_rate")),
        arrival=_arrival(result, _rate(metrics.get("requested_rate"))),
        max_concurrency=_int(result.workload.get("max_concurrency")),
        duration_s=as_number(metrics.get("duration")),
        completed=_int(completed),
        failed=_int(metrics.get("failed")),
        mean_input_tokens=_per_request(metrics.get("total_input_tokens"), completed),
        mean_output_tokens=_per_request(metrics.get("total_output_tokens"), completed),
        dataset=result.workload.get("dataset"),
        gpu=_gpu(result),
        weights=_weights(result),
        date=_date(result.run.started_at),
        source=_source(result),
        status=result.run.status,
        not_sent=result.run.num_not_sent,
        token_counts=_token_counts(result),
        acceptance=_acceptance(result),
    )


def describe_facts(facts: RunFacts | None, error: str | None = None) -> dict[str, str | None]:
    """The header of one column, fact name → text (None where the file does not say)."""
    if facts is None:
        return {"status": f"no result: {error}" if error else "no result"}
    lengths = None
    if facts.mean_input_tokens is not None and facts.mean_output_tokens is not None:
        lengths = f"{facts.mean_input_tokens:.4g} / {facts.mean_output_tokens:.4g} tokens"
    requests = None
    if facts.completed is not None:
        requests = f"{facts.completed} ok" + (f", {facts.failed} failed" if facts.failed else "")
    return {
        "engine": facts.engine,
        "method": facts.method,
        "model": model_name(facts.model),
        "draft": model_name(facts.draft_model) if facts.draft_model else None,
        # Set with --synthetic-acceptance, or measured: acceptance figures mean different things.
        "acceptance": facts.acceptance,
        "profile": facts.profile,
        "load": describe_load(facts),
        "duration": f"{facts.duration_s:.1f} s" if facts.duration_s is not None else None,
        "requests": requests,
        "in / out per request": lengths,
        "hardware": facts.gpu,
        "weights": facts.weights,
        "date": facts.date,
        "source": facts.source,
        "status": facts.status,
    }


def model_name(model: str) -> str:
    """The last part of a path or hub id: '/root/models/qwen3-8b' → 'qwen3-8b'."""
    return model.rstrip("/").rsplit("/", 1)[-1] or model


def describe_load(facts: RunFacts) -> str | None:
    """'4 req/s poisson, max 8 in flight', 'all at once'."""
    parts = []
    rate = facts.rate
    if rate is not None:
        parts.append(
            "all at once"
            if math.isinf(rate)
            else f"{rate:g} req/s" + (f" {facts.arrival}" if facts.arrival else "")
        )
    if facts.max_concurrency is not None:
        parts.append(f"max {facts.max_concurrency} in flight")
    return ", ".join(parts) or None


def as_number(value: Any) -> float | None:
    """A figure as a float; None for anything else (None, strings, booleans)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _engine(result: BenchmarkResult) -> str:
    name, version = result.engine.name, result.engine.version
    # Another tool's file names the endpoint it called, not an engine with a version.
    return f"{name} {version}" if version and result.source_format == "specbench" else name


def _arrival(result: BenchmarkResult, rate: float | None) -> str | None:
    if rate is None or math.isinf(rate):
        return None
    arrival = result.workload.get("arrival")
    burstiness = result.workload.get("burstiness")
    if arrival == "poisson" and isinstance(burstiness, int | float) and burstiness != 1:
        return f"gamma, burstiness {burstiness:g}"
    return arrival if isinstance(arrival, str) else None


def _profile(result: BenchmarkResult) -> str | None:
    for origin in result.config_sources.values():
        if origin.startswith("profile "):
            return origin.removeprefix("profile ")
    return None


def _rate(value: Any) -> float | None:
    if value in ("inf", "Infinity"):
        return math.inf
    return float(value) if isinstance(value, int | float) else None


def _int(value: Any) -> int | None:
    number = as_number(value)
    return int(number) if number is not None else None


def _per_request(total: Any, completed: float | None) -> float | None:
    total = as_number(total)
    return total / completed if total is not None and completed else None


def _token_counts(result: BenchmarkResult) -> str | None:
    """How output tokens were counted: exactly (by the engine, or the server's usage), or by re-tokenizing
    streamed text; None for another tool's file, which does not say."""
    if result.source_format != "specbench":
        return None
    settings = result.engine.settings
    # Results written before `token_totals` said it in words only: "tokenizer (the server reports no usage)".
    older = str(settings.get("token_counts") or "").startswith("tokenizer (")
    return "re-tokenized text" if counted_by_tokenizer(settings) or older else "exact"


def _gpu(result: BenchmarkResult) -> str | None:
    """The GPUs the run used (telemetry), else CPU if the engine ran there, else the host's GPUs."""
    used = _names([device.model_dump() for device in result.gpus.devices] if result.gpus else [])
    if used:
        return used
    settings = result.engine.settings
    # Transformers says `device`, vLLM `device_type`.
    if str(settings.get("device") or settings.get("device_type") or "").startswith("cpu"):
        return "CPU"
    return _names(result.environment.get("devices"))


def _names(devices: Any) -> str | None:
    names = [d.get("name") for d in devices or [] if isinstance(d, dict) and d.get("name")]
    return ", ".join(f"{count}× {name}" for name, count in Counter(names).items()) or None


def _weights(result: BenchmarkResult) -> str | None:
    # Only an engine that loads the model itself knows its weights; a served model's are the server's.
    spec = ENGINES.get(result.engine.name) if result.source_format == "specbench" else None
    if spec is None or not spec.runs_local_model:
        return None
    dummy = result.config.get("dummy_weights")
    return None if dummy is None else ("dummy" if dummy else "real")


def _date(text: str | None) -> str | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return when.strftime("%Y-%m-%d %H:%M") + (" UTC" if when.utcoffset() == dt.timedelta(0) else "")


def _source(result: BenchmarkResult) -> str:
    tool = TOOL_NAMES.get(result.source_format, result.source_format)
    if result.source_format == "specbench":
        version = result.run.specbench_version
    else:
        version = (result.environment.get("packages") or {}).get(result.source_format)
    return f"{tool} {version}" if version else tool
