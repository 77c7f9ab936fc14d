"""`specbench run --engine openai` against a real `vllm serve` (CPU build) of a tiny model, started once for
the module: completions, chat, and the speculative-decoding counters read from its /metrics.

The served model's vocabulary has 334 tokens, smaller than most: a client that assumes token ids of a big
vocabulary (a start-up probe sending ids 1000+) is refused by it, and output tokens must still be exact."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.runner.record_writer import read_records
from specbench.tiny_model import SEED, build_tiny_model

pytestmark = [pytest.mark.vllm, pytest.mark.slow]
START_TIMEOUT_S = 600  # a 2-core machine shared with other jobs has taken 3 minutes
SPEC_CONFIG = '{"method":"ngram","num_speculative_tokens":3,"prompt_lookup_min":2,"prompt_lookup_max":3}'
# The tiny tokenizer has no chat template; chat needs one: the user's message as it is.
CHAT_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
SMALL_VOCAB = 334  # the byte-level alphabet, three special tokens and 75 merges


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def small_vocab_model(tmp_path_factory) -> Path:
    """A tiny Llama whose vocabulary (334 tokens) is smaller than the ids a careless client would send."""
    return build_tiny_model(
        tmp_path_factory.mktemp("small-vocab") / "model",
        num_layers=2,
        hidden_size=128,
        seed=SEED,
        vocab_size=SMALL_VOCAB,
    )


@pytest.fixture(scope="module")
def vllm_server(small_vocab_model, tmp_path_factory) -> Iterator[str]:
    pytest.importorskip("vllm")
    port = free_port()
    log = tmp_path_factory.mktemp("vllm-serve") / "server.log"
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(small_vocab_model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        "2048",
        "--dtype",
        "float32",
        "--speculative-config",
        SPEC_CONFIG,
        "--chat-template",
        CHAT_TEMPLATE,
    ]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    with log.open("wb") as output:
        # Its own process group, so stopping it stops the engine core it spawns too.
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"vllm serve exited with {server.returncode}: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"vllm serve did not answer in {START_TIMEOUT_S} s: {log.read_text()[-3000:]}"
                    )
                time.sleep(2)
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run_served(base_url: str, tokenizer: Path, out: Path, *args: str) -> dict:
    """8 requests at once, 32 in / 12 out tokens; `args` come last, so they may change those."""
    code = main(
        [
            "run",
            "--engine",
            "openai",
            "--base-url",
            base_url,
            "--tokenizer",
            str(tokenizer),
            "--num-prompts",
            "8",
            "--rate",
            "inf",
            "--input-len",
            "32",
            "--output-len",
            "12",
            "--output",
            str(out),
            *args,
        ]
    )
    assert code == 0
    return json.loads(out.read_text())


def test_completions_measure_every_request_with_exact_counts(
    vllm_server, small_vocab_model, tmp_path
) -> None:
    result = run_served(vllm_server, small_vocab_model, tmp_path / "served.json")
    assert (result["completed"], result["failed"]) == (8, 0)
    assert result["engine"]["settings"]["prompt_format"] == "token ids"
    assert (
        result["engine"]["settings"]["token_counts"] == "server usage, every chunk (continuous_usage_stats)"
    )
    assert result["engine"]["version"]  # vLLM's GET /version
    for record in read_records(tmp_path / "served_requests.jsonl"):
        assert record.prompt_tokens == 32  # token ids go in as they are: exact lengths
        assert record.output_tokens == 12 == sum(record.chunk_tokens)
        assert record.finish_reason == "length"
        assert 0 < record.ttft_ms <= record.e2el_ms
    # The server's own counters over the measured window agree with what the client counted.
    assert result["engine_prompt_tokens"] == result["total_input_tokens"] == 8 * 32
    assert result["engine_generation_tokens"] == result["total_output_tokens"] == 8 * 12


def test_speculative_decoding_figures_come_from_the_servers_metrics(
    vllm_server, small_vocab_model, tmp_path
) -> None:
    result = run_served(vllm_server, small_vocab_model, tmp_path / "spec.json", "--method", "speculative")
    assert result["spec_num_drafts"] > 0
    assert result["spec_num_draft_tokens"] == 3 * result["spec_num_drafts"]
    assert 0 <= result["spec_num_accepted_tokens"] <= result["spec_num_draft_tokens"]
    assert result["spec_acceptance_rate"] == pytest.approx(
        result["spec_num_accepted_tokens"] / result["spec_num_draft_tokens"]
    )
    assert result["spec_mean_acceptance_length"] == pytest.approx(
        1 + result["spec_num_accepted_tokens"] / result["spec_num_drafts"]
    )
    assert len(result["spec_acceptance_per_position"]) == 3
    assert any("runs speculative decoding" in note for note in result["engine"]["notes"])


def test_chat_goes_through_the_servers_template_and_counts_its_tokens(
    vllm_server, small_vocab_model, tmp_path
) -> None:
    result = run_served(vllm_server, small_vocab_model, tmp_path / "chat.json", "--chat")
    assert (result["completed"], result["failed"]) == (8, 0)
    assert result["engine"]["settings"]["endpoint"].endswith("/v1/chat/completions")
    assert result["engine"]["settings"]["prompt_format"] == "text"
    assert result["total_output_tokens"] == 8 * 12
    # The decoded prompt re-tokenized by the server, template and all: input tokens are its count.
    records = read_records(tmp_path / "chat_requests.jsonl")
    assert sum(record.prompt_tokens for record in records) == result["engine_prompt_tokens"]


def test_40_requests_at_8_per_second_count_exactly_40_times_32_output_tokens(
    vllm_server, small_vocab_model, tmp_path
) -> None:
    # As a user would check it against `vllm bench serve`: 40 requests at 8 req/s, 32 in / 32 out.
    assert json.loads((small_vocab_model / "config.json").read_text())["vocab_size"] < 1000
    args = ("--num-prompts", "40", "--rate", "8", "--output-len", "32")
    result = run_served(vllm_server, small_vocab_model, tmp_path / "rate8.json", *args)
    assert (result["completed"], result["failed"]) == (40, 0)
    assert result["engine"]["settings"]["token_totals"] == "server usage"
    assert result["total_output_tokens"] == 40 * 32 == result["engine_generation_tokens"]
    for record in read_records(tmp_path / "rate8_requests.jsonl"):
        assert record.output_tokens == 32 == sum(record.chunk_tokens)
        assert record.finish_reason == "length"
    assert result["run"]["token_count_checks"] == {
        "requests_checked": 40,
        "length_limited": 40,
        "length_limited_miscounted": 0,
        "chunk_sum_disagrees_with_total": 0,
    }


def test_a_chat_conversation_sends_its_history_as_messages_and_times_every_turn(
    vllm_server, small_vocab_model, tmp_path
) -> None:
    conversation = ["--chat", "--turns", "3", "--num-prompts", "3", "--rate", "4", "--think-time", "0.05"]
    result = run_served(vllm_server, small_vocab_model, tmp_path / "turns.json", *conversation)
    assert (result["completed"], result["failed"]) == (9, 0)
    assert [row["turn"] for row in result["turns"]] == [1, 2, 3]
    assert all(row["median_ttft_ms"] > 0 for row in result["turns"])
    records = read_records(tmp_path / "turns_requests.jsonl")
    for record in records:
        if record.turn == 1:
            continue
        previous = next(r for r in records if r.session_id == record.session_id and r.turn == record.turn - 1)
        # The server counted the history: the earlier prompt, its 12-token answer and the new message.
        assert record.prompt_tokens >= previous.prompt_tokens + 12 + 1
        assert record.sent_s >= previous.end_s
