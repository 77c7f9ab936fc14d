"""`specbench monitor --output`: one row per GPU per sampling round, appended to a CSV or JSONL file and
flushed after every round, so the file holds only whole rounds whenever the monitor stops."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from specbench.errors import ConfigError, cannot_write
from specbench.results.gpus import GpuDevice
from specbench.telemetry.processes import GpuProcess
from specbench.telemetry.readings import GpuReading, reason_names

COLUMNS: tuple[str, ...] = (
    "time",
    "t_s",
    "gpu",
    "uuid",
    "name",
    "gpu_utilization_pct",
    "memory_utilization_pct",
    "memory_used_gib",
    "memory_total_gib",
    "power_w",
    "energy_j",
    "temperature_c",
    "sm_clock_mhz",
    "memory_clock_mhz",
    "clock_event_reasons",
    "processes",
)
FORMATS = (".csv", ".jsonl")


def _round(value: float | int | None, decimals: int) -> float | int | None:
    return round(value, decimals) if isinstance(value, float) else value


def monitor_row(
    at: dt.datetime, t_s: float, device: GpuDevice, reading: GpuReading, processes: Sequence[GpuProcess]
) -> dict[str, Any]:
    return {
        "time": at.isoformat(timespec="milliseconds"),
        "t_s": round(t_s, 3),
        "gpu": device.index,
        "uuid": device.uuid,
        "name": device.name,
        "gpu_utilization_pct": reading.gpu_utilization_pct,
        "memory_utilization_pct": reading.memory_utilization_pct,
        "memory_used_gib": _round(reading.memory_used_gib, 3),
        "memory_total_gib": _round(reading.memory_total_gib, 3),
        "power_w": _round(reading.power_w, 3),
        "energy_j": _round(reading.energy_j, 3),
        "temperature_c": reading.temperature_c,
        "sm_clock_mhz": reading.sm_clock_mhz,
        "memory_clock_mhz": reading.memory_clock_mhz,
        "clock_event_reasons": (
            reason_names(reading.clock_event_reasons) if reading.clock_event_reasons is not None else None
        ),
        "processes": [{"pid": p.pid, "name": p.name, "used_gib": _round(p.used_gib, 3)} for p in processes],
    }


def _csv_cell(key: str, value: Any) -> Any:
    if value is None:
        return ""
    if key == "clock_event_reasons":
        return "|".join(value)
    if key == "processes":
        return " ".join(
            f"{p['pid']}:{p['name'] or ''}:{'' if p['used_gib'] is None else p['used_gib']}" for p in value
        )
    return value


def check_format(path: Path) -> None:
    if path.suffix not in FORMATS:
        raise ConfigError(f"--output {path}: name a .csv or a .jsonl file")


class MonitorLog:
    """Appends rows to FILE.csv (a header first when the file is empty) or FILE.jsonl."""

    def __init__(self, path: Path) -> None:
        check_format(path)
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] = path.open("a", encoding="utf-8", newline="")
        except OSError as exc:
            raise cannot_write(path, exc) from None
        self._csv: csv.DictWriter[str] | None = None
        if path.suffix == ".csv":
            self._csv = csv.DictWriter(self._file, fieldnames=COLUMNS)
            if self._file.tell() == 0:
                self._csv.writeheader()

    def write_round(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if self._csv is not None:
                self._csv.writerow({key: _csv_cell(key, value) for key, value in row.items()})
            else:
                self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
