"""Config layering: flags > environment > profile > defaults, and one-line errors for bad input."""

import math
from pathlib import Path

import pytest

from specbench.config import EngineName, Method
from specbench.errors import ConfigError
from specbench.settings import ENV_VARS, available_profiles, find_profile, resolve_config

FLAG_NAMES = {"workload.rate": "--rate", "engine": "--engine", "workload.num_prompts": "--num-prompts"}


def resolve(profile=None, flags=None, environ=None):
    return resolve_config(profile=profile, flags=flags or {}, flag_names=FLAG_NAMES, environ=environ or {})


def test_defaults_apply_when_nothing_is_set():
    resolved = resolve()
    assert resolved.config.engine is EngineName.transformers
    assert resolved.config.method is Method.target_ar
    assert resolved.sources["workload.rate"] == "default"


def test_profile_overrides_defaults():
    resolved = resolve(profile="quick")
    assert resolved.config.workload.rate == 1.0
    assert resolved.config.workload.duration == 300
    assert resolved.sources["workload.rate"] == "profile quick-test"


def test_environment_overrides_profile():
    resolved = resolve(profile="quick", environ={"AUTO_RATE": "3.5", "INFERENCE_ENGINE": "vllm"})
    assert resolved.config.workload.rate == 3.5
    assert resolved.config.engine is EngineName.vllm
    assert resolved.sources["workload.rate"] == "env AUTO_RATE"


def test_flags_override_environment():
    resolved = resolve(profile="quick", flags={"workload.rate": 7.0}, environ={"AUTO_RATE": "3.5"})
    assert resolved.config.workload.rate == 7.0
    assert resolved.sources["workload.rate"] == "flag --rate"


def test_every_original_environment_variable_maps_to_a_real_setting():
    environ = {
        "INFERENCE_ENGINE": "vllm",
        "INFERENCE_METHOD": "target_ar",
        "NUM_PROMPTS": "0",
        "AUTO_RATE": "2",
        "AUTO_DURATION": "60",
        "ENABLE_BATCH": "true",
        "VLLM_TENSOR_PARALLEL_SIZE": "2",
        "VLLM_GPU_MEMORY_UTILIZATION": "0.8",
        "VLLM_MAX_MODEL_LEN": "4096",
        "VLLM_MAX_NUM_SEQS": "128",
        "VLLM_DISABLE_LOG_STATS": "true",
        "VLLM_DTYPE": "half",
    }
    assert set(environ) == set(ENV_VARS)
    config = resolve(environ=environ).config
    assert config.method is Method.target_ar
    assert config.workload.num_requests is None  # NUM_PROMPTS=0 means rate mode
    assert (config.workload.rate, config.workload.duration) == (2.0, 60.0)
    assert config.transformers.batching == "dynamic"
    assert config.vllm.tensor_parallel_size == 2
    assert config.vllm.gpu_memory_utilization == 0.8
    assert config.vllm.max_model_len == 4096
    assert config.vllm.max_num_seqs == 128
    assert config.vllm.disable_log_stats is True
    assert config.vllm.dtype == "half"


def test_shipped_profiles_all_validate():
    names = available_profiles()
    assert {"smoke", "quick-test", "stress-test"} <= set(names)
    for name in names:
        resolve(profile=name)


def test_stress_profile_lets_vllm_batch_256_sequences():
    config = resolve(profile="stress").config
    assert (config.workload.rate, config.workload.duration) == (10.0, 600.0)
    assert config.vllm.max_num_seqs == 256


def test_profile_can_be_a_path(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text("workload:\n  num_prompts: 3\n  rate: inf\n")
    resolved = resolve(profile=str(path))
    assert resolved.config.workload.num_requests == 3
    assert math.isinf(resolved.config.workload.rate)
    assert resolved.sources["workload.num_prompts"] == "profile mine"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ConfigError, match=r"unknown profile 'nope'.*smoke"):
        find_profile("nope")


def test_malformed_yaml_says_where(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("workload:\n  rate: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        resolve(profile=str(path))


def test_unknown_setting_in_profile_is_named(tmp_path: Path):
    path = tmp_path / "typo.yaml"
    path.write_text("workload:\n  rats: 3\n")
    with pytest.raises(ConfigError, match=r"unknown setting workload\.rats \(from profile typo\)"):
        resolve(profile=str(path))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"workload.rate": -1.0}, r"workload\.rate \(from flag --rate\) = -1: .*greater than 0"),
        ({"workload.num_prompts": -5}, r"workload\.num_prompts \(from flag --num-prompts\) = -5"),
        ({"engine": "tgi"}, r"engine \(from flag --engine\) = tgi"),
        ({"method": "beam"}, r"method"),
        ({"method": "speculative", "model": "/models/x"}, "needs a draft model: pass --draft-model"),
    ],
)
def test_bad_values_become_one_line_config_errors(flags, message):
    with pytest.raises(ConfigError, match=message) as caught:
        resolve(flags=flags)
    assert "\n" not in str(caught.value)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="AUTO_RATE='fast'"):
        resolve(environ={"AUTO_RATE": "fast"})


def test_a_profile_section_that_is_not_a_mapping_is_one_line(tmp_path: Path):
    path = tmp_path / "flat.yaml"
    path.write_text("vllm: 1\n")
    with pytest.raises(ConfigError, match="vllm must be a section"):
        resolve(profile=str(path), flags={"vllm.max_num_seqs": 4})


def test_rate_mode_needs_a_finite_rate():
    with pytest.raises(ConfigError, match="needs a finite --rate"):
        resolve(flags={"workload.num_prompts": 0, "workload.duration": 10.0})
