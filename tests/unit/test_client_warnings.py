"""The run warns when the client's own lateness changed what was measured — and only then."""

from __future__ import annotations

import math

from specbench.records import RequestRecord
from specbench.session.point import client_warnings


def records(gap_s: float, lag_s: float, count: int = 11) -> list[RequestRecord]:
    """Requests scheduled every gap_s, each ready lag_s * i late (a client falling further behind)."""
    return [
        RequestRecord(
            request_id=i,
            scheduled_s=i * gap_s,
            ready_s=i * gap_s + i * lag_s,
            sent_s=i * gap_s + i * lag_s,
            prompt_tokens=1,
            expected_output_tokens=1,
        )
        for i in range(count)
    ]


def test_a_client_that_keeps_its_schedule_gives_no_warning():
    figures = {"p99_dispatch_lag_ms": 5.7, "median_ttft_ms": 333.0}  # the 2-core smoke run of issue 15
    assert client_warnings(records(0.125, 0.0), figures, rate=8.0) == []


def test_sending_slower_than_the_schedule_warns_with_both_rates():
    (warning,) = client_warnings(records(0.01, 0.002), {}, rate=100.0)
    assert "sent at 83.3 req/s where the schedule asked for 100" in warning


def test_lag_that_is_a_visible_share_of_ttft_warns():
    (warning,) = client_warnings(
        records(0.1, 0.0), {"p99_dispatch_lag_ms": 3.0, "median_ttft_ms": 20.0}, rate=10.0
    )
    assert "15% of the median TTFT" in warning


def test_lag_below_timer_granularity_or_beside_the_echo_engine_does_not_warn():
    figures = {"p99_dispatch_lag_ms": 0.9, "median_ttft_ms": 0.01}
    assert client_warnings(records(0.1, 0.0), figures, rate=10.0) == []
    figures = {"p99_dispatch_lag_ms": 3.0, "median_ttft_ms": 0.01}
    assert client_warnings(records(0.1, 0.0), figures, rate=10.0, beside_inference=False) == []


def test_a_burst_sent_all_at_once_has_no_schedule_to_fall_behind():
    assert (
        client_warnings(
            records(0.0, 0.01), {"p99_dispatch_lag_ms": 90.0, "median_ttft_ms": 1.0}, rate=math.inf
        )
        == []
    )
