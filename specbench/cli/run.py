"""`specbench run`: flags → a validated plan → one call into the session layer."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.cli.options import flag_names, parse_flags, setting_parameters
from specbench.runner import event_loop
from specbench.session.layout import RunLayout
from specbench.session.prepare import prepare_plan
from specbench.session.run import run_plan
from specbench.settings import ENV_VARS, ResolvedConfig, describe_value, flatten, resolve_plan


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
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the resolved config and where each value came from; exit."),
    ] = False,
    **settings: Any,
) -> None:
    """Load a model into an engine (or reach a served one), send requests on a schedule, measure every
    token, write the result."""
    flags = parse_flags(settings)
    plan = resolve_plan(profile=profile, flags=flags, flag_names=flag_names())
    console = Console()
    if dry_run:
        # The run's own checks, short of starting an engine: a dry run refuses what the run would refuse.
        prepare_plan(RunLayout(plan))
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


# One keyword parameter per setting, generated from RunConfig: Typer reads the signature, not the code.
run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [*list(inspect.signature(run, eval_str=True).parameters.values())[:2], *setting_parameters()]
)
