"""What the plots draw, from hand-made records and results: CDFs, rates over time, in flight, GPU, sweeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specbench.compare import compare_runs
from specbench.compare.series import gpu_timelines, in_flight, latency_cdf, lone_points, output_rate, sweeps
from specbench.metrics import compute_metrics
from specbench.records import RequestRecord
from specbench.results.gpus import GpuDevice, GpuSection, GpuTimeline
from specbench.results.readers import LoadedRun
from tests.results_factory import make_result


def record(i: int, sent: float, ttft: float, gap: float, tokens: int) -> RequestRecord:
    chunks = [sent + ttft + k * gap for k in range(tokens)]
    return RequestRecord(
        request_id=i,
        scheduled_s=sent,
        ready_s=sent,
        sent_s=sent,
        prompt_tokens=8,
        expected_output_tokens=tokens,
        chunk_times_s=chunks,
        chunk_tokens=[1] * tokens,
        end_s=chunks[-1],
        output_tokens=tokens,
    )


RECORDS = [record(i, sent=i * 0.5, ttft=0.1 * (i + 1), gap=0.02, tokens=5) for i in range(4)]


def test_cdf_holds_exactly_the_values_the_statistics_summarise() -> None:
    metrics = compute_metrics(RECORDS, duration_s=2.0, percentiles=[50], slo=None, requested_rate=2.0)
    for name in ("ttft", "tpot", "itl", "e2el"):
        cdf = latency_cdf(RECORDS, name)
        assert cdf.values.mean() == pytest.approx(metrics[f"mean_{name}_ms"])
        assert cdf.fractions[-1] == 1.0 and np.all(np.diff(cdf.values) >= 0)
    assert latency_cdf(RECORDS, "itl").values.size == 4 * 4  # every gap


def test_output_rate_over_time_accounts_for_every_token() -> None:
    rate = output_rate(RECORDS)
    width = rate.times_s[1] - rate.times_s[0]
    assert (rate.values * width).sum() == pytest.approx(20)


def test_in_flight_counts_requests_between_sent_and_end() -> None:
    overlapping = [record(0, 0.0, 0.1, 0.1, 5), record(1, 0.2, 0.1, 0.1, 5), record(2, 2.0, 0.1, 0.1, 2)]
    flight = in_flight(overlapping)
    assert flight.values.max() == 2
    assert flight.values[-1] == 0
    at_one_and_half = flight.values[np.searchsorted(flight.times_s, 1.5, side="right") - 1]
    assert at_one_and_half == 0


def test_gpu_timeline_is_read_from_the_telemetry_sections_columns() -> None:
    """The shape specbench's NVML sampler writes: columns[name][gpu][sample], t_s from the window start."""
    result = make_result()
    result.gpus = GpuSection(
        interval_s=0.5,
        devices=[
            GpuDevice(index=3, uuid="GPU-3", name="NVIDIA H200"),
            GpuDevice(index=5, uuid="GPU-5", name="NVIDIA H200"),
        ],
        timeline=GpuTimeline(
            t_s=[-0.5, 0.0, 0.5],
            columns={
                "gpu_utilization_pct": [[0, 60, 99], [1, 2, 3]],
                "memory_utilization_pct": [[0, 10, 20], [0, 0, 0]],
                "power_w": [[80.0, None, 650.0], [90.0, 95.0, 99.0]],
            },
        ),
    )
    first, second = gpu_timelines(result)
    assert (first.name, second.name) == ("GPU 3 (NVIDIA H200)", "GPU 5 (NVIDIA H200)")
    assert first.utilization_pct is not None and list(first.utilization_pct.values) == [0, 60, 99]
    assert first.power_w is not None and list(first.power_w.times_s) == [
        -0.5,
        0.5,
    ]  # a failed reading is skipped
    assert second.power_w is not None and list(second.power_w.values) == [90.0, 95.0, 99.0]


def test_a_run_without_gpu_telemetry_has_no_gpu_timeline() -> None:
    result = make_result()
    assert gpu_timelines(result) == []
    result.gpus = GpuSection(interval_s=0.25, devices=[GpuDevice(index=0, uuid="GPU-0", name="NVIDIA H200")])
    assert gpu_timelines(result) == []


def test_runs_of_one_setup_at_several_rates_make_one_curve_in_order_of_load() -> None:
    runs = [
        LoadedRun(
            Path(f"r{rate}.json"), make_result(engine="vllm", rate=rate, output_throughput=100.0 * rate)
        )
        for rate in (8.0, 2.0, 4.0)
    ] + [LoadedRun(Path("t.json"), make_result(engine="transformers", rate=4.0))]
    (curve,) = sweeps(compare_runs(runs).runs, ["median_ttft_ms"])
    label, points = curve
    assert label == "vllm · target-ar"
    assert [p.label for p in points] == ["2 req/s", "4 req/s", "8 req/s"]
    assert [p.throughput for p in points] == [200.0, 400.0, 800.0]


def test_runs_of_separate_invocations_are_never_joined_and_stand_alone_as_points() -> None:
    first = [make_result(engine="vllm", rate=rate, output_throughput=100.0 * rate) for rate in (2.0, 4.0)]
    other = make_result(engine="vllm", rate=8.0, output_throughput=800.0)
    other.run.id = "run-2"  # another invocation of the same setup
    runs = [LoadedRun(Path(f"r{i}.json"), result) for i, result in enumerate([*first, other])]
    compared = compare_runs(runs).runs
    (curve,) = sweeps(compared, ["median_ttft_ms"])
    assert [p.label for p in curve[1]] == ["2 req/s", "4 req/s"]
    ((label, point),) = lone_points(compared, ["median_ttft_ms"])
    assert point.label == "8 req/s" and label == compared[2].label
