"""A point's GPU telemetry: the engine's placement decides what is sampled, or the one note says why not."""

import asyncio
import sys
import time
from pathlib import Path

import pytest

from specbench.config import TelemetryConfig
from specbench.engines.base import DevicePlacement, EngineInfo
from specbench.session.gpus import PointGpus
from tests.fake_nvml import FakeNvml, h200s

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "model_configs"


def engine(model: str = "none", devices: tuple[int, ...] = (), tp: int = 1) -> EngineInfo:
    placement = DevicePlacement(cuda_devices=devices, tensor_parallel_size=tp, weights_dtype="bfloat16")
    return EngineInfo("vllm", "0", model, "target-ar", placement=placement)


def test_an_engine_on_no_gpu_gets_one_note_and_no_section():
    gpus = PointGpus.start(engine(), TelemetryConfig())
    assert gpus.sampler is None
    assert gpus.notes == ["no GPU telemetry: the vllm engine runs on no GPU"]
    telemetry = gpus.telemetry(engine(), [])
    assert telemetry.section is None and telemetry.figures == {}


def test_telemetry_turned_off_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(h200s(1)).module)
    gpus = PointGpus.start(engine(devices=(0,)), TelemetryConfig(enabled=False))
    assert gpus.sampler is None and "--no-gpu-telemetry" in gpus.notes[0]


def test_gpus_without_nvidia_ml_py_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    gpus = PointGpus.start(engine(devices=(0,)), TelemetryConfig())
    assert gpus.notes == ['no GPU telemetry: nvidia-ml-py is not installed (pip install "specbench[gpu]")']


def test_a_sampled_point_gives_the_section_its_roofline_and_the_figures(monkeypatch, tmp_path):
    (tmp_path / "config.json").write_text((CONFIGS / "qwen3-8b.json").read_text())
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(h200s(2)).module)
    info = engine(str(tmp_path), devices=(0, 1), tp=2)
    gpus = PointGpus.start(info, TelemetryConfig(interval_s=0.01))
    assert gpus.sampler is not None and gpus.notes == []
    time.sleep(0.05)  # the warm-up: the sampler has readings from before the window, as in a run
    asyncio.run(gpus.sampler.on_phase("measure_start", time.perf_counter()))
    time.sleep(0.05)
    asyncio.run(gpus.sampler.on_phase("measure_end", time.perf_counter()))
    gpus.stop()
    telemetry = gpus.telemetry(info, [])
    assert telemetry.section is not None and len(telemetry.section.window) == 2
    assert telemetry.section.roofline is not None
    assert telemetry.section.roofline.tensor_parallel_size == 2
    assert telemetry.figures["decode_roofline_tok_s"] == pytest.approx(2 * 293.9, abs=0.2)
    # The counter is read by the sampler's thread near each edge of the window, not at the edge itself: a busy
    # machine moves those reads by a few ms of the 50 ms window, so the margin is a share of it.
    assert telemetry.figures["energy_j"] == pytest.approx(600 * telemetry.section.window_s, rel=0.05)
    assert telemetry.figures["joules_per_output_token"] is None  # no request finished


def test_a_model_without_config_json_gets_a_section_without_roofline_and_a_note(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(h200s(1)).module)
    info = engine(str(tmp_path), devices=(0,))
    gpus = PointGpus.start(info, TelemetryConfig(interval_s=0.01))
    gpus.stop()
    section = gpus.telemetry(info, []).section
    assert section is not None and section.roofline is None
    assert section.window == []  # the window never began
    assert any("no decode roofline" in note for note in section.notes)
