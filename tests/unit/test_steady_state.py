"""When a probe's load became stationary, from its records alone (specbench/session/steady_state.py)."""

from __future__ import annotations

import numpy as np
import pytest

from specbench.config import SloConfig
from specbench.records import RequestRecord
from specbench.session.steady_state import MAX_TRANSIENT_SHARE, in_flight, steady_state, transient_end_s
from tests.queue_reports import one_token_record


def record(request_id: int, sent_s: float, latency_s: float) -> RequestRecord:
    """A one-token request sent at `sent_s` that ends `latency_s` later (TTFT = E2EL)."""
    return one_token_record(request_id, sent_s, sent_s + latency_s)


def test_in_flight_counts_requests_sent_and_not_yet_ended():
    records = [record(0, 0.0, 1.0), record(1, 0.5, 1.0), record(2, 2.0, 0.5)]
    counts = in_flight(records, np.array([0.25, 0.75, 1.25, 1.75, 2.25, 3.0]))
    assert counts.tolist() == [1, 2, 1, 0, 1, 0]


def test_the_transient_ends_when_the_queue_reaches_its_steady_level():
    # 20 req/s; latency climbs from 0.1 s to 1 s over the first 4 s (the queue fills), then holds.
    rate, window = 20.0, 20.0
    records = [record(i, i / rate, 0.1 + 0.9 * min(i / rate / 4.0, 1.0)) for i in range(int(rate * window))]
    transient = transient_end_s(records, window_s=window, smooth_s=1.0)
    # Full one latency (1 s) after the latency stopped rising: the requests in flight then are all steady.
    assert 4.0 <= transient <= 6.0


def test_the_transient_is_at_least_the_one_known_in_advance_and_at_most_half_the_window():
    steady = [record(i, i / 10, 0.1) for i in range(200)]
    assert transient_end_s(steady, window_s=20.0, smooth_s=0.1, at_least_s=2.5) == pytest.approx(2.5)
    # A queue that grows without end never reaches its second-half level early.
    growing = [record(i, i / 10, 0.1 + i / 10) for i in range(200)]
    assert transient_end_s(growing, window_s=20.0, smooth_s=0.1) <= MAX_TRANSIENT_SHARE * 20.0


def test_a_latency_that_grows_by_a_tenth_of_its_limit_between_the_halves_is_a_trend():
    slo = SloConfig(ttft_ms=300.0)
    rising = [record(i, i / 10, 0.1 + i / 1000) for i in range(200)]  # 100 ms → 300 ms, all within 300
    state = steady_state(rising, window_s=20.0, slo=slo)
    assert not state.stationary and "TTFT" in state.trends[0]
    flat = [record(i, i / 10, 0.1 + (i % 7) / 100) for i in range(200)]
    assert steady_state(flat, window_s=20.0, slo=slo).stationary
    # Without an SLO on that latency nothing is judged a trend.
    assert steady_state(rising, window_s=20.0, slo=SloConfig(tpot_ms=10.0)).stationary


def test_the_halves_report_their_requests_in_flight():
    records = [record(i, i / 10, 0.3) for i in range(200)]
    state = steady_state(records, window_s=20.0, slo=SloConfig(ttft_ms=1000.0))
    assert state.first.requests + state.second.requests == sum(
        r.scheduled_s >= state.transient_s for r in records
    )
    assert state.first.in_flight == pytest.approx(3.0, abs=0.3)
    assert state.second.in_flight == pytest.approx(3.0, abs=0.3)
