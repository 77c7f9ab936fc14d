"""The measured window's figures from hand-made samples: means and maxima, energy from the counter or from
integrated power, the timeline, and the run-level GPU figures."""

import numpy as np
import pytest

from specbench.metrics import compute_metrics
from specbench.records import RequestRecord
from specbench.results.gpus import DecodeRoofline, GpuDevice, GpuSection
from specbench.telemetry.figures import gpu_figures
from specbench.telemetry.readings import GpuReading
from specbench.telemetry.window import (
    counter_energy_j,
    energy_source,
    gpu_window,
    integrated_energy_j,
    timeline,
)

TIMES = np.array([0.0, 1.0, 2.0, 3.0])


def test_counter_energy_is_interpolated_to_the_window_edges():
    counter = [1000.0, 1100.0, 1200.0, 1300.0]  # 100 W
    assert counter_energy_j(TIMES, counter, 0.5, 2.5) == pytest.approx(200.0)


def test_counter_energy_needs_readings_on_both_sides_of_the_window():
    assert counter_energy_j(TIMES, [1000.0, 1100.0, 1200.0, None], 0.5, 2.5) is None
    assert counter_energy_j(TIMES, [None, 1100.0, 1200.0, 1300.0], 0.5, 2.5) is None


def test_integrated_energy_is_the_trapezoid_of_power_clipped_to_the_window():
    power = [100.0, 300.0, 300.0, 100.0]
    # Edges: 200 W at 0.5 and at 2.5; trapezoids 0.5–1 (125 J), 1–2 (300 J), 2–2.5 (125 J).
    assert integrated_energy_j(TIMES, power, 0.5, 2.5) == pytest.approx(550.0)


def test_integrated_energy_skips_missing_power_readings():
    assert integrated_energy_j(TIMES, [100.0, None, 100.0, 100.0], 0.0, 3.0) == pytest.approx(300.0)
    assert integrated_energy_j(TIMES, [None, None, None, 100.0], 0.0, 3.0) is None


def readings(**columns: list) -> list[GpuReading]:
    return [
        GpuReading(**dict(zip(columns, values, strict=True)))
        for values in zip(*columns.values(), strict=True)
    ]


def test_window_stats_count_only_the_samples_inside_the_window():
    rows = readings(gpu_utilization_pct=[0, 80, 100, 0], power_w=[70.0, 400.0, 500.0, 70.0])
    window = gpu_window(3, TIMES, rows, 1.0, 2.0)
    assert window.index == 3 and window.samples == 2
    assert (window.gpu_utilization_pct.mean, window.gpu_utilization_pct.max) == (90.0, 100.0)
    assert (window.power_w.mean, window.power_w.max) == (450.0, 500.0)
    assert window.temperature_c.mean is None  # never reported


def test_window_energy_prefers_the_counter_and_falls_back_to_integrated_power():
    with_counter = readings(power_w=[100.0] * 4, energy_j=[0.0, 150.0, 300.0, 450.0])
    without = readings(power_w=[100.0] * 4, energy_j=[None] * 4)
    counted, integrated = (
        gpu_window(0, TIMES, with_counter, 0.0, 2.0),
        gpu_window(0, TIMES, without, 0.0, 2.0),
    )
    assert (counted.energy_j, counted.energy_source) == (pytest.approx(300.0), "nvml_energy_counter")
    assert (integrated.energy_j, integrated.energy_source) == (pytest.approx(200.0), "integrated_power")
    assert energy_source([counted, counted]) == "nvml_energy_counter"
    assert energy_source([counted, integrated]) == "mixed"


def test_clock_event_reasons_are_the_share_of_window_samples_with_each_reason():
    rows = readings(clock_event_reasons=[0x4, 0x4, 0x0, 0x4 | 0x40])
    window = gpu_window(0, TIMES, rows, 0.0, 3.0)
    assert window.clock_event_reasons == {"sw_power_cap": 0.75, "hw_thermal_slowdown": 0.25}


def test_timeline_is_columnar_per_gpu_with_times_from_the_window_start():
    rounds = [(GpuReading(power_w=100.12345), GpuReading(power_w=200.0)) for _ in TIMES]
    line = timeline(TIMES + 10.0, rounds, origin=11.0)
    assert line.t_s == [-1.0, 0.0, 1.0, 2.0]
    assert line.columns["power_w"] == [[100.123] * 4, [200.0] * 4]
    assert line.columns["temperature_c"] == [[None] * 4, [None] * 4]


def record(request_id: int, output_tokens: int, end_s: float, error: str | None = None) -> RequestRecord:
    record = RequestRecord(
        request_id=request_id,
        scheduled_s=0.0,
        ready_s=0.0,
        sent_s=0.0,
        prompt_tokens=8,
        expected_output_tokens=output_tokens,
    )
    # Tokens every 5 ms after a 20 ms first token: TPOT 5 ms.
    record.chunk_times_s = [0.020 + 0.005 * i for i in range(output_tokens)]
    record.chunk_tokens = [1] * output_tokens
    record.end_s = end_s
    record.output_tokens = output_tokens
    record.error = error
    return record


def section(energies: list[float | None], roofline_tok_s: float | None = 300.0) -> GpuSection:
    windows = [
        gpu_window(
            i, TIMES, readings(power_w=[100.0] * 4, energy_j=[None] * 4, memory_used_gib=[10.0 + i] * 4), 0, 2
        )
        for i in range(len(energies))
    ]
    for window, energy in zip(windows, energies, strict=True):
        window.energy_j = energy
    roofline = None
    if roofline_tok_s is not None:
        roofline = DecodeRoofline(
            parameters=1,
            dtype="bfloat16",
            weight_bytes=2,
            tensor_parallel_size=1,
            bytes_per_rank=2,
            peak_memory_bandwidth_gbs=1.0,
            tokens_per_s=roofline_tok_s,
            counted_from="test",
        )
    devices = [GpuDevice(index=i, uuid=f"GPU-{i}", name="H200") for i in range(len(energies))]
    return GpuSection(interval_s=0.25, window_s=4.0, devices=devices, window=windows, roofline=roofline)


def test_run_figures_sum_energy_over_gpus_and_divide_by_the_completed_requests_tokens():
    records = [record(0, 11, 0.07), record(1, 11, 0.07), record(2, 3, 0.05, error="boom")]
    figures = gpu_figures(section([120.0, 80.0]), records)
    output_tokens = compute_metrics(
        records, duration_s=4.0, percentiles=[99.0], slo=None, requested_rate=None
    )["total_output_tokens"]
    assert output_tokens == 22
    assert figures["energy_j"] == 200.0
    assert figures["mean_power_w"] == 50.0  # 200 J over the 4 s window
    assert figures["joules_per_output_token"] == pytest.approx(200.0 / 22)
    assert figures["output_tokens_per_joule"] == pytest.approx(22 / 200.0)
    assert figures["max_gpu_memory_used_gib"] == 11.0
    assert figures["mean_gpu_utilization"] is None  # no utilisation samples


def test_decode_bandwidth_utilization_is_the_per_stream_rate_over_the_roofline():
    figures = gpu_figures(section([1.0]), [record(0, 11, 0.07)])
    # TPOT (70 − 20 ms) / 10 = 5 ms: 200 tok/s against a 300 tok/s ceiling.
    assert figures["decode_roofline_tok_s"] == 300.0
    assert figures["decode_bandwidth_utilization"] == pytest.approx(200.0 / 300.0)


def test_energy_of_some_gpus_only_gives_no_run_energy():
    figures = gpu_figures(section([120.0, None], roofline_tok_s=None), [record(0, 11, 0.07)])
    assert figures["energy_j"] is None and figures["joules_per_output_token"] is None
    assert figures["decode_bandwidth_utilization"] is None
