"""The live view while a run is in flight: progress against the plan, live request and token rates, and the
run's GPUs when they are sampled."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from specbench.report.gpu_table import live_gpu_table
from specbench.runner.dispatcher import RunProgress
from specbench.telemetry import GpuSampler


class LiveProgress:
    """Redraws a few times a second from the dispatcher's counters; never touches the hot path."""

    def __init__(
        self,
        progress: RunProgress,
        console: Console,
        *,
        on_tick: Callable[[], None] | None = None,
        gpus: GpuSampler | None = None,
        interval_s: float = 0.25,
        rate_window_s: float = 5.0,
    ) -> None:
        self._state = progress
        self._gpus = gpus
        self._on_tick = on_tick
        self._interval_s = interval_s
        self._history: deque[tuple[float, int, int]] = deque()
        self._rate_window_s = rate_window_s
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[plan]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._counts = Text()
        # Redraw only from our own ticker: Rich's refresh thread would compete with an in-process
        # engine's generation thread for the GIL ten times a second.
        # No redirect of sys.stdout/sys.stderr: what an in-process engine prints belongs in its log (the
        # descriptors are pointed there), not drawn through the console on the screen.
        self._live = Live(
            self._view(), console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False
        )
        total = progress.planned if progress.planned is not None else progress.send_window_s
        self._task = self._bar.add_task("warming up", total=total, plan="")
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveProgress:
        self._live.start()
        self._ticker = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        self.refresh()
        self._live.stop()
        if not self._live.console.is_terminal:  # Rich leaves the last line open when not on a terminal
            self._live.console.line()

    async def _run(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(self._interval_s)

    def _rates(self, now: float) -> tuple[float, float]:
        state = self._state
        done = state.finished + state.failed
        self._history.append((now, done, state.output_tokens))
        while len(self._history) > 2 and now - self._history[0][0] > self._rate_window_s:
            self._history.popleft()
        then, done0, tokens0 = self._history[0]
        span = now - then
        if span <= 0:
            return 0.0, 0.0
        return (done - done0) / span, (state.output_tokens - tokens0) / span

    def _view(self) -> Group:
        # The GPU table is rebuilt from the sampler's latest round at every redraw; same rows, no flicker.
        if self._gpus is None:
            return Group(self._bar, self._counts)
        return Group(self._bar, self._counts, live_gpu_table(self._gpus.devices, self._gpus.latest()))

    def refresh(self) -> None:
        if self._on_tick is not None:
            self._on_tick()
        state = self._state
        now = time.perf_counter()
        req_rate, tok_rate = self._rates(now)
        if self._gpus is not None:
            self._live.update(self._view())
        if state.start is None:
            self._bar.update(self._task, description="warming up", plan="")
            self._live.refresh()
            return
        self._counts.plain = (
            f"  sent {state.sent} · done {state.finished} · failed {state.failed} · "
            f"in flight {state.in_flight} · {req_rate:.1f} req/s · {tok_rate:.0f} tok/s"
        )
        elapsed = now - state.start
        if state.stopping:
            description = "stopping"
        elif state.planned is not None and state.sent >= state.planned:
            description = "draining"
        else:
            description = "running"
        if state.planned is not None:
            completed: float = state.finished + state.failed
            plan = f"{int(completed)}/{state.planned} req"
        else:
            window = state.send_window_s or 0.0
            completed = min(elapsed, window)
            plan = f"{completed:.0f}/{window:.0f} s"
        self._bar.update(self._task, description=description, completed=completed, plan=plan)
        self._live.refresh()
