"""Each metric's formula lives on its registry entry: adding a figure computed from records is one entry."""

from __future__ import annotations

import pytest

from specbench.metrics import compute, registry
from specbench.metrics.compute import compute_metrics, distribution_values
from specbench.metrics.formulas import RunRecords
from specbench.metrics.registry import METRICS, MetricSpec
from specbench.records import RequestRecord


def record(
    request_id: int, *, ttft_ms: float, output_tokens: int = 3, error: str | None = None
) -> RequestRecord:
    sent = float(request_id)
    times = [sent + ttft_ms / 1000 + 0.01 * i for i in range(output_tokens)]
    return RequestRecord(
        request_id=request_id,
        scheduled_s=sent,
        ready_s=sent,
        sent_s=sent,
        end_s=times[-1] if times else sent,
        prompt_tokens=4,
        expected_output_tokens=output_tokens,
        output_tokens=output_tokens if error is None else 0,
        chunk_times_s=times if error is None else [],
        chunk_tokens=[1] * output_tokens if error is None else [],
        error=error,
    )


def test_every_figure_the_records_give_has_its_formula_on_its_entry() -> None:
    from_records = [spec.name for spec in METRICS if "records" in spec.sources]
    assert from_records and all(
        (spec.values is not None) == spec.distribution and (spec.values or spec.compute)
        for spec in METRICS
        if spec.name in from_records
    )


def test_a_new_entry_is_computed_from_its_own_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = (
        MetricSpec("slowest_prompt", "tokens", None, "d", "Slowest prompt", compute=lambda run: 42),
        MetricSpec(
            "first_gap", "ms", "lower", "d", "First gap", distribution=True, values=lambda run: [1.0, 3.0]
        ),
    )
    monkeypatch.setattr(registry, "METRICS", (*METRICS, *extra))
    monkeypatch.setattr(compute, "METRICS", (*METRICS, *extra))
    figures = compute_metrics(
        [record(0, ttft_ms=10)], duration_s=1.0, percentiles=[50.0], slo=None, requested_rate=None
    )
    assert figures["slowest_prompt"] == 42
    assert figures["mean_first_gap_ms"] == 2.0 and figures["p50_first_gap_ms"] == 2.0


def test_engine_latencies_come_from_completed_requests_and_client_figures_from_all() -> None:
    records = [record(0, ttft_ms=10), record(1, ttft_ms=30, error="boom")]
    assert distribution_values("ttft", records) == pytest.approx([10.0])
    assert len(distribution_values("dispatch_lag", records)) == 2
    with pytest.raises(KeyError):
        distribution_values("output_throughput", records)


def test_speculative_figures_appear_only_where_requests_drafted() -> None:
    plain = RunRecords.of([record(0, ttft_ms=10)])
    spec = next(spec for spec in METRICS if spec.name == "spec_acceptance_rate")
    assert spec.when is not None and not spec.when(plain)
