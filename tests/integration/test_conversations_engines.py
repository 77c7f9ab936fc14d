"""Conversations on real in-process engines (CPU): every turn carries the history with the answers the model
gave, each turn has its own TTFT, and vLLM says per request how much of the prompt it found cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.runner.record_writer import read_records

VLLM_CPU = ["--kv-cache-space", "1", "--max-model-len", "1024", "--enforce-eager"]
# Two sessions of three turns: 256 tokens first, 128 new tokens a turn, 8 tokens answered each time (long
# enough that whole KV blocks of the history, up to 128 tokens each on CPU, can be found cached).
CONVERSATION = [
    "--turns", "3", "--num-prompts", "2", "--rate", "4", "--input-len", "256", "--turn-input-len", "128",
    "--output-len", "8", "--think-time", "0.05", "--warmup", "1", "--seed", "3",
]  # fmt: skip


def run(out: Path, *args: str) -> dict:
    assert main(["run", *CONVERSATION, "--output", str(out), *args]) == 0
    return json.loads(out.read_text())


def check_history_and_turns(result: dict, requests: Path) -> list:
    records = read_records(requests)
    assert [r.error for r in records] == [None] * 6
    by_turn = {turn: [r for r in records if r.turn == turn] for turn in (1, 2, 3)}
    # The history: earlier prompts and the 8 answer tokens of each earlier turn come first.
    assert {r.prompt_tokens for r in by_turn[1]} == {256}
    assert {r.prompt_tokens for r in by_turn[2]} == {256 + 8 + 128}
    assert {r.prompt_tokens for r in by_turn[3]} == {256 + 8 + 128 + 8 + 128}
    for later in (2, 3):
        for record in by_turn[later]:
            previous = next(r for r in by_turn[later - 1] if r.session_id == record.session_id)
            assert record.scheduled_s == pytest.approx(previous.end_s + 0.05, abs=0.2)  # think time seeded
            assert record.sent_s >= previous.end_s
    assert [row["turn"] for row in result["turns"]] == [1, 2, 3]
    assert all(row["median_ttft_ms"] > 0 for row in result["turns"])
    assert result["workload"]["kind"] == "conversations" and result["workload"]["shares_prefixes"] is True
    return records


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_conversation_carries_history_and_finds_it_in_the_prefix_cache(tmp_path: Path) -> None:
    pytest.importorskip("vllm")
    out = tmp_path / "vllm.json"
    result = run(out, "--engine", "vllm", *VLLM_CPU, "--enable-prefix-caching")
    records = check_history_and_turns(result, tmp_path / "vllm_requests.jsonl")
    first, second, third = result["turns"]
    # Later turns find their history cached (whole blocks of it); first turns find nothing of theirs.
    assert first["prefix_cache_hit_rate"] == 0.0
    assert second["prefix_cache_hit_rate"] > 0.5 and third["prefix_cache_hit_rate"] > 0.5
    assert result["prefix_cache_hits"] > 0  # vLLM's own counters agree
    assert all(r.cached_prompt_tokens is not None for r in records)


def test_transformers_conversation_carries_the_answers_it_gave(tmp_path: Path) -> None:
    out = tmp_path / "transformers.json"
    result = run(out, "--engine", "transformers", "--device", "cpu")
    check_history_and_turns(result, tmp_path / "transformers_requests.jsonl")
    assert result["turns"][1]["prefix_cache_hit_rate"] is None  # Transformers keeps no prefix cache
