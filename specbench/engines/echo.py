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
    """Streams `request.max_tokens` one-token chunks: the first `ttft_ms` after the request arrives, then
    one every `token_delay_ms`. Delays are kept against absolute due times, so timer granularity does not
    add up over a long stream."""

    def __init__(self, config: RunConfig) -> None:
        self._method = config.method.value
        self._ttft_s = config.echo.ttft_ms / 1000
        self._token_delay_s = config.echo.token_delay_ms / 1000
        self._requests = 0
        self._output_tokens = 0

    async def start(self) -> None:
        """Nothing to load."""

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        clock = time.perf_counter
        ttft_s, delay_s = self._ttft_s, self._token_delay_s
        arrived = clock()
        for index in range(request.max_tokens):
            # With no delays nothing awaits: the cost per token is the bookkeeping alone.
            if ttft_s or delay_s:
                wait = arrived + ttft_s + index * delay_s - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            yield TokenChunk(clock(), 1)
        self._requests += 1
        self._output_tokens += request.max_tokens
        yield Completion(
            prompt_tokens=len(request.prompt_token_ids),
            output_tokens=request.max_tokens,
            finish_reason="length",
        )

    def describe(self) -> EngineInfo:
        return EngineInfo(
            name="echo",
            version=__version__,
            model="none (echo engine)",
            method=self._method,
            settings={"ttft_ms": self._ttft_s * 1000, "token_delay_ms": self._token_delay_s * 1000},
            notes=[HARNESS_ONLY_NOTE],
        )

    async def figures(self) -> dict[str, Any]:
        return {"echo_requests": self._requests, "echo_output_tokens": self._output_tokens}

    async def reset_figures(self) -> None:
        self._requests = 0
        self._output_tokens = 0

    async def shutdown(self) -> None:
        """Nothing to release."""
