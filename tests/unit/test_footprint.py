"""Parameter, weight and KV-cache arithmetic from config.json, checked against what Transformers builds."""

import json
from pathlib import Path
from typing import Any

import pytest

from specbench.footprint import (
    ModelConfigError,
    count_parameters,
    kv_bytes_per_token,
    kv_bytes_per_token_per_rank,
    load_model_shape,
    model_shape,
    weight_bytes,
)

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "model_configs"


def qwen3(name: str) -> dict[str, Any]:
    return json.loads((CONFIGS / f"{name}.json").read_text())


def small(model_type: str, **extra: Any) -> dict[str, Any]:
    """A small config of one family, with the quirks that change the count switched on by `extra`."""
    return {
        "model_type": model_type,
        "vocab_size": 1000,
        "hidden_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "intermediate_size": 344,
        "max_position_embeddings": 512,
        **extra,
    }


def transformers_count(config: dict[str, Any]) -> int:
    """sum(p.numel()) of the model Transformers builds from `config`, on the meta device (no memory)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    fields = {key: value for key, value in config.items() if key != "model_type"}
    hf_config = transformers.AutoConfig.for_model(config["model_type"], **fields)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(hf_config)
    return sum(p.numel() for p in model.parameters())


def test_qwen3_8b_has_its_published_parameter_count_and_16_4_gb_of_bf16_weights():
    shape = model_shape(qwen3("qwen3-8b"))
    count = count_parameters(shape)
    assert count.total == 8_190_735_360
    assert count.lm_head == count.embedding == 151936 * 4096  # untied
    assert weight_bytes(shape, "bfloat16") == 16_381_470_720  # ≈ 16.4 GB


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(qwen3("qwen3-8b"), id="qwen3-8b"),
        pytest.param(qwen3("qwen3-0.6b"), id="qwen3-0.6b-tied"),
        pytest.param(small("llama"), id="llama"),
        pytest.param(small("llama", attention_bias=True, mlp_bias=True), id="llama-biases"),
        pytest.param(small("llama", tie_word_embeddings=True, head_dim=32), id="llama-tied-head-dim"),
        pytest.param(small("mistral"), id="mistral"),
        pytest.param(small("qwen2"), id="qwen2-qkv-bias"),
        pytest.param(small("qwen3", head_dim=24, attention_bias=True), id="qwen3-qk-norm-bias"),
    ],
)
def test_parameter_count_equals_what_transformers_builds(config):
    assert count_parameters(model_shape(config)).total == transformers_count(config)


def test_tiny_model_count_equals_the_sum_of_its_loaded_weights(tiny_models):
    transformers = pytest.importorskip("transformers")
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_models.target)
    assert count_parameters(load_model_shape(tiny_models.target)).total == sum(
        p.numel() for p in model.parameters()
    )


def test_kv_cache_per_token_is_layers_times_kv_heads_times_head_dim_times_two_times_dtype_size():
    shape = model_shape(qwen3("qwen3-8b"))
    assert kv_bytes_per_token(shape, "bfloat16") == 36 * 8 * 128 * 2 * 2 == 147_456
    assert kv_bytes_per_token(shape, "float32") == 2 * 147_456


def test_kv_heads_split_over_tensor_parallel_ranks_and_are_replicated_beyond_their_count():
    shape = model_shape(qwen3("qwen3-8b"))  # 8 KV heads
    assert kv_bytes_per_token_per_rank(shape, "bfloat16", 2) == 147_456 // 2
    assert kv_bytes_per_token_per_rank(shape, "bfloat16", 16) == 147_456 // 8


def test_an_unknown_model_type_is_counted_llama_style_and_says_so():
    shape = model_shape(small("someformer"))
    assert not shape.known_layout
    assert "Llama-style estimate" in shape.layout and "someformer" in shape.layout
    assert count_parameters(shape).total == count_parameters(model_shape(small("llama"))).total


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (small("qwen3_moe", num_experts=64), "mixture-of-experts"),
        (small("llama", quantization_config={"quant_method": "fp8"}), "fp8 weights"),
        ({k: v for k, v in small("llama").items() if k != "hidden_size"}, "no hidden_size"),
        (small("llama", num_hidden_layers="many"), "num_hidden_layers"),
    ],
)
def test_configs_that_cannot_be_counted_are_refused_with_the_reason(config, message):
    with pytest.raises(ModelConfigError, match=message):
        count_parameters(model_shape(config))


def test_a_directory_without_config_json_is_refused(tmp_path: Path):
    with pytest.raises(ModelConfigError, match=r"no config\.json"):
        load_model_shape(tmp_path)
