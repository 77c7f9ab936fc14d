"""A workload that cannot fit in memory is refused before any of it is built, with the estimate."""

from __future__ import annotations

import pytest

from specbench.config import WorkloadConfig
from specbench.errors import ConfigError
from specbench.workload.budget import (
    BYTES_PER_OUTPUT_TOKEN,
    BYTES_PER_PROMPT_TOKEN,
    BYTES_PER_REQUEST,
    GIB,
    available_memory,
    check_fits,
    estimate,
)


def test_estimate_counts_warmup_prompt_and_output_tokens_per_request():
    workload = WorkloadConfig(num_prompts=10, warmup=2, input_len=100, output_len=20)
    size = estimate(workload)
    per_request = 100 * BYTES_PER_PROMPT_TOKEN + 20 * BYTES_PER_OUTPUT_TOKEN + BYTES_PER_REQUEST
    assert size.requests == 12 and size.bytes == 12 * per_request


def test_rate_mode_counts_the_arrivals_expected_in_the_window():
    size = estimate(WorkloadConfig(num_prompts=0, rate=1000, duration=10, warmup=0))
    assert size.requests == 11_016  # 10 s × 1000/s, with arrivals.py's 10 % and 16 of headroom


def test_a_workload_beyond_the_available_memory_is_refused_with_the_estimate():
    workload = WorkloadConfig(num_prompts=5, input_len=100_000_000, warmup=0)
    with pytest.raises(ConfigError) as refused:
        check_fits(workload, available=22 * GIB)
    message = str(refused.value)
    assert message.startswith(
        "this workload needs ~30 GiB of memory (5 requests × 100,000,000 prompt tokens)"
    )
    assert "this machine has 22 GiB available" in message and "lower --num-prompts" in message


def test_a_workload_that_fits_passes():
    check_fits(WorkloadConfig(num_prompts=1000, input_len=1024), available=1 * GIB)


def test_a_dataset_workloads_prompts_are_not_counted_per_request():
    workload = WorkloadConfig(dataset="x.jsonl", num_prompts=1000, input_len=100_000_000, output_len=8)
    assert estimate(workload).bytes == 1002 * (8 * BYTES_PER_OUTPUT_TOKEN + BYTES_PER_REQUEST)


def test_available_memory_reads_memavailable(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  32000000 kB\nMemAvailable:  2048 kB\n")
    assert available_memory(meminfo) == 2048 * 1024
