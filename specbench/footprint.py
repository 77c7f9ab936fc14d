"""What a model's config.json says about its size: parameters, weight bytes and KV-cache bytes per token.

One place for this arithmetic, shared by the decode roofline (GPU telemetry) and `specbench check-env`, so
both count the same way. Dense decoder-only models of the Llama family are counted exactly (Llama,
Mistral, Qwen2, Qwen3); another model type with the same config keys is counted as a Llama-style decoder
and says so; a mixture-of-experts or quantized model is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specbench.model_dir import ModelConfigError, read_model_config

# Bytes per element of the dtypes a model's weights and KV cache are held in.
DTYPE_BYTES: dict[str, int] = {
    "float32": 4,
    "float": 4,
    "bfloat16": 2,
    "float16": 2,
    "half": 2,
}


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a model family departs from a plain Llama decoder layer."""

    qkv_bias: bool | None  # None: the config's attention_bias decides
    o_bias: bool | None
    qk_norm: bool  # an RMSNorm of head_dim on queries and keys (Qwen3)


_LAYOUTS: dict[str, _Layout] = {
    "llama": _Layout(qkv_bias=None, o_bias=None, qk_norm=False),
    "mistral": _Layout(qkv_bias=False, o_bias=False, qk_norm=False),
    "qwen2": _Layout(qkv_bias=True, o_bias=False, qk_norm=False),
    "qwen3": _Layout(qkv_bias=None, o_bias=None, qk_norm=True),
}
_LLAMA_STYLE = _LAYOUTS["llama"]


@dataclass(frozen=True, slots=True)
class ModelShape:
    """The sizes of a decoder-only transformer, as its config.json gives them."""

    model_type: str
    architecture: str | None
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    tie_word_embeddings: bool
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    qk_norm: bool
    torch_dtype: str | None
    max_position_embeddings: int | None
    known_layout: bool  # False: counted as a Llama-style decoder, which this model type may not be

    @property
    def layout(self) -> str:
        """How the parameters were counted, for the result and check-env."""
        if self.known_layout:
            return f"{self.model_type} layout from config.json"
        return f"Llama-style estimate for model type {self.model_type!r} from config.json"


@dataclass(frozen=True, slots=True)
class ParameterCount:
    embedding: int
    attention: int  # every layer's q, k, v, o projections (GQA: k and v are num_kv_heads wide), q/k norms
    mlp: int  # every layer's gate, up and down projections
    norms: int  # two per layer and the final one
    lm_head: int  # 0 when tied to the embedding

    @property
    def total(self) -> int:
        return self.embedding + self.attention + self.mlp + self.norms + self.lm_head


def _int(config: dict[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key)
    if value is None:
        if default is None:
            raise ModelConfigError(f"config.json has no {key}: cannot count this model's parameters")
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelConfigError(f"config.json's {key} is {value!r}, not a positive integer")
    return value


def model_shape(config: dict[str, Any]) -> ModelShape:
    """The decoder's sizes from a config.json dict; ModelConfigError for what cannot be counted."""
    model_type = str(config.get("model_type") or "unknown")
    if any(config.get(key) for key in ("num_experts", "num_local_experts", "n_routed_experts")):
        raise ModelConfigError(
            f"{model_type} is a mixture-of-experts model: its weights read per token are not counted yet"
        )
    if config.get("quantization_config"):
        method = config["quantization_config"].get("quant_method", "quantized")
        raise ModelConfigError(f"{model_type} has {method} weights: only unquantized weights are counted")
    layout = _LAYOUTS.get(model_type, _LLAMA_STYLE)
    heads = _int(config, "num_attention_heads")
    hidden = _int(config, "hidden_size")
    attention_bias = bool(config.get("attention_bias", False))
    architectures = config.get("architectures") or [None]
    dtype = config.get("torch_dtype") or config.get("dtype")
    max_positions = config.get("max_position_embeddings")
    return ModelShape(
        model_type=model_type,
        architecture=architectures[0],
        vocab_size=_int(config, "vocab_size"),
        hidden_size=hidden,
        num_layers=_int(config, "num_hidden_layers"),
        num_heads=heads,
        num_kv_heads=_int(config, "num_key_value_heads", heads),
        head_dim=_int(config, "head_dim", hidden // heads),
        intermediate_size=_int(config, "intermediate_size"),
        tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
        qkv_bias=attention_bias if layout.qkv_bias is None else layout.qkv_bias,
        o_bias=attention_bias if layout.o_bias is None else layout.o_bias,
        mlp_bias=bool(config.get("mlp_bias", False)),
        qk_norm=layout.qk_norm,
        torch_dtype=str(dtype) if dtype else None,
        max_position_embeddings=max_positions if isinstance(max_positions, int) else None,
        known_layout=model_type in _LAYOUTS,
    )


def load_model_shape(model_dir: Path) -> ModelShape:
    return model_shape(read_model_config(model_dir))


def count_parameters(shape: ModelShape) -> ParameterCount:
    """Every weight of the model, as Transformers builds it (sum of p.numel())."""
    h, layers = shape.hidden_size, shape.num_layers
    q_width = shape.num_heads * shape.head_dim
    kv_width = shape.num_kv_heads * shape.head_dim
    attention = h * q_width + 2 * h * kv_width + q_width * h
    if shape.qkv_bias:
        attention += q_width + 2 * kv_width
    if shape.o_bias:
        attention += h
    if shape.qk_norm:
        attention += 2 * shape.head_dim
    mlp = 3 * h * shape.intermediate_size
    if shape.mlp_bias:
        mlp += 2 * shape.intermediate_size + h
    embedding = shape.vocab_size * h
    return ParameterCount(
        embedding=embedding,
        attention=layers * attention,
        mlp=layers * mlp,
        norms=(2 * layers + 1) * h,
        lm_head=0 if shape.tie_word_embeddings else embedding,
    )


def dtype_bytes(dtype: str) -> int:
    name = dtype.removeprefix("torch.")
    if name not in DTYPE_BYTES:
        raise ModelConfigError(f"dtype {dtype!r} has no known size: use one of {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[name]


def weight_bytes(shape: ModelShape, dtype: str) -> int:
    """The whole model's weights held in `dtype`."""
    return count_parameters(shape).total * dtype_bytes(dtype)


def kv_bytes_per_token(shape: ModelShape, dtype: str) -> int:
    """KV cache one token takes over the whole model: layers × KV heads × head_dim × 2 (K and V) × size."""
    return shape.num_layers * shape.num_kv_heads * shape.head_dim * 2 * dtype_bytes(dtype)


def kv_bytes_per_token_per_rank(shape: ModelShape, dtype: str, tensor_parallel_size: int) -> int:
    """Each tensor-parallel rank holds its share of the KV heads; with fewer KV heads than ranks, vLLM
    replicates them, so a rank holds one."""
    heads_per_rank = max(1, shape.num_kv_heads // tensor_parallel_size)
    return shape.num_layers * heads_per_rank * shape.head_dim * 2 * dtype_bytes(dtype)
