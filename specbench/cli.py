"""The `specbench` command line: turns flags into one validated config and calls the benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table

from specbench import __version__
from specbench.benchmark import run_benchmark
from specbench.config import RunConfig
from specbench.errors import SpecbenchError
from specbench.runner import event_loop
from specbench.settings import ENV_VARS, ResolvedConfig, describe_value, flatten, resolve_config

app = typer.Typer(
    name="specbench",
    help="Benchmark LLM inference: Transformers vs vLLM, autoregressive vs speculative decoding.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)

# CLI parameter -> dotted RunConfig key. Help texts come from the config model's descriptions, so
# each option is documented once.
FLAG_KEYS: dict[str, str] = {
    "engine": "engine",
    "method": "method",
    "model": "model",
    "draft_model": "draft_model",
    "tokenizer": "tokenizer",
    "dtype": "dtype",
    "device": "device",
    "dummy_weights": "dummy_weights",
    "trust_remote_code": "trust_remote_code",
    "seed": "seed",
    "dataset": "workload.dataset",
    "dataset_format": "workload.dataset_format",
    "num_prompts": "workload.num_prompts",
    "rate": "workload.rate",
    "duration": "workload.duration",
    "arrival": "workload.arrival",
    "burstiness": "workload.burstiness",
    "max_concurrency": "workload.max_concurrency",
    "input_len": "workload.input_len",
    "output_len": "workload.output_len",
    "warmup": "workload.warmup",
    "spec_method": "speculative.spec_method",
    "num_speculative_tokens": "speculative.num_speculative_tokens",
    "draft_schedule": "speculative.draft_schedule",
    "ngram_min": "speculative.ngram_prompt_lookup_min",
    "ngram_max": "speculative.ngram_prompt_lookup_max",
    "batching": "transformers.batching",
    "max_batch_size": "transformers.max_batch_size",
    "max_wait_ms": "transformers.max_wait_ms",
    "attn_implementation": "transformers.attn_implementation",
    "compile": "transformers.compile",
    "tensor_parallel_size": "vllm.tensor_parallel_size",
    "pipeline_parallel_size": "vllm.pipeline_parallel_size",
    "gpu_memory_utilization": "vllm.gpu_memory_utilization",
    "max_model_len": "vllm.max_model_len",
    "max_num_seqs": "vllm.max_num_seqs",
    "max_num_batched_tokens": "vllm.max_num_batched_tokens",
    "enable_prefix_caching": "vllm.enable_prefix_caching",
    "enforce_eager": "vllm.enforce_eager",
    "distributed_executor_backend": "vllm.distributed_executor_backend",
    "disable_log_stats": "vllm.disable_log_stats",
    "kv_cache_space": "vllm.kv_cache_space_gb",
    "echo_token_delay_ms": "echo.token_delay_ms",
    "echo_ttft_ms": "echo.ttft_ms",
    "output": "output.path",
    "output_dir": "output.dir",
    "save_requests": "output.save_requests",
    "slo_ttft_ms": "slo.ttft_ms",
    "slo_tpot_ms": "slo.tpot_ms",
    "slo_e2el_ms": "slo.e2el_ms",
    "percentiles": "percentiles",
    "warn_dispatch_lag_ms": "warn_dispatch_lag_ms",
}


def _field_help(dotted: str) -> str:
    model: type[Any] = RunConfig
    *sections, leaf = dotted.split(".")
    for section in sections:
        model = model.model_fields[section].annotation
    return model.model_fields[leaf].description or ""


_PANELS = {
    "workload": "Workload",
    "speculative": "Speculative decoding",
    "transformers": "Transformers engine",
    "vllm": "vLLM engine",
    "echo": "Echo engine (measures the harness alone)",
    "output": "Output",
    "slo": "Output",
}


def _opt(param: str, *names: str, **kwargs: Any) -> Any:
    key = FLAG_KEYS[param]
    panel = _PANELS.get(key.split(".")[0], "Model and engine")
    return typer.Option(*names, help=_field_help(key), show_default=False, rich_help_panel=panel, **kwargs)


def _flag_label(param: str) -> str:
    return "--" + param.replace("_", "-")


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


@app.command(
    epilog="Environment variables of the original shell workflow are honoured (flags win): "
    + ", ".join(ENV_VARS)
    + ". See docs/CONFIGURATION.md."
)
def run(
    profile: Annotated[
        str | None,
        typer.Option(help="Profile name (smoke, quick, stress, quick-test, stress-test) or a YAML file."),
    ] = None,
    engine: Annotated[str | None, _opt("engine")] = None,
    method: Annotated[str | None, _opt("method")] = None,
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
    rate: Annotated[float | None, _opt("rate")] = None,
    duration: Annotated[float | None, _opt("duration")] = None,
    arrival: Annotated[str | None, _opt("arrival")] = None,
    burstiness: Annotated[float | None, _opt("burstiness")] = None,
    max_concurrency: Annotated[int | None, _opt("max_concurrency")] = None,
    input_len: Annotated[int | None, _opt("input_len")] = None,
    output_len: Annotated[str | None, _opt("output_len", metavar="N|dataset")] = None,
    warmup: Annotated[int | None, _opt("warmup")] = None,
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
    output: Annotated[Path | None, _opt("output", "--output", "-o")] = None,
    output_dir: Annotated[Path | None, _opt("output_dir")] = None,
    save_requests: Annotated[bool | None, _opt("save_requests", "--save-requests/--no-save-requests")] = None,
    slo_ttft_ms: Annotated[float | None, _opt("slo_ttft_ms")] = None,
    slo_tpot_ms: Annotated[float | None, _opt("slo_tpot_ms")] = None,
    slo_e2el_ms: Annotated[float | None, _opt("slo_e2el_ms")] = None,
    percentiles: Annotated[str | None, _opt("percentiles", metavar="90,95,99")] = None,
    warn_dispatch_lag_ms: Annotated[float | None, _opt("warn_dispatch_lag_ms")] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the resolved config and where each value came from; exit."),
    ] = False,
) -> None:
    """Load a model into an engine, send requests on a schedule, measure every token, write the result."""
    values = {name: value for name, value in locals().items() if name in FLAG_KEYS and value is not None}
    if "percentiles" in values:
        values["percentiles"] = _parse_percentiles(values["percentiles"])
    if "output_len" in values:
        values["output_len"] = _parse_output_len(values["output_len"])
    flags = {FLAG_KEYS[name]: value for name, value in values.items()}
    flag_names = {FLAG_KEYS[name]: _flag_label(name) for name in FLAG_KEYS}
    resolved = resolve_config(profile=profile, flags=flags, flag_names=flag_names)
    console = Console()
    if dry_run:
        _print_sources(console, resolved)
        return
    output = event_loop.run(run_benchmark(resolved.config, console=console, sources=resolved.sources))
    if output.result["status"] == "interrupted":
        # What was measured is saved; the exit code still tells scripts the run was cut short.
        raise typer.Exit(130)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"specbench {__version__}")
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    command = typer.main.get_command(app)
    err = Console(stderr=True, highlight=False)
    try:
        result = command.main(args=argv, prog_name="specbench", standalone_mode=False)
    except SpecbenchError as exc:
        err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        return 2
    except click.UsageError as exc:
        where = f"{exc.ctx.command_path}: " if exc.ctx else ""
        err.print(f"[bold red]error:[/] {where}{exc.format_message()} (see --help)", soft_wrap=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        err.print("[yellow]Interrupted before any measurement started; nothing was saved.")
        return 130
    return result if isinstance(result, int) else 0
