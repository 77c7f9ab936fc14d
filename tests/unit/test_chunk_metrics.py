"""Chunk-aware latency: vLLM's per-chunk ITL stays, beside a per-token ITL and the tokens-per-chunk
distribution (the run of test_metrics.py: B's second chunk carries 2 tokens 100 ms after its first)."""

from __future__ import annotations

import pytest
from test_metrics import metrics_of, record, run_records


def test_per_token_itl_shares_a_chunks_gap_among_its_tokens():
    # A: gaps 20, 20, 40 of one token each; B: one gap of 100 ms bringing 2 tokens → 50, 50.
    metrics = metrics_of(run_records())
    assert metrics["mean_itl_per_token_ms"] == pytest.approx((20 + 20 + 40 + 50 + 50) / 5)
    assert metrics["max_itl_per_token_ms"] == pytest.approx(50)
    # vLLM's ITL is unchanged: one value per gap, 100 for B.
    assert metrics["max_itl_ms"] == pytest.approx(100)


def test_mean_per_token_itl_of_one_request_is_its_tpot():
    r = record(0, scheduled=0, ready=0, sent=0, prompt=5, chunks=[(0.1, 1), (0.13, 3), (0.15, 2)], end=0.15)
    assert sum(r.itl_per_token_ms) / len(r.itl_per_token_ms) == pytest.approx(r.tpot_ms)
    assert r.itl_per_token_ms == pytest.approx([10, 10, 10, 10, 10])


def test_tokens_that_come_with_the_first_one_wait_no_time():
    r = record(0, scheduled=0, ready=0, sent=0, prompt=5, chunks=[(0.1, 3), (0.16, 3)], end=0.16)
    assert r.itl_per_token_ms == pytest.approx([0, 0, 20, 20, 20])


def test_tokens_per_chunk_distribution_covers_every_chunk_of_completed_requests():
    # Chunks: A 1, 1, 1, 1; B 1, 2; C 1 (D failed and is left out).
    metrics = metrics_of(run_records())
    assert metrics["mean_tokens_per_chunk"] == pytest.approx(8 / 7)
    assert metrics["median_tokens_per_chunk"] == 1
    assert metrics["max_tokens_per_chunk"] == 2
    assert metrics["multi_token_chunk_share"] == pytest.approx(1 / 7)
