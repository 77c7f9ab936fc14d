"""GPU telemetry through `specbench run`: on this GPU-less machine a run says so once and its result has
"gpus": null; an engine that names GPUs gets them sampled (fake NVML) into the result and its figures."""

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.engines.base import DevicePlacement
from specbench.engines.echo import EchoEngine
from specbench.results.load import load_result
from tests.fake_nvml import FakeNvml, h200s

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "model_configs"
ECHO_RUN = ["run", "--engine", "echo", "--num-prompts", "40", "--rate", "200", "--output-len", "16"]


def gpu_notes(result: dict) -> list[str]:
    return [note for note in result["run"]["notes"] if "GPU telemetry" in note]


def test_a_run_on_no_gpu_says_so_once_and_has_no_gpus_section(tmp_path: Path, capfd):
    out = tmp_path / "echo.json"
    assert main([*ECHO_RUN, "--output", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["gpus"] is None
    assert gpu_notes(result) == ["no GPU telemetry: the echo engine runs on no GPU"]
    assert "energy_j" not in result
    assert capfd.readouterr().out.count("no GPU telemetry") == 1


def test_telemetry_turned_off_is_said_in_the_result(tmp_path: Path):
    out = tmp_path / "echo.json"
    assert main([*ECHO_RUN, "--no-gpu-telemetry", "--output", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["gpus"] is None and len(gpu_notes(result)) == 1
    assert result["config"]["telemetry"] == {"enabled": False, "interval_s": 0.25}


@pytest.fixture
def echo_on_two_fake_gpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeNvml:
    """The echo engine claiming two tensor-parallel GPUs of a Qwen3-8B, on a fake NVML."""
    model = tmp_path / "qwen3-8b"
    model.mkdir()
    (model / "config.json").write_text((CONFIGS / "qwen3-8b.json").read_text())
    fake = FakeNvml(h200s(4))
    monkeypatch.setitem(sys.modules, "pynvml", fake.module)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,2")
    describe = EchoEngine.describe

    def on_gpus(self: EchoEngine):
        placement = DevicePlacement(cuda_devices=(0, 1), tensor_parallel_size=2, weights_dtype="bfloat16")
        return dataclasses.replace(describe(self), model=str(model), placement=placement)

    monkeypatch.setattr(EchoEngine, "describe", on_gpus)
    return fake


def test_a_run_on_gpus_carries_the_section_energy_and_roofline(echo_on_two_fake_gpus, tmp_path: Path, capfd):
    out = tmp_path / "gpu.json"
    args = [*ECHO_RUN, "--echo-token-delay-ms", "2", "--gpu-interval", "0.02", "--output", str(out)]
    assert main(args) == 0
    result = json.loads(out.read_text())
    gpus = result["gpus"]
    assert [(d["cuda_device"], d["index"]) for d in gpus["devices"]] == [(0, 3), (1, 2)]
    assert gpus["energy_source"] == "nvml_energy_counter" and gpus["errors"] == []
    assert gpus["window_s"] == pytest.approx(result["duration"], abs=1e-6)
    assert all(window["samples"] > 0 for window in gpus["window"])
    assert len(gpus["timeline"]["columns"]["power_w"]) == 2
    # Two GPUs at 300 W each over the measured window.
    assert result["energy_j"] == pytest.approx(600 * result["duration"], rel=1e-2)
    assert result["mean_power_w"] == pytest.approx(600, rel=1e-2)
    assert result["joules_per_output_token"] == pytest.approx(
        result["energy_j"] / result["total_output_tokens"]
    )
    assert result["decode_roofline_tok_s"] == pytest.approx(2 * 293.9, abs=0.2)
    expected_utilization = 1000 / result["mean_tpot_ms"] / result["decode_roofline_tok_s"]
    assert result["decode_bandwidth_utilization"] == pytest.approx(expected_utilization)
    assert gpu_notes(result) == []
    assert load_result(out).gpus.roofline.tensor_parallel_size == 2  # the typed section reads back
    shown = capfd.readouterr().out
    assert "GPUs over the measured window" in shown and "Energy per output token (J)" in shown
    assert echo_on_two_fake_gpus.sessions == 0
