"""One reading of one GPU: utilisation, memory, power, energy, temperature, clocks, clocks-event reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from specbench.telemetry.nvml import Nvml

_GIB = 2**30

# NVML's clocks-event ("throttle") reason bits, named as nvidia-smi names them.
CLOCK_EVENT_REASONS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}


def reason_names(mask: int) -> list[str]:
    return [name for bit, name in CLOCK_EVENT_REASONS.items() if mask & bit]


@dataclass(frozen=True, slots=True)
class GpuReading:
    """What NVML said about one GPU at one moment; None where the GPU does not report it (or it failed)."""

    gpu_utilization_pct: int | None = None
    memory_utilization_pct: int | None = None
    memory_used_gib: float | None = None
    memory_total_gib: float | None = None
    power_w: float | None = None
    energy_j: float | None = None  # NVML's counter: energy since the driver was loaded
    temperature_c: int | None = None
    sm_clock_mhz: int | None = None
    memory_clock_mhz: int | None = None
    clock_event_reasons: int | None = None


def _utilization(lib: Any, handle: Any) -> dict[str, Any]:
    rates = lib.nvmlDeviceGetUtilizationRates(handle)
    return {"gpu_utilization_pct": rates.gpu, "memory_utilization_pct": rates.memory}


def _memory(lib: Any, handle: Any) -> dict[str, Any]:
    info = lib.nvmlDeviceGetMemoryInfo(handle)
    return {"memory_used_gib": info.used / _GIB, "memory_total_gib": info.total / _GIB}


def _clock_events(lib: Any, handle: Any) -> dict[str, Any]:
    # Renamed from "throttle reasons" in driver 535; older nvidia-ml-py has only the old name.
    read = getattr(lib, "nvmlDeviceGetCurrentClocksEventReasons", None) or (
        lib.nvmlDeviceGetCurrentClocksThrottleReasons
    )
    return {"clock_event_reasons": read(handle)}


# One NVML call each; a GPU lacking one loses that call's fields only.
_COUNTERS: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    "utilization": _utilization,
    "memory": _memory,
    "power": lambda lib, h: {"power_w": lib.nvmlDeviceGetPowerUsage(h) / 1000},
    "energy": lambda lib, h: {"energy_j": lib.nvmlDeviceGetTotalEnergyConsumption(h) / 1000},
    "temperature": lambda lib, h: {
        "temperature_c": lib.nvmlDeviceGetTemperature(h, lib.NVML_TEMPERATURE_GPU)
    },
    "sm_clock": lambda lib, h: {"sm_clock_mhz": lib.nvmlDeviceGetClockInfo(h, lib.NVML_CLOCK_SM)},
    "memory_clock": lambda lib, h: {"memory_clock_mhz": lib.nvmlDeviceGetClockInfo(h, lib.NVML_CLOCK_MEM)},
    "clock_events": _clock_events,
}


class DeviceReader:
    """Reads one GPU. A counter it does not support is asked once and then left out of later readings."""

    def __init__(self, nvml: Nvml, handle: Any) -> None:
        self._nvml = nvml
        self._handle = handle
        self.unsupported: set[str] = set()

    def read(self) -> tuple[GpuReading, list[str]]:
        """The reading, and one message per counter that failed (the others are still read)."""
        lib, handle = self._nvml.lib, self._handle
        fields: dict[str, Any] = {}
        errors: list[str] = []
        for name, read in _COUNTERS.items():
            if name in self.unsupported:
                continue
            try:
                fields.update(read(lib, handle))
            except Exception as exc:  # a sampler never stops a run: every failure becomes a message
                if self._nvml.is_unsupported(exc):
                    self.unsupported.add(name)
                else:
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
        return GpuReading(**fields), errors
