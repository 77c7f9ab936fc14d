"""The result's `gpus` section: the GPUs a run used, what NVML read on them over the measured window, the
sampled timeline and the decode roofline. None in a result whose run had no GPU or no NVML."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EnergySource = Literal["nvml_energy_counter", "integrated_power"]

# Readings with a mean and a max over the window, in the order tables show them; the timeline has a column
# of each, plus `energy_j` (NVML's counter) and `clock_event_reasons` (a bit mask per sample).
WINDOW_READINGS: tuple[str, ...] = (
    "gpu_utilization_pct",
    "memory_utilization_pct",
    "memory_used_gib",
    "power_w",
    "temperature_c",
    "sm_clock_mhz",
    "memory_clock_mhz",
)
TIMELINE_COLUMNS: tuple[str, ...] = (*WINDOW_READINGS, "energy_j", "clock_event_reasons")


class _Section(BaseModel):
    # Files from a newer minor version may carry fields this one does not know: keep them, do not fail.
    model_config = ConfigDict(extra="allow")


class GpuDevice(_Section):
    """What a GPU is, as NVML describes it."""

    index: int = Field(description="NVML's index (nvidia-smi's), not the CUDA ordinal.")
    cuda_device: int | None = Field(None, description="The CUDA ordinal the engine used it as.")
    uuid: str
    name: str
    memory_total_gib: float | None = None
    power_limit_w: float | None = None
    memory_bus_width_bits: int | None = None
    max_memory_clock_mhz: int | None = None
    peak_memory_bandwidth_gbs: float | None = Field(
        None, description="bus width / 8 × max memory clock × 2 (double data rate), in GB/s."
    )
    compute_capability: str | None = None
    energy_counter: bool = Field(False, description="NVML's total-energy counter answers on this GPU.")


class ReadingStats(_Section):
    mean: float | None = None
    max: float | None = None


class GpuWindow(_Section):
    """One GPU over the measured window: mean and max of each reading, and its energy."""

    index: int
    samples: int = Field(description="Sampling rounds inside the window.")
    gpu_utilization_pct: ReadingStats = ReadingStats()
    memory_utilization_pct: ReadingStats = ReadingStats()
    memory_used_gib: ReadingStats = ReadingStats()
    power_w: ReadingStats = ReadingStats()
    temperature_c: ReadingStats = ReadingStats()
    sm_clock_mhz: ReadingStats = ReadingStats()
    memory_clock_mhz: ReadingStats = ReadingStats()
    energy_j: float | None = None
    energy_source: EnergySource | None = None
    clock_event_reasons: dict[str, float] = Field(
        {},
        description="Share of the window's samples in which each clocks-event (throttle) reason was active.",
    )


class DecodeRoofline(_Section):
    """The batch-1 decode ceiling: every weight read from memory once per generated token."""

    parameters: int
    dtype: str
    weight_bytes: int
    tensor_parallel_size: int
    bytes_per_rank: int
    peak_memory_bandwidth_gbs: float = Field(description="The slowest of the run's GPUs.")
    tokens_per_s: float
    counted_from: str = Field(description="How the parameters were counted.")


class SamplerError(_Section):
    """A reading that failed while sampling; the run went on. Repeats of one message are counted."""

    message: str
    gpu: int | None = Field(None, description="NVML index, None for the whole round.")
    first_s: float = Field(description="When it first happened, seconds from the measured window's start.")
    count: int = 1


class GpuTimeline(_Section):
    """Every sampling round, column by column: `columns[name][g][i]` is GPU g's (in `devices` order) reading
    `name` at `t_s[i]` seconds from the measured window's start (negative during warm-up)."""

    t_s: list[float] = []
    columns: dict[str, list[list[float | int | None]]] = {}


class GpuSection(_Section):
    driver_version: str | None = None
    interval_s: float
    window_s: float | None = Field(None, description="Length of the measured window; None if it never began.")
    energy_source: EnergySource | Literal["mixed"] | None = None
    devices: list[GpuDevice]
    window: list[GpuWindow] = []
    roofline: DecodeRoofline | None = None
    timeline: GpuTimeline = GpuTimeline()
    errors: list[SamplerError] = []
    notes: list[str] = []
