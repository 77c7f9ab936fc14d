"""`specbench check-env`: is this machine ready to run the chosen engine (and model)? A table of verdicts,
or JSON; exit code 1 when a check that engine needs fails."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.checks import Status, Verdict, exit_code, gather, run_checks
from specbench.cli.options import FLAG_KEYS, flag_names, option
from specbench.errors import ConfigError
from specbench.settings import resolve_plan

_STYLE = {Status.PASS: "[green]pass[/]", Status.WARN: "[yellow]warn[/]", Status.FAIL: "[bold red]fail[/]"}


def _table(verdicts: list[Verdict], engine: str) -> Table:
    table = Table(title=f"specbench check-env · engine {engine}", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("found")
    table.add_column("fix")
    for verdict in verdicts:
        table.add_row(verdict.name, _STYLE[verdict.status], escape(verdict.detail), escape(verdict.hint))
    return table


def check_env(
    model: Annotated[
        Path | None,
        typer.Option(
            help="Model directory to check: its config, size, KV cache and whether it fits.",
            rich_help_panel="Model and engine",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[str | None, option("engine")] = None,
    tensor_parallel_size: Annotated[int | None, option("tensor_parallel_size")] = None,
    pipeline_parallel_size: Annotated[int | None, option("pipeline_parallel_size")] = None,
    max_model_len: Annotated[int | None, option("max_model_len")] = None,
    max_num_seqs: Annotated[int | None, option("max_num_seqs")] = None,
    gpu_memory_utilization: Annotated[float | None, option("gpu_memory_utilization")] = None,
    dtype: Annotated[str | None, option("dtype")] = None,
    device: Annotated[str | None, option("device")] = None,
    output_dir: Annotated[Path | None, option("output_dir")] = None,
    profile: Annotated[
        str | None, typer.Option(help="Check against a run profile's workload (e.g. quick, stress).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"checks": [{"name", "status", "detail", "hint"}…]}.')
    ] = False,
) -> None:
    """Is this machine ready for an engine (and a model)? Verdicts with one-line fixes.

    Checks Python, torch, GPUs, driver, NVML, the engines' packages, disk, memory and the output directory;
    with --model, whether the model fits. Runs without torch or vLLM installed and says what to install."""
    values = {name: value for name, value in locals().items() if name in FLAG_KEYS and value is not None}
    plan = resolve_plan(
        profile=profile,
        flags={FLAG_KEYS[name]: value for name, value in values.items()},
        flag_names=flag_names(),
    )
    if len(plan.sessions) > 1:
        raise ConfigError("check-env checks one engine at a time: pass a single --engine")
    config = plan.sessions[0].config
    console = Console()
    if as_json:
        facts = gather(config.output.dir, os.environ)
    else:
        with console.status("Looking at this machine (torch takes a few seconds to import) …"):
            facts = gather(config.output.dir, os.environ)
    verdicts = run_checks(facts, config)
    code = exit_code(verdicts)
    if as_json:
        typer.echo(
            json.dumps({"engine": config.engine.value, "checks": [v.as_json() for v in verdicts]}, indent=2)
        )
    else:
        console.print(_table(verdicts, config.engine.value))
        failed = [verdict.name for verdict in verdicts if verdict.status is Status.FAIL]
        if failed:
            console.print(
                f"[bold red]Not ready for the {config.engine.value} engine:[/] {escape(', '.join(failed))}"
            )
        else:
            console.print(f"[green]Ready for the {config.engine.value} engine.[/]")
    if code:
        raise typer.Exit(code)
