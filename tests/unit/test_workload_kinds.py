"""Workloads of real services: shared prefixes, trace replay, ramps and conversations (docs/WORKLOADS.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from specbench.config import RunConfig
from specbench.errors import ConfigError
from specbench.workload.builder import build_workload
from specbench.workload.ramps import ramp_arrivals
from specbench.workload.tokenizer import PromptTokenizer
from specbench.workload.traces import MOONCAKE_BLOCK_TOKENS, read_trace


def config(seed: int = 0, **workload: Any) -> RunConfig:
    settings = {"input_len": 12, "output_len": 6, "warmup": 2, **workload}
    return RunConfig(seed=seed, workload=settings)


# shared prefixes


def test_prompts_of_a_group_share_exactly_the_prefix(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(
        config(num_prompts=40, input_len=30, prefix_groups=3, prefix_len=20), tiny_tokenizer
    )
    prompts = [r.prompt_token_ids for r in workload.requests]
    assert all(len(p) == 30 for p in prompts)
    prefixes = {tuple(p[:20]) for p in prompts}
    assert len(prefixes) == 3
    assert len({tuple(p[20:]) for p in prompts}) == 40  # every suffix its own
    assert workload.shares_prefixes
    assert workload.summary["kind"] == "shared-prefix"
    assert workload.summary["prefix_groups"] == 3 and workload.summary["prefix_len"] == 20


def test_warmup_prompts_share_no_measured_prefix(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(
        config(num_prompts=20, input_len=30, prefix_groups=2, prefix_len=20, warmup=4), tiny_tokenizer
    )
    measured = {tuple(r.prompt_token_ids[:20]) for r in workload.requests}
    assert not measured & {tuple(r.prompt_token_ids[:20]) for r in workload.warmup}


def test_shared_prefix_workload_is_reproducible_from_the_seed(tiny_tokenizer: PromptTokenizer) -> None:
    def prompts(seed: int) -> list[list[int]]:
        settings = config(seed, num_prompts=10, input_len=30, prefix_groups=2, prefix_len=10)
        return [r.prompt_token_ids for r in build_workload(settings, tiny_tokenizer).requests]

    assert prompts(1) == prompts(1)
    assert prompts(1) != prompts(2)


def test_prefix_as_long_as_the_prompt_is_refused() -> None:
    with pytest.raises(ValidationError, match="no unique suffix"):
        config(input_len=16, prefix_groups=2, prefix_len=16)


def test_prefix_len_without_groups_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs --prefix-groups"):
        config(prefix_len=8)


def test_plain_workload_does_not_share_prefixes(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(config(num_prompts=4), tiny_tokenizer)
    assert not workload.shares_prefixes
    assert workload.summary["kind"] == "requests" and workload.summary["shares_prefixes"] is False


# trace replay


def write_mooncake(path: Path) -> Path:
    rows = [
        {"timestamp": 0, "input_length": 1000, "output_length": 5, "hash_ids": [0, 1]},
        {"timestamp": 500, "input_length": 700, "output_length": 7, "hash_ids": [0, 2]},
        {"timestamp": 2000, "input_length": 30, "output_length": 3, "hash_ids": [3]},
        {"timestamp": 3000, "input_length": 600, "output_length": 4, "hash_ids": [0, 1]},
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


def test_mooncake_trace_is_replayed_at_its_timestamps_with_its_lengths(
    tmp_path: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    trace = write_mooncake(tmp_path / "mooncake.jsonl")
    workload = build_workload(config(trace=str(trace), warmup=0), tiny_tokenizer)
    assert [r.scheduled_s for r in workload.requests] == [0.0, 0.5, 2.0, 3.0]
    assert [len(r.prompt_token_ids) for r in workload.requests] == [1000, 700, 30, 600]
    assert [r.max_tokens for r in workload.requests] == [5, 7, 3, 4]
    assert workload.summary["trace_format"] == "mooncake" and workload.summary["kind"] == "trace"


def test_mooncake_hash_ids_become_shared_prompt_blocks(
    tmp_path: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    trace = write_mooncake(tmp_path / "mooncake.jsonl")
    first, second, _, fourth = build_workload(config(trace=str(trace)), tiny_tokenizer).requests
    block = MOONCAKE_BLOCK_TOKENS
    assert first.prompt_token_ids[:block] == second.prompt_token_ids[:block]  # hash id 0
    assert first.prompt_token_ids[block:] != second.prompt_token_ids[block:1000]  # 1 against 2
    assert fourth.prompt_token_ids == first.prompt_token_ids[:600]  # 0, 1 again, cut at its length
    assert build_workload(config(trace=str(trace)), tiny_tokenizer).shares_prefixes


def test_trace_speed_and_window_rescale_and_slice_the_timestamps(
    tmp_path: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    trace = write_mooncake(tmp_path / "mooncake.jsonl")
    fast = build_workload(config(trace=str(trace), trace_speed=2.0), tiny_tokenizer)
    assert [r.scheduled_s for r in fast.requests] == [0.0, 0.25, 1.0, 1.5]
    sliced = build_workload(config(trace=str(trace), trace_window="0.5:3"), tiny_tokenizer)
    assert [r.scheduled_s for r in sliced.requests] == [0.0, 1.5]
    assert [r.max_tokens for r in sliced.requests] == [7, 3]


def test_a_rate_scales_the_trace_to_that_mean_rate(tmp_path: Path, tiny_tokenizer: PromptTokenizer) -> None:
    trace = write_mooncake(tmp_path / "mooncake.jsonl")
    workload = build_workload(config(trace=str(trace), rate=10.0), tiny_tokenizer)
    times = [r.scheduled_s for r in workload.requests]
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(10.0)


def test_azure_trace_csv_is_read_from_its_published_columns(
    tmp_path: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    trace = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    trace.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:15:46.6805900,374,44\n"
        "2023-11-16 18:15:50.9951690,396,109\n"
        "2023-11-16 18:15:47.1809370,879,45\n"
    )
    workload = build_workload(config(trace=str(trace)), tiny_tokenizer)
    times = [r.scheduled_s for r in workload.requests]
    assert times == pytest.approx([0.0, 0.500347, 4.314579])  # sorted by time
    assert [len(r.prompt_token_ids) for r in workload.requests] == [374, 879, 396]
    assert [r.max_tokens for r in workload.requests] == [44, 45, 109]
    assert not workload.shares_prefixes and workload.summary["shares_prefixes"] is False


def test_plain_jsonl_trace_uses_seconds(tmp_path: Path, tiny_tokenizer: PromptTokenizer) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        '{"timestamp_s": 1.5, "input_len": 8, "output_len": 2}\n'
        '{"timestamp_s": 2.0, "input_len": 9, "output_len": 3}\n'
    )
    workload = build_workload(config(trace=str(trace)), tiny_tokenizer)
    assert [r.scheduled_s for r in workload.requests] == [0.0, 0.5]
    assert read_trace(str(trace)).format == "jsonl"


def test_trace_replay_is_reproducible_from_the_seed(tmp_path: Path, tiny_tokenizer: PromptTokenizer) -> None:
    trace = write_mooncake(tmp_path / "mooncake.jsonl")

    def prompts(seed: int) -> list[list[int]]:
        return [
            r.prompt_token_ids
            for r in build_workload(config(seed, trace=str(trace)), tiny_tokenizer).requests
        ]

    assert prompts(3) == prompts(3) != prompts(4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"timestamp": 0, "input_length": 0, "output_length": 1}\n', "input_length must be a positive"),
        ('{"timestamp": 0, "output_length": 1}\n', "needs timestamp, input_length, output_length"),
        ("not json\n", "cannot tell the layout"),
    ],
)
def test_bad_trace_lines_are_named_with_their_line(tmp_path: Path, text: str, message: str) -> None:
    trace = tmp_path / "bad.jsonl"
    trace.write_text(text)
    fmt = "auto" if "layout" in message else "mooncake"
    with pytest.raises(ConfigError, match=message):
        read_trace(str(trace), fmt)


def test_trace_window_must_be_start_colon_end() -> None:
    with pytest.raises(ValidationError, match="START:END"):
        config(trace="x.jsonl", trace_window="5-10")


def test_a_sweep_over_a_trace_is_refused() -> None:
    with pytest.raises(ValidationError, match="list rates instead"):
        RunConfig(workload={"trace": "x.jsonl"}, sweep={"points": 3})


# ramps


def test_linear_ramp_rate_rises_from_start_to_end() -> None:
    times = ramp_arrivals(
        shape="linear",
        start=10,
        end=100,
        duration_s=20,
        count=None,
        arrival="poisson",
        burstiness=1.0,
        rng=np.random.default_rng(0),
    )
    first, last = np.sum(times < 4), np.sum(times >= 16)
    # Expected 4 s × (10…28 req/s) ≈ 76 in the first window, 4 s × (82…100) ≈ 364 in the last.
    assert 50 < first < 105 and 320 < last < 410
    assert times.size == pytest.approx(1100, rel=0.1)  # ∫ = 20 × 55
    assert times.max() < 20


def test_exponential_ramp_with_constant_gaps_follows_the_rate_exactly() -> None:
    times = ramp_arrivals(
        shape="exponential",
        start=1,
        end=16,
        duration_s=8,
        count=None,
        arrival="constant",
        burstiness=1.0,
        rng=np.random.default_rng(0),
    )
    # Rate doubles every 2 s: the gap around t shrinks as 1/rate(t).
    gaps = np.diff(times)
    middle = np.searchsorted(times, 4.0)
    assert gaps[middle] == pytest.approx(1 / 4, rel=0.1)
    assert times.size == int(15 / np.log(16) * 8)  # ∫ = 8 × 15 / ln 16 = 43.3 → 43 arrivals


def test_ramp_workload_records_its_shape(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(
        config(num_prompts=0, duration=5.0, rate=2.0, ramp="linear", ramp_to=20.0), tiny_tokenizer
    )
    assert workload.summary["kind"] == "ramp"
    assert workload.summary["ramp_from"] == 2.0 and workload.summary["ramp_to"] == 20.0
    assert max(r.scheduled_s for r in workload.requests) < 5.0


def test_ramp_needs_a_duration_and_an_end_rate() -> None:
    with pytest.raises(ValidationError, match="--duration"):
        config(rate=1.0, ramp="linear", ramp_to=5.0)
    with pytest.raises(ValidationError, match="both --ramp"):
        config(rate=1.0, duration=5.0, ramp="linear")


# conversations


def test_synthetic_sessions_plan_every_turn_with_its_own_id(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(
        config(num_prompts=3, rate=1.0, turns=4, input_len=20, turn_input_len=5, think_time_s=2.0),
        tiny_tokenizer,
    )
    assert len(workload.requests) == 3 and workload.num_turns == 12
    ids = [r.request_id for r in workload.requests]
    assert ids == [0, 4, 8]
    first = workload.requests[0]
    assert len(first.prompt_token_ids) == 20
    assert [t.request_id for t in first.later_turns] == [1, 2, 3]
    assert all(len(t.prompt_token_ids) == 5 for t in first.later_turns)
    assert workload.shares_prefixes
    assert workload.summary["kind"] == "conversations" and workload.summary["num_turns"] == 12


def test_think_times_are_seeded_and_have_the_requested_mean(tiny_tokenizer: PromptTokenizer) -> None:
    def thinks(seed: int) -> list[float]:
        workload = build_workload(config(seed, num_prompts=200, turns=6, think_time_s=3.0), tiny_tokenizer)
        return [t.think_s for r in workload.requests for t in r.later_turns]

    assert thinks(5) == thinks(5) != thinks(6)
    assert np.mean(thinks(5)) == pytest.approx(3.0, rel=0.1)


def test_sharegpt_conversations_keep_their_human_turns_and_reply_lengths(
    tmp_path: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    data = tmp_path / "chats.json"
    data.write_text(
        json.dumps(
            [
                {
                    "conversations": [
                        {"from": "human", "value": "What is a cat?"},
                        {"from": "gpt", "value": "A small animal that purrs."},
                        {"from": "human", "value": "And a dog?"},
                        {"from": "gpt", "value": "A loyal animal."},
                        {"from": "human", "value": "Thanks"},
                        {"from": "gpt", "value": "Welcome"},
                    ]
                }
            ]
        )
    )
    workload = build_workload(
        config(num_prompts=1, dataset=str(data), output_len=None, turns=2), tiny_tokenizer
    )
    (session,) = workload.requests
    assert session.prompt_text == "What is a cat?"
    assert [t.prompt_text for t in session.later_turns] == ["And a dog?"]
    assert session.max_tokens == len(tiny_tokenizer.encode("A small animal that purrs."))
    assert session.later_turns[0].max_tokens == len(tiny_tokenizer.encode("A loyal animal."))


def test_mt_bench_questions_give_two_turn_sessions(tmp_path: Path, tiny_tokenizer: PromptTokenizer) -> None:
    data = tmp_path / "question.jsonl"
    data.write_text(
        json.dumps({"question_id": 81, "category": "writing", "turns": ["Write a poem.", "Now shorter."]})
        + "\n"
    )
    workload = build_workload(config(num_prompts=2, dataset=str(data), turns=2, output_len=8), tiny_tokenizer)
    assert [t.prompt_text for r in workload.requests for t in r.later_turns] == ["Now shorter."] * 2


def test_two_workload_kinds_at_once_are_refused() -> None:
    with pytest.raises(ValidationError, match="pick one"):
        config(turns=2, prefix_groups=2, prefix_len=4)


def test_a_conversations_longest_prompt_is_its_last_turn_with_every_answer(
    tiny_tokenizer: PromptTokenizer,
) -> None:
    workload = build_workload(
        config(num_prompts=1, turns=3, input_len=100, turn_input_len=20, output_len=10), tiny_tokenizer
    )
    assert workload.requests[0].longest_prompt == 100 + 10 + 20 + 10 + 20
