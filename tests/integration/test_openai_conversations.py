"""Conversations and reasoning models over HTTP, against the instant test server: the history goes as chat
messages with the answers the server gave, and reasoning chunks give time to first answer token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from specbench.cli import main
from specbench.config import RunConfig
from specbench.engines.base import Completion, EngineRequest, StreamEvent, TokenChunk
from specbench.engines.openai import OpenAIEngine
from specbench.runner.dispatcher import run_workload
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import PromptTokenizer
from tests.fixtures.instant_server import Behaviour, InstantServer


def engine_for(url: str, tokenizer: Path, **openai: Any) -> OpenAIEngine:
    return OpenAIEngine(
        RunConfig.model_validate(
            {"engine": "openai", "tokenizer": str(tokenizer), "openai": {"base_url": url, **openai}}
        )
    )


def conversation_config(**workload: Any) -> RunConfig:
    settings = {"num_prompts": 2, "rate": 50.0, "turns": 3, "input_len": 8, "output_len": 3, "warmup": 0}
    return RunConfig(seed=1, workload={**settings, **workload})


@pytest.mark.parametrize("usage", ["continuous", "final"])
def test_chat_turns_carry_the_history_with_the_answers_the_server_gave(
    usage: str, tiny_models, tiny_tokenizer: PromptTokenizer
) -> None:
    workload = build_workload(conversation_config(), tiny_tokenizer)

    async def scenario(server: InstantServer) -> Any:
        engine = engine_for(server.base_url, tiny_models.target, chat=True)
        await engine.start()
        try:
            return await run_workload(engine, workload)
        finally:
            await engine.shutdown()

    behaviour = Behaviour(record=True, token_text=" yes", usage=usage)  # type: ignore[arg-type]
    with InstantServer.in_thread(behaviour) as server:
        outcome = asyncio.run(scenario(server))
    assert [r.error for r in outcome.records] == [None] * 6
    assert sorted((r.session_id, r.turn) for r in outcome.records) == [
        (0, 1),
        (0, 2),
        (0, 3),
        (3, 1),
        (3, 2),
        (3, 3),
    ]
    third_turns = [m["messages"] for m in behaviour.received[1:] if len(m["messages"]) == 5]
    assert len(third_turns) == 2
    for messages in third_turns:
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
        assert messages[1]["content"] == messages[3]["content"] == " yes" * 3  # what the server answered
    first = workload.requests[0]
    sent_first = next(
        m
        for m in behaviour.received[1:]
        if len(m["messages"]) == 5
        and m["messages"][0]["content"] == tiny_tokenizer.decode(first.prompt_token_ids)
    )
    assert sent_first["messages"][2]["content"] == tiny_tokenizer.decode(
        first.later_turns[0].prompt_token_ids
    )


def test_completions_turns_send_one_flat_prompt_of_history_and_answer_tokens(
    tiny_models, tiny_tokenizer: PromptTokenizer
) -> None:
    workload = build_workload(conversation_config(num_prompts=1, turns=2), tiny_tokenizer)

    async def scenario(server: InstantServer) -> Any:
        engine = engine_for(server.base_url, tiny_models.target)
        await engine.start()
        try:
            return await run_workload(engine, workload)
        finally:
            await engine.shutdown()

    behaviour = Behaviour(record=True, token_text=" yes")
    with InstantServer.in_thread(behaviour) as server:
        outcome = asyncio.run(scenario(server))
    assert [r.error for r in outcome.records] == [None, None]
    session = workload.requests[0]
    answer = tiny_tokenizer.encode(" yes" * 3)
    expected = session.prompt_token_ids + answer + session.later_turns[0].prompt_token_ids
    assert behaviour.received[-1]["prompt"] == expected


async def chat_events(server: InstantServer, tokenizer: Path, max_tokens: int) -> list[StreamEvent]:
    engine = engine_for(server.base_url, tokenizer, chat=True)
    await engine.start()
    try:
        return [e async for e in engine.generate(EngineRequest(0, list(range(100, 110)), max_tokens))]
    finally:
        await engine.shutdown()


@pytest.mark.parametrize("usage", ["continuous", "final"])
@pytest.mark.parametrize("reasoning_usage", [True, False])
def test_reasoning_chunks_come_before_the_first_answer_token_and_are_counted(
    usage: str, reasoning_usage: bool, tiny_models
) -> None:
    behaviour = Behaviour(
        reasoning_tokens=4,
        usage=usage,  # type: ignore[arg-type]
        reasoning_usage=reasoning_usage,
        token_delay_s=0.02,
        reasoning_text=" so",  # one token of the tiny tokenizer, as each chunk is one token
    )
    with InstantServer.in_thread(behaviour) as server:
        events = asyncio.run(chat_events(server, tiny_models.target, max_tokens=7))
    chunks = [e for e in events if isinstance(e, TokenChunk)]
    completion = events[-1]
    assert isinstance(completion, Completion)
    assert completion.output_tokens == 7
    assert completion.reasoning_tokens == 4
    assert completion.first_answer_time is not None
    # The first answer chunk came after four reasoning chunks 20 ms apart.
    assert completion.first_answer_time - chunks[0].time > 0.05
    assert completion.first_answer_time == pytest.approx(chunks[4].time, abs=1e-3)


def test_a_model_that_does_not_reason_answers_first(tiny_models) -> None:
    with InstantServer.in_thread(Behaviour()) as server:
        events = asyncio.run(chat_events(server, tiny_models.target, max_tokens=3))
    completion = events[-1]
    assert isinstance(completion, Completion)
    first = next(e for e in events if isinstance(e, TokenChunk))
    assert completion.first_answer_time == first.time
    assert completion.reasoning_tokens is None


def test_a_reasoning_run_reports_ttfat_and_reasoning_tokens_in_the_result_and_summary(
    tiny_models, tmp_path: Path, capfd
) -> None:
    behaviour = Behaviour(reasoning_tokens=6, reasoning_text=" so", token_delay_s=0.005)
    with InstantServer.in_thread(behaviour) as server:
        code = main(
            [
                *("run", "--engine", "openai", "--chat", "--base-url", server.base_url),
                *("--tokenizer", str(tiny_models.target), "--num-prompts", "4", "--rate", "inf"),
                *("--input-len", "8", "--output-len", "10", "--output", str(tmp_path / "r.json")),
            ]
        )
    assert code == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["total_reasoning_tokens"] == 4 * 6 and result["total_answer_tokens"] == 4 * 4
    assert result["median_ttfat_ms"] > result["median_ttft_ms"] + 20  # six reasoning chunks 5 ms apart
    assert "TTFAT" in capfd.readouterr().out
