"""Load a causal LM (real or random weights) and its tokenizer onto the chosen device."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from specbench.errors import EngineStartError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_DTYPES: dict[str, torch.dtype] = {
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "half": torch.float16,
    "float32": torch.float32,
    "float": torch.float32,
}


@dataclass(slots=True)
class LoadedModel:
    model: PreTrainedModel
    load_time_s: float


def resolve_device(requested: str) -> torch.device:
    """auto → CUDA when available, else CPU; an explicit cuda without a GPU is refused."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise EngineStartError(f"unknown device {requested!r}: use auto, cuda, cuda:N or cpu") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineStartError("--device cuda was requested but torch sees no CUDA GPU: use --device cpu")
    if device.type not in ("cuda", "cpu"):
        raise EngineStartError(f"unsupported device {requested!r} for Transformers: use auto, cuda or cpu")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """auto → bfloat16 on CUDA (what the GPU runs fast), float32 on CPU (bf16 matmuls are slow there)."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[name]
    except KeyError:
        raise EngineStartError(f"unknown dtype {name!r}: use auto, {', '.join(_DTYPES)}") from None


def _check_dir(path: Path, role: str) -> None:
    if not path.is_dir():
        raise EngineStartError(f"{role} directory {path} does not exist: pass a local model directory")
    if not (path / "config.json").is_file():
        raise EngineStartError(f"{role} directory {path} has no config.json: it is not a Transformers model")


def load_causal_lm(
    path: Path,
    *,
    device: torch.device,
    dtype: torch.dtype,
    dummy_weights: bool,
    attn_implementation: str | None = None,
    trust_remote_code: bool = False,
    role: str = "model",
) -> LoadedModel:
    """Load `path` as a causal LM in eval mode; with dummy_weights only config.json is read."""
    from transformers import AutoConfig, AutoModelForCausalLM

    _check_dir(path, role)
    started = time.perf_counter()
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    try:
        if dummy_weights:
            config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
            # Built directly on the target device: random init of an 8B model on CPU would take minutes.
            with device:
                model = AutoModelForCausalLM.from_config(
                    config, dtype=dtype, trust_remote_code=trust_remote_code, **extra
                )
        else:
            model = AutoModelForCausalLM.from_pretrained(
                path, dtype=dtype, device_map=str(device), trust_remote_code=trust_remote_code, **extra
            )
    except (ValueError, OSError, KeyError, ImportError, RuntimeError) as exc:  # RuntimeError: CUDA OOM
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = "" if dummy_weights else " (for a directory with only config.json, add --dummy-weights)"
        raise EngineStartError(f"cannot load {role} {path} as a causal LM: {reason}{hint}") from exc
    model.eval()
    return LoadedModel(model=model, load_time_s=time.perf_counter() - started)


def load_tokenizer(path: Path, trust_remote_code: bool = False) -> PreTrainedTokenizerBase | None:
    """The tokenizer in `path`, or None when there is none (prompts arrive as token ids anyway)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (ValueError, OSError, KeyError, TypeError):
        return None


def pad_token_id(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase | None) -> int:
    """The pad id for left-padding batches: the tokenizer's, else EOS, else 0 (masked out anyway)."""
    if tokenizer is not None and tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    for source in (model.generation_config, model.config):
        for name in ("pad_token_id", "eos_token_id"):
            value = getattr(source, name, None)
            if isinstance(value, list):
                value = value[0] if value else None
            if value is not None:
                return int(value)
    return 0
