"""Reasoning models: time to first answer token and reasoning vs answer tokens, from the records."""

from __future__ import annotations

import pytest

from specbench.metrics import compute_metrics
from specbench.records import RequestRecord


def record(request_id: int, first_answer: float | None, reasoning: int | None) -> RequestRecord:
    return RequestRecord(
        request_id=request_id,
        scheduled_s=0.0,
        ready_s=0.0,
        sent_s=0.0,
        prompt_tokens=8,
        expected_output_tokens=10,
        chunk_times_s=[0.1 * (k + 1) for k in range(10)],
        chunk_tokens=[1] * 10,
        end_s=1.0,
        output_tokens=10,
        first_answer_s=first_answer,
        reasoning_tokens=reasoning,
    )


def metrics(records: list[RequestRecord]) -> dict:
    return compute_metrics(records, duration_s=1.0, percentiles=[99.0], slo=None, requested_rate=None)


def test_ttfat_counts_from_sent_to_the_first_answer_token_after_reasoning() -> None:
    figures = metrics([record(0, 0.5, 4), record(1, 0.7, 6)])
    assert figures["median_ttft_ms"] == pytest.approx(100.0)  # the first token of any kind
    assert figures["median_ttfat_ms"] == pytest.approx(600.0)
    assert figures["total_reasoning_tokens"] == 10
    assert figures["total_answer_tokens"] == 10


def test_runs_that_measured_no_reasoning_carry_no_reasoning_keys() -> None:
    figures = metrics([record(0, None, None)])
    assert not [key for key in figures if "ttfat" in key or "reasoning" in key or "answer" in key]
