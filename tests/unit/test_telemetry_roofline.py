"""The decode roofline: peak bandwidth from NVML (bus width, memory clock), weight bytes from config.json."""

from pathlib import Path

import pytest

from specbench.results.gpus import GpuDevice
from specbench.telemetry.roofline import decode_roofline, peak_bandwidth_gbs

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "model_configs"


def h200(index: int = 0, bus_width: int | None = 6016) -> GpuDevice:
    return GpuDevice(
        index=index,
        uuid=f"GPU-{index}",
        name="NVIDIA H200",
        memory_bus_width_bits=bus_width,
        max_memory_clock_mhz=3201,
    )


@pytest.fixture
def qwen3_8b(tmp_path: Path) -> Path:
    (tmp_path / "config.json").write_text((CONFIGS / "qwen3-8b.json").read_text())
    return tmp_path


def test_h200_peak_bandwidth_is_bus_bytes_times_double_data_rate_clock():
    assert peak_bandwidth_gbs(6016, 3201) == pytest.approx(4814.3, abs=0.1)  # 4.81 TB/s


def test_qwen3_8b_bf16_on_one_h200_decodes_at_most_294_tokens_per_second(qwen3_8b):
    roofline, why_not = decode_roofline(qwen3_8b, "bfloat16", 1, [h200()])
    assert why_not is None and roofline is not None
    assert roofline.weight_bytes == roofline.bytes_per_rank == 16_381_470_720
    assert roofline.tokens_per_s == pytest.approx(293.9, abs=0.1)
    # The reference: vLLM decodes one stream at 190 tok/s there, 65 % of the ceiling.
    assert 190 / roofline.tokens_per_s == pytest.approx(0.65, abs=0.01)


def test_tensor_parallel_ranks_each_read_their_share(qwen3_8b):
    roofline, _ = decode_roofline(qwen3_8b, "bfloat16", 2, [h200(0), h200(1)])
    assert roofline is not None
    assert roofline.bytes_per_rank == 16_381_470_720 // 2
    assert roofline.tokens_per_s == pytest.approx(2 * 293.9, abs=0.2)


def test_dtype_auto_takes_the_configs_dtype(qwen3_8b):
    roofline, _ = decode_roofline(qwen3_8b, None, 1, [h200()])
    assert roofline is not None and roofline.dtype == "bfloat16"
    float32, _ = decode_roofline(qwen3_8b, "torch.float32", 1, [h200()])
    assert float32 is not None and float32.weight_bytes == 2 * roofline.weight_bytes


def test_the_slowest_gpu_sets_the_ceiling(qwen3_8b):
    slower = GpuDevice(index=1, uuid="GPU-1", name="x", memory_bus_width_bits=5120, max_memory_clock_mhz=2619)
    roofline, _ = decode_roofline(qwen3_8b, "bfloat16", 2, [h200(), slower])
    assert roofline is not None and roofline.peak_memory_bandwidth_gbs == pytest.approx(
        peak_bandwidth_gbs(5120, 2619)
    )


@pytest.mark.parametrize(
    ("model_dir", "devices", "reason"),
    [
        ("model", [h200(bus_width=None)], "memory bus width"),
        (None, [h200()], "no config.json"),
        ("empty", [h200()], "no config.json"),
    ],
)
def test_without_what_it_needs_there_is_no_roofline_and_the_reason_says_why(
    qwen3_8b, tmp_path, model_dir, devices, reason
):
    path = {"model": qwen3_8b, "empty": tmp_path / "nothing", None: None}[model_dir]
    roofline, why_not = decode_roofline(path, "bfloat16", 1, devices)
    assert roofline is None and reason in (why_not or "")
