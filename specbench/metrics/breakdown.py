"""Figures per time window and per conversation turn, from the per-request records alone.

Per window (a ramp's knee shows in one run): requests sent and their rate, output tokens that arrived and
their rate, requests completed, and TTFT / TPOT p50 and p99 of the requests *sent* in the window (a request
belongs to the load it met). Per turn (conversations): how many, their prompt length, TTFT p50 / p99, and
prompt tokens found in the engine's prefix cache where the engine tells per request.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from specbench.records import RequestRecord

Row = dict[str, Any]
# A last window shorter than this share of --window is folded into the one before it.
_SLIVER = 0.25


def _p(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def window_figures(records: Sequence[RequestRecord], *, window_s: float, duration_s: float) -> list[Row]:
    """One row per window of `window_s` seconds from t = 0 to the end of the measured window; the last
    window may be shorter, and its rates are over its own length."""
    if not records or not (duration_s > 0 and window_s > 0):
        return []
    count = max(1, math.ceil(duration_s / window_s - 1e-9))
    if count > 1 and duration_s - (count - 1) * window_s < _SLIVER * window_s:
        count -= 1  # the drain's last moments are no window of their own: the last window takes them
    sent = np.array([r.sent_s for r in records])
    index = np.minimum((sent // window_s).astype(int), count - 1)
    token_times = np.fromiter((t for r in records for t in r.chunk_times_s), dtype=float)
    token_counts = np.fromiter((n for r in records for n in r.chunk_tokens), dtype=float)
    token_window = np.minimum((token_times // window_s).astype(int), count - 1)
    tokens = np.bincount(
        token_window[token_times >= 0], weights=token_counts[token_times >= 0], minlength=count
    )
    ends = [r.end_s for r in records if r.success and r.end_s is not None]
    completed = np.bincount(np.minimum((np.array(ends) // window_s).astype(int), count - 1), minlength=count)
    rows = []
    for k in range(count):
        start = k * window_s
        length = duration_s - start if k == count - 1 else window_s
        mine = [records[i] for i in np.flatnonzero(index == k)]
        done = [r for r in mine if r.success]
        ttft = [r.ttft_ms for r in done if r.ttft_ms is not None]
        tpot = [r.tpot_ms for r in done if r.tpot_ms is not None]
        rows.append(
            {
                "start_s": start,
                "end_s": start + length,
                "sent": len(mine),
                "sent_rate": len(mine) / length if length > 0 else None,
                "completed": int(completed[k]) if ends else 0,
                "output_throughput": float(tokens[k]) / length if length > 0 else None,
                "median_ttft_ms": _p(ttft, 50),
                "p99_ttft_ms": _p(ttft, 99),
                "median_tpot_ms": _p(tpot, 50),
                "p99_tpot_ms": _p(tpot, 99),
            }
        )
    return rows


def turn_figures(records: Sequence[RequestRecord]) -> list[Row] | None:
    """One row per turn number of a conversation workload; None when no record belongs to a session."""
    numbers = sorted({r.turn for r in records if r.turn is not None})
    if not numbers:
        return None
    rows = []
    for number in numbers:
        mine = [r for r in records if r.turn == number]
        done = [r for r in mine if r.success]
        ttft = [r.ttft_ms for r in done if r.ttft_ms is not None]
        told = [r for r in done if r.cached_prompt_tokens is not None]
        prompt = sum(r.prompt_tokens for r in told)
        cached = sum(r.cached_prompt_tokens or 0 for r in told)
        rows.append(
            {
                "turn": number,
                "requests": len(mine),
                "completed": len(done),
                "mean_prompt_tokens": float(np.mean([r.prompt_tokens for r in done])) if done else None,
                "median_ttft_ms": _p(ttft, 50),
                "p99_ttft_ms": _p(ttft, 99),
                "cached_prompt_tokens": cached if told else None,
                "prefix_cache_hit_rate": cached / prompt if told and prompt else None,
            }
        )
    return rows
