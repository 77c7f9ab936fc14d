"""compute_metrics against figures worked out by hand from records with known times.

The run used by most tests (times in seconds; ms figures below):

    A: sent 0.002 (due 0.0, ready 0.002), 1 token at 0.102, 0.122, 0.142, 0.182, end 0.182, 10 → 4 tokens
       TTFT 100, E2EL 180, TPOT (180 − 100) / 3, ITL 20, 20, 40, dispatch lag 2, client queue 0
    B: due 0.5, ready 0.5, sent 0.8; 1 token at 0.85, 2 tokens at 0.95, end 0.95, 20 → 3 tokens
       TTFT 50, E2EL 150, TPOT (150 − 50) / 2 = 50, ITL 100 (one gap: a chunk of 2 is one arrival),
       dispatch lag 0, client queue 300
    C: due 1.0, ready 1.004, sent 1.004; 1 token at 1.204, end 1.204, 30 → 1 token
       TTFT 200, E2EL 200, no TPOT (one token), no ITL, dispatch lag 4, client queue 0
    D: due 1.5, sent 1.5, 1 token at 1.6, then failed: left out of every latency but dispatch/queue
    duration 2.0 s
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from specbench.config import SloConfig
from specbench.errors import SpecbenchError
from specbench.metrics import (
    METRICS,
    compute_metrics,
    distribution_key,
    metric_keys,
    percentile_label,
    spec_for_key,
    summarise,
)
from specbench.metrics.registry import distribution_stats
from specbench.records import RequestRecord

DURATION_S = 2.0
PERCENTILES = [50.0, 90.0, 99.9]
METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "METRICS.md"


def record(
    request_id: int,
    *,
    scheduled: float,
    ready: float,
    sent: float,
    prompt: int,
    chunks: list[tuple[float, int]],
    end: float | None,
    error: str | None = None,
    drafted: int | None = None,
    accepted: int | None = None,
    passes: int | None = None,
) -> RequestRecord:
    return RequestRecord(
        request_id=request_id,
        scheduled_s=scheduled,
        ready_s=ready,
        sent_s=sent,
        prompt_tokens=prompt,
        expected_output_tokens=4,
        chunk_times_s=[t for t, _ in chunks],
        chunk_tokens=[n for _, n in chunks],
        end_s=end,
        output_tokens=0 if error else sum(n for _, n in chunks),
        drafted_tokens=drafted,
        accepted_tokens=accepted,
        target_forward_passes=passes,
        error=error,
    )


def run_records() -> list[RequestRecord]:
    return [
        record(
            0,
            scheduled=0.0,
            ready=0.002,
            sent=0.002,
            prompt=10,
            chunks=[(0.102, 1), (0.122, 1), (0.142, 1), (0.182, 1)],
            end=0.182,
        ),
        record(1, scheduled=0.5, ready=0.5, sent=0.8, prompt=20, chunks=[(0.85, 1), (0.95, 2)], end=0.95),
        record(2, scheduled=1.0, ready=1.004, sent=1.004, prompt=30, chunks=[(1.204, 1)], end=1.204),
        record(3, scheduled=1.5, ready=1.5, sent=1.5, prompt=40, chunks=[(1.6, 1)], end=None, error="boom"),
    ]


def metrics_of(records: list[RequestRecord], slo: SloConfig | None = None, rate: float | None = 2.0) -> dict:
    return compute_metrics(
        records, duration_s=DURATION_S, percentiles=PERCENTILES, slo=slo, requested_rate=rate
    )


def test_counts_and_throughputs_cover_completed_requests_only() -> None:
    m = metrics_of(run_records())
    assert m["completed"] == 3
    assert m["failed"] == 1
    assert m["duration"] == DURATION_S
    assert m["total_input_tokens"] == 10 + 20 + 30
    assert m["total_output_tokens"] == 4 + 3 + 1
    assert m["request_throughput"] == pytest.approx(3 / 2.0)
    assert m["output_throughput"] == pytest.approx(8 / 2.0)
    assert m["total_token_throughput"] == pytest.approx((60 + 8) / 2.0)


def test_ttft_summary_matches_hand_computation() -> None:
    m = metrics_of(run_records())
    # TTFTs 100, 50, 200 (the failed request's 100 is left out).
    mean = (100 + 50 + 200) / 3
    assert m["mean_ttft_ms"] == pytest.approx(mean)
    assert m["median_ttft_ms"] == pytest.approx(100)
    assert m["std_ttft_ms"] == pytest.approx(
        math.sqrt(((100 - mean) ** 2 + (50 - mean) ** 2 + (200 - mean) ** 2) / 3)
    )
    assert m["max_ttft_ms"] == pytest.approx(200)
    # Linear interpolation on sorted [50, 100, 200]: rank p/100 * (3 − 1).
    assert m["p50_ttft_ms"] == pytest.approx(100)
    assert m["p90_ttft_ms"] == pytest.approx(100 + 0.8 * (200 - 100))
    assert m["p99.9_ttft_ms"] == pytest.approx(100 + 0.998 * (200 - 100))


def test_tpot_leaves_out_single_token_outputs() -> None:
    m = metrics_of(run_records())
    # A: (180 − 100) / (4 − 1); B: (150 − 50) / (3 − 1); C has one token and no TPOT.
    tpot_a, tpot_b = 80 / 3, 50.0
    assert m["mean_tpot_ms"] == pytest.approx((tpot_a + tpot_b) / 2)
    assert m["max_tpot_ms"] == pytest.approx(tpot_b)
    assert m["p90_tpot_ms"] == pytest.approx(tpot_a + 0.9 * (tpot_b - tpot_a))


def test_itl_is_every_gap_between_arrivals_across_requests() -> None:
    m = metrics_of(run_records())
    # A: 20, 20, 40; B: 100 (its 2-token chunk is one arrival); C: none.
    assert m["mean_itl_ms"] == pytest.approx((20 + 20 + 40 + 100) / 4)
    assert m["median_itl_ms"] == pytest.approx((20 + 40) / 2)
    assert m["max_itl_ms"] == pytest.approx(100)
    # Sorted [20, 20, 40, 100], rank 0.9 * 3 = 2.7.
    assert m["p90_itl_ms"] == pytest.approx(40 + 0.7 * (100 - 40))


def test_e2el_runs_from_sent_to_end() -> None:
    m = metrics_of(run_records())
    assert m["mean_e2el_ms"] == pytest.approx((180 + 150 + 200) / 3)
    assert m["median_e2el_ms"] == pytest.approx(180)
    assert m["max_e2el_ms"] == pytest.approx(200)


def test_dispatch_lag_and_client_queue_include_every_sent_request() -> None:
    m = metrics_of(run_records())
    # Dispatch lag 2, 0, 4, 0; client queue 0, 300, 0, 0 (the failed request counts: it was sent).
    assert m["mean_dispatch_lag_ms"] == pytest.approx((2 + 0 + 4 + 0) / 4)
    assert m["max_dispatch_lag_ms"] == pytest.approx(4)
    assert m["p90_dispatch_lag_ms"] == pytest.approx(2 + 0.7 * (4 - 2))  # sorted [0, 0, 2, 4], rank 2.7
    assert m["mean_client_queue_ms"] == pytest.approx(300 / 4)
    assert m["median_client_queue_ms"] == pytest.approx(0)
    assert m["max_client_queue_ms"] == pytest.approx(300)


def test_failed_request_changes_no_latency() -> None:
    records = run_records()
    with_failure, without = metrics_of(records), metrics_of(records[:3])
    for family in ("ttft", "tpot", "itl", "e2el"):
        for stat in distribution_stats(PERCENTILES):
            key = distribution_key(stat, family)
            assert with_failure[key] == without[key], key


def test_achieved_rate_counts_gaps_between_sends() -> None:
    m = metrics_of(run_records())
    # Sent at 0.002, 0.8, 1.004, 1.5: three gaps over 1.498 s.
    assert m["achieved_rate"] == pytest.approx(3 / (1.5 - 0.002))
    assert m["requested_rate"] == 2.0


def test_achieved_rate_equals_requested_rate_for_a_kept_constant_schedule() -> None:
    records = [
        record(
            i, scheduled=i / 4, ready=i / 4, sent=i / 4, prompt=1, chunks=[(i / 4 + 0.1, 1)], end=i / 4 + 0.1
        )
        for i in range(5)
    ]
    assert metrics_of(records, rate=4.0)["achieved_rate"] == pytest.approx(4.0)


def test_goodput_counts_requests_within_the_ttft_slo_inclusive() -> None:
    # TTFTs 100, 50, 200: A (exactly at the limit) and B pass; the failed D would pass but is not completed.
    m = metrics_of(run_records(), SloConfig(ttft_ms=100))
    assert m["request_goodput"] == pytest.approx(2 / DURATION_S)


def test_goodput_treats_single_token_tpot_as_zero_like_vllm() -> None:
    # TPOTs 26.7, 50, and C's single token counts as 0: A and C pass.
    m = metrics_of(run_records(), SloConfig(tpot_ms=30))
    assert m["request_goodput"] == pytest.approx(2 / DURATION_S)


def test_goodput_requires_every_set_slo() -> None:
    # ttft ≤ 100 passes A, B; tpot ≤ 30 passes A, C; e2el ≤ 180 passes A, B: only A meets all three.
    m = metrics_of(run_records(), SloConfig(ttft_ms=100, tpot_ms=30, e2el_ms=180))
    assert m["request_goodput"] == pytest.approx(1 / DURATION_S)


@pytest.mark.parametrize("slo", [None, SloConfig()])
def test_goodput_is_none_without_an_slo(slo: SloConfig | None) -> None:
    assert metrics_of(run_records(), slo)["request_goodput"] is None


def test_percentile_keys_are_formatted_as_vllm_does() -> None:
    m = metrics_of(run_records())
    assert {"p50_ttft_ms", "p90_ttft_ms", "p99.9_ttft_ms"} <= m.keys()
    assert not any(re.match(r"p\d+\.0_", key) for key in m)
    assert percentile_label(99.0) == "99"
    assert percentile_label(99.9) == "99.9"


def test_empty_run_gives_zero_counts_and_no_latencies() -> None:
    m = compute_metrics(
        [], duration_s=0.0, percentiles=PERCENTILES, slo=SloConfig(ttft_ms=1), requested_rate=None
    )
    assert m["completed"] == m["failed"] == m["total_output_tokens"] == 0
    assert m["request_throughput"] == m["output_throughput"] == m["request_goodput"] == 0.0
    assert m["achieved_rate"] is None
    assert m["mean_ttft_ms"] is None
    assert m["p99.9_e2el_ms"] is None
    assert not any(key.startswith("spec_") for key in m)


def test_all_failed_run_gives_no_engine_latencies() -> None:
    failed = run_records()[3:]
    m = metrics_of(failed)
    assert (m["completed"], m["failed"]) == (0, 1)
    assert m["mean_ttft_ms"] is None
    assert m["max_itl_ms"] is None
    assert m["mean_dispatch_lag_ms"] == pytest.approx(0.0)


def speculative_records(passes_a: int | None = 3) -> list[RequestRecord]:
    runs = run_records()
    for rec, drafted, accepted, passes in zip(
        runs, (6, 4, 0, 10), (4, 1, 0, 9), (passes_a, 2, 1, 5), strict=True
    ):
        rec.drafted_tokens, rec.accepted_tokens, rec.target_forward_passes = drafted, accepted, passes
    return runs


def test_speculative_sums_over_completed_requests() -> None:
    m = metrics_of(speculative_records())
    # Completed A, B, C drafted 6 + 4 + 0 and accepted 4 + 1 + 0; the failed D is left out.
    assert m["spec_num_draft_tokens"] == 10
    assert m["spec_num_accepted_tokens"] == 5
    assert m["spec_acceptance_rate"] == pytest.approx(5 / 10)
    # Drafts: target passes of the requests that drafted (A 3, B 2); C drafted nothing.
    assert m["spec_num_drafts"] == 3 + 2
    assert m["spec_mean_acceptance_length"] == pytest.approx(1 + 5 / 5)


def test_speculative_drafts_unknown_when_a_drafting_request_lacks_pass_count() -> None:
    m = metrics_of(speculative_records(passes_a=None))
    assert m["spec_num_drafts"] is None
    assert m["spec_mean_acceptance_length"] is None
    assert m["spec_acceptance_rate"] == pytest.approx(5 / 10)


def test_non_speculative_run_has_no_spec_keys() -> None:
    assert not any(key.startswith("spec_") for key in metrics_of(run_records()))


def test_every_reported_key_is_declared_in_the_registry() -> None:
    m = metrics_of(speculative_records(), SloConfig(ttft_ms=100))
    undeclared = [key for key in m if spec_for_key(key) is None]
    assert undeclared == []
    declared = [key for key, _ in metric_keys(PERCENTILES)]
    assert list(m) == [key for key in declared if key in m]


def test_spec_for_key_resolves_distribution_and_engine_keys() -> None:
    assert spec_for_key("p99.9_ttft_ms").name == "ttft"
    assert spec_for_key("max_dispatch_lag_ms").name == "dispatch_lag"
    assert spec_for_key("mean_queue_time_ms").name == "mean_queue_time_ms"
    assert spec_for_key("p99_completed_ms") is None
    assert spec_for_key("engine") is None


def test_registry_names_are_unique() -> None:
    names = [spec.name for spec in METRICS]
    assert len(names) == len(set(names))


def test_summarise_gives_every_statistic_or_none_when_empty() -> None:
    figures = summarise([1.0, 2.0, 3.0, 4.0], [25.0, 99.9])
    assert list(figures) == list(distribution_stats([25.0, 99.9]))
    assert figures["median"] == pytest.approx(2.5)
    assert figures["p25"] == pytest.approx(1 + 0.75 * (2 - 1))  # rank 0.25 * 3 = 0.75
    assert summarise([], [50.0]) == dict.fromkeys(distribution_stats([50.0]))


@pytest.mark.parametrize("bad", [-1.0, 100.5])
def test_percentile_outside_0_to_100_is_a_specbench_error(bad: float) -> None:
    with pytest.raises(SpecbenchError, match="percentiles"):
        compute_metrics(run_records(), duration_s=1.0, percentiles=[bad], slo=None, requested_rate=None)


def test_metrics_doc_describes_every_registered_metric() -> None:
    doc = METRICS_DOC.read_text(encoding="utf-8")
    missing = [spec.name for spec in METRICS if f"`{spec.name}`" not in doc]
    assert missing == []


@pytest.mark.parametrize("duration", [-1.0, math.nan])
def test_duration_must_be_a_finite_non_negative_number(duration: float) -> None:
    with pytest.raises(ValueError, match="duration_s"):
        compute_metrics(run_records(), duration_s=duration, percentiles=[50.0], slo=None, requested_rate=None)
