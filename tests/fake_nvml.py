"""A stand-in for nvidia-ml-py's `pynvml` module: the same function names, constants and error classes,
answering from FakeGpu descriptions. Install it with
`monkeypatch.setitem(sys.modules, "pynvml", fake.module)`.

Like the real library it numbers GPUs in its own (PCI) order and ignores CUDA_VISIBLE_DEVICES, refuses calls
before nvmlInit, raises NVMLError_NotSupported for a counter a GPU lacks, and counts the energy a GPU drew
since it was created as its power × elapsed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

NVML_TEMPERATURE_GPU = 0
NVML_CLOCK_SM = 1
NVML_CLOCK_MEM = 2
GIB = 2**30


class NVMLError(Exception):
    value = 999
    text = "Unknown Error"

    def __str__(self) -> str:
        return self.text


def _error(name: str, value: int, text: str) -> type[NVMLError]:
    return type(name, (NVMLError,), {"value": value, "text": text})


NVMLError_Uninitialized = _error("NVMLError_Uninitialized", 1, "Uninitialized")
NVMLError_NotSupported = _error("NVMLError_NotSupported", 3, "Not Supported")
NVMLError_DriverNotLoaded = _error("NVMLError_DriverNotLoaded", 9, "Driver Not Loaded")
NVMLError_FunctionNotFound = _error("NVMLError_FunctionNotFound", 13, "Function Not Found")
NVMLError_GpuIsLost = _error("NVMLError_GpuIsLost", 15, "GPU is lost")
ERRORS = (
    NVMLError,
    NVMLError_Uninitialized,
    NVMLError_NotSupported,
    NVMLError_DriverNotLoaded,
    NVMLError_FunctionNotFound,
    NVMLError_GpuIsLost,
)


@dataclass
class FakeGpu:
    """One GPU; its readings may be changed while a sampler runs. Defaults: an H200 at work."""

    uuid: str
    name: str = "NVIDIA H200"
    memory_total: int = 141 * GIB
    memory_used: int = 20 * GIB
    gpu_util: int = 50
    memory_util: int = 30
    power_mw: int = 300_000
    temperature: int = 45
    sm_clock: int = 1980
    memory_clock: int = 3201
    max_memory_clock: int = 3201
    bus_width: int = 6016
    power_limit_mw: int = 700_000
    compute_capability: tuple[int, int] = (9, 0)
    clock_event_reasons: int = 0
    processes: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, used bytes)
    unsupported: set[str] = field(default_factory=set)  # pynvml function names that raise NotSupported
    failing: dict[str, type[NVMLError]] = field(default_factory=dict)  # … that raise this error
    energy_mj: float = 1e9  # counter value at the last power change
    _energy_at: float = field(default_factory=time.perf_counter)

    def set_power(self, power_mw: int, clock: Callable[[], float] = time.perf_counter) -> None:
        """Change the power draw from now on, keeping the energy counter continuous."""
        self.energy_mj = self.energy_counter_mj(clock())
        self._energy_at = clock()
        self.power_mw = power_mw

    def energy_counter_mj(self, now: float) -> float:
        return self.energy_mj + self.power_mw * (now - self._energy_at)  # mW × s = mJ


class FakeNvml:
    """The fake library: `module` is what `import pynvml` returns while it is installed."""

    def __init__(
        self,
        gpus: Sequence[FakeGpu],
        *,
        driver: str = "580.159.04",
        cuda_driver_version: int = 13000,
        init_error: type[NVMLError] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.gpus = list(gpus)
        self.driver = driver
        self.cuda_driver_version = cuda_driver_version
        self.init_error = init_error
        self.clock = clock
        self.sessions = 0  # nvmlInit calls not yet matched by nvmlShutdown
        self.calls = 0
        self.module = self._build_module()

    def _device(self, name: str, handle: FakeGpu) -> FakeGpu:
        self.calls += 1
        if self.sessions <= 0:
            raise NVMLError_Uninitialized()
        if name in handle.unsupported:
            raise NVMLError_NotSupported()
        if name in handle.failing:
            raise handle.failing[name]()
        return handle

    def _build_module(self) -> ModuleType:
        module = ModuleType("pynvml")
        for error in ERRORS:
            setattr(module, error.__name__, error)
        module.NVML_TEMPERATURE_GPU = NVML_TEMPERATURE_GPU
        module.NVML_CLOCK_SM = NVML_CLOCK_SM
        module.NVML_CLOCK_MEM = NVML_CLOCK_MEM

        def device_function(name: str, read: Callable[..., Any]) -> None:
            def call(handle: FakeGpu, *args: Any) -> Any:
                return read(self._device(name, handle), *args)

            setattr(module, name, call)

        def init() -> None:
            if self.init_error is not None:
                raise self.init_error()
            self.sessions += 1

        def shutdown() -> None:
            if self.sessions <= 0:
                raise NVMLError_Uninitialized()
            self.sessions -= 1

        def handle_by_index(index: int) -> FakeGpu:
            if self.sessions <= 0:
                raise NVMLError_Uninitialized()
            return self.gpus[index]

        module.nvmlInit = init
        module.nvmlShutdown = shutdown
        module.nvmlSystemGetDriverVersion = lambda: self.driver
        module.nvmlSystemGetCudaDriverVersion = lambda: self.cuda_driver_version
        module.nvmlDeviceGetCount = lambda: len(self.gpus)
        module.nvmlDeviceGetHandleByIndex = handle_by_index
        device_function("nvmlDeviceGetUUID", lambda gpu: gpu.uuid)
        device_function("nvmlDeviceGetName", lambda gpu: gpu.name)
        device_function(
            "nvmlDeviceGetMemoryInfo",
            lambda gpu: SimpleNamespace(
                total=gpu.memory_total, used=gpu.memory_used, free=gpu.memory_total - gpu.memory_used
            ),
        )
        device_function(
            "nvmlDeviceGetUtilizationRates",
            lambda gpu: SimpleNamespace(gpu=gpu.gpu_util, memory=gpu.memory_util),
        )
        device_function("nvmlDeviceGetPowerUsage", lambda gpu: gpu.power_mw)
        device_function(
            "nvmlDeviceGetTotalEnergyConsumption", lambda gpu: int(gpu.energy_counter_mj(self.clock()))
        )
        device_function("nvmlDeviceGetTemperature", lambda gpu, sensor: gpu.temperature)
        device_function(
            "nvmlDeviceGetClockInfo",
            lambda gpu, kind: gpu.sm_clock if kind == NVML_CLOCK_SM else gpu.memory_clock,
        )
        device_function(
            "nvmlDeviceGetMaxClockInfo",
            lambda gpu, kind: gpu.max_memory_clock if kind == NVML_CLOCK_MEM else 1980,
        )
        device_function("nvmlDeviceGetCurrentClocksEventReasons", lambda gpu: gpu.clock_event_reasons)
        device_function("nvmlDeviceGetEnforcedPowerLimit", lambda gpu: gpu.power_limit_mw)
        device_function("nvmlDeviceGetMemoryBusWidth", lambda gpu: gpu.bus_width)
        device_function("nvmlDeviceGetCudaComputeCapability", lambda gpu: gpu.compute_capability)
        device_function(
            "nvmlDeviceGetComputeRunningProcesses",
            lambda gpu: [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in gpu.processes],
        )
        return module


def h200s(count: int) -> list[FakeGpu]:
    """`count` H200s with distinct UUIDs, as NVML numbers them."""
    return [FakeGpu(uuid=f"GPU-{index:08x}-aaaa-bbbb-cccc-{index:012x}") for index in range(count)]
