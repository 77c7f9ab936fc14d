"""The compute processes on a GPU, as NVML lists them, named through psutil when it is installed."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from specbench.telemetry.nvml import Nvml

_GIB = 2**30


@dataclass(frozen=True, slots=True)
class GpuProcess:
    pid: int
    name: str | None  # None without psutil, or for a process of another container / user
    used_gib: float | None  # None where NVML cannot tell (e.g. without permission)


def _psutil() -> Any:
    try:
        return importlib.import_module("psutil")
    except ImportError:
        return None


class ProcessNames:
    """pid → process name, through psutil if it is importable."""

    def __init__(self) -> None:
        self._psutil = _psutil()

    def __call__(self, pid: int) -> str | None:
        if self._psutil is None:
            return None
        try:
            return str(self._psutil.Process(pid).name())
        except self._psutil.Error:  # gone, or not ours to see
            return None


def gpu_processes(nvml: Nvml, handle: Any, names: ProcessNames) -> list[GpuProcess]:
    """The GPU's compute processes; empty where the GPU does not list them."""
    listed = nvml.optional("nvmlDeviceGetComputeRunningProcesses", handle) or []
    return [
        GpuProcess(
            pid=int(process.pid),
            name=names(int(process.pid)),
            used_gib=process.usedGpuMemory / _GIB if process.usedGpuMemory is not None else None,
        )
        for process in listed
    ]
