"""What a run tells the rest of specbench while and after it runs: the moments of a measured point
(phases), the live counters for the progress display, where finished records go, and the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from specbench.engines.base import Engine
from specbench.records import RequestRecord


class RecordSink(Protocol):
    def write(self, record: RequestRecord) -> None: ...


class Phase(StrEnum):
    """Moments of a measured point that others act on (engine figures, GPU telemetry)."""

    WARMUP_DONE = "warmup_done"  # warm-up drained; the measured requests are about to start
    MEASURE_START = "measure_start"  # t = 0 of the measured requests
    MEASURE_END = "measure_end"  # the last measured request ended (or was cancelled)


class PhaseListener(Protocol):
    async def on_phase(self, phase: Phase, at: float) -> None:
        """Called on the event loop with the perf_counter time of the moment; keep it short."""


class ResetFiguresAfterWarmup:
    """Engine figures cover the measured requests only: forget what warm-up counted."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def on_phase(self, phase: Phase, at: float) -> None:
        if phase is Phase.WARMUP_DONE:
            await self._engine.reset_figures()


@dataclass(slots=True)
class RunProgress:
    """Live counters for the progress display; written only by the dispatcher."""

    planned: int | None
    send_window_s: float | None
    start: float | None = None  # perf_counter at t=0
    sent: int = 0
    finished: int = 0
    failed: int = 0
    output_tokens: int = 0
    stopping: bool = False

    @property
    def in_flight(self) -> int:
        return self.sent - self.finished - self.failed


@dataclass(slots=True)
class RunOutcome:
    records: list[RequestRecord]
    warmup_records: list[RequestRecord]
    duration_s: float
    interrupted: bool
    started_at_unix: float
    not_sent: int = 0
