from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from specbench.config import RunConfig
from specbench.errors import ConfigError
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import PromptTokenizer
from specbench.workload.types import Workload


def config(seed: int = 0, **workload: Any) -> RunConfig:
    settings = {"input_len": 12, "output_len": 6, "warmup": 2, **workload}
    return RunConfig(seed=seed, workload=settings)


def prompts_of(workload: Workload) -> list[list[int]]:
    return [r.prompt_token_ids for r in workload.requests]


def test_measured_requests_are_numbered_from_zero_and_warmups_negative(
    tiny_tokenizer: PromptTokenizer,
) -> None:
    workload = build_workload(config(num_prompts=10, warmup=3, rate=5.0), tiny_tokenizer)
    assert [r.request_id for r in workload.requests] == list(range(10))
    assert [r.request_id for r in workload.warmup] == [-1, -2, -3]
    assert all(r.scheduled_s == 0.0 for r in workload.warmup)


def test_count_mode_schedules_every_request_in_order(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(config(num_prompts=25, rate=50.0), tiny_tokenizer)
    times = [r.scheduled_s for r in workload.requests]
    assert len(times) == 25
    assert times == sorted(times)
    assert times[0] > 0.0
    assert workload.send_window_s is None


def test_requests_carry_the_configured_lengths(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(config(num_prompts=4, input_len=21, output_len=9), tiny_tokenizer)
    for request in workload.warmup + workload.requests:
        assert len(request.prompt_token_ids) == 21
        assert request.max_tokens == 9


def test_rate_mode_sends_within_the_duration(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(config(num_prompts=0, duration=4.0, rate=20.0), tiny_tokenizer)
    assert workload.send_window_s == 4.0
    assert workload.requests
    assert max(r.scheduled_s for r in workload.requests) < 4.0
    assert workload.summary["mode"] == "rate"


def test_duration_caps_count_mode(tiny_tokenizer: PromptTokenizer) -> None:
    workload = build_workload(
        config(num_prompts=100, duration=1.0, rate=10.0, arrival="constant"), tiny_tokenizer
    )
    assert workload.send_window_s == 1.0
    assert all(r.scheduled_s < 1.0 for r in workload.requests)
    assert len(workload.requests) < 100


def test_rate_mode_with_no_arrival_in_the_window_is_a_config_error(tiny_tokenizer: PromptTokenizer) -> None:
    with pytest.raises(ConfigError, match="--duration"):
        build_workload(config(num_prompts=0, duration=0.001, rate=0.001, arrival="constant"), tiny_tokenizer)


def test_same_seed_gives_the_same_workload(tiny_tokenizer: PromptTokenizer) -> None:
    first = build_workload(config(seed=5, num_prompts=8, rate=3.0), tiny_tokenizer)
    second = build_workload(config(seed=5, num_prompts=8, rate=3.0), tiny_tokenizer)
    assert first == second


def test_different_seed_changes_prompts_and_schedule(tiny_tokenizer: PromptTokenizer) -> None:
    first = build_workload(config(seed=5, num_prompts=8, rate=3.0), tiny_tokenizer)
    second = build_workload(config(seed=6, num_prompts=8, rate=3.0), tiny_tokenizer)
    assert prompts_of(first) != prompts_of(second)
    assert [r.scheduled_s for r in first.requests] != [r.scheduled_s for r in second.requests]


def test_changing_the_rate_or_arrival_process_keeps_the_prompts(tiny_tokenizer: PromptTokenizer) -> None:
    base = build_workload(config(num_prompts=8, rate=2.0), tiny_tokenizer)
    for change in ({"rate": 9.0}, {"rate": math.inf}, {"burstiness": 0.3}, {"arrival": "constant"}):
        other = build_workload(config(num_prompts=8, **{"rate": 2.0, **change}), tiny_tokenizer)
        assert prompts_of(other) == prompts_of(base)


def test_changing_the_prompts_keeps_the_schedule(tiny_tokenizer: PromptTokenizer) -> None:
    base = build_workload(config(num_prompts=8, rate=2.0), tiny_tokenizer)
    other = build_workload(config(num_prompts=8, rate=2.0, input_len=40, warmup=5), tiny_tokenizer)
    assert [r.scheduled_s for r in other.requests] == [r.scheduled_s for r in base.requests]


def test_changing_the_warmup_count_keeps_the_measured_prompts(tiny_tokenizer: PromptTokenizer) -> None:
    base = build_workload(config(num_prompts=6, warmup=1), tiny_tokenizer)
    other = build_workload(config(num_prompts=6, warmup=4), tiny_tokenizer)
    assert prompts_of(other) == prompts_of(base)
    assert len(other.warmup) == 4


def test_output_lengths_come_from_the_dataset_when_unset(
    data_dir: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    path = data_dir / "sample.jsonl"
    lengths = {
        r.get("prompt", r.get("text")): r.get("output_len", r.get("max_tokens"))
        for r in map(json.loads, path.read_text().splitlines())
    }
    workload = build_workload(config(dataset=str(path), output_len=None, num_prompts=12), tiny_tokenizer)
    for request in workload.warmup + workload.requests:
        assert request.max_tokens == lengths[request.prompt_text]
        assert request.prompt_token_ids == tiny_tokenizer.encode(request.prompt_text)


def test_summary_describes_the_planned_workload(tiny_tokenizer: PromptTokenizer) -> None:
    cfg = config(num_prompts=9, warmup=2, rate=4.0, burstiness=0.5, max_concurrency=3)
    workload = build_workload(cfg, tiny_tokenizer)
    summary = workload.summary
    input_lens = np.array([len(r.prompt_token_ids) for r in workload.requests])
    output_lens = np.array([r.max_tokens for r in workload.requests])
    assert summary["num_requests"] == len(workload.requests)
    assert summary["num_warmup"] == len(workload.warmup)
    assert summary["dataset"] == cfg.workload.dataset
    assert summary["dataset_format"] == "random"
    assert summary["request_rate"] == cfg.workload.rate
    assert summary["burstiness"] == cfg.workload.burstiness
    assert summary["max_concurrency"] == cfg.workload.max_concurrency
    assert summary["total_input_tokens"] == input_lens.sum()
    assert summary["total_output_tokens"] == output_lens.sum()
    assert summary["input_len_mean"] == input_lens.mean()
    assert summary["output_len_max"] == output_lens.max()
    assert summary["last_arrival_s"] == workload.requests[-1].scheduled_s
    json.dumps(summary, allow_nan=False)  # the result file is strict JSON


def test_summary_writes_an_infinite_rate_as_text(tiny_tokenizer: PromptTokenizer) -> None:
    summary = build_workload(config(num_prompts=3, rate=math.inf), tiny_tokenizer).summary
    assert summary["request_rate"] == "inf"
    json.dumps(summary, allow_nan=False)


def test_a_later_point_of_a_session_sends_no_prompt_an_earlier_point_sent(
    tiny_tokenizer: PromptTokenizer,
) -> None:
    first = build_workload(config(num_prompts=16, rate=4.0), tiny_tokenizer)
    drawn = len(first.warmup) + len(first.requests)
    second = build_workload(config(num_prompts=16, rate=8.0), tiny_tokenizer, earlier=drawn)
    third = build_workload(config(num_prompts=16, rate=8.0), tiny_tokenizer, earlier=2 * drawn)
    sent = [{tuple(r.prompt_token_ids) for r in w.warmup + w.requests} for w in (first, second, third)]
    assert not sent[0] & sent[1] and not sent[0] & sent[2] and not sent[1] & sent[2]
    # The schedule is still the run's: a point at rate R has the arrivals `run --rate R` has.
    alone = build_workload(config(num_prompts=16, rate=8.0), tiny_tokenizer)
    assert [r.scheduled_s for r in second.requests] == [r.scheduled_s for r in alone.requests]
    assert second.summary["prompts_drawn_before"] == drawn and second.summary["shared_prefixes"] is False


def test_the_first_point_of_a_session_is_exactly_a_single_run(tiny_tokenizer: PromptTokenizer) -> None:
    single = build_workload(config(num_prompts=8, rate=3.0), tiny_tokenizer)
    first = build_workload(config(num_prompts=8, rate=3.0), tiny_tokenizer, earlier=0)
    assert prompts_of(first) == prompts_of(single)


def test_a_later_point_reads_a_dataset_on_past_the_earlier_points(
    data_dir: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    path = str(data_dir / "sample.jsonl")  # 8 prompts
    first = build_workload(config(dataset=path, output_len=4, num_prompts=4, warmup=0), tiny_tokenizer)
    second = build_workload(
        config(dataset=path, output_len=4, num_prompts=4, warmup=0), tiny_tokenizer, earlier=4
    )
    texts = [{r.prompt_text for r in w.requests} for w in (first, second)]
    assert len(texts[0]) == len(texts[1]) == 4 and not texts[0] & texts[1]
