"""Which GPUs a run's telemetry watches: the engine's CUDA ordinals through CUDA_VISIBLE_DEVICES (indices or
UUIDs) to NVML devices by UUID, never a fixed list — including every tensor-parallel rank's GPU (issue 20)."""

import sys

import pytest

from specbench.config import RunConfig
from specbench.engines.vllm.args import Platform, plan_engine
from specbench.telemetry.devices import cuda_visible, nvml_gpus, order_note, run_gpus
from specbench.telemetry.nvml import Nvml, TelemetryUnavailable
from tests.fake_nvml import FakeGpu, FakeNvml, h200s


@pytest.fixture
def four_gpus(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    fake = FakeNvml(h200s(4))
    monkeypatch.setitem(sys.modules, "pynvml", fake.module)
    return fake


def watched(cuda_devices: tuple[int, ...], visible: str | None) -> list[tuple[int | None, int]]:
    """(CUDA ordinal, NVML index) of each GPU the telemetry would watch."""
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    nvml = Nvml.open()
    try:
        return [(gpu.cuda_device, gpu.gpu.index) for gpu in run_gpus(nvml, cuda_devices, environ)]
    finally:
        nvml.close()


def test_without_cuda_visible_devices_cuda_ordinals_are_nvml_indices(four_gpus):
    assert watched((0, 1), None) == [(0, 0), (1, 1)]


def test_cuda_visible_devices_reorders_and_the_ordinals_follow_it(four_gpus):
    assert watched((0, 1), "3,1") == [(0, 3), (1, 1)]


def test_uuids_in_cuda_visible_devices_select_by_uuid_even_by_prefix(four_gpus):
    uuids = [gpu.uuid for gpu in four_gpus.gpus]
    assert watched((0, 1, 2), f"{uuids[2]},{uuids[0][:12]},1") == [(0, 2), (1, 0), (2, 1)]


def test_an_invalid_entry_ends_the_visible_list_as_cuda_does(four_gpus):
    nvml = Nvml.open()
    gpus = nvml_gpus(nvml)
    assert [g.index for g in cuda_visible(gpus, {"CUDA_VISIBLE_DEVICES": "1,7,0"})] == [1]
    assert [g.index for g in cuda_visible(gpus, {"CUDA_VISIBLE_DEVICES": "2,2,3"})] == [2]
    assert cuda_visible(gpus, {"CUDA_VISIBLE_DEVICES": ""}) == []
    nvml.close()


def test_an_ordinal_beyond_the_visible_gpus_is_a_one_line_reason(four_gpus):
    with pytest.raises(TelemetryUnavailable, match=r"CUDA device 1 but only 1 is visible .*'2'"):
        watched((0, 1), "2")


def test_mig_instances_are_not_watched(four_gpus):
    with pytest.raises(TelemetryUnavailable, match="MIG"):
        watched((0,), "MIG-0c9f1c5e-0b4e-5b1c-9e4d-1a2b3c4d5e6f")


def test_no_gpu_at_all_is_a_one_line_reason(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([]).module)
    with pytest.raises(TelemetryUnavailable, match="NVML sees no GPU"):
        watched((0,), None)


@pytest.mark.parametrize(
    ("tp", "pp", "visible", "expected"),
    [
        (1, 1, None, [(0, 0)]),
        (2, 1, None, [(0, 0), (1, 1)]),
        (2, 2, None, [(0, 0), (1, 1), (2, 2), (3, 3)]),
        (2, 1, "2,3,0,1", [(0, 2), (1, 3)]),
    ],
)
def test_vllm_tensor_parallel_ranks_are_watched_on_their_own_gpus(
    four_gpus, tmp_path, tp, pp, visible, expected
):
    (tmp_path / "config.json").write_text("{}")
    config = RunConfig(engine="vllm", model=tmp_path)
    config.vllm.tensor_parallel_size = tp
    config.vllm.pipeline_parallel_size = pp
    plan = plan_engine(config, Platform(device_type="cuda", accelerator_count=4), {})
    assert plan.cuda_devices == tuple(range(tp * pp))
    assert watched(plan.cuda_devices, visible) == expected


def test_vllm_on_the_cpu_uses_no_gpu(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    plan = plan_engine(RunConfig(engine="vllm", model=tmp_path), Platform("cpu", 0), {})
    assert plan.cuda_devices == ()


def test_vllm_default_tensor_parallel_takes_every_visible_gpu(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    plan = plan_engine(RunConfig(engine="vllm", model=tmp_path), Platform("cuda", 3), {})
    assert plan.cuda_devices == (0, 1, 2)


def test_mixed_gpu_models_without_pci_bus_order_get_a_note(monkeypatch: pytest.MonkeyPatch):
    fake = FakeNvml([FakeGpu(uuid="GPU-a", name="NVIDIA H200"), FakeGpu(uuid="GPU-b", name="NVIDIA L4")])
    monkeypatch.setitem(sys.modules, "pynvml", fake.module)
    nvml = Nvml.open()
    gpus = nvml_gpus(nvml)
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID" in (order_note(gpus, {}) or "")
    assert order_note(gpus, {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}) is None
    nvml.close()
