"""The dispatcher's clock: it never wakes before the due time, a stop cuts a sleep short, and the frozen
heap is unfrozen after the run."""

from __future__ import annotations

import asyncio
import gc
import time

from specbench.runner.alarm import Alarm, static_heap


def test_sleep_until_never_returns_before_the_deadline() -> None:
    async def scenario() -> float:
        alarm = Alarm(asyncio.get_running_loop(), asyncio.Event(), time.perf_counter, asyncio.Event())
        deadline = time.perf_counter() + 0.02
        await alarm.sleep_until(deadline)
        alarm.close()
        return time.perf_counter() - deadline

    assert asyncio.run(scenario()) >= 0


def test_a_stop_cuts_a_sleep_short() -> None:
    async def scenario() -> float:
        stop = asyncio.Event()
        alarm = Alarm(asyncio.get_running_loop(), stop, time.perf_counter, asyncio.Event())
        asyncio.get_running_loop().call_later(0.01, stop.set)
        began = time.perf_counter()
        await alarm.sleep_until(began + 10)
        alarm.close()
        return time.perf_counter() - began

    assert asyncio.run(scenario()) < 5


def test_the_heap_frozen_for_the_run_is_unfrozen_after_it() -> None:
    with static_heap():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
