"""One benchmark run as a short list of named steps: resolve models, build the workload, start the
engine, dispatch, aggregate, write. The CLI is a thin shell over `run_benchmark`."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from specbench import SCHEMA_VERSION, __version__
from specbench.config import EngineName, RunConfig
from specbench.engines.base import Engine
from specbench.engines.registry import create_engine
from specbench.environment import collect_environment
from specbench.errors import ConfigError
from specbench.metrics import compute_metrics
from specbench.report.header import render_header
from specbench.report.live import LiveProgress
from specbench.report.summary import render_summary
from specbench.results import requests_path, result_path, set_aside_previous, write_json_atomic
from specbench.runner.dispatcher import RunOutcome, RunProgress, run_workload
from specbench.runner.record_writer import JsonlRecordWriter
from specbench.tiny_model import TINY_MODEL_NOTE, ensure_tiny_models
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import load_tokenizer
from specbench.workload.types import Workload


@dataclass(slots=True)
class BenchmarkOutput:
    result: dict[str, Any]
    result_path: Path
    requests_path: Path | None


def check_model_dir(path: Path, flag: str) -> None:
    if not path.is_dir():
        raise ConfigError(
            f"{flag} {path}: no such directory; pass a local model directory (with config.json)"
        )
    if not (path / "config.json").is_file():
        raise ConfigError(f"{flag} {path}: no config.json inside; pass a Hugging Face model directory")


def resolve_models(config: RunConfig) -> tuple[RunConfig, list[str]]:
    """Check the model directories, or substitute the built-in tiny models when no --model is given."""
    if config.draft_model is not None:
        check_model_dir(config.draft_model, "--draft-model")
    if config.model is not None:
        check_model_dir(config.model, "--model")
        if config.tokenizer is not None and not config.tokenizer.is_dir():
            raise ConfigError(f"--tokenizer {config.tokenizer}: no such directory")
        return config, []
    tiny = ensure_tiny_models()
    update: dict[str, Any] = {"model": tiny.target}
    if config.draft_model is None:
        update["draft_model"] = tiny.draft
    # The echo engine runs no model; the tiny model only lends it a tokenizer for the prompts.
    notes = [] if config.engine is EngineName.echo else [TINY_MODEL_NOTE]
    return config.model_copy(update=update), notes


def inapplicable_settings(config: RunConfig, sources: Mapping[str, str]) -> list[str]:
    """Settings the user chose that this engine ignores: say so rather than pretend."""
    notes = []
    chosen = {key for key, origin in sources.items() if origin != "default"}
    if config.engine is not EngineName.transformers and "transformers.batching" in chosen:
        origin = sources["transformers.batching"]
        notes.append(
            f"{origin} sets Transformers batching, which does not apply: {config.engine.value} "
            "batches requests on its own (continuous batching)"
        )
    if config.engine is not EngineName.vllm:
        vllm_keys = sorted(key for key in chosen if key.startswith("vllm."))
        if vllm_keys:
            notes.append(f"vLLM settings ignored by the {config.engine.value} engine: {', '.join(vllm_keys)}")
    return notes


@contextmanager
def stop_on_interrupt(stop: asyncio.Event, console: Console) -> Iterator[None]:
    """While measuring, Ctrl-C stops sending and lets the run save what it measured."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt() -> None:
        if not stop.is_set():
            console.print("[yellow]Interrupted: no new requests; finishing in-flight ones (a few seconds)…")
        stop.set()

    try:
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
        installed = True
    except (NotImplementedError, RuntimeError):  # not the main thread, or no signal support
        installed = False
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
            signal.signal(signal.SIGINT, previous)  # asyncio.Runner's own cancel-on-Ctrl-C handler


async def measure(
    engine: Engine,
    workload: Workload,
    config: RunConfig,
    *,
    console: Console,
    records_file: Path | None,
    stop: asyncio.Event,
) -> tuple[RunOutcome, dict[str, Any]]:
    progress = RunProgress(
        planned=len(workload.requests) if config.workload.num_requests else None,
        send_window_s=workload.send_window_s,
    )
    writer = JsonlRecordWriter(records_file) if records_file is not None else None
    try:
        async with LiveProgress(progress, console, on_tick=writer.flush if writer else None):
            with stop_on_interrupt(stop, console):
                outcome = await run_workload(
                    engine,
                    workload,
                    max_concurrency=config.workload.max_concurrency,
                    sink=writer,
                    progress=progress,
                    stop=stop,
                )
    finally:
        if writer is not None:
            writer.close()
    return outcome, await engine.stats()


def assemble_result(
    *,
    config: RunConfig,
    sources: Mapping[str, str],
    engine_info: dict[str, Any],
    workload: Workload,
    outcome: RunOutcome,
    engine_stats: Mapping[str, Any],
    records_file: Path | None,
    notes: list[str],
) -> dict[str, Any]:
    metrics = compute_metrics(
        outcome.records,
        duration_s=outcome.duration_s,
        percentiles=config.percentiles,
        slo=config.slo,
        requested_rate=config.workload.rate,
    )
    warnings = []
    lag = metrics.get("p99_dispatch_lag_ms")
    # With --rate inf every request is due at t=0, so lag there only measures how fast the client
    # hands over the burst; it is recorded but is no sign of a client-limited measurement.
    burst = math.isinf(config.workload.rate)
    if lag is not None and lag > config.warn_dispatch_lag_ms and not burst:
        warnings.append(
            f"p99 dispatch lag was {lag:.1f} ms (> {config.warn_dispatch_lag_ms} ms): requests left later "
            "than scheduled, so the client (which shares this process and its CPUs with an in-process "
            "engine) limited the offered load; lower the rate or give the client more CPU"
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "specbench_version": __version__,
        "status": "interrupted" if outcome.interrupted else "completed",
        "date": dt.datetime.fromtimestamp(outcome.started_at_unix, tz=dt.UTC).isoformat(),
        "engine": engine_info,
        "method": config.method.value,
        "model": str(config.model),
        "draft_model": str(config.draft_model) if config.draft_model else None,
        "workload": workload.summary,
        "requests_file": records_file.name if records_file else None,
        "num_not_sent": outcome.not_sent,
        "notes": notes,
        "warnings": warnings,
        **metrics,
        **engine_stats,
        "config": config.model_dump(mode="json"),
        "config_sources": dict(sources),
        "environment": collect_environment(),
    }


async def run_benchmark(
    config: RunConfig,
    *,
    console: Console,
    sources: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
) -> BenchmarkOutput:
    sources = sources or {}
    config, notes = resolve_models(config)
    notes += inapplicable_settings(config, sources)
    tokenizer = load_tokenizer(config.tokenizer or config.model, trust_remote_code=config.trust_remote_code)
    workload = build_workload(config, tokenizer)
    engine = create_engine(config)
    info = engine.describe()

    out_path = result_path(config)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        kept = set_aside_previous(out_path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write results to {out_path.parent}: {exc.strerror or exc}; pass another --output-dir"
        ) from None
    if kept is not None:
        console.print(f"An earlier result at {out_path} was kept as {kept.name}")
    records_file = requests_path(out_path) if config.output.save_requests else None

    try:
        with console.status(f"Starting {info.name} with {info.model} …"):
            await engine.start()
        info = engine.describe()  # after start(): the settings as the engine resolved them
        render_header(console, engine=info, workload=workload.summary, notes=notes)
        outcome, engine_stats = await measure(
            engine, workload, config, console=console, records_file=records_file, stop=stop or asyncio.Event()
        )
    finally:
        await engine.shutdown()

    result = assemble_result(
        config=config,
        sources=sources,
        engine_info=asdict(info),
        workload=workload,
        outcome=outcome,
        engine_stats=engine_stats,
        records_file=records_file,
        notes=notes,
    )
    write_json_atomic(out_path, result)
    render_summary(result, console)
    for warning in result["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(f"Result: {out_path}" + (f"   per-request records: {records_file}" if records_file else ""))
    return BenchmarkOutput(result=result, result_path=out_path, requests_path=records_file)
