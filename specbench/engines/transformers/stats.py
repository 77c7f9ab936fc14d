"""Engine-side counters, kept on the event loop (the generation thread reports via the loop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from specbench.engines.transformers.speculation import DraftCounts, SpeculationTotals


@dataclass(slots=True, frozen=True)
class JobReport:
    """One generate() call: a whole batch (serial mode: one request)."""

    wall_s: float
    batch_size: int
    forward_passes: int
    compiled: bool  # torch.compile produced code during this call


@dataclass(slots=True)
class EngineCounters:
    speculative: bool
    compile: bool
    spec: SpeculationTotals = field(default_factory=SpeculationTotals)
    generate_calls: int = 0
    batched_requests: int = 0
    forward_passes: int = 0
    # Compilation happens in warm-up and must outlive reset_figures() to be reported at all.
    compile_time_s: float = 0.0
    compiling_calls: int = 0
    compiling_calls_measured: int = 0

    def add_job(self, report: JobReport, drafts: list[DraftCounts]) -> None:
        self.generate_calls += 1
        self.batched_requests += report.batch_size
        self.forward_passes += report.forward_passes
        for counts in drafts:
            self.spec.add(counts)
        if report.compiled:
            self.compile_time_s += report.wall_s
            self.compiling_calls += 1
            self.compiling_calls_measured += 1

    def reset(self) -> None:
        self.spec = SpeculationTotals()
        self.generate_calls = 0
        self.batched_requests = 0
        self.forward_passes = 0
        self.compiling_calls_measured = 0

    def as_stats(self) -> dict[str, Any]:
        calls = self.generate_calls
        stats: dict[str, Any] = {
            "generate_calls": calls,
            "mean_batch_size": self.batched_requests / calls if calls else None,
            "target_forward_passes": self.forward_passes,
        }
        if self.speculative:
            stats.update(self.spec.as_stats())
        if self.compile:
            stats.update(
                compile_time_s=self.compile_time_s,
                compiling_generate_calls=self.compiling_calls,
                compiling_generate_calls_measured=self.compiling_calls_measured,
            )
        return stats
