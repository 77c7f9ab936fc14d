"""Which asyncio event loop a run uses: uvloop where installed (as vLLM's own API server does)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from specbench.errors import ConfigError

T = TypeVar("T")


CHOICES = ("auto", "uvloop", "asyncio")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when importable, unless SPECBENCH_EVENT_LOOP=asyncio asks for the standard one.

    uvloop costs the harness less CPU per request and per streamed token, which matters when an
    in-process engine (vLLM's AsyncLLM front end, Transformers) shares the same process.
    """
    choice = os.environ.get("SPECBENCH_EVENT_LOOP", "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ConfigError(
            f"SPECBENCH_EVENT_LOOP={choice!r} is not valid: use {', '.join(CHOICES)} (or leave it unset)"
        )
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(
                "SPECBENCH_EVENT_LOOP=uvloop but uvloop is not installed: pip install uvloop"
            ) from None
        return None
    return uvloop.new_event_loop


def event_loop_name() -> str:
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        factory = loop_factory()
    except ConfigError:
        main.close()  # never started: close it, or Python warns that it was never awaited
        raise
    with _ctrl_c_raises_at_once(), asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


@contextlib.contextmanager
def _ctrl_c_raises_at_once() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt where the program is, as outside asyncio.

    asyncio.Runner's own handler only cancels the main task, which waits for its next await: a long step
    without one (building a large workload, loading a model) ignored the first Ctrl-C. A handler other than
    Python's default keeps the Runner from installing its own; the measuring phases install theirs on top.
    """
    main_thread = threading.current_thread() is threading.main_thread()
    if not main_thread or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield  # not the main thread, or someone chose already
        return
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
