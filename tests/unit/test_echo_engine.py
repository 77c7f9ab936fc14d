"""The echo engine: a real engine (registry, protocol) that streams tokens without a model."""

from __future__ import annotations

import asyncio
import time

import pytest

from specbench.config import EchoConfig, EngineName, RunConfig
from specbench.engines.base import Completion, Engine, EngineRequest, StreamEvent, TokenChunk
from specbench.engines.echo import EchoEngine
from specbench.engines.registry import create_engine

TIMER_SLACK_S = 0.001  # asyncio timers and perf_counter share a clock, but allow for rounding
LATE_S = 0.05  # a shared 2-core machine can run late; early is what must not happen


def echo(ttft_ms: float = 0.0, token_delay_ms: float = 0.0, slots: int | None = None) -> EchoEngine:
    config = EchoConfig(ttft_ms=ttft_ms, token_delay_ms=token_delay_ms, slots=slots)
    return EchoEngine(RunConfig(engine=EngineName.echo, echo=config))


def request(max_tokens: int, request_id: int = 0, prompt_len: int = 7) -> EngineRequest:
    return EngineRequest(
        request_id=request_id, prompt_token_ids=list(range(prompt_len)), max_tokens=max_tokens
    )


async def collect(engine: EchoEngine, req: EngineRequest) -> list[StreamEvent]:
    return [event async for event in engine.generate(req)]


def test_registry_creates_the_echo_engine_behind_the_engine_protocol() -> None:
    engine = create_engine(RunConfig(engine=EngineName.echo))
    assert isinstance(engine, EchoEngine)
    assert isinstance(engine, Engine)


def test_streams_max_tokens_one_token_chunks_then_one_completion() -> None:
    events = asyncio.run(collect(echo(), request(max_tokens=5, prompt_len=11)))
    chunks, last = events[:-1], events[-1]
    assert [type(e) for e in chunks] == [TokenChunk] * 5
    assert [c.num_tokens for c in chunks] == [1] * 5
    assert last == Completion(prompt_tokens=11, output_tokens=5, finish_reason="length")


def test_without_delays_every_token_is_still_its_own_chunk() -> None:
    events = asyncio.run(collect(echo(), request(max_tokens=1000)))
    chunks = [e for e in events if isinstance(e, TokenChunk)]
    assert len(chunks) == 1000
    times = [c.time for c in chunks]
    assert times == sorted(times)


def test_first_token_waits_ttft_and_later_tokens_follow_the_token_delay() -> None:
    ttft_s, delay_s, tokens = 0.05, 0.02, 5

    async def timed() -> tuple[float, list[StreamEvent]]:
        start = time.perf_counter()
        return start, await collect(
            echo(ttft_ms=ttft_s * 1000, token_delay_ms=delay_s * 1000), request(tokens)
        )

    start, events = asyncio.run(timed())
    times = [e.time - start for e in events if isinstance(e, TokenChunk)]
    due = [ttft_s + i * delay_s for i in range(tokens)]
    assert all(t >= d - TIMER_SLACK_S for t, d in zip(times, due, strict=True)), (times, due)
    # Due times are absolute, so lateness does not accumulate along the stream.
    assert times[-1] < due[-1] + LATE_S


def test_concurrent_requests_are_served_side_by_side() -> None:
    ttft_s, count = 0.1, 50

    async def run_all() -> float:
        engine = echo(ttft_ms=ttft_s * 1000)
        start = time.perf_counter()
        await asyncio.gather(*(collect(engine, request(2, request_id=i)) for i in range(count)))
        return time.perf_counter() - start

    assert asyncio.run(run_all()) < 2 * ttft_s + LATE_S


def test_describe_says_it_measures_the_harness_only() -> None:
    info = echo(ttft_ms=3, token_delay_ms=2).describe()
    assert info.name == "echo"
    assert info.settings == {"ttft_ms": 3, "token_delay_ms": 2}
    assert any("harness" in note and "no model" in note for note in info.notes)


def test_stats_count_served_requests_and_reset_forgets_them() -> None:
    async def scenario() -> tuple[dict[str, int], dict[str, int]]:
        engine = echo()
        await engine.start()
        await collect(engine, request(3))
        await collect(engine, request(4))
        before = await engine.figures()
        await engine.reset_figures()
        after = await engine.figures()
        await engine.shutdown()
        return before, after

    before, after = asyncio.run(scenario())
    assert before == {"echo_requests": 2, "echo_output_tokens": 7}
    assert after == {"echo_requests": 0, "echo_output_tokens": 0}


@pytest.mark.parametrize("max_tokens", [0, 1])
def test_short_requests_complete_with_exact_counts(max_tokens: int) -> None:
    events = asyncio.run(collect(echo(token_delay_ms=1), request(max_tokens)))
    assert len(events) == max_tokens + 1
    assert events[-1] == Completion(prompt_tokens=7, output_tokens=max_tokens, finish_reason="length")


def test_slots_serve_at_most_that_many_requests_at_once_first_come_first_served() -> None:
    slots, count, service_s = 2, 6, 0.05  # each request: first token at once, then 5 tokens 10 ms apart

    async def run_all() -> list[tuple[float, float]]:
        engine = echo(token_delay_ms=10, slots=slots)

        async def spans(req: EngineRequest) -> tuple[float, float]:
            times = [e.time for e in await collect(engine, req) if isinstance(e, TokenChunk)]
            return times[0], times[-1]

        tasks = []
        for i in range(count):
            tasks.append(asyncio.create_task(spans(request(6, request_id=i))))
            await asyncio.sleep(0)  # arrival order = request order
        return await asyncio.gather(*tasks)

    spans = asyncio.run(run_all())
    for i in range(slots, count):
        # Request i starts only once request i - slots, which held the slot before it, has finished.
        assert spans[i][0] >= spans[i - slots][1] - TIMER_SLACK_S
    for first_token, last_token in spans:
        assert last_token - first_token >= service_s - TIMER_SLACK_S
    # Never more than `slots` requests streaming at the same moment.
    moments = sorted(t for span in spans for t in span)
    assert max(sum(a <= t <= b for a, b in spans) for t in moments) <= slots


def test_describe_states_the_slots_and_the_capacity_they_give() -> None:
    info = echo(ttft_ms=5, token_delay_ms=5, slots=8).describe()
    assert info.settings["slots"] == 8
    assert any("slots / that service time" in note for note in info.notes)


def test_wait_idle_returns_once_no_request_is_in_flight() -> None:
    async def scenario() -> tuple[bool, bool]:
        engine = echo(ttft_ms=50, slots=1)
        streams = [asyncio.create_task(collect(engine, request(2, request_id=i))) for i in range(2)]
        await asyncio.sleep(0.01)
        idle = asyncio.create_task(engine.wait_idle())
        await asyncio.sleep(0.02)
        busy_while_streaming = not idle.done()
        await asyncio.gather(*streams)
        await asyncio.wait_for(idle, 1.0)
        return busy_while_streaming, idle.done()

    assert asyncio.run(scenario()) == (True, True)


def test_a_cancelled_request_gives_its_slot_back() -> None:
    async def scenario() -> list[StreamEvent]:
        engine = echo(ttft_ms=100, slots=1)
        holder = asyncio.create_task(collect(engine, request(2, request_id=0)))
        await asyncio.sleep(0.01)
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
        # Served after the cancelled request's slot came back, not after its full service time.
        return await asyncio.wait_for(collect(engine, request(2, request_id=1)), 1.0)

    events = asyncio.run(scenario())
    assert events[-1] == Completion(prompt_tokens=7, output_tokens=2, finish_reason="length")
