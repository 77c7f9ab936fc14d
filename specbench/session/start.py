"""Starting an engine as a user watches it: its own output into a log file, a spinner naming the phase, and
the log's last lines on screen when the start fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner

from specbench.config import RunConfig
from specbench.errors import EngineStartError
from specbench.session.engine_log import EngineLog
from specbench.session.engine_session import EngineSession
from specbench.session.interrupts import Interrupts


@asynccontextmanager
async def started_engine(
    config: RunConfig, *, log: EngineLog | None, console: Console, interrupts: Interrupts
) -> AsyncIterator[EngineSession]:
    """An engine session whose output goes to `log`, with a spinner naming the start-up phase."""
    session = EngineSession(config)
    saved_file = console.file
    if log is not None:
        log.start()
        console.file = log.original_stream(1) or saved_file
    try:
        await _start(session, log=log, console=console, interrupts=interrupts)
        try:
            yield session
        finally:
            await session.shutdown()
    finally:
        if log is not None:
            log.stop()
            if console.file is not saved_file:
                console.file.close()
            console.file = saved_file
            log.discard_if_empty()


async def _start(
    session: EngineSession, *, log: EngineLog | None, console: Console, interrupts: Interrupts
) -> None:
    info = session.info
    began = time.monotonic()
    spinner = Spinner(
        "dots", text=f"Starting {info.name} with {escape(info.model)} …", style="status.spinner"
    )
    # Not console.status(): its Live sends sys.stdout/sys.stderr through the console, so in a terminal the
    # engine's own output (Transformers' "Loading weights" bar) was drawn on screen instead of logged.
    live = Live(
        spinner,
        console=console,
        transient=True,
        refresh_per_second=12.5,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with live:

        async def show_phase() -> None:
            while True:
                await asyncio.sleep(0.5)
                phase = log.poll_phase() if log is not None else None
                elapsed = time.monotonic() - began
                what = f"{phase or 'starting'} ({elapsed:.0f} s)"
                spinner.update(text=f"Starting {info.name} with {escape(info.model)}: {what}")

        ticker = asyncio.create_task(show_phase())
        try:
            await session.start()
        except asyncio.CancelledError:
            interrupts.raise_if_start_interrupted()
            raise
        except EngineStartError:
            if log is not None and (tail := log.tail()):
                console.print(f"[dim]last lines of the engine log ({escape(str(log.path))}):")
                for line in tail:
                    console.print(f"[dim]  {escape(line)}", soft_wrap=True)
            raise
        finally:
            ticker.cancel()
    console.print(f"{info.name} started in {time.monotonic() - began:.1f} s")
