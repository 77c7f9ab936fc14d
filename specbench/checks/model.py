"""`check-env --model DIR`: the model's config, its size, its KV cache, and whether the run fits in memory.

The arithmetic is specbench.footprint's (the decode roofline uses the same). What fits is an upper bound:
vLLM also sets aside activation and CUDA-graph memory (typically a few GiB) from the same budget, and
reports the KV-cache size it really got as `kv_cache_tokens` in the result's engine settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from specbench.checks.facts import Facts
from specbench.checks.verdict import Status, Verdict, needed
from specbench.config import EngineName, RunConfig
from specbench.engines.vllm.args import DEFAULT_CPU_KV_CACHE_GB, KV_CACHE_ENV
from specbench.footprint import (
    ModelConfigError,
    ModelShape,
    count_parameters,
    dtype_bytes,
    kv_bytes_per_token,
    kv_bytes_per_token_per_rank,
    load_model_shape,
    weight_bytes,
)
from specbench.tiny_model import MAX_POSITIONS

_GIB = 2**30
_GB = 1e9


def _gib(value: float) -> str:
    return f"{value / _GIB:.1f} GiB"


def _shape(config: RunConfig) -> ModelShape:
    if config.model is None:
        raise ModelConfigError("no --model given")
    if not config.model.is_dir():
        raise ModelConfigError(f"{config.model}: no such directory")
    return load_model_shape(config.model)


def _needs_model(config: RunConfig) -> bool:
    return config.engine is not EngineName.echo


@dataclass(frozen=True, slots=True)
class Target:
    """Where the weights and KV cache will live, as the chosen engine would place them."""

    where: str
    memory_bytes: int  # per device: a GPU's total, or the RAM available
    on_gpu: bool
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    budget_fraction: float = 1.0  # vLLM's gpu_memory_utilization
    kv_space_bytes: int | None = None  # vLLM's CPU backend: a fixed KV-cache size


def _dtype(config: RunConfig, on_gpu: bool) -> str:
    """The engines' meaning of auto: bfloat16 on a GPU, float32 on the CPU."""
    requested = (config.vllm.dtype if config.engine is EngineName.vllm else None) or config.dtype
    if requested != "auto":
        return requested
    return "bfloat16" if on_gpu else "float32"


def target(facts: Facts, config: RunConfig) -> Target | str:
    """Where the run's model would go, or why that cannot be said."""
    devices = facts.gpus.devices
    if config.engine is EngineName.vllm and facts.vllm_build == "cpu":
        ram = facts.host.memory_available_bytes
        if ram is None:
            return "available memory unknown"
        space_gib = config.vllm.kv_cache_space_gb or facts.vllm_cpu_kv_cache_gib or DEFAULT_CPU_KV_CACHE_GB
        return Target(
            "RAM (vLLM CPU build)",
            ram,
            on_gpu=False,
            tensor_parallel_size=config.vllm.tensor_parallel_size or 1,
            kv_space_bytes=int(space_gib * _GIB),
        )
    if config.engine is EngineName.vllm:
        pp = config.vllm.pipeline_parallel_size
        tp = config.vllm.tensor_parallel_size or max(1, len(devices) // pp)
        used = devices[: tp * pp]
        if len(used) < tp * pp or not used:
            return f"tensor-parallel {tp} × pipeline {pp} needs {tp * pp} GPU(s), {len(devices)} visible"
        memory = min(device.memory_total_gib or 0.0 for device in used)
        names = ", ".join(str(device.cuda_device) for device in used)
        return Target(
            f"GPU {names} ({used[0].name}, {memory:.1f} GiB each)",
            int(memory * _GIB),
            on_gpu=True,
            tensor_parallel_size=tp,
            pipeline_parallel_size=pp,
            budget_fraction=config.vllm.gpu_memory_utilization,
        )
    device = config.device
    if device == "cpu" or (device == "auto" and not (facts.torch.cuda_available and devices)):
        ram = facts.host.memory_available_bytes
        return Target("RAM", ram, on_gpu=False) if ram is not None else "available memory unknown"
    ordinal = int(device.split(":")[1]) if ":" in device else 0
    if ordinal >= len(devices):
        return f"--device {device}, but {len(devices)} GPU(s) are visible"
    gpu = devices[ordinal]
    return Target(
        f"GPU {ordinal} ({gpu.name}, {gpu.memory_total_gib} GiB)",
        int((gpu.memory_total_gib or 0.0) * _GIB),
        on_gpu=True,
    )


def check_model_config(facts: Facts, config: RunConfig) -> Verdict:
    try:
        shape = _shape(config)
    except ModelConfigError as exc:
        return Verdict(
            "model config", needed(_needs_model(config)), str(exc), "pass --model DIR with config.json"
        )
    detail = (
        f"{shape.architecture or shape.model_type}: {shape.num_layers} layers, hidden {shape.hidden_size}, "
        f"{shape.num_heads} heads / {shape.num_kv_heads} KV heads × {shape.head_dim}, "
        f"vocab {shape.vocab_size}"
        + (f", up to {shape.max_position_embeddings} tokens" if shape.max_position_embeddings else "")
    )
    return Verdict("model config", Status.PASS, detail)


def check_parameters(facts: Facts, config: RunConfig) -> Verdict:
    try:
        shape = _shape(config)
    except ModelConfigError as exc:
        return Verdict("parameters", Status.WARN, f"not counted: {exc}")
    resolved = target(facts, config)
    dtype = _dtype(config, on_gpu=isinstance(resolved, Target) and resolved.on_gpu)
    count = count_parameters(shape)
    try:
        weights = weight_bytes(shape, dtype)
    except ModelConfigError as exc:
        return Verdict("parameters", Status.WARN, f"{count.total / 1e9:.2f} B; {exc}")
    detail = (
        f"{count.total / 1e9:.2f} B ({count.total:,}; embedding {count.embedding / 1e9:.2f} B"
        + (f", lm_head {count.lm_head / 1e9:.2f} B" if count.lm_head else ", tied lm_head")
        + f"): weights {weights / _GB:.2f} GB ({_gib(weights)}) in {dtype}"
    )
    if isinstance(resolved, Target) and resolved.tensor_parallel_size * resolved.pipeline_parallel_size > 1:
        ranks = resolved.tensor_parallel_size * resolved.pipeline_parallel_size
        detail += f", {_gib(weights / ranks)} per GPU over {ranks}"
    if not shape.known_layout:
        return Verdict("parameters", Status.WARN, f"{detail}; {shape.layout}", "treat it as an estimate")
    return Verdict("parameters", Status.PASS, detail)


def check_kv_cache(facts: Facts, config: RunConfig) -> Verdict:
    try:
        shape = _shape(config)
    except ModelConfigError as exc:
        return Verdict("KV cache per token", Status.WARN, f"not counted: {exc}")
    resolved = target(facts, config)
    dtype = _dtype(config, on_gpu=isinstance(resolved, Target) and resolved.on_gpu)
    per_token = kv_bytes_per_token(shape, dtype)
    detail = (
        f"{per_token:,} B ({per_token / 1024:.0f} KiB) = {shape.num_layers} layers × {shape.num_kv_heads} KV "
        f"heads × {shape.head_dim} × 2 (K, V) × {dtype_bytes(dtype)} B ({dtype})"
    )
    if isinstance(resolved, Target) and resolved.tensor_parallel_size > 1:
        rank = kv_bytes_per_token_per_rank(shape, dtype, resolved.tensor_parallel_size)
        detail += f"; {rank:,} B per GPU at tensor-parallel {resolved.tensor_parallel_size}"
    return Verdict("KV cache per token", Status.PASS, detail)


def _per_sequence_tokens(config: RunConfig, max_model_len: int) -> int:
    output = config.workload.output_len
    return min(max_model_len, config.workload.input_len + (output if output is not None else max_model_len))


def _concurrency(config: RunConfig) -> int | None:
    """Requests the workload keeps in flight at most, where that is known before the run."""
    workload = config.workload
    if workload.max_concurrency is not None:
        return workload.max_concurrency
    if workload.rate == float("inf"):
        return workload.num_requests
    return None


def check_memory_fit(facts: Facts, config: RunConfig) -> Verdict:
    name = "memory fit"
    if config.engine is EngineName.echo:
        return Verdict(name, Status.PASS, "the echo engine loads no model")
    try:
        shape = _shape(config)
        resolved = target(facts, config)
        if isinstance(resolved, str):
            return Verdict(
                name, needed(True), resolved, "check --tensor-parallel-size, --device, CUDA_VISIBLE_DEVICES"
            )
        dtype = _dtype(config, resolved.on_gpu)
        weights = weight_bytes(shape, dtype)
    except ModelConfigError as exc:
        return Verdict(name, Status.WARN, f"not estimated: {exc}")
    if config.engine is EngineName.vllm:
        return _vllm_fit(shape, dtype, weights, resolved, config)
    return _transformers_fit(shape, dtype, weights, resolved, config)


def _vllm_fit(shape: ModelShape, dtype: str, weights: int, where: Target, config: RunConfig) -> Verdict:
    name = "memory fit"
    tp, pp = where.tensor_parallel_size, where.pipeline_parallel_size
    ranks = tp * pp
    weights_per_gpu = weights / ranks
    if where.kv_space_bytes is not None:  # CPU build: weights in RAM, KV cache a fixed space beside them
        if weights + where.kv_space_bytes > where.memory_bytes:
            return Verdict(
                name,
                Status.FAIL,
                f"weights {_gib(weights)} + KV space {_gib(where.kv_space_bytes)} > "
                f"{_gib(where.memory_bytes)} of RAM available",
                "lower --kv-cache-space, or use a smaller model or --dtype",
            )
        room = where.kv_space_bytes
        budget_text = f"{_gib(room)} of KV space ({KV_CACHE_ENV})"
    else:
        budget = where.memory_bytes * where.budget_fraction
        room = int(budget - weights_per_gpu)
        budget_text = (
            f"{where.where} × gpu_memory_utilization {where.budget_fraction:g} = {_gib(budget)}, "
            f"weights {_gib(weights_per_gpu)} per GPU"
        )
        if room <= 0:
            return Verdict(
                name,
                Status.FAIL,
                f"{budget_text}: the weights do not fit",
                "raise --tensor-parallel-size or --gpu-memory-utilization, or use a smaller --dtype",
            )
    per_token = kv_bytes_per_token_per_rank(shape, dtype, tp) / pp
    tokens = int(room // per_token)
    max_len = config.vllm.max_model_len or shape.max_position_embeddings
    detail = f"{budget_text}: KV room for at most {tokens:,} tokens"
    if max_len is None:
        return Verdict(
            name, Status.WARN, detail + "; the model's context length is unknown", "pass --max-model-len"
        )
    if max_len > tokens:
        return Verdict(
            name,
            Status.FAIL,
            f"{detail}, fewer than one sequence of max_model_len {max_len:,}: vLLM will refuse to start",
            f"lower --max-model-len to {tokens:,} or less, or raise --tensor-parallel-size / "
            "--gpu-memory-utilization",
        )
    detail += f" = {tokens // max_len:,} sequences of max_model_len {max_len:,}"
    problems, fixes = [], []
    if config.vllm.max_num_seqs is not None and config.vllm.max_num_seqs * max_len > tokens:
        problems.append(f"max_num_seqs {config.vllm.max_num_seqs} full-length sequences do not all fit")
        fixes.append(f"lower --max-num-seqs to {tokens // max_len} or --max-model-len")
    per_sequence = _per_sequence_tokens(config, max_len)
    concurrency = _concurrency(config)
    if concurrency is not None:
        if config.vllm.max_num_seqs is not None:
            concurrency = min(concurrency, config.vllm.max_num_seqs)
        needed_tokens = concurrency * per_sequence
        detail += f"; the workload's {concurrency} in flight × {per_sequence} tokens need {needed_tokens:,}"
        if needed_tokens > tokens:
            problems.append("the workload's requests do not all fit at once: vLLM will queue or preempt them")
            fixes.append(
                f"lower --max-concurrency to {tokens // per_sequence}, or raise --tensor-parallel-size"
            )
    if problems:
        return Verdict(name, Status.WARN, f"{detail}; {'; '.join(problems)}", "; ".join(fixes))
    return Verdict(name, Status.PASS, detail + " (upper bound: vLLM keeps some for activations)")


def _transformers_fit(
    shape: ModelShape, dtype: str, weights: int, where: Target, config: RunConfig
) -> Verdict:
    name = "memory fit"
    room = where.memory_bytes - weights
    detail = f"{where.where}: weights {_gib(weights)} in {dtype}"
    if room <= 0:
        fix = (
            "use --device cuda, a smaller --dtype or a smaller model"
            if not where.on_gpu
            else ("use a smaller --dtype or model, or the vllm engine with --tensor-parallel-size")
        )
        return Verdict(name, Status.FAIL, f"{detail} do not fit in {_gib(where.memory_bytes)}", fix)
    batch = 1 if config.transformers.batching == "serial" else config.transformers.max_batch_size
    max_len = shape.max_position_embeddings or config.workload.input_len + (config.workload.output_len or 0)
    per_sequence = _per_sequence_tokens(config, max_len)
    kv = batch * per_sequence * kv_bytes_per_token(shape, dtype)
    detail += f", KV cache for {batch} × {per_sequence} tokens {_gib(kv)}, of {_gib(where.memory_bytes)}"
    if kv > room:
        return Verdict(
            name,
            Status.WARN,
            detail + ": the batch's KV cache does not fit beside the weights",
            "lower --max-batch-size, --input-len or --output-len",
        )
    return Verdict(name, Status.PASS, detail + " (activations come on top)")


def check_context_length(facts: Facts, config: RunConfig) -> Verdict:
    """--max-model-len against the model's own context: vLLM refuses to start beyond it."""
    name = "context length"
    asked = config.vllm.max_model_len
    if config.model is None:
        limit, whose = MAX_POSITIONS, "the built-in tiny model"
    else:
        try:
            limit, whose = _shape(config).max_position_embeddings, str(config.model)
        except ModelConfigError as exc:
            return Verdict(name, Status.WARN, f"not known: {exc}")
    if asked is None:
        if limit is None:
            return Verdict(name, Status.WARN, f"{whose} does not say", "pass --max-model-len")
        return Verdict(name, Status.PASS, f"{limit:,} tokens ({whose})")
    if config.engine is not EngineName.vllm:
        return Verdict(
            name,
            Status.WARN,
            f"--max-model-len {asked:,} is a vLLM setting: the {config.engine.value} engine does not read it",
            "drop --max-model-len, or pass --engine vllm",
        )
    if limit is not None and asked > limit:
        return Verdict(
            name,
            Status.FAIL,
            f"--max-model-len {asked:,} is beyond the {limit:,} tokens of {whose}: vLLM will refuse to start",
            f"lower --max-model-len to {limit:,} or less",
        )
    return Verdict(name, Status.PASS, f"{asked:,} tokens, within the model's {limit or asked:,}")


MODEL_CHECKS = (check_model_config, check_parameters, check_kv_cache, check_memory_fit)
