"""`specbench monitor`: flags → monitor settings → the live GPU table until the duration ends or Ctrl-C."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from specbench.errors import ConfigError
from specbench.report.monitor import MonitorSettings, watch_gpus
from specbench.telemetry.monitor_log import check_format
from specbench.telemetry.nvml import TelemetryUnavailable


def _parse_gpus(text: str) -> list[int]:
    try:
        indices = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        indices = []
    if not indices or any(index < 0 for index in indices):
        raise ConfigError(f"--gpus {text!r}: give GPU numbers separated by commas, e.g. 0,1")
    return indices


def monitor(
    gpus: Annotated[
        str | None,
        typer.Option(
            metavar="N[,N…]",
            help="GPUs to watch, numbered as nvidia-smi numbers them (NVML's order; CUDA_VISIBLE_DEVICES "
            "does not apply). Default: every GPU.",
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(min=0.05, metavar="S", help="Seconds between two samples.")
    ] = 1.0,
    duration: Annotated[
        float | None,
        typer.Option(min=0.0, metavar="S", help="Stop after this many seconds. Default: until Ctrl-C."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Append one row per GPU per sample to FILE.csv or FILE.jsonl, flushed every sample.",
        ),
    ] = None,
) -> None:
    """Watch GPUs live: utilisation, memory, power, temperature, clocks and the processes on each."""
    if output is not None:
        check_format(output)
    settings = MonitorSettings(
        gpus=_parse_gpus(gpus) if gpus is not None else None,
        interval_s=interval,
        duration_s=duration,
        output=output,
    )
    console = Console()
    try:
        summary = watch_gpus(settings, console)
    except TelemetryUnavailable as exc:
        raise TelemetryUnavailable(f"no GPU to watch: {exc}") from None
    ended = f"{summary.signal_name}: stopped" if summary.signal_name else "done"
    saved = f"; rows in {output}" if output is not None else ""
    console.print(f"{ended} after {summary.rounds} samples{saved}", markup=False)
