"""`specbench run`: flags → a validated plan → one call into the session layer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.cli.options import FLAG_KEYS, flag_names, option, split_list
from specbench.errors import SpecbenchError
from specbench.runner import event_loop
from specbench.session.run import run_plan
from specbench.settings import ENV_VARS, ResolvedConfig, describe_value, flatten, resolve_plan

_opt = option


def _parse_percentiles(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecbenchError(
            f"--percentiles {text!r}: give numbers separated by commas, e.g. 90,95,99"
        ) from None


def _parse_output_len(text: str) -> int | None:
    """A token count, or 'dataset' to take each request's output length from the dataset."""
    if text.strip().lower() == "dataset":
        return None
    try:
        return int(text)
    except ValueError:
        raise SpecbenchError(f"--output-len {text!r}: give a number of tokens, or 'dataset'") from None


def _parse_fraction(text: str) -> float:
    """'5%' → 0.05; '0.05' → 0.05."""
    try:
        value = float(text.strip().removesuffix("%")) / 100 if text.strip().endswith("%") else float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise SpecbenchError(
            f"--rate-precision {text!r}: give a percentage such as 5% or a fraction such as 0.05"
        )
    return value


def _print_sources(console: Console, resolved: ResolvedConfig) -> None:
    table = Table(title="Resolved configuration (flags > environment > profile > defaults)")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    flat = flatten(resolved.config.model_dump(mode="json"))
    for key, value in flat.items():
        origin = resolved.sources.get(key, "default")
        style = "" if origin == "default" else "bold"
        table.add_row(key, describe_value(value), origin, style=style)
    console.print(table)


EPILOG = (
    "Environment variables of the original shell workflow are honoured (flags win): "
    + ", ".join(ENV_VARS)
    + ". See docs/CONFIGURATION.md."
)


def run(
    profile: Annotated[
        str | None,
        typer.Option(help="Profile name (smoke, quick, stress, quick-test, stress-test) or a YAML file."),
    ] = None,
    engine: Annotated[str | None, _opt("engine", metavar="NAME[,NAME…]")] = None,
    method: Annotated[str | None, _opt("method", metavar="METHOD[,METHOD…]")] = None,
    model: Annotated[Path | None, _opt("model")] = None,
    draft_model: Annotated[Path | None, _opt("draft_model")] = None,
    tokenizer: Annotated[Path | None, _opt("tokenizer")] = None,
    dtype: Annotated[str | None, _opt("dtype")] = None,
    device: Annotated[str | None, _opt("device")] = None,
    dummy_weights: Annotated[bool | None, _opt("dummy_weights", "--dummy-weights/--real-weights")] = None,
    trust_remote_code: Annotated[
        bool | None, _opt("trust_remote_code", "--trust-remote-code/--no-trust-remote-code")
    ] = None,
    seed: Annotated[int | None, _opt("seed")] = None,
    dataset: Annotated[str | None, _opt("dataset")] = None,
    dataset_format: Annotated[str | None, _opt("dataset_format")] = None,
    num_prompts: Annotated[int | None, _opt("num_prompts")] = None,
    rate: Annotated[str | None, _opt("rate", metavar="R[,R…]")] = None,
    duration: Annotated[float | None, _opt("duration")] = None,
    arrival: Annotated[str | None, _opt("arrival")] = None,
    burstiness: Annotated[float | None, _opt("burstiness")] = None,
    max_concurrency: Annotated[str | None, _opt("max_concurrency", metavar="N[,N…]")] = None,
    input_len: Annotated[int | None, _opt("input_len")] = None,
    output_len: Annotated[str | None, _opt("output_len", metavar="N|dataset")] = None,
    warmup: Annotated[int | None, _opt("warmup")] = None,
    prefix_groups: Annotated[int | None, _opt("prefix_groups", metavar="G")] = None,
    prefix_len: Annotated[int | None, _opt("prefix_len", metavar="L")] = None,
    trace: Annotated[str | None, _opt("trace", metavar="FILE")] = None,
    trace_format: Annotated[str | None, _opt("trace_format")] = None,
    trace_speed: Annotated[float | None, _opt("trace_speed")] = None,
    trace_window: Annotated[str | None, _opt("trace_window", metavar="START:END")] = None,
    ramp: Annotated[str | None, _opt("ramp", metavar="linear|exponential")] = None,
    ramp_to: Annotated[float | None, _opt("ramp_to", metavar="R")] = None,
    window: Annotated[float | None, _opt("window", metavar="S")] = None,
    turns: Annotated[int | None, _opt("turns", metavar="N")] = None,
    turn_input_len: Annotated[int | None, _opt("turn_input_len")] = None,
    think_time: Annotated[float | None, _opt("think_time", metavar="S")] = None,
    think_distribution: Annotated[str | None, _opt("think_distribution")] = None,
    spec_method: Annotated[str | None, _opt("spec_method")] = None,
    num_speculative_tokens: Annotated[int | None, _opt("num_speculative_tokens")] = None,
    draft_schedule: Annotated[str | None, _opt("draft_schedule")] = None,
    ngram_min: Annotated[int | None, _opt("ngram_min")] = None,
    ngram_max: Annotated[int | None, _opt("ngram_max")] = None,
    batching: Annotated[str | None, _opt("batching")] = None,
    max_batch_size: Annotated[int | None, _opt("max_batch_size")] = None,
    max_wait_ms: Annotated[float | None, _opt("max_wait_ms")] = None,
    attn_implementation: Annotated[str | None, _opt("attn_implementation")] = None,
    compile: Annotated[bool | None, _opt("compile", "--compile/--no-compile")] = None,
    tensor_parallel_size: Annotated[int | None, _opt("tensor_parallel_size")] = None,
    pipeline_parallel_size: Annotated[int | None, _opt("pipeline_parallel_size")] = None,
    gpu_memory_utilization: Annotated[float | None, _opt("gpu_memory_utilization")] = None,
    max_model_len: Annotated[int | None, _opt("max_model_len")] = None,
    max_num_seqs: Annotated[int | None, _opt("max_num_seqs")] = None,
    max_num_batched_tokens: Annotated[int | None, _opt("max_num_batched_tokens")] = None,
    enable_prefix_caching: Annotated[
        bool | None, _opt("enable_prefix_caching", "--enable-prefix-caching/--no-enable-prefix-caching")
    ] = None,
    enforce_eager: Annotated[bool | None, _opt("enforce_eager", "--enforce-eager/--no-enforce-eager")] = None,
    distributed_executor_backend: Annotated[str | None, _opt("distributed_executor_backend")] = None,
    disable_log_stats: Annotated[
        bool | None, _opt("disable_log_stats", "--disable-log-stats/--enable-log-stats")
    ] = None,
    kv_cache_space: Annotated[float | None, _opt("kv_cache_space")] = None,
    echo_token_delay_ms: Annotated[float | None, _opt("echo_token_delay_ms")] = None,
    echo_ttft_ms: Annotated[float | None, _opt("echo_ttft_ms")] = None,
    echo_slots: Annotated[int | None, _opt("echo_slots")] = None,
    base_url: Annotated[str | None, _opt("base_url", metavar="URL")] = None,
    api_key_env: Annotated[str | None, _opt("api_key_env", metavar="NAME")] = None,
    chat: Annotated[bool | None, _opt("chat", "--chat/--completions")] = None,
    served_model_name: Annotated[str | None, _opt("served_model_name")] = None,
    prompt_format: Annotated[str | None, _opt("prompt_format")] = None,
    metrics_url: Annotated[str | None, _opt("metrics_url", metavar="URL|none")] = None,
    connect_timeout: Annotated[float | None, _opt("connect_timeout")] = None,
    read_timeout: Annotated[float | None, _opt("read_timeout")] = None,
    request_timeout: Annotated[float | None, _opt("request_timeout")] = None,
    output: Annotated[Path | None, _opt("output", "--output", "-o")] = None,
    output_dir: Annotated[Path | None, _opt("output_dir")] = None,
    save_requests: Annotated[bool | None, _opt("save_requests", "--save-requests/--no-save-requests")] = None,
    slo_ttft_ms: Annotated[float | None, _opt("slo_ttft_ms")] = None,
    slo_tpot_ms: Annotated[float | None, _opt("slo_tpot_ms")] = None,
    slo_e2el_ms: Annotated[float | None, _opt("slo_e2el_ms")] = None,
    percentiles: Annotated[str | None, _opt("percentiles", metavar="90,95,99")] = None,
    gpu_telemetry: Annotated[bool | None, _opt("gpu_telemetry", "--gpu-telemetry/--no-gpu-telemetry")] = None,
    gpu_interval: Annotated[float | None, _opt("gpu_interval", metavar="S")] = None,
    sweep: Annotated[int | None, _opt("sweep", metavar="N")] = None,
    find_max_rate: Annotated[bool | None, _opt("find_max_rate", "--find-max-rate/--no-find-max-rate")] = None,
    goodput_target: Annotated[float | None, _opt("goodput_target")] = None,
    rate_precision: Annotated[str | None, _opt("rate_precision", metavar="5%")] = None,
    probe_seconds: Annotated[float | None, _opt("probe_seconds")] = None,
    probe_requests: Annotated[int | None, _opt("probe_requests")] = None,
    max_probes: Annotated[int | None, _opt("max_probes")] = None,
    settle_s: Annotated[float | None, _opt("settle_s")] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the resolved config and where each value came from; exit."),
    ] = False,
) -> None:
    """Load a model into an engine (or reach a served one), send requests on a schedule, measure every
    token, write the result."""
    values = {name: value for name, value in locals().items() if name in FLAG_KEYS and value is not None}
    parsers = {
        "percentiles": _parse_percentiles,
        "rate_precision": _parse_fraction,
        "output_len": _parse_output_len,
        "engine": lambda text: split_list(text, "--engine", str, "transformers,vllm"),
        "method": lambda text: split_list(text, "--method", str, "target-ar,speculative"),
        "rate": lambda text: split_list(text, "--rate", float, "1,2,4 or inf"),
        "max_concurrency": lambda text: split_list(text, "--max-concurrency", int, "1,8,32"),
    }
    for name, parse in parsers.items():
        if name in values:
            values[name] = parse(values[name])
    flags = {FLAG_KEYS[name]: value for name, value in values.items()}
    plan = resolve_plan(profile=profile, flags=flags, flag_names=flag_names())
    console = Console()
    if dry_run:
        for session in plan.sessions:
            for point in session.points:
                _print_sources(console, point)
        return
    report = event_loop.run(run_plan(plan, console=console))
    if report.problems:
        err = Console(stderr=True, highlight=False)
        for problem in report.problems:
            err.print(f"[bold red]error:[/] {escape(problem)}", soft_wrap=True)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
