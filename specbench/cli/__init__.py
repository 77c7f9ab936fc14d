"""The `specbench` command line: each command turns flags into one validated config and makes one call.

User errors become one line on stderr and exit code 2, never a traceback: specbench's own errors, and the
usage errors of the command-line parser (an unknown option, a value of the wrong type, an extra argument).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from specbench import __version__
from specbench.cli import check_env as check_env_command
from specbench.cli import compare as compare_command
from specbench.cli import monitor as monitor_command
from specbench.cli import plot as plot_command
from specbench.cli import run as run_command
from specbench.errors import SpecbenchError

try:  # typer ≥ 0.22 carries its own copy of click, whose errors are not click's
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

app = typer.Typer(
    name="specbench",
    help="Benchmark LLM inference: Transformers vs vLLM, autoregressive vs speculative decoding.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    # Plain help, as argparse and click print it: Rich's panels cut long flag names at 80 columns.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
)
# Short summaries for `specbench --help`, short enough that click never cuts them with "..." at 80 columns.
app.command(
    name="run", epilog=run_command.EPILOG, short_help="Send requests to an engine, measure every token, save."
)(run_command.run)
app.command(
    name="compare", epilog=compare_command.EPILOG, short_help="Runs side by side: values, ratios, fairness."
)(compare_command.compare)
app.command(
    name="plot", epilog=compare_command.EPILOG, short_help="Latency CDFs, load, GPU and sweep curves as PNG."
)(plot_command.plot)
app.command(name="monitor", short_help="Watch GPUs live: utilisation, memory, power, clocks.")(
    monitor_command.monitor
)
app.command(name="check-env", short_help="Is this machine ready for an engine (and a model)?")(
    check_env_command.check_env
)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"specbench {__version__}")
        raise typer.Exit()


def _plain_list_arguments(command: Any) -> None:
    """Show a list argument as argparse does, 'RESULTS...', in usage and help alike.

    Typer writes its own notation around it ('{RESULTS...}...' in the usage line, 'RESULTS... <list[Path]>'
    in the help) and offers no setting to turn it off; the argument's metavar already says everything.
    """
    for sub in getattr(command, "commands", {}).values():
        for param in sub.params:
            if param.param_type_name == "argument" and param.nargs == -1 and param.metavar:
                param.display_type_rich = lambda ctx: None
                param._usage_display_name = lambda metavar=param.metavar: metavar


def main(argv: list[str] | None = None) -> int:
    """Entry point: every way out is an exit code and at most one line of error, never a traceback."""
    command = typer.main.get_command(app)
    _plain_list_arguments(command)
    err = Console(stderr=True, highlight=False)
    try:
        result = command.main(args=argv, prog_name="specbench", standalone_mode=False)
    except SpecbenchError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return exc.exit_code
    except NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return 0
    except UsageError as exc:
        where = f"{exc.ctx.command_path}: " if exc.ctx else ""
        err.print(f"[bold red]error:[/] {escape(where + exc.format_message())} (see --help)", soft_wrap=True)
        return 2
    except ClickException as exc:
        err.print(f"[bold red]error:[/] {escape(exc.format_message())}", soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        err.print("[yellow]Interrupted before any measurement started; nothing was saved.")
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover - `python -m specbench` is the module entry point
    sys.exit(main())
