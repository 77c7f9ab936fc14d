"""Conversations in the dispatcher: each turn after the previous answer plus its think time, with the
history (earlier prompts and the answers the engine gave) before it; a failed turn ends its session."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from specbench.config import EchoConfig, EngineName, RunConfig
from specbench.engines.base import Completion, EngineRequest, StreamEvent, TokenChunk
from specbench.engines.echo import EchoEngine
from specbench.runner.dispatcher import RunOutcome, run_workload
from specbench.workload.types import PlannedRequest, PlannedTurn, Workload


def session(first_id: int, at_s: float, turns: int, think_s: float = 0.0) -> PlannedRequest:
    later = tuple(
        PlannedTurn(request_id=first_id + n, prompt_token_ids=[100 + n] * 4, max_tokens=2, think_s=think_s)
        for n in range(1, turns)
    )
    return PlannedRequest(first_id, at_s, [7, 8, 9, 10], 2, later_turns=later)


class Recorder:
    """Echo-like engine that keeps every request it got and answers with fixed tokens."""

    def __init__(self, fail_turn_of: int | None = None) -> None:
        self.requests: list[EngineRequest] = []
        self.fail_id = fail_turn_of

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        if request.request_id == self.fail_id:
            raise RuntimeError("boom")
        yield TokenChunk(time.perf_counter(), 2)
        yield Completion(
            prompt_tokens=len(request.prompt_token_ids),
            output_tokens=2,
            output_token_ids=[55, 56] if request.keep_output else None,
            output_text="ok" if request.keep_output else None,
        )

    async def reset_figures(self) -> None:
        pass


def run(engine: Any, requests: list[PlannedRequest], **kwargs: Any) -> RunOutcome:
    return asyncio.run(run_workload(engine, Workload([], requests, None), **kwargs))


def test_each_turn_carries_the_earlier_prompts_and_the_answers_given() -> None:
    engine = Recorder()
    outcome = run(engine, [session(0, 0.0, 3)])
    assert [r.error for r in outcome.records] == [None, None, None]
    by_id = {r.request_id: r for r in engine.requests}
    assert by_id[0].prompt_token_ids == [7, 8, 9, 10] and by_id[0].keep_output
    assert by_id[1].prompt_token_ids == [7, 8, 9, 10, 55, 56, 101, 101, 101, 101]
    assert by_id[2].prompt_token_ids == [7, 8, 9, 10, 55, 56, 101, 101, 101, 101, 55, 56, 102, 102, 102, 102]
    assert [m.role for m in by_id[2].messages] == ["user", "assistant", "user", "assistant", "user"]
    assert by_id[2].messages[1].text == "ok"
    assert not by_id[2].keep_output  # the last turn's answer is carried nowhere
    assert [(r.session_id, r.turn) for r in outcome.records] == [(0, 1), (0, 2), (0, 3)]
    assert [r.prompt_tokens for r in outcome.records] == [4, 10, 16]


def test_next_turn_is_due_its_think_time_after_the_previous_answer() -> None:
    engine = EchoEngine(RunConfig(engine=EngineName.echo, echo=EchoConfig(token_delay_ms=5.0)))
    outcome = run(engine, [session(0, 0.0, 3, think_s=0.1)])
    first, second, third = outcome.records
    assert second.scheduled_s == first.end_s + 0.1
    assert third.scheduled_s == second.end_s + 0.1
    assert 0 <= second.dispatch_lag_ms < 50 and 0 <= third.dispatch_lag_ms < 50
    assert second.sent_s >= second.scheduled_s


def test_a_failed_turn_ends_its_session_and_counts_the_rest_as_not_sent() -> None:
    engine = Recorder(fail_turn_of=1)
    outcome = run(engine, [session(0, 0.0, 4), session(10, 0.01, 2)])
    assert [(r.request_id, r.error is None) for r in outcome.records] == [
        (0, True),
        (1, False),
        (10, True),
        (11, True),
    ]
    assert outcome.not_sent == 2  # turns 3 and 4 of the first session


def test_an_engine_that_does_not_return_the_answer_fails_the_turn_with_a_reason() -> None:
    engine = EchoEngine(RunConfig(engine=EngineName.echo))

    class Forgetful:
        async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
            async for event in engine.generate(request):
                yield Completion(2, 2) if isinstance(event, Completion) else event

        async def reset_figures(self) -> None:
            pass

    outcome = run(Forgetful(), [session(0, 0.0, 2)])
    assert "did not return the answer" in (outcome.records[0].error or "")
    assert outcome.not_sent == 1


def test_a_stop_during_think_time_sends_no_further_turn() -> None:
    engine = EchoEngine(RunConfig(engine=EngineName.echo))

    async def scenario() -> RunOutcome:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, stop.set)
        return await run_workload(
            engine, Workload([], [session(0, 0.0, 3, think_s=5.0)], None), stop=stop, grace_s=0.1
        )

    outcome = asyncio.run(scenario())
    assert [r.turn for r in outcome.records] == [1]
    assert outcome.records[0].error is None
    assert outcome.not_sent == 2 and outcome.interrupted
