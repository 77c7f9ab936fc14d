"""The GPU tables: live (run view, monitor) and the measured window's, in the end-of-run summary."""

import sys
import time

from rich.console import Console

from specbench.report.gpu_table import live_gpu_table, render_gpu_window
from specbench.report.live import LiveProgress
from specbench.report.summary import render_summary
from specbench.results.gpus import GpuDevice, GpuSection, GpuWindow, ReadingStats, SamplerError
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.runner.dispatcher import RunProgress
from specbench.telemetry import GpuSampler
from specbench.telemetry.processes import GpuProcess
from specbench.telemetry.readings import GpuReading
from tests.fake_nvml import FakeNvml, h200s

H200 = GpuDevice(
    index=2, cuda_device=0, uuid="GPU-2", name="NVIDIA H200", memory_total_gib=139.8, power_limit_w=700
)


def text(renderable, width: int = 160) -> str:
    console = Console(width=width, record=True, force_terminal=False)
    console.print(renderable)
    return console.export_text()


def test_live_table_has_one_row_per_gpu_with_its_latest_reading():
    reading = GpuReading(
        gpu_utilization_pct=97,
        memory_used_gib=120.25,
        power_w=612.4,
        temperature_c=63,
        sm_clock_mhz=1980,
        memory_clock_mhz=3201,
        clock_event_reasons=0x1 | 0x4,
    )
    shown = text(live_gpu_table([H200], [reading]))
    row = next(line for line in shown.splitlines() if line.strip().startswith("2 "))
    for value in ("H200", "97", "120.2/139.8", "612/700", "63", "1980", "3201", "sw_power_cap"):
        assert value in row
    assert "gpu_idle" not in row  # idle clocks are not throttling


def test_live_table_marks_what_a_gpu_does_not_report_and_lists_processes():
    processes = [
        [GpuProcess(pid=4242, name="python3", used_gib=80.0), GpuProcess(pid=7, name=None, used_gib=None)]
    ]
    shown = text(live_gpu_table([H200], [GpuReading()], processes))
    assert "—" in shown
    assert "4242 python3 80.0 GiB" in shown and "7 ?" in shown


def section() -> GpuSection:
    window = GpuWindow(
        index=2,
        samples=40,
        gpu_utilization_pct=ReadingStats(mean=91.5, max=100),
        power_w=ReadingStats(mean=480.0, max=655.0),
        energy_j=4321.0,
        energy_source="nvml_energy_counter",
        clock_event_reasons={"gpu_idle": 0.1, "sw_power_cap": 0.4},
    )
    return GpuSection(
        interval_s=0.25,
        window_s=9.0,
        energy_source="nvml_energy_counter",
        devices=[H200],
        window=[window],
        errors=[SamplerError(message="power: GPU is lost", gpu=2, first_s=3.5, count=12)],
        notes=["no decode roofline: the weights' dtype is unknown"],
    )


def test_window_table_shows_each_gpus_mean_max_energy_then_its_throttling_share():
    console = Console(width=160, record=True)
    render_gpu_window(section(), console)
    shown = console.export_text()
    assert "GPUs over the measured window" in shown
    row = next(line for line in shown.splitlines() if line.strip().startswith("2 "))
    for value in ("92/100", "480/655", "4321.0"):
        assert value in row
    assert "GPU 2 clocks held back (share of samples): sw_power_cap 40%" in shown
    assert "gpu_idle" not in shown
    assert "note: no decode roofline" in shown
    assert "GPU sampler error: GPU 2: power: GPU is lost (12×, first at +3.50 s)" in shown


def test_summary_shows_the_gpu_figures_and_the_window_table():
    result = BenchmarkResult(
        run=RunSection(id="x", status="completed"),
        engine=EngineSection(name="vllm", model="m", method="target-ar"),
        metrics={
            "completed": 3,
            "energy_j": 4321.0,
            "joules_per_output_token": 1.5,
            "decode_roofline_tok_s": 293.9,
        },
        gpus=section(),
    )
    console = Console(width=160, record=True)
    render_summary(result, console)
    shown = console.export_text()
    assert "Energy, all GPUs (J)" in shown and "4321.00" in shown
    assert "Energy per output token (J)" in shown and "Batch-1 decode ceiling (tok/s)" in shown
    assert "GPUs over the measured window" in shown


def test_result_without_gpus_has_no_gpu_table():
    result = BenchmarkResult(
        run=RunSection(id="x", status="completed"),
        engine=EngineSection(name="echo", model="m", method="target-ar"),
        metrics={"completed": 3},
    )
    console = Console(width=160, record=True)
    render_summary(result, console)
    assert "GPUs over the measured window" not in console.export_text()


def test_the_live_view_shows_progress_and_the_sampled_gpus_together(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(h200s(2)).module)
    sampler = GpuSampler.open([0, 1], interval_s=0.01, environ={})
    sampler.start()
    time.sleep(0.03)
    console = Console(width=160, record=True)
    live = LiveProgress(RunProgress(planned=10, send_window_s=None), console, gpus=sampler)
    live.refresh()
    shown = text(live._view())
    sampler.stop()
    assert "warming up" in shown
    gpu_rows = [line for line in shown.splitlines() if "H200" in line]
    assert len(gpu_rows) == 2 and all("300/700" in row for row in gpu_rows)
