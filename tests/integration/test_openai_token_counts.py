"""How the openai engine counts output tokens, through the real CLI against the instant test server: the
start-up probe never blames a feature the server did not name, the server's usage always gives the totals,
and a re-count by the tokenizer (a server without usage) is exact where the text round-trips and said
wherever the result is read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from specbench.cli import main
from specbench.config import RunConfig
from specbench.engines.openai import OpenAIEngine
from specbench.errors import EngineStartError
from specbench.metrics.token_counts import TOKENIZER_WARNING
from specbench.runner.record_writer import read_records
from specbench.tiny_model import build_tiny_tokenizer
from tests.fixtures.instant_server import Behaviour, InstantServer

SMALL_VOCAB = 334  # the byte-level alphabet, three special tokens and 75 merges
PROBE_TEXT = "Hello, how are you today?"


@pytest.fixture(scope="module")
def small_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tokenizer whose vocabulary is smaller than the token ids a careless probe would send."""
    path = tmp_path_factory.mktemp("small-vocab")
    build_tiny_tokenizer(SMALL_VOCAB).save_pretrained(path)
    return path


@pytest.fixture
def server() -> Iterator[InstantServer]:
    with InstantServer.in_thread(Behaviour(record=True, vocab_size=SMALL_VOCAB, refuse_in_stream=True)) as s:
        yield s


def start(server: InstantServer, tokenizer: Path | None) -> dict[str, Any]:
    """Start the engine against `server` and stop it; its settings as it describes them."""
    config = RunConfig.model_validate(
        {
            "engine": "openai",
            "tokenizer": str(tokenizer) if tokenizer else None,
            "openai": {"base_url": server.base_url},
        }
    )

    async def scenario() -> dict[str, Any]:
        engine = OpenAIEngine(config)
        try:
            await engine.start()
        finally:
            await engine.shutdown()
        return engine.describe().settings

    return asyncio.run(scenario())


def run_cli(server: InstantServer, tokenizer: Path, out: Path, *extra: str) -> dict[str, Any]:
    args = ["--base-url", server.base_url, "--tokenizer", str(tokenizer), "--output", str(out)]
    load = ["--num-prompts", "40", "--rate", "inf", "--input-len", "32", "--output-len", "32"]
    assert main(["run", "--engine", "openai", *args, *load, *extra]) == 0
    return json.loads(out.read_text())


def test_the_probe_prompt_is_the_tokenizers_encoding_so_a_small_vocabulary_keeps_every_feature(
    server, small_tokenizer
) -> None:
    settings = start(server, small_tokenizer)
    (probe,) = server.behaviour.received  # one request: nothing was refused, nothing dropped
    tokenizer = build_tiny_tokenizer(SMALL_VOCAB)
    assert probe["prompt"] == tokenizer.encode(PROBE_TEXT, add_special_tokens=False)
    assert probe["ignore_eos"] is True
    assert probe["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert settings["token_counts"] == "server usage, every chunk (continuous_usage_stats)"
    assert settings["token_totals"] == "server usage"


def test_a_refusal_in_a_200_stream_that_names_no_feature_fails_the_start_with_the_servers_words(
    server,
) -> None:
    server.behaviour.vocab_size = 50  # below even the ids sent without a tokenizer
    with pytest.raises(EngineStartError) as caught:
        start(server, None)
    message = str(caught.value)
    assert "refused the start-up probe: HTTP 400: Token id 100 is out of vocabulary" in message
    assert "names none of them" in message and "--tokenizer DIR" in message
    # Usage, ignore_eos and token-id prompts were not dropped one by one for a refusal that named none.
    assert len(server.behaviour.received) == 1


def test_a_refusal_naming_a_feature_drops_that_feature_alone(server, small_tokenizer) -> None:
    server.behaviour.accept_vllm_params = False  # "Unrecognized request argument supplied: ignore_eos", …
    settings = start(server, small_tokenizer)
    first, second, third = server.behaviour.received
    assert "ignore_eos" in first and "ignore_eos" not in second
    assert second["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert third["stream_options"] == {"include_usage": True}  # usage at the end is still asked for
    assert isinstance(third["prompt"], list)
    assert settings["token_totals"] == "server usage" and settings["ignore_eos"] is False


def test_usage_at_the_end_gives_every_total_and_chunk_counts_that_disagree_are_counted_and_warned(
    server, small_tokenizer, tmp_path
) -> None:
    # Continuous usage refused, final usage given: chunks are counted by the tokenizer, and " the river"
    # is more than one token of this vocabulary, so each chunk's count is wrong; the usage is right.
    server.behaviour.accept_vllm_params = False
    server.behaviour.token_text = " the river"
    result = run_cli(server, small_tokenizer, tmp_path / "final.json")
    assert result["engine"]["settings"]["token_totals"] == "server usage"
    assert result["total_output_tokens"] == 40 * 32
    records = read_records(tmp_path / "final_requests.jsonl")
    assert all(record.output_tokens == 32 < sum(record.chunk_tokens) for record in records)
    assert result["run"]["token_count_checks"]["chunk_sum_disagrees_with_total"] == 40
    assert result["run"]["token_count_checks"]["length_limited_miscounted"] == 0
    assert any("40 of 40 requests: the tokens counted chunk by chunk" in w for w in result["run"]["warnings"])


def test_a_server_without_usage_is_counted_by_the_tokenizer_exactly_and_says_so(
    small_tokenizer, tmp_path
) -> None:
    # " a" is one token of any vocabulary built from the tiny corpus: the re-count is exact here.
    with InstantServer.in_thread(Behaviour(usage="none")) as server:
        result = run_cli(server, small_tokenizer, tmp_path / "no-usage.json")
    assert result["engine"]["settings"]["token_totals"] == "tokenizer"
    assert result["engine"]["settings"]["token_counts"] == "tokenizer (the server reports no usage)"
    assert result["total_output_tokens"] == 40 * 32 and result["completed"] == 40
    assert result["run"]["token_count_checks"] == {
        "requests_checked": 40,
        "length_limited": 40,
        "length_limited_miscounted": 0,
        "chunk_sum_disagrees_with_total": 0,
    }
    assert TOKENIZER_WARNING in result["run"]["warnings"]
    assert any("re-tokenizing the streamed text" in note for note in result["engine"]["notes"])


def test_a_tokenizer_that_does_not_round_trip_the_text_is_caught_at_the_length_limit(
    small_tokenizer, tmp_path
) -> None:
    # Each token's text is two tokens of this vocabulary: a re-count says 64 where the server made 32.
    with InstantServer.in_thread(Behaviour(usage="none", token_text=" the river")) as server:
        result = run_cli(server, small_tokenizer, tmp_path / "miscount.json")
    checks = result["run"]["token_count_checks"]
    assert checks["length_limited"] == 40 and checks["length_limited_miscounted"] == 40
    assert any(
        "40 of 40 requests that ended at their length limit" in w and "for 32)" in w
        for w in result["run"]["warnings"]
    )
