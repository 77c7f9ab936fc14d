"""The echo engine: no model, only the harness. It streams `max_tokens` tokens per request, each as its own
chunk, after optional fixed delays, so a run with it shows what the client itself can keep up with (see
docs/HOW_SPECBENCH_MEASURES.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from specbench import __version__
from specbench.engines.args import EchoArgs
from specbench.engines.base import Completion, EngineInfo, EngineRequest, StreamEvent, TokenChunk
from specbench.engines.echo_speculation import EchoSpeculation
from specbench.speculative import spec_stats

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

    A speculative method simulates speculative decoding (see echo_speculation.py): after the first token,
    each step of draft_ms + verify_ms yields 1 + accepted tokens as one chunk. `load_ms_per_token` makes a
    step slower the more requests are in service, by the tokens it computes for each (1 for AR, K + 1 for a
    verification), so speed-up, break-even load and best K have answers computed by hand.
    """

    def __init__(self, config: EchoArgs) -> None:
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
        self._load_s = config.echo.load_ms_per_token / 1000
        self._in_service = 0
        self._speculation: EchoSpeculation | None = None
        if config.is_speculative:
            spec = config.speculative
            verify_ms = (
                config.echo.verify_ms if config.echo.verify_ms is not None else config.echo.token_delay_ms
            )
            self._speculation = EchoSpeculation(
                rates=spec.synthetic_rates() or [0.0] * spec.num_speculative_tokens,
                draft_s=config.echo.draft_ms / 1000,
                verify_s=verify_ms / 1000,
                load_s_per_token=self._load_s,
            )

    async def start(self) -> None:
        """Nothing to load."""

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        clock = time.perf_counter
        ttft_s, delay_s, slots = self._ttft_s, self._token_delay_s, self._slots
        self._in_flight += 1
        self._idle.clear()
        holds_slot = in_service = False
        drafted = accepted = steps = 0
        try:
            if slots is not None:
                await slots.acquire()
                holds_slot = True
            served = clock()
            self._in_service += 1
            in_service = True
            if self._speculation is None and not self._load_s:
                for index in range(request.max_tokens):
                    # With no delays nothing awaits: the cost per token is the bookkeeping alone.
                    if ttft_s or delay_s:
                        wait = served + ttft_s + index * delay_s - clock()
                        if wait > 0:
                            await asyncio.sleep(wait)
                    yield TokenChunk(clock(), 1)
            else:
                # Step by step, each step's length decided as it starts (it depends on the load then).
                due, emitted = served + ttft_s, 0
                while emitted < request.max_tokens:
                    tokens = 1
                    if emitted and self._speculation is not None:
                        step = self._speculation
                        due += step.step_s(self._in_service)
                        gained = step.next_accepted()
                        drafted, accepted, steps = drafted + step.k, accepted + gained, steps + 1
                        tokens = min(1 + gained, request.max_tokens - emitted)
                    elif emitted:
                        due += delay_s + self._load_s * self._in_service
                    wait = due - clock()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    yield TokenChunk(clock(), tokens)
                    emitted += tokens
        finally:
            if in_service:
                self._in_service -= 1
            if holds_slot and slots is not None:
                slots.release()
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
        self._requests += 1
        self._output_tokens += request.max_tokens
        speculating = self._speculation is not None
        yield Completion(
            prompt_tokens=len(request.prompt_token_ids),
            output_tokens=request.max_tokens,
            drafted_tokens=drafted if speculating else None,
            accepted_tokens=accepted if speculating else None,
            target_forward_passes=steps if speculating else None,
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
        spec = self._speculation
        if spec is not None:
            settings.update(
                num_speculative_tokens=spec.k,
                acceptance_rates=spec.rates,
                draft_ms=spec.draft_s * 1000,
                verify_ms=spec.verify_s * 1000,
            )
            notes.append(
                "echo engine: simulated speculative decoding; each step takes draft_ms + verify_ms and "
                "yields 1 + accepted tokens, accepted by the given per-position rates"
            )
        if self._load_s:
            settings["load_ms_per_token"] = self._load_s * 1000
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
        figures: dict[str, Any] = {"echo_requests": self._requests, "echo_output_tokens": self._output_tokens}
        spec = self._speculation
        if spec is not None:
            # Counted as vLLM counts: every draft proposes K tokens, accepted ones per position.
            accepted = sum(spec.accepted_per_position)
            figures.update(
                spec_stats(spec.drafts, spec.drafts * spec.k, accepted, spec.accepted_per_position)
            )
        return figures

    async def reset_figures(self) -> None:
        self._requests = 0
        self._output_tokens = 0
        if self._speculation is not None:
            self._speculation.reset()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def shutdown(self) -> None:
        """Nothing to release."""
