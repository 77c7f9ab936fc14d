"""Which NVML devices a run uses, and what each is.

An engine names its GPUs as CUDA ordinals: positions among the devices CUDA_VISIBLE_DEVICES leaves visible
(all of them when it is unset). NVML ignores CUDA_VISIBLE_DEVICES and numbers devices by PCI bus, so each
ordinal is resolved through the variable's entries — indices or GPU UUIDs — to a UUID, and that UUID to an
NVML device. MIG instances are not watched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from specbench.results.gpus import GpuDevice
from specbench.telemetry.nvml import Nvml, TelemetryUnavailable, text
from specbench.telemetry.roofline import peak_bandwidth_gbs

_GIB = 2**30


@dataclass(frozen=True, slots=True)
class NvmlGpu:
    index: int  # NVML's (nvidia-smi's)
    uuid: str
    name: str
    handle: Any


@dataclass(frozen=True, slots=True)
class RunGpu:
    """A GPU of the run: the CUDA ordinal the engine knows it by, and the NVML device it is."""

    cuda_device: int | None
    gpu: NvmlGpu


def nvml_gpus(nvml: Nvml) -> list[NvmlGpu]:
    """Every GPU NVML sees, in NVML's order."""
    lib = nvml.lib
    gpus = []
    for index in range(lib.nvmlDeviceGetCount()):
        handle = lib.nvmlDeviceGetHandleByIndex(index)
        gpus.append(
            NvmlGpu(
                index=index,
                uuid=text(lib.nvmlDeviceGetUUID(handle)),
                name=text(lib.nvmlDeviceGetName(handle)),
                handle=handle,
            )
        )
    return gpus


def cuda_visible(gpus: Sequence[NvmlGpu], environ: Mapping[str, str]) -> list[NvmlGpu]:
    """The GPUs CUDA numbers 0, 1, … in this process, in that order.

    As CUDA does, an entry that names no device (or one already listed) ends the list there.
    """
    raw = environ.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return list(gpus)
    visible: list[NvmlGpu] = []
    for entry in (part.strip() for part in raw.split(",")):
        if entry.startswith("MIG-"):
            raise TelemetryUnavailable(
                f"CUDA_VISIBLE_DEVICES={raw!r} names MIG instances, which GPU telemetry does not watch"
            )
        match = _find(gpus, entry)
        if match is None or match in visible:
            break
        visible.append(match)
    return visible


def _find(gpus: Sequence[NvmlGpu], entry: str) -> NvmlGpu | None:
    if entry.isdigit():
        index = int(entry)
        return gpus[index] if index < len(gpus) else None
    if entry.startswith("GPU-"):
        # CUDA takes any unique prefix of a UUID.
        matches = [gpu for gpu in gpus if gpu.uuid.startswith(entry)]
        return matches[0] if len(matches) == 1 else None
    return None


def run_gpus(nvml: Nvml, cuda_devices: Sequence[int], environ: Mapping[str, str]) -> list[RunGpu]:
    """The NVML devices behind the engine's CUDA ordinals; TelemetryUnavailable when they cannot be found."""
    gpus = nvml_gpus(nvml)
    if not gpus:
        raise TelemetryUnavailable("NVML sees no GPU")
    visible = cuda_visible(gpus, environ)
    chosen = []
    for ordinal in cuda_devices:
        if ordinal >= len(visible):
            shown = environ.get("CUDA_VISIBLE_DEVICES")
            raise TelemetryUnavailable(
                f"the engine uses CUDA device {ordinal} but only {len(visible)} "
                f"{'is' if len(visible) == 1 else 'are'} visible"
                + (f" (CUDA_VISIBLE_DEVICES={shown!r})" if shown is not None else "")
            )
        chosen.append(RunGpu(cuda_device=ordinal, gpu=visible[ordinal]))
    return chosen


def order_note(gpus: Sequence[NvmlGpu], environ: Mapping[str, str]) -> str | None:
    """CUDA numbers GPUs fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID; NVML by PCI bus. The two agree
    when every GPU is the same model, and may not otherwise."""
    if environ.get("CUDA_DEVICE_ORDER") == "PCI_BUS_ID" or len({gpu.name for gpu in gpus}) < 2:
        return None
    return (
        "this machine has GPUs of different models and CUDA_DEVICE_ORDER is not PCI_BUS_ID, so CUDA's "
        "device numbers may not be NVML's: set CUDA_DEVICE_ORDER=PCI_BUS_ID to be sure the right GPUs "
        "are watched"
    )


def device_facts(nvml: Nvml, gpu: NvmlGpu, cuda_device: int | None = None) -> GpuDevice:
    """What the GPU is; a fact the GPU does not report stays None."""
    lib, handle = nvml.lib, gpu.handle
    memory = nvml.optional("nvmlDeviceGetMemoryInfo", handle)
    power_limit_mw = nvml.optional("nvmlDeviceGetEnforcedPowerLimit", handle)
    bus_width = nvml.optional("nvmlDeviceGetMemoryBusWidth", handle)
    max_memory_clock = nvml.optional("nvmlDeviceGetMaxClockInfo", handle, lib.NVML_CLOCK_MEM)
    capability = nvml.optional("nvmlDeviceGetCudaComputeCapability", handle)
    energy = nvml.optional("nvmlDeviceGetTotalEnergyConsumption", handle)
    return GpuDevice(
        index=gpu.index,
        cuda_device=cuda_device,
        uuid=gpu.uuid,
        name=gpu.name,
        memory_total_gib=round(memory.total / _GIB, 2) if memory is not None else None,
        power_limit_w=power_limit_mw / 1000 if power_limit_mw is not None else None,
        memory_bus_width_bits=bus_width,
        max_memory_clock_mhz=max_memory_clock,
        peak_memory_bandwidth_gbs=(
            round(peak_bandwidth_gbs(bus_width, max_memory_clock), 1)
            if bus_width and max_memory_clock
            else None
        ),
        compute_capability=f"{capability[0]}.{capability[1]}" if capability is not None else None,
        energy_counter=energy is not None,
    )
