"""One measured point: a workload sent to a started engine, its records, and the typed result they make."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from specbench import __version__
from specbench.config import RunConfig
from specbench.engines.base import Engine, EngineInfo
from specbench.engines.registry import engine_spec
from specbench.environment import collect_environment
from specbench.metrics import compute_metrics
from specbench.metrics.breakdown import turn_figures, window_figures
from specbench.metrics.categories import category_figures
from specbench.metrics.registry import merge_sources
from specbench.metrics.token_counts import TOKENIZER_WARNING, check_token_counts, counted_by_tokenizer
from specbench.records import RequestRecord
from specbench.results.gpus import GpuSection
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.results.prefix_cache import prefix_cache_warning
from specbench.runner.dispatcher import (
    PhaseListener,
    RecordSink,
    ResetFiguresAfterWarmup,
    RunOutcome,
    RunProgress,
    run_workload,
)
from specbench.workload.types import Workload

# Lateness of the client that changes what was measured (see client_warnings).
_RATE_SHORTFALL = 0.03
_LAG_SHARE_OF_TTFT = 0.10
# Below this a lag is timer granularity, whatever it is compared with (the echo engine answers in µs).
_LAG_NOISE_MS = 1.0


@dataclass(slots=True)
class MeasuredPoint:
    outcome: RunOutcome
    engine_figures: dict[str, Any]


@dataclass(slots=True)
class PointFiles:
    """The files of one point, beside its result."""

    result: Path
    requests: Path | None = None
    engine_log: Path | None = None


@dataclass(slots=True)
class Telemetry:
    """What a GPU sampler made of the measured window: the result's `gpus` section and its figures."""

    section: GpuSection | None = None
    figures: dict[str, Any] = field(default_factory=dict)


async def measure_point(
    engine: Engine,
    workload: Workload,
    config: RunConfig,
    *,
    sink: RecordSink | None,
    progress: RunProgress,
    stop: asyncio.Event,
    abort: asyncio.Event | None = None,
    listeners: Sequence[PhaseListener] = (),
) -> MeasuredPoint:
    """Warm up, measure the workload, then read the engine's figures for the measured requests alone."""
    outcome = await run_workload(
        engine,
        workload,
        max_concurrency=config.workload.max_concurrency,
        sink=sink,
        progress=progress,
        stop=stop,
        abort=abort,
        listeners=[ResetFiguresAfterWarmup(engine), *listeners],
        keep_output_ids=config.output.save_output_ids,
    )
    return MeasuredPoint(outcome=outcome, engine_figures=await engine.figures())


def build_result(
    *,
    run_id: str,
    label: str | None,
    config: RunConfig,
    sources: Mapping[str, str],
    engine: EngineInfo,
    workload: Workload,
    point: MeasuredPoint,
    files: PointFiles,
    notes: Sequence[str] = (),
    telemetry: Telemetry | None = None,
) -> BenchmarkResult:
    outcome = point.outcome
    record_figures = compute_metrics(
        outcome.records,
        duration_s=outcome.duration_s,
        percentiles=config.percentiles,
        slo=config.slo,
        requested_rate=planned_rate(config, workload),
    )
    telemetry = telemetry or Telemetry()
    metrics = merge_sources(
        {"records": record_figures, "engine": point.engine_figures, "telemetry": telemetry.figures}
    )
    info = asdict(engine)
    info.pop("max_model_len")  # for the context check; a served model's settings name it already
    tokens = check_token_counts(outcome.records)
    warnings = [
        *([TOKENIZER_WARNING] if counted_by_tokenizer(engine.settings) else []),
        *tokens.warnings(),
        *client_warnings(
            outcome.records,
            metrics,
            rate=planned_rate(config, workload),
            beside_inference=engine_spec(config.engine).measures_inference,
        ),
    ]
    cached = prefix_cache_warning(metrics, workload.summary)
    if cached is not None:
        warnings.append(cached)
    windows = window_figures(
        outcome.records, window_s=config.workload.window_s, duration_s=outcome.duration_s
    )
    return BenchmarkResult(
        run=RunSection(
            id=run_id,
            status="interrupted" if outcome.interrupted else "completed",
            started_at=dt.datetime.fromtimestamp(outcome.started_at_unix, tz=dt.UTC).isoformat(),
            specbench_version=__version__,
            label=label,
            requests_file=files.requests.name if files.requests else None,
            engine_log=files.engine_log.name if _has_content(files.engine_log) else None,
            num_not_sent=outcome.not_sent,
            notes=list(notes),
            warnings=warnings,
            token_count_checks=tokens.as_dict(),
        ),
        engine=EngineSection(**info, draft_model=str(config.draft_model) if config.draft_model else None),
        workload=workload.summary,
        metrics=metrics,
        categories=category_figures(outcome.records, duration_s=outcome.duration_s) or None,
        gpus=telemetry.section,
        windows=windows or None,
        turns=turn_figures(outcome.records),
        config=config.model_dump(mode="json"),
        config_sources=dict(sources),
        environment=collect_environment(),
    )


def planned_rate(config: RunConfig, workload: Workload) -> float:
    """The rate the schedule asked for: --rate, or a trace's own mean rate (its --rate is unset: inf)."""
    rate = workload.summary.get("request_rate")
    if workload.summary.get("kind") == "trace" and isinstance(rate, int | float):
        return float(rate)
    return config.workload.rate


def client_warnings(
    records: Sequence[RequestRecord],
    metrics: Mapping[str, Any],
    *,
    rate: float,
    beside_inference: bool = True,
) -> list[str]:
    """Say so when the client's own lateness changed what was measured, not merely when it was late.

    Two ways it can: the requests left at a lower rate than their schedule asked for (the engine saw less
    load than planned), or the lateness is a visible share of the inference latencies beside it (not with the
    echo engine, whose latencies are the harness's own). With rate inf every request is due at once, so
    lateness only measures how fast the burst was handed over.
    """
    if math.isinf(rate) or len(records) < 2:
        return []
    warnings = []
    scheduled = sorted(r.scheduled_s for r in records)
    ready = sorted(r.ready_s for r in records)
    planned_span, sent_span = scheduled[-1] - scheduled[0], ready[-1] - ready[0]
    if planned_span > 0 and sent_span > planned_span * (1 + _RATE_SHORTFALL):
        planned_rate, achieved = (len(records) - 1) / planned_span, (len(records) - 1) / sent_span
        warnings.append(
            f"the client sent at {achieved:.3g} req/s where the schedule asked for {planned_rate:.3g}: it "
            "could not keep up, so the engine saw less load than planned; lower the rate or give the "
            "client more CPU"
        )
    lag, ttft = metrics.get("p99_dispatch_lag_ms"), metrics.get("median_ttft_ms")
    if (
        beside_inference
        and isinstance(lag, float)
        and isinstance(ttft, float)
        and lag > max(_LAG_NOISE_MS, _LAG_SHARE_OF_TTFT * ttft)
    ):
        warnings.append(
            f"p99 dispatch lag ({lag:.1f} ms) is {lag / ttft:.0%} of the median TTFT ({ttft:.1f} ms): the "
            "client's own lateness is large beside the latencies measured; lower the rate or give the "
            "client more CPU"
        )
    return warnings


def _has_content(path: Path | None) -> bool:
    try:
        return path is not None and path.stat().st_size > 0
    except OSError:
        return False
