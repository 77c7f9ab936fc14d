"""The echo engine: no model, only the harness. It streams `max_tokens` tokens per request, each as its own
chunk, after optional fixed delays, so a run with it shows what the client itself can keep up with (see
docs/HOW_SPECBENCH_MEASURES.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from specbench import __version__
from specbench.config import RunConfig
from specbench.engines.base import Completion, EngineInfo, EngineRequest, StreamEvent, TokenChunk

HARNESS_ONLY_NOTE = (
    "echo engine: no model runs; it streams max_tokens tokens after fixed delays, so every figure "
    "measures the specbench harness only, not inference"
)


class EchoEngine:
    """Streams `request.max_tokens` one-token chunks: the first `ttft_ms` after the request is served, then
    one every `token_delay_ms`. Delays are kept against absolute due times, so timer granularity does not
    add up over a long stream.

    With `slots` set, at most that many requests are served at once and the others wait, first come first
    served, before their service starts: an M/D/c queue whose capacity is slots / service time, so the
    saturation throughput and the knee of the latency curve are known in advance.
    """

    def __init__(self, config: RunConfig) -> None:
        self._method = config.method.value
        self._ttft_s = config.echo.ttft_ms / 1000
        self._token_delay_s = config.echo.token_delay_ms / 1000
        self._slot_count = config.echo.slots
        self._slots = asyncio.Semaphore(config.echo.slots) if config.echo.slots else None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._requests = 0
        self._output_tokens = 0

    async def start(self) -> None:
        """Nothing to load."""

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        clock = time.perf_counter
        ttft_s, delay_s, slots = self._ttft_s, self._token_delay_s, self._slots
        self._in_flight += 1
        self._idle.clear()
        holds_slot = False
        try:
            if slots is not None:
                await slots.acquire()
                holds_slot = True
            served = clock()
            for index in range(request.max_tokens):
                # With no delays nothing awaits: the cost per token is the bookkeeping alone.
                if ttft_s or delay_s:
                    wait = served + ttft_s + index * delay_s - clock()
                    if wait > 0:
                        await asyncio.sleep(wait)
                yield TokenChunk(clock(), 1)
        finally:
            if holds_slot and slots is not None:
                slots.release()
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
        self._requests += 1
        self._output_tokens += request.max_tokens
        yield Completion(
            prompt_tokens=len(request.prompt_token_ids),
            output_tokens=request.max_tokens,
            finish_reason="length",
            # The answer echoes the prompt's last tokens, for a conversation's next turn.
            output_token_ids=request.prompt_token_ids[-request.max_tokens :] if request.keep_output else None,
        )

    def describe(self) -> EngineInfo:
        settings: dict[str, Any] = {
            "ttft_ms": self._ttft_s * 1000,
            "token_delay_ms": self._token_delay_s * 1000,
        }
        notes = [HARNESS_ONLY_NOTE]
        if self._slot_count is not None:
            settings["slots"] = self._slot_count
            notes.append(
                f"echo engine: {self._slot_count} slots; a request waits for a free one, then takes "
                "ttft_ms + (max_tokens − 1) × token_delay_ms, so capacity = slots / that service time"
            )
        return EngineInfo(
            name="echo",
            version=__version__,
            model="none (echo engine)",
            method=self._method,
            settings=settings,
            notes=notes,
        )

    async def figures(self) -> dict[str, Any]:
        return {"echo_requests": self._requests, "echo_output_tokens": self._output_tokens}

    async def reset_figures(self) -> None:
        self._requests = 0
        self._output_tokens = 0

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def shutdown(self) -> None:
        """Nothing to release."""
