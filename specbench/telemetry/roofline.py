"""The batch-1 decode ceiling: a GPU's peak memory bandwidth over the weight bytes each rank reads per token.

Decoding one stream reads every weight once per generated token, so no engine can decode one stream faster
than bandwidth / weight bytes. On an H200 NVML reports a 6016-bit bus and a 3201 MHz max memory clock:
6016 / 8 × 3201 MHz × 2 (double data rate) = 4.81 TB/s; Qwen3-8B in bfloat16 is 16.38 GB, so 294 tok/s.
The whole model is counted, embedding table included (a decode step reads one row of it; where the
embedding is tied it is read in full as the output layer), so the ceiling is slightly conservative.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from specbench.footprint import ModelConfigError, count_parameters, load_model_shape, weight_bytes
from specbench.results.gpus import DecodeRoofline, GpuDevice


def peak_bandwidth_gbs(bus_width_bits: int, max_memory_clock_mhz: int) -> float:
    """bytes per transfer × transfers per second, in GB/s (10⁹ bytes): memory transfers twice per clock."""
    return bus_width_bits / 8 * max_memory_clock_mhz * 1e6 * 2 / 1e9


def decode_roofline(
    model_dir: Path | None, dtype: str | None, tensor_parallel_size: int, devices: Sequence[GpuDevice]
) -> tuple[DecodeRoofline | None, str | None]:
    """The ceiling for the served model on these GPUs, or None and the reason it cannot be computed."""
    bandwidths = [
        peak_bandwidth_gbs(device.memory_bus_width_bits, device.max_memory_clock_mhz)
        for device in devices
        if device.memory_bus_width_bits and device.max_memory_clock_mhz
    ]
    if not devices or len(bandwidths) < len(devices):
        return None, "no decode roofline: NVML does not report these GPUs' memory bus width and clock"
    if model_dir is None or not (model_dir / "config.json").is_file():
        return None, "no decode roofline: the engine's model has no config.json to count its weights from"
    try:
        shape = load_model_shape(model_dir)
        weights_dtype = dtype if dtype not in (None, "auto") else shape.torch_dtype
        if weights_dtype is None:
            return None, "no decode roofline: the weights' dtype is unknown"
        parameters = count_parameters(shape).total
        weights = weight_bytes(shape, weights_dtype)
    except ModelConfigError as exc:
        return None, f"no decode roofline: {exc}"
    peak = min(bandwidths)
    per_rank = weights // tensor_parallel_size
    return (
        DecodeRoofline(
            parameters=parameters,
            dtype=weights_dtype.removeprefix("torch."),
            weight_bytes=weights,
            tensor_parallel_size=tensor_parallel_size,
            bytes_per_rank=per_rank,
            peak_memory_bandwidth_gbs=peak,
            tokens_per_s=peak * 1e9 / per_rank,
            counted_from=shape.layout,
        ),
        None,
    )
