"""GPU telemetry of one measured point: a sampler on the GPUs the engine says it uses, or the one note that
says why there is none; and, once measured, the result's `gpus` section with its figures."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from specbench.config import TelemetryConfig
from specbench.engines.base import EngineInfo
from specbench.records import RequestRecord
from specbench.session.point import Telemetry
from specbench.telemetry import GpuSampler, TelemetryUnavailable, decode_roofline, gpu_figures


@dataclass(slots=True)
class PointGpus:
    sampler: GpuSampler | None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, engine: EngineInfo, settings: TelemetryConfig) -> PointGpus:
        """Start sampling before warm-up, so the measured window's edges are bracketed by samples."""
        if not settings.enabled:
            return cls(None, ["GPU telemetry is off (--no-gpu-telemetry): the result has no gpus section"])
        devices = engine.placement.cuda_devices
        if not devices:
            return cls(None, [f"no GPU telemetry: the {engine.name} engine runs on no GPU"])
        try:
            sampler = GpuSampler.open(devices, interval_s=settings.interval_s, environ=os.environ)
        except TelemetryUnavailable as exc:
            return cls(None, [f"no GPU telemetry: {exc}"])
        sampler.start()
        return cls(sampler)

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()

    def telemetry(self, engine: EngineInfo, records: Sequence[RequestRecord]) -> Telemetry:
        """The `gpus` section and GPU figures of the point; empty without a sampler. Call after stop()."""
        if self.sampler is None:
            return Telemetry()
        placement = engine.placement
        roofline, why_not = decode_roofline(
            Path(engine.model), placement.weights_dtype, placement.tensor_parallel_size, self.sampler.devices
        )
        section = self.sampler.section(roofline, notes=[why_not] if why_not else [])
        return Telemetry(section=section, figures=gpu_figures(section, records))
