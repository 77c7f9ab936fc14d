"""The GPU sampler's thread against a fake NVML: readings, counters a GPU lacks, failures mid-run, the
window's edges, and what happens without NVML."""

import asyncio
import sys
import time

import numpy as np
import pytest

from specbench.config import EchoConfig, RunConfig
from specbench.engines.echo import EchoEngine
from specbench.runner.dispatcher import Phase, run_workload
from specbench.telemetry.nvml import TelemetryUnavailable
from specbench.telemetry.sampler import MEASURE_END, MEASURE_START, GpuSampler
from specbench.workload.types import PlannedRequest, Workload
from tests.fake_nvml import FakeNvml, NVMLError_DriverNotLoaded, NVMLError_GpuIsLost, h200s


def install(monkeypatch: pytest.MonkeyPatch, fake: FakeNvml) -> FakeNvml:
    monkeypatch.setitem(sys.modules, "pynvml", fake.module)
    return fake


def mark(sampler: GpuSampler, phase: str) -> float:
    at = time.perf_counter()
    asyncio.run(sampler.on_phase(phase, at))
    return at


def sample_window(sampler: GpuSampler, window_s: float, during=None):
    sampler.start()
    time.sleep(0.03)
    start = mark(sampler, MEASURE_START)
    time.sleep(window_s / 2)
    if during is not None:
        during()
    time.sleep(window_s / 2)
    end = mark(sampler, MEASURE_END)
    sampler.stop()
    return sampler.section(), end - start


def test_phase_names_are_the_dispatchers():
    assert (MEASURE_START, MEASURE_END) == (Phase.MEASURE_START, Phase.MEASURE_END)


def test_every_reading_of_each_gpu_is_averaged_over_the_window(monkeypatch):
    gpus = h200s(2)
    gpus[1].gpu_util, gpus[1].temperature, gpus[1].clock_event_reasons = 90, 61, 0x4
    gpus[1].set_power(200_000)
    fake = install(monkeypatch, FakeNvml(gpus))
    sampler = GpuSampler.open([0, 1], interval_s=0.01, environ={})
    section, window_s = sample_window(sampler, 0.2)
    assert section.window_s == pytest.approx(window_s)
    first, second = section.window
    assert (first.gpu_utilization_pct.mean, second.gpu_utilization_pct.mean) == (50.0, 90.0)
    assert (first.temperature_c.max, second.temperature_c.max) == (45.0, 61.0)
    assert (first.memory_used_gib.max, first.sm_clock_mhz.mean, first.memory_clock_mhz.mean) == (
        20.0,
        1980,
        3201,
    )
    assert second.clock_event_reasons == {"sw_power_cap": 1.0}
    assert first.samples >= 5
    # The counter runs at exactly power × time, so the interpolated window energy must match it.
    assert first.energy_j == pytest.approx(300 * window_s, rel=1e-3)
    assert second.energy_j == pytest.approx(200 * window_s, rel=1e-3)
    assert section.energy_source == "nvml_energy_counter"
    assert section.errors == [] and section.driver_version == "580.159.04"
    device = section.devices[0]
    assert (device.name, device.memory_total_gib, device.power_limit_w) == ("NVIDIA H200", 141.0, 700.0)
    assert (device.peak_memory_bandwidth_gbs, device.compute_capability, device.energy_counter) == (
        4814.3,
        "9.0",
        True,
    )
    assert fake.sessions == 0  # NVML released


def test_counters_a_gpu_lacks_are_left_out_and_energy_is_integrated_from_power(monkeypatch):
    gpus = h200s(1)
    gpus[0].unsupported = {
        "nvmlDeviceGetTotalEnergyConsumption",
        "nvmlDeviceGetTemperature",
        "nvmlDeviceGetCurrentClocksEventReasons",
        "nvmlDeviceGetMemoryBusWidth",
    }
    install(monkeypatch, FakeNvml(gpus))
    sampler = GpuSampler.open([0], interval_s=0.01, environ={})
    section, window_s = sample_window(sampler, 0.2)
    (window,) = section.window
    assert window.temperature_c.mean is None and window.clock_event_reasons == {}
    assert window.energy_source == section.energy_source == "integrated_power"
    assert window.energy_j == pytest.approx(300 * window_s, rel=1e-6)
    assert section.errors == []  # not supported is not an error
    assert not section.devices[0].energy_counter and section.devices[0].peak_memory_bandwidth_gbs is None
    assert section.timeline.columns["temperature_c"] == [[None] * len(section.timeline.t_s)]


def test_a_reading_failing_mid_run_is_recorded_and_the_run_goes_on(monkeypatch):
    gpus = h200s(2)
    install(monkeypatch, FakeNvml(gpus))
    sampler = GpuSampler.open([0, 1], interval_s=0.01, environ={})

    def lose_power_reading() -> None:
        gpus[1].failing["nvmlDeviceGetPowerUsage"] = NVMLError_GpuIsLost

    section, window_s = sample_window(sampler, 0.2, during=lose_power_reading)
    (error,) = section.errors
    assert (error.gpu, error.message) == (1, "power: NVMLError_GpuIsLost: GPU is lost")
    assert error.count >= 2 and 0 < error.first_s < window_s
    power = section.timeline.columns["power_w"][1]
    assert power[0] == 300.0 and power[-1] is None  # sampled until it failed
    assert section.window[1].energy_j == pytest.approx(300 * window_s, rel=1e-3)  # the counter still answers
    assert section.window[0].samples == section.window[1].samples


def test_each_window_edge_gets_a_round_at_once_whatever_the_interval(monkeypatch):
    install(monkeypatch, FakeNvml(h200s(1)))
    sampler = GpuSampler.open([0], interval_s=30.0, environ={})
    section, window_s = sample_window(sampler, 0.1)
    times = np.array(section.timeline.t_s)
    # The first round, one at the start mark, then one after the end mark (which the stop() right after
    # it may share): no round of the 30 s timer.
    assert len(times) in (3, 4)
    assert times[0] < 0 <= times[1] < 0.05
    # The timeline keeps milliseconds: a round within half of one after the end mark reads just below it.
    assert window_s - 0.0005 <= times[2] < window_s + 0.05
    assert section.window[0].energy_j == pytest.approx(300 * window_s, rel=1e-3)


def test_stop_releases_nvml_and_may_be_called_again(monkeypatch):
    fake = install(monkeypatch, FakeNvml(h200s(1)))
    sampler = GpuSampler.open([0], interval_s=0.01, environ={})
    sampler.start()
    time.sleep(0.02)
    assert sampler.latest() is not None and sampler.latest()[0].power_w == 300.0
    sampler.stop()
    sampler.stop()
    assert fake.sessions == 0


def test_without_nvidia_ml_py_the_reason_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(
        TelemetryUnavailable, match=r'nvidia-ml-py is not installed \(pip install "specbench\[gpu\]"\)'
    ):
        GpuSampler.open([0], interval_s=0.25, environ={})


def test_without_a_driver_the_reason_is_nvmls(monkeypatch):
    install(monkeypatch, FakeNvml(h200s(1), init_error=NVMLError_DriverNotLoaded))
    with pytest.raises(TelemetryUnavailable, match=r"NVML could not start \(Driver Not Loaded\)"):
        GpuSampler.open([0], interval_s=0.25, environ={})


def test_a_failed_open_leaves_nvml_closed(monkeypatch):
    fake = install(monkeypatch, FakeNvml(h200s(1)))
    with pytest.raises(TelemetryUnavailable):
        GpuSampler.open([0, 1], interval_s=0.25, environ={})
    assert fake.sessions == 0


def test_the_window_is_the_dispatchers_measured_requests_after_warm_up(monkeypatch):
    install(monkeypatch, FakeNvml(h200s(1)))
    engine = EchoEngine(RunConfig(engine="echo", echo=EchoConfig(ttft_ms=5, token_delay_ms=1)))
    requests = [PlannedRequest(i, 0.01 * i, [1, 2, 3], 20) for i in range(10)]
    warmup = [PlannedRequest(100 + i, 0.0, [1, 2, 3], 20) for i in range(2)]
    workload = Workload(warmup=warmup, requests=requests, send_window_s=None)
    sampler = GpuSampler.open([0], interval_s=0.01, environ={})
    sampler.start()
    outcome = asyncio.run(run_workload(engine, workload, listeners=[sampler]))
    sampler.stop()
    section = sampler.section()
    assert section.window_s == pytest.approx(outcome.duration_s, abs=1e-9)
    assert section.window[0].samples >= 3
    assert min(section.timeline.t_s) < 0  # warm-up was sampled, outside the window
