"""The event loop of a run: chosen by SPECBENCH_EVENT_LOOP, and Ctrl-C stops even a step with no await."""

from __future__ import annotations

import signal
import time

import pytest

from specbench.errors import ConfigError
from specbench.runner import event_loop


def test_an_unknown_event_loop_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("SPECBENCH_EVENT_LOOP", "bogus")
    with pytest.raises(ConfigError, match=r"SPECBENCH_EVENT_LOOP='bogus' is not valid: use auto, uvloop"):
        event_loop.loop_factory()


def test_asyncio_asks_for_the_standard_loop(monkeypatch):
    monkeypatch.setenv("SPECBENCH_EVENT_LOOP", "asyncio")
    assert event_loop.loop_factory() is None


def test_ctrl_c_interrupts_a_long_step_without_an_await(monkeypatch):
    monkeypatch.setenv("SPECBENCH_EVENT_LOOP", "asyncio")

    async def build_a_large_workload() -> str:
        signal.raise_signal(signal.SIGINT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # no await: asyncio's own handler could only cancel at the end
            pass
        return "finished"

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        event_loop.run(build_a_large_workload())
    assert time.monotonic() - began < 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back as it was
