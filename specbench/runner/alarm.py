"""The dispatcher's clock: one reusable alarm that sleeps until a due time without firing early or
spinning, and a frozen heap so the collector does not stall the measured run."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Never ask the loop for a shorter re-sleep than this after an early wake-up: a shorter one rounds to
# a zero timeout on millisecond timers and would spin.
_MIN_RESLEEP_S = 0.001


def _timer_pad_s(loop: asyncio.AbstractEventLoop) -> float:
    """Extra sleep that keeps the loop's timer from firing before the due time.

    asyncio's epoll timeouts round up to the next millisecond, so it never fires early; libuv (uvloop)
    rounds to the nearest millisecond and would fire up to half a millisecond early.
    """
    return 0.0005 if type(loop).__module__.startswith("uvloop") else 0.0


@contextmanager
def static_heap() -> Iterator[None]:
    """Keep what lives before t=0 (engine, model, workload) out of the collector's passes during the run.

    With torch and transformers loaded a full collection walks ~400k objects and stalls the process for
    ~90 ms, which would show up as dispatch lag and engine latency. Frozen, the collector only walks
    what the run allocates, and the measured batch freezes its finished records too (_FREEZE_EVERY), so that
    stays small. vLLM's engine core freezes its startup heap for the same reason.
    """
    frozen_already = gc.get_freeze_count() > 0
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_already:  # someone else's freeze is theirs to undo
            gc.unfreeze()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Alarm:
    """The dispatcher's single wake-up: a timer, a finished request or the stop event, whichever first."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        stop: asyncio.Event,
        clock: Callable[[], float],
        abort: asyncio.Event,
    ) -> None:
        self._loop = loop
        self._stop = stop
        self._clock = clock
        self._waiter: asyncio.Future[None] | None = None
        self._pad_s = _timer_pad_s(loop)
        # One watcher per event for the whole run rather than a wait() task per sleep.
        self._watches = [loop.create_task(event.wait()) for event in (stop, abort)]
        for watch in self._watches:
            watch.add_done_callback(lambda _: self.wake())

    def wake(self) -> None:
        if self._waiter is not None:
            _resolve(self._waiter)

    async def sleep(self, delay_s: float | None) -> None:
        """Sleep `delay_s` seconds (None: until woken); wake() and the stop event cut it short."""
        waiter = self._loop.create_future()
        self._waiter = waiter
        timer = None if delay_s is None else self._loop.call_later(delay_s, _resolve, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the clock reaches `deadline` or the stop event is set."""
        delay = deadline - self._clock()
        while delay > 0 and not self._stop.is_set():
            await self.sleep(delay + self._pad_s)
            delay = deadline - self._clock()
            if delay > 0:  # woke early: never sleep so briefly that the loop would spin
                delay = max(delay, _MIN_RESLEEP_S)

    def close(self) -> None:
        for watch in self._watches:
            watch.cancel()
