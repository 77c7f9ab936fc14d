"""GPU tables: the live one (a run's live view and `specbench monitor`) and the measured window's summary."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from specbench.results.gpus import GpuDevice, GpuSection
from specbench.telemetry.processes import GpuProcess
from specbench.telemetry.readings import GpuReading, reason_names

# Not throttling: an idle GPU lowers its clocks by design.
_IDLE = "gpu_idle"


def _num(value: float | int | None, decimals: int = 0) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def _pair(value: float | int | None, other: float | int | None, decimals: int = 0) -> str:
    return f"{_num(value, decimals)}/{_num(other, decimals)}"


def _name(device_name: str) -> str:
    return escape(device_name.removeprefix("NVIDIA "))


def _events(mask: int | None) -> str:
    if mask is None:
        return "—"
    names = [name for name in reason_names(mask) if name != _IDLE]
    return "[yellow]" + ", ".join(names) + "[/]" if names else ("idle" if mask else "none")


def _processes(processes: Sequence[GpuProcess]) -> str:
    return "\n".join(
        escape(f"{p.pid} {p.name or '?'}" + (f" {p.used_gib:.1f} GiB" if p.used_gib is not None else ""))
        for p in processes
    )


def _table(columns: Sequence[str], title: str | None = None) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_style="bold", title_justify="left")
    for column in columns:
        wraps = column in ("clocks events", "processes")
        table.add_column(
            column,
            justify="left" if wraps or column == "name" else "right",
            no_wrap=not wraps,
            min_width=10 if wraps else None,
        )
    return table


def live_gpu_table(
    devices: Sequence[GpuDevice],
    readings: Sequence[GpuReading] | None,
    processes: Sequence[Sequence[GpuProcess]] | None = None,
) -> Table:
    """One row per GPU with its latest reading; `processes` (one list per GPU) adds their column."""
    columns = ["GPU", "name", "util %", "mem GiB", "power W", "°C", "SM MHz", "mem MHz", "clocks events"]
    table = _table([*columns, "processes"] if processes is not None else columns)
    for position, device in enumerate(devices):
        reading = readings[position] if readings is not None else GpuReading()
        row = [
            str(device.index),
            _name(device.name),
            _num(reading.gpu_utilization_pct),
            _pair(reading.memory_used_gib, device.memory_total_gib, 1),
            _pair(reading.power_w, device.power_limit_w),
            _num(reading.temperature_c),
            _num(reading.sm_clock_mhz),
            _num(reading.memory_clock_mhz),
            _events(reading.clock_event_reasons),
        ]
        if processes is not None:
            row.append(_processes(processes[position]))
        table.add_row(*row)
    return table


def _window_events(reasons: dict[str, float]) -> str:
    return ", ".join(f"{name} {share:.0%}" for name, share in reasons.items() if name != _IDLE)


def window_gpu_table(section: GpuSection) -> Table:
    """Each GPU over the measured window: what it did on average and at most, and the energy it drew."""
    table = _table(
        ["GPU", "name", "util %", "mem GiB max", "power W", "energy J", "°C max", "SM MHz"],
        title="GPUs over the measured window (mean/max)",
    )
    names = {device.index: device.name for device in section.devices}
    for window in section.window:
        table.add_row(
            str(window.index),
            _name(names.get(window.index, "")),
            _pair(window.gpu_utilization_pct.mean, window.gpu_utilization_pct.max),
            _num(window.memory_used_gib.max, 1),
            _pair(window.power_w.mean, window.power_w.max),
            _num(window.energy_j, 1),
            _num(window.temperature_c.max),
            _pair(window.sm_clock_mhz.mean, window.sm_clock_mhz.max),
        )
    return table


def render_gpu_window(section: GpuSection, console: Console) -> None:
    """The window table, then what the sampler could not do (notes, errors): said, never hidden."""
    if section.window:
        console.print(window_gpu_table(section))
    for window in section.window:
        if events := _window_events(window.clock_event_reasons):
            shares = escape(events)
            console.print(f"[yellow]GPU {window.index} clocks held back[/] (share of samples): {shares}")
    for note in section.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for error in section.errors:
        where = f"GPU {error.gpu}: " if error.gpu is not None else ""
        times = f" ({error.count}×, first at {error.first_s:+.2f} s)"
        console.print(f"[yellow]GPU sampler error:[/] {escape(where + error.message + times)}")
