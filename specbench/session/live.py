"""Measure one point with the live view on screen, relaying Ctrl-C to the point (or to its SLO probe)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from rich.console import Console

from specbench.config import RunConfig
from specbench.report.live import LiveProgress
from specbench.runner.dispatcher import PhaseListener, RunProgress
from specbench.session.engine_session import EngineSession
from specbench.session.interrupts import Interrupts
from specbench.session.output import PointOutput
from specbench.session.point import MeasuredPoint, measure_point
from specbench.session.probe_watch import ProbeWatch
from specbench.telemetry import GpuSampler
from specbench.workload.types import Workload


async def measure_live(
    session: EngineSession,
    workload: Workload,
    config: RunConfig,
    *,
    output: PointOutput,
    console: Console,
    interrupts: Interrupts,
    listeners: Sequence[PhaseListener] = (),
    watch: ProbeWatch | None = None,
    gpus: GpuSampler | None = None,
) -> MeasuredPoint:
    """Measure one point with the live view on screen (with the GPU table when `gpus` samples them); a `watch`
    may end it early (an SLO probe)."""
    progress = RunProgress(
        planned=workload.num_turns if config.workload.num_requests else None,
        send_window_s=workload.send_window_s,
    )
    writer = output.writer
    if gpus is not None:
        listeners = [*listeners, gpus]
    stop, abort, sink = interrupts.stop, interrupts.abort, writer
    helpers: list[asyncio.Task[None]] = []
    if watch is not None:
        # The probe has its own stop and abort, which a signal sets too.
        stop, abort, sink = watch.stop, watch.abort, watch
        helpers = [
            asyncio.create_task(relay(interrupts.stop, stop)),
            asyncio.create_task(relay(interrupts.abort, abort)),
            asyncio.create_task(watch.watch(progress)),
        ]
    try:
        async with LiveProgress(progress, console, on_tick=writer.flush if writer else None, gpus=gpus):
            point = await measure_point(
                session.engine,
                workload,
                config,
                sink=sink,
                progress=progress,
                stop=stop,
                abort=abort,
                listeners=listeners,
            )
    finally:
        for helper in helpers:
            helper.cancel()
        outcomes = await asyncio.gather(*helpers, return_exceptions=True)
    # A watch that broke must not pass unseen: the point fails with its error (a sweep records it).
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    return point


async def relay(source: asyncio.Event, target: asyncio.Event) -> None:
    """Set `target` once `source` is set."""
    await source.wait()
    target.set()
