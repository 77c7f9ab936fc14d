"""GPU telemetry through NVML: the run's GPUs sampled over the measured window, and the decode roofline."""

from specbench.telemetry.figures import gpu_figures
from specbench.telemetry.nvml import Nvml, TelemetryUnavailable, nvml_session
from specbench.telemetry.roofline import decode_roofline, peak_bandwidth_gbs
from specbench.telemetry.sampler import GpuSampler

__all__ = [
    "GpuSampler",
    "Nvml",
    "TelemetryUnavailable",
    "decode_roofline",
    "gpu_figures",
    "nvml_session",
    "peak_bandwidth_gbs",
]
