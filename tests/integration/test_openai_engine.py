"""The openai engine against the instant test server: what it sends, how it counts, every way a request fails.

The server (tests/fixtures/instant_server.py) runs in a thread of the test process and answers like vllm
serve; its Behaviour makes it slow, strict, broken or speculative on demand.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from specbench.config import RunConfig
from specbench.engines.base import Completion, EngineRequest, StreamEvent, TokenChunk
from specbench.engines.openai import OpenAIEngine
from specbench.engines.openai.connection import ConnectFailed, RequestTimeout, StatusError, StreamCut
from specbench.errors import EngineStartError
from specbench.runner.dispatcher import ResetFiguresAfterWarmup, run_workload
from specbench.workload.types import PlannedRequest, Workload
from tests.fixtures.instant_server import Behaviour, InstantServer

PROMPT = list(range(100, 132))


@pytest.fixture
def server() -> Iterator[InstantServer]:
    with InstantServer.in_thread(Behaviour(record=True)) as running:
        yield running


def engine_for(server_url: str, tokenizer: Path | None = None, **openai: Any) -> OpenAIEngine:
    return OpenAIEngine(
        RunConfig.model_validate(
            {
                "engine": "openai",
                "tokenizer": str(tokenizer) if tokenizer else None,
                "openai": {"base_url": server_url, **openai},
            }
        )
    )


async def started(engine: OpenAIEngine) -> OpenAIEngine:
    await engine.start()
    return engine


async def generate(
    engine: OpenAIEngine, max_tokens: int = 8, prompt: list[int] = PROMPT
) -> list[StreamEvent]:
    return [event async for event in engine.generate(EngineRequest(0, prompt, max_tokens))]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_completions_send_token_ids_greedy_with_eos_ignored_and_count_from_usage(server) -> None:
    async def scenario() -> list[StreamEvent]:
        engine = await started(engine_for(server.base_url))
        try:
            return await generate(engine, max_tokens=8)
        finally:
            await engine.shutdown()

    events = run(scenario())
    sent = server.behaviour.received[-1]
    assert sent["prompt"] == PROMPT and sent["model"] == "instant"
    assert sent["max_tokens"] == 8 and sent["temperature"] == 0.0 and sent["ignore_eos"] is True
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    chunks = [e for e in events if isinstance(e, TokenChunk)]
    assert sum(c.num_tokens for c in chunks) == 8
    assert events[-1] == Completion(prompt_tokens=32, output_tokens=8, finish_reason="length")


def test_a_server_without_a_tokenizer_streams_no_text_and_is_counted_from_usage() -> None:
    # `vllm serve --skip-tokenizer-init` (dummy weights with only config.json) sends empty text, with usage.
    with InstantServer.in_thread(Behaviour(token_text="")) as server:

        async def scenario() -> tuple[list[StreamEvent], Any]:
            engine = await started(engine_for(server.base_url))
            try:
                return await generate(engine, max_tokens=6), engine.describe()
            finally:
                await engine.shutdown()

        events, info = run(scenario())
    assert info.settings["token_counts"] == "server usage, every chunk (continuous_usage_stats)"
    assert sum(e.num_tokens for e in events if isinstance(e, TokenChunk)) == 6
    assert events[-1] == Completion(prompt_tokens=32, output_tokens=6, finish_reason="length")


def test_describe_says_how_prompts_went_and_where_token_counts_came_from(server) -> None:
    async def scenario() -> Any:
        engine = await started(engine_for(server.base_url))
        await engine.shutdown()
        return engine.describe()

    info = run(scenario())
    assert (info.name, info.model, info.version) == ("openai", "instant", "instant-test-server")
    assert info.settings["prompt_format"] == "token ids"
    assert info.settings["token_counts"] == "server usage, every chunk (continuous_usage_stats)"
    assert info.settings["endpoint"] == f"{server.base_url}/completions"
    assert info.settings["server_max_model_len"] == 4096


def test_chat_sends_the_decoded_prompt_as_one_user_message(server, tiny_tokenizer, tiny_models) -> None:
    async def scenario() -> list[StreamEvent]:
        engine = await started(engine_for(server.base_url, tiny_models.target, chat=True))
        try:
            return await generate(engine, max_tokens=5)
        finally:
            await engine.shutdown()

    events = run(scenario())
    sent = server.behaviour.received[-1]
    assert sent["messages"] == [{"role": "user", "content": tiny_tokenizer.decode(PROMPT)}]
    assert sum(e.num_tokens for e in events if isinstance(e, TokenChunk)) == 5
    assert isinstance(events[-1], Completion) and events[-1].output_tokens == 5


def test_each_chunk_is_timed_on_arrival_and_counts_all_its_tokens(server) -> None:
    server.behaviour.tokens_per_chunk = 4
    server.behaviour.ttft_s = 0.1
    server.behaviour.token_delay_s = 0.05

    async def scenario() -> tuple[float, list[StreamEvent]]:
        engine = await started(engine_for(server.base_url))
        try:
            sent = time.perf_counter()
            return sent, await generate(engine, max_tokens=12)
        finally:
            await engine.shutdown()

    sent, events = run(scenario())
    chunks = [e for e in events if isinstance(e, TokenChunk)]
    assert [c.num_tokens for c in chunks] == [4, 4, 4]
    assert chunks[0].time - sent >= 0.1
    gaps = [b.time - a.time for a, b in itertools.pairwise(chunks)]
    assert all(gap >= 0.045 for gap in gaps)


def test_a_strict_server_gets_text_prompts_no_vllm_extras_and_tokenizer_counts(server, tiny_models) -> None:
    server.behaviour.accept_token_ids = False
    server.behaviour.accept_vllm_params = False
    server.behaviour.usage = "none"

    async def scenario() -> tuple[Any, list[StreamEvent]]:
        engine = await started(engine_for(server.base_url, tiny_models.target))
        try:
            return engine.describe(), await generate(engine, max_tokens=6)
        finally:
            await engine.shutdown()

    info, events = run(scenario())
    sent = server.behaviour.received[-1]
    assert isinstance(sent["prompt"], str) and "ignore_eos" not in sent
    assert info.settings["prompt_format"] == "text" and info.settings["ignore_eos"] is False
    assert info.settings["token_counts"] == "tokenizer (the server reports no usage)"
    assert any("refused ignore_eos" in note for note in info.notes)
    # Each token is " a", which the tiny BPE tokenizer reads as one token.
    assert isinstance(events[-1], Completion) and events[-1].output_tokens == 6


def test_a_server_that_needs_text_without_a_tokenizer_is_one_clear_start_error(server) -> None:
    server.behaviour.accept_token_ids = False
    with pytest.raises(EngineStartError, match=r"needs prompts as text .* pass --tokenizer DIR"):
        run(started(engine_for(server.base_url)))


def test_token_ids_insisted_on_against_a_server_that_refuses_them_is_a_start_error(server) -> None:
    server.behaviour.accept_token_ids = False
    with pytest.raises(EngineStartError, match=r"refuses prompts as token ids.*--prompt-format text"):
        run(started(engine_for(server.base_url, prompt_format="token-ids")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_server_at_start_is_one_line_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EngineStartError) as caught:
        run(started(engine_for(url)))
    message = str(caught.value)
    assert message.startswith(f"cannot reach the server at {url}: cannot connect to 127.0.0.1:")
    assert "\n" not in message and "--base-url" in message


def test_a_base_url_without_the_api_root_says_so(server) -> None:
    with pytest.raises(EngineStartError, match=r"HTTP 404.*ends with the API root"):
        run(started(engine_for(server.base_url.removesuffix("/v1"))))


def test_a_served_model_name_the_server_does_not_serve_lists_what_it_does(server) -> None:
    with pytest.raises(EngineStartError, match="the server serves instant"):
        run(started(engine_for(server.base_url, served_model_name="gpt-9")))


def test_the_served_max_model_len_is_published_for_the_sessions_context_check(server) -> None:
    # The session refuses longer requests before measuring (tests/unit/session/test_models.py).
    server.behaviour.max_model_len = 100

    async def scenario() -> int | None:
        engine = await started(engine_for(server.base_url))
        try:
            return engine.describe().max_model_len
        finally:
            await engine.shutdown()

    assert run(scenario()) == 100


async def failing_request(engine: OpenAIEngine, max_tokens: int = 8) -> BaseException:
    try:
        await generate(engine, max_tokens=max_tokens)
    except Exception as exc:
        return exc
    raise AssertionError("the request did not fail")


def test_http_errors_raise_with_the_servers_message(server) -> None:
    async def scenario() -> BaseException:
        engine = await started(engine_for(server.base_url))
        server.behaviour.fail_status, server.behaviour.fail_message = 500, "CUDA out of memory"
        try:
            return await failing_request(engine)
        finally:
            await engine.shutdown()

    error = run(scenario())
    assert isinstance(error, StatusError) and str(error) == "HTTP 500: CUDA out of memory"


def test_a_stream_cut_mid_way_raises_saying_how_far_it_got(server) -> None:
    async def scenario() -> BaseException:
        engine = await started(engine_for(server.base_url))
        server.behaviour.cut_after_chunks = 3
        try:
            return await failing_request(engine, max_tokens=8)
        finally:
            await engine.shutdown()

    error = run(scenario())
    assert isinstance(error, StreamCut)
    assert str(error) == "the server closed the connection mid-response after 3 of 8 tokens"


def test_a_stalled_stream_times_out_after_the_read_timeout(server) -> None:
    async def scenario() -> BaseException:
        engine = await started(engine_for(server.base_url, read_timeout_s=0.3))
        server.behaviour.stall_after_chunks = 2
        try:
            return await asyncio.wait_for(failing_request(engine), timeout=10)
        finally:
            await engine.shutdown()

    error = run(scenario())
    assert isinstance(error, RequestTimeout)
    assert str(error) == "no answer in 0.3 s waiting for the next bytes after 2 of 8 tokens"


def test_a_slow_server_fails_the_request_after_the_request_timeout(server) -> None:
    async def scenario() -> BaseException:
        engine = await started(engine_for(server.base_url, request_timeout_s=0.4))
        server.behaviour.token_delay_s = 0.1
        try:
            return await asyncio.wait_for(failing_request(engine, max_tokens=50), timeout=10)
        finally:
            await engine.shutdown()

    error = run(scenario())
    assert isinstance(error, RequestTimeout) and "longer than 0.4 s" in str(error)


def test_a_server_gone_mid_run_fails_requests_with_connection_refused() -> None:
    async def scenario(engine: OpenAIEngine) -> BaseException:
        try:
            return await failing_request(engine)
        finally:
            await engine.shutdown()

    with InstantServer.in_thread() as server:
        engine = engine_for(server.base_url)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(engine.start())
    # The server is gone; its idle keep-alive connection is closed and a new one is refused.
    error = loop.run_until_complete(scenario(engine))
    loop.close()
    assert isinstance(error, ConnectFailed) and "cannot connect to 127.0.0.1" in str(error)


def test_requests_reuse_kept_alive_connections(server) -> None:
    async def scenario() -> int:
        engine = await started(engine_for(server.base_url))
        try:
            for _ in range(20):
                await generate(engine)
            await asyncio.gather(*(generate(engine) for _ in range(8)))
            assert engine._client is not None
            return engine._client.connections_opened
        finally:
            await engine.shutdown()

    # One for the start-up GETs and the probe, reused by the 20 in a row; at most 8 at once.
    assert run(scenario()) <= 8


def test_connections_the_server_closed_are_not_reused(server) -> None:
    server.behaviour.close_after_response = True

    async def scenario() -> list[StreamEvent]:
        engine = await started(engine_for(server.base_url))
        try:
            for _ in range(5):
                events = await generate(engine)
                await asyncio.sleep(0.01)
            return events
        finally:
            await engine.shutdown()

    assert isinstance(run(scenario())[-1], Completion)


def test_the_api_key_is_sent_as_a_bearer_token(server, monkeypatch) -> None:
    server.behaviour.api_key = "s3cret-key"
    monkeypatch.setenv("TEST_SERVER_KEY", "s3cret-key")

    async def scenario() -> list[StreamEvent]:
        engine = await started(engine_for(server.base_url, api_key_env="TEST_SERVER_KEY"))
        try:
            return await generate(engine)
        finally:
            await engine.shutdown()

    assert isinstance(run(scenario())[-1], Completion)
    assert server.behaviour.headers[-1]["authorization"] == "Bearer s3cret-key"


def test_a_refused_key_is_a_start_error_that_does_not_repeat_it(server, monkeypatch) -> None:
    server.behaviour.api_key = "the-right-key"
    server.behaviour.echo_key_in_errors = True
    monkeypatch.setenv("TEST_SERVER_KEY", "a-wrong-key-0123")
    with pytest.raises(EngineStartError) as caught:
        run(started(engine_for(server.base_url, api_key_env="TEST_SERVER_KEY")))
    assert "HTTP 401" in str(caught.value) and "--api-key-env" in str(caught.value)
    assert "a-wrong-key-0123" not in str(caught.value) and "***" in str(caught.value)


def test_a_key_quoted_back_in_a_request_error_is_hidden(server, monkeypatch) -> None:
    monkeypatch.setenv("TEST_SERVER_KEY", "a-key-0123456")

    async def scenario() -> BaseException:
        engine = await started(engine_for(server.base_url, api_key_env="TEST_SERVER_KEY"))
        server.behaviour.fail_status, server.behaviour.fail_message = 400, "bad key a-key-0123456"
        try:
            return await failing_request(engine)
        finally:
            await engine.shutdown()

    assert str(run(scenario())) == "HTTP 400: bad key ***"


def workload(count: int, max_tokens: int = 8, warmup: int = 3) -> Workload:
    def planned(request_id: int) -> PlannedRequest:
        return PlannedRequest(request_id, 0.0, PROMPT, max_tokens)

    return Workload(
        warmup=[planned(-1 - i) for i in range(warmup)],
        requests=[planned(i) for i in range(count)],
        send_window_s=None,
    )


def test_server_counters_cover_the_measured_requests_only(server) -> None:
    server.behaviour.spec_tokens = 3

    async def scenario() -> tuple[dict[str, Any], Any]:
        engine = await started(engine_for(server.base_url))
        try:
            await run_workload(
                engine, workload(10, max_tokens=8, warmup=3), listeners=[ResetFiguresAfterWarmup(engine)]
            )
            return await engine.figures(), engine.describe()
        finally:
            await engine.shutdown()

    figures, info = run(scenario())
    assert figures["engine_generation_tokens"] == 10 * 8
    assert figures["engine_prompt_tokens"] == 10 * 32
    # The test server drafts 3 tokens per step and accepts the first (see Counters.count).
    assert figures["spec_num_drafts"] == 10 * 4
    assert figures["spec_acceptance_rate"] == pytest.approx(1 / 3)
    assert figures["spec_mean_acceptance_length"] == pytest.approx(2.0)
    assert figures["spec_acceptance_per_position"] == pytest.approx([1.0, 0.0, 0.0])
    assert figures["mean_queue_time_ms"] == pytest.approx(2.0)
    assert "peak_kv_cache_usage" not in figures
    assert any("runs speculative decoding" in note for note in info.notes)


def test_without_metrics_there_are_no_engine_figures_and_a_note_says_why(server) -> None:
    server.behaviour.metrics = False

    async def scenario() -> tuple[dict[str, Any], Any]:
        engine = await started(engine_for(server.base_url))
        try:
            await run_workload(engine, workload(2))
            return await engine.figures(), engine.describe()
        finally:
            await engine.shutdown()

    figures, info = run(scenario())
    assert figures == {}
    assert any("no Prometheus metrics at" in note and "HTTP 404" in note for note in info.notes)


def test_failed_requests_are_recorded_and_the_run_goes_on(server) -> None:
    async def scenario() -> Any:
        engine = await started(engine_for(server.base_url))
        server.behaviour.fail_status, server.behaviour.fail_message = 503, "overloaded"
        try:
            return await run_workload(engine, workload(5, warmup=0))
        finally:
            await engine.shutdown()

    outcome = run(scenario())
    assert len(outcome.records) == 5
    assert {r.error for r in outcome.records} == {"StatusError: HTTP 503: overloaded"}


def test_a_cancelled_request_closes_its_connection_so_the_server_stops_generating(server) -> None:
    async def scenario() -> tuple[int, int]:
        engine = await started(engine_for(server.base_url))
        server.behaviour.ttft_s = 30.0
        try:
            task = asyncio.create_task(generate(engine))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.2)
            assert engine._client is not None
            return len(engine._client._active), len(server.connections)
        finally:
            await engine.shutdown()

    active, server_side = run(scenario())
    assert active == 0
    assert server_side <= 1  # the start-up connection may still be idle; the cancelled one is gone
