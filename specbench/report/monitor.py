"""`specbench monitor`: the live GPU table on its own, with the processes on each GPU, until the duration
ends or Ctrl-C / SIGTERM arrives; every round optionally appended to a file."""

from __future__ import annotations

import datetime as dt
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from specbench.errors import ConfigError
from specbench.report.gpu_table import live_gpu_table
from specbench.results.gpus import GpuDevice
from specbench.telemetry.devices import NvmlGpu, device_facts, nvml_gpus
from specbench.telemetry.monitor_log import MonitorLog, monitor_row
from specbench.telemetry.nvml import Nvml, TelemetryUnavailable, nvml_session
from specbench.telemetry.processes import GpuProcess, ProcessNames, gpu_processes
from specbench.telemetry.readings import DeviceReader, GpuReading


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    gpus: Sequence[int] | None  # NVML indices (nvidia-smi's); None = every GPU
    interval_s: float
    duration_s: float | None
    output: Path | None


@dataclass(frozen=True, slots=True)
class MonitorSummary:
    rounds: int
    signal_name: str | None  # the signal that ended it, if one did


@contextmanager
def _stop_on_signals(stop: threading.Event, received: list[str]) -> Iterator[None]:
    def handle(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _chosen(all_gpus: Sequence[NvmlGpu], wanted: Sequence[int] | None) -> list[NvmlGpu]:
    if wanted is None:
        return list(all_gpus)
    missing = [index for index in wanted if index >= len(all_gpus)]
    if missing:
        raise ConfigError(
            f"--gpus {','.join(map(str, wanted))}: there is no GPU {missing[0]}; this machine has GPUs "
            f"0–{len(all_gpus) - 1} (NVML's numbering, as nvidia-smi shows)"
        )
    return [all_gpus[index] for index in dict.fromkeys(wanted)]


def watch_gpus(settings: MonitorSettings, console: Console) -> MonitorSummary:
    """Sample, redraw and append until the duration is over or a signal arrives."""
    with nvml_session() as nvml:
        try:
            gpus = _chosen(nvml_gpus(nvml), settings.gpus)
            devices = [device_facts(nvml, gpu) for gpu in gpus]
        except nvml.lib.NVMLError as exc:
            raise TelemetryUnavailable(f"NVML failed while describing the GPUs: {exc}") from None
        if not gpus:
            raise TelemetryUnavailable("NVML sees no GPU")
        log = MonitorLog(settings.output) if settings.output is not None else None
        try:
            return _loop(nvml, gpus, devices, settings, console, log)
        finally:
            if log is not None:
                log.close()


def _processes(nvml: Nvml, gpu: NvmlGpu, names: ProcessNames) -> tuple[list[GpuProcess], list[str]]:
    try:
        return gpu_processes(nvml, gpu.handle, names), []
    except Exception as exc:  # a failed listing is shown, and the next sample tries again
        return [], [f"processes: {type(exc).__name__}: {exc}"]


def _loop(
    nvml: Nvml,
    gpus: Sequence[NvmlGpu],
    devices: Sequence[GpuDevice],
    settings: MonitorSettings,
    console: Console,
    log: MonitorLog | None,
) -> MonitorSummary:
    readers = [DeviceReader(nvml, gpu.handle) for gpu in gpus]
    names = ProcessNames()
    stop, received = threading.Event(), list[str]()
    rounds = 0
    with _stop_on_signals(stop, received), Live(console=console, auto_refresh=False) as live:
        start = next_due = time.perf_counter()
        while True:
            now = time.perf_counter()
            results = [reader.read() for reader in readers]
            listed = [_processes(nvml, gpu, names) for gpu in gpus]
            readings = [reading for reading, _ in results]
            processes = [found for found, _ in listed]
            if log is not None:
                at = dt.datetime.now(dt.UTC)
                log.write_round(
                    [
                        monitor_row(at, now - start, device, reading, procs)
                        for device, reading, procs in zip(devices, readings, processes, strict=True)
                    ]
                )
            rounds += 1
            errors = [
                f"GPU {device.index}: {message}"
                for device, (_, read_errors), (_, list_errors) in zip(devices, results, listed, strict=True)
                for message in [*read_errors, *list_errors]
            ]
            live.update(_view(devices, readings, processes, errors, settings, now - start), refresh=True)
            if settings.duration_s is not None and now - start + settings.interval_s > settings.duration_s:
                break
            next_due += settings.interval_s
            if stop.wait(max(0.0, next_due - time.perf_counter())):
                break
    if not console.is_terminal:  # Rich leaves the last line open when not on a terminal
        console.line()
    return MonitorSummary(rounds=rounds, signal_name=received[0] if received else None)


def _view(
    devices: Sequence[GpuDevice],
    readings: Sequence[GpuReading],
    processes: Sequence[Sequence[GpuProcess]],
    errors: Sequence[str],
    settings: MonitorSettings,
    elapsed_s: float,
) -> Group:
    status = f"specbench monitor · every {settings.interval_s:g} s · {elapsed_s:.0f} s"
    if settings.output is not None:
        status += f" · appending to {settings.output}"
    status += " · Ctrl-C to stop"
    parts = [Text(status, style="bold"), live_gpu_table(devices, readings, processes)]
    parts += [Text.from_markup(f"[yellow]{escape(error)}[/]") for error in errors]
    return Group(*parts)
