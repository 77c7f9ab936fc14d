"""Per-window and per-turn figures, against values computed by hand."""

from __future__ import annotations

import pytest

from specbench.metrics.breakdown import turn_figures, window_figures
from specbench.records import RequestRecord


def record(
    request_id: int,
    sent: float,
    first: float,
    end: float,
    tokens: int,
    *,
    turn: int | None = None,
    prompt: int = 10,
    cached: int | None = None,
) -> RequestRecord:
    times = [first + (end - first) * i / (tokens - 1) for i in range(tokens)] if tokens > 1 else [first]
    return RequestRecord(
        request_id=request_id,
        scheduled_s=sent,
        ready_s=sent,
        sent_s=sent,
        prompt_tokens=prompt,
        expected_output_tokens=tokens,
        chunk_times_s=times,
        chunk_tokens=[1] * tokens,
        end_s=end,
        output_tokens=tokens,
        turn=turn,
        session_id=None if turn is None else 0,
        cached_prompt_tokens=cached,
    )


def test_windows_count_what_was_sent_and_streamed_in_each() -> None:
    records = [
        record(0, 1.0, 1.1, 1.5, 5),  # window 0: TTFT 100 ms, TPOT 100 ms
        record(1, 2.0, 2.3, 2.7, 5),  # window 0: TTFT 300 ms
        record(2, 12.0, 12.2, 12.6, 5),  # window 1: TTFT 200 ms
    ]
    rows = window_figures(records, window_s=10.0, duration_s=15.0)
    assert [(r["start_s"], r["end_s"]) for r in rows] == [(0.0, 10.0), (10.0, 15.0)]
    assert [r["sent"] for r in rows] == [2, 1]
    assert rows[0]["sent_rate"] == pytest.approx(0.2) and rows[1]["sent_rate"] == pytest.approx(0.2)
    assert rows[0]["output_throughput"] == pytest.approx(1.0)  # 10 tokens / 10 s
    assert rows[1]["output_throughput"] == pytest.approx(1.0)  # 5 tokens / 5 s (the short last window)
    assert rows[0]["median_ttft_ms"] == pytest.approx(200.0)
    assert rows[1]["p99_ttft_ms"] == pytest.approx(200.0)
    assert rows[0]["median_tpot_ms"] == pytest.approx(100.0)
    assert [r["completed"] for r in rows] == [2, 1]


def test_a_window_with_nothing_sent_has_no_latencies() -> None:
    rows = window_figures([record(0, 0.5, 0.6, 0.7, 2)], window_s=1.0, duration_s=3.0)
    assert rows[2]["sent"] == 0 and rows[2]["median_ttft_ms"] is None and rows[2]["output_throughput"] == 0.0


def test_turn_figures_give_ttft_and_prefix_cache_hits_per_turn() -> None:
    records = [
        record(0, 0.0, 0.1, 0.2, 2, turn=1, prompt=100, cached=0),
        record(1, 1.0, 1.02, 1.2, 2, turn=2, prompt=200, cached=96),
        record(2, 0.0, 0.3, 0.4, 2, turn=1, prompt=100, cached=0),
        record(3, 1.0, 1.04, 1.2, 2, turn=2, prompt=220, cached=112),
    ]
    first, second = turn_figures(records) or []
    assert first["turn"] == 1 and first["requests"] == 2
    assert first["median_ttft_ms"] == pytest.approx(200.0)
    assert first["prefix_cache_hit_rate"] == 0.0
    assert second["median_ttft_ms"] == pytest.approx(30.0)
    assert second["prefix_cache_hit_rate"] == pytest.approx(208 / 420)
    assert second["mean_prompt_tokens"] == 210.0


def test_no_turns_without_sessions_and_no_hit_rate_where_the_engine_does_not_say() -> None:
    assert turn_figures([record(0, 0.0, 0.1, 0.2, 2)]) is None
    (row,) = turn_figures([record(0, 0.0, 0.1, 0.2, 2, turn=1)]) or []
    assert row["prefix_cache_hit_rate"] is None and row["cached_prompt_tokens"] is None
