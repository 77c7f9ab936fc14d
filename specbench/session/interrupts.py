"""SIGINT and SIGTERM during a run: stop sending and save what was measured, never just die.

What a signal does depends on where the run is: while an engine starts, the start is abandoned (the engine
is shut down, nothing was measured); while measuring, the first signal stops sending and gives in-flight
requests a few seconds, a second one cancels them at once; while results are written, it waits for them.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from rich.console import Console

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunPhase(StrEnum):
    STARTING = "starting"
    MEASURING = "measuring"
    SAVING = "saving"


class StartInterrupted(Exception):
    """A signal arrived while the engine was starting: nothing was measured."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Interrupts:
    def __init__(self, console: Console) -> None:
        self.stop = asyncio.Event()
        self.abort = asyncio.Event()
        self.phase = RunPhase.STARTING
        self.signum: int | None = None
        self._console = console
        self._task: asyncio.Task[object] | None = None

    @property
    def exit_code(self) -> int:
        """128 + the first signal's number: 130 for SIGINT, 143 for SIGTERM (what shells report)."""
        return 128 + self.signum if self.signum is not None else 0

    @contextmanager
    def installed(self) -> Iterator[Interrupts]:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
        installed = []
        try:
            for signum in SIGNALS:
                try:
                    loop.add_signal_handler(signum, self._on_signal, signum)
                    installed.append(signum)
                except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                    pass
            yield self
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
                signal.signal(signum, previous[signum])  # asyncio.Runner's own Ctrl-C handler, say

    def _on_signal(self, signum: int) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        name = signal.Signals(signum).name
        if self.phase is RunPhase.STARTING:
            if first and self._task is not None:
                self._console.print(f"[yellow]{name}: abandoning the engine start; nothing was measured.")
                self._task.cancel()
        elif self.phase is RunPhase.MEASURING:
            if not self.stop.is_set():
                self._console.print(
                    f"[yellow]{name}: no new requests; finishing in-flight ones (a few seconds; "
                    "again to cancel them now)…"
                )
                self.stop.set()
            elif not self.abort.is_set():
                self._console.print(f"[yellow]{name} again: cancelling in-flight requests now…")
                self.abort.set()
        else:
            self._console.print(f"[yellow]{name}: saving what was measured first…")
            self.stop.set()

    def raise_if_start_interrupted(self) -> None:
        if self.signum is not None and self.phase is RunPhase.STARTING:
            raise StartInterrupted(self.signum)
