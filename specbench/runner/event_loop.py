"""Which asyncio event loop a run uses: uvloop where installed (as vLLM's own API server does)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when importable, unless SPECBENCH_EVENT_LOOP=asyncio asks for the standard one.

    uvloop costs the harness less CPU per request and per streamed token, which matters when an
    in-process engine (vLLM's AsyncLLM front end, Transformers) shares the same process.
    """
    if os.environ.get("SPECBENCH_EVENT_LOOP", "auto").lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def event_loop_name() -> str:
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
