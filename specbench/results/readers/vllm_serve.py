"""`vllm bench serve --save-result` JSON → BenchmarkResult, through the registry's vLLM keys and scales."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from specbench.metrics.registry import METRICS, MetricSpec, distribution_key
from specbench.records import RequestRecord
from specbench.results.model import BenchmarkResult, EngineSection, RunSection

FORMAT = "vllm-bench-serve"
# Keys every `vllm bench serve` result has and no specbench result has at the top level.
_SIGNATURE = ("model_id", "backend", "date", "duration", "completed", "request_throughput")
_SPECULATIVE = "spec_decode_num_drafts"


def matches(data: Any) -> bool:
    return isinstance(data, dict) and "schema_version" not in data and all(k in data for k in _SIGNATURE)


def figures(data: dict[str, Any]) -> dict[str, Any]:
    """vLLM's keys renamed and rescaled to specbench's, for every figure the registry says vLLM reports."""
    out: dict[str, Any] = {}
    for spec in METRICS:
        if not spec.in_vllm:
            continue
        theirs = spec.vllm_key or spec.name
        if spec.distribution:
            pattern = re.compile(rf"^(mean|median|std|max|p\d+(?:\.\d+)?)_{re.escape(theirs)}_ms$")
            for key, value in data.items():
                if (match := pattern.match(key)) is not None:
                    out[distribution_key(match.group(1), spec.name)] = _rescale(value, spec)
        elif theirs in data:
            out[spec.name] = _rescale(data[theirs], spec)
    return out


def read(data: dict[str, Any], path: Path) -> list[BenchmarkResult]:
    backend = str(data.get("backend") or data.get("endpoint_type") or "unknown")
    return [
        BenchmarkResult(
            run=RunSection(
                id=path.name,
                status="completed",
                started_at=_date(data.get("date")),
                label=data.get("label"),
            ),
            engine=EngineSection(
                name=f"endpoint ({backend})",
                model=str(data["model_id"]),
                method="speculative" if _SPECULATIVE in data else "unknown",
                settings={"backend": backend, "tokenizer": data.get("tokenizer_id")},
            ),
            workload={
                "num_requests": data.get("num_prompts"),
                "request_rate": data.get("request_rate"),
                "arrival": "poisson",  # gamma gaps; burstiness 1 is Poisson
                "burstiness": data.get("burstiness"),
                "max_concurrency": data.get("max_concurrency"),
            },
            metrics=figures(data),
            environment={"tool": "vllm bench serve"},
            source_format=FORMAT,
        )
    ]


def _rescale(value: Any, spec: MetricSpec) -> Any:
    if spec.vllm_scale == 1 or value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [item / spec.vllm_scale for item in value]
    return value / spec.vllm_scale


def _date(text: Any) -> str | None:
    """vLLM stamps results with local time as 20250101-123456; ISO 8601 without a zone says the same."""
    try:
        return dt.datetime.strptime(str(text), "%Y%m%d-%H%M%S").isoformat()
    except ValueError:
        return None


def records(data: dict[str, Any]) -> list[RequestRecord] | None:
    """Records from `--save-detailed` lists (seconds, one entry per request), or None without them.

    vLLM stamps each request's start on time.perf_counter(); the first start becomes t = 0. It has no
    schedule or client queue per request here, so scheduled, ready and sent are the same instant.
    """
    keys = ("start_times", "ttfts", "itls", "latencies", "input_lens", "output_lens")
    if not all(isinstance(data.get(key), list) for key in keys):
        return None
    starts, ttfts, itls, latencies = data["start_times"], data["ttfts"], data["itls"], data["latencies"]
    if not starts or len({len(data[key]) for key in keys}) != 1:
        return None
    errors = data.get("errors")
    if not isinstance(errors, list) or len(errors) != len(starts):
        errors = [""] * len(starts)
    origin = min(starts)
    records = []
    for i, start in enumerate(starts):
        sent = start - origin
        failed = bool(errors[i]) or not ttfts[i]
        chunks = [] if failed else [sent + ttfts[i]]
        for gap in [] if failed else itls[i] or []:
            chunks.append(chunks[-1] + gap)
        records.append(
            RequestRecord(
                request_id=i,
                scheduled_s=sent,
                ready_s=sent,
                sent_s=sent,
                prompt_tokens=int(data["input_lens"][i] or 0),
                expected_output_tokens=int(data["output_lens"][i] or 0),
                chunk_times_s=chunks,
                chunk_tokens=_spread(int(data["output_lens"][i] or 0), len(chunks)),
                end_s=None if failed else sent + latencies[i],
                output_tokens=int(data["output_lens"][i] or 0),
                error=str(errors[i]) if failed else None,
            )
        )
    return records


def _spread(tokens: int, chunks: int) -> list[int]:
    """vLLM records how many tokens a request produced, not how many each streamed chunk carried."""
    if chunks == 0:
        return []
    base, extra = divmod(max(tokens, chunks), chunks)
    return [base + (1 if i < extra else 0) for i in range(chunks)]
