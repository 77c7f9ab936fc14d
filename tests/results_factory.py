"""Hand-made results with round figures, so every ratio a test expects can be worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specbench.results.files import write_json_atomic
from specbench.results.model import BenchmarkResult

STATS = ("mean", "median", "std", "max", "p90", "p99")


def latency(name: str, base: float) -> dict[str, float]:
    """mean = base, median = base, p99 = 2 × base, …: one number sets a whole distribution."""
    factors = {"mean": 1.0, "median": 1.0, "std": 0.1, "max": 3.0, "p90": 1.5, "p99": 2.0}
    return {f"{stat}_{name}_ms": base * factors[stat] for stat in STATS}


def make_result(
    *,
    engine: str = "transformers",
    method: str = "target-ar",
    model: str = "/models/qwen3-8b",
    output_throughput: float = 100.0,
    ttft_ms: float = 200.0,
    tpot_ms: float = 40.0,
    rate: float | str = 4.0,
    arrival: str = "poisson",
    input_len: int = 128,
    output_len: int = 128,
    dummy_weights: bool = False,
    gpu: str | None = "NVIDIA H200",
    status: str = "completed",
    failed: int = 0,
    metrics: dict[str, Any] | None = None,
    label: str | None = None,
) -> BenchmarkResult:
    completed = 100
    duration = completed * output_len / output_throughput
    figures: dict[str, Any] = {
        "completed": completed,
        "failed": failed,
        "requested_rate": rate,
        "duration": duration,
        "total_input_tokens": completed * input_len,
        "total_output_tokens": completed * output_len,
        "request_throughput": completed / duration,
        "output_throughput": output_throughput,
        "total_token_throughput": completed * (input_len + output_len) / duration,
        **latency("ttft", ttft_ms),
        **latency("tpot", tpot_ms),
        **latency("itl", tpot_ms),
        **latency("e2el", ttft_ms + tpot_ms * (output_len - 1)),
        **(metrics or {}),
    }
    devices = [{"index": 0, "name": gpu, "memory_gib": 139.8}] if gpu else []
    return BenchmarkResult.model_validate(
        {
            "run": {
                "id": "run-1",
                "status": status,
                "started_at": "2026-12-01T10:00:00+00:00",
                "label": label,
            },
            "engine": {"name": engine, "version": "1.0", "model": model, "method": method},
            "workload": {"dataset": "random", "request_rate": rate, "arrival": arrival},
            "metrics": figures,
            "config": {"dummy_weights": dummy_weights},
            "config_sources": {"workload.rate": "profile quick"},
            "environment": {"devices": devices},
        }
    )


def save(result: BenchmarkResult, path: Path) -> Path:
    write_json_atomic(path, result.to_json_dict())
    return path
