"""The flags of `specbench run`: each maps to one dotted RunConfig key, and its help is that field's
description, so every option is documented once (in specbench/config.py)."""

from __future__ import annotations

from typing import Any

import typer

from specbench.config import RunConfig
from specbench.errors import ConfigError

FLAG_KEYS: dict[str, str] = {
    "engine": "engine",
    "method": "method",
    "model": "model",
    "draft_model": "draft_model",
    "tokenizer": "tokenizer",
    "dtype": "dtype",
    "device": "device",
    "dummy_weights": "dummy_weights",
    "trust_remote_code": "trust_remote_code",
    "seed": "seed",
    "dataset": "workload.dataset",
    "dataset_format": "workload.dataset_format",
    "num_prompts": "workload.num_prompts",
    "rate": "workload.rate",
    "duration": "workload.duration",
    "arrival": "workload.arrival",
    "burstiness": "workload.burstiness",
    "max_concurrency": "workload.max_concurrency",
    "input_len": "workload.input_len",
    "output_len": "workload.output_len",
    "warmup": "workload.warmup",
    "prefix_groups": "workload.prefix_groups",
    "prefix_len": "workload.prefix_len",
    "trace": "workload.trace",
    "trace_format": "workload.trace_format",
    "trace_speed": "workload.trace_speed",
    "trace_window": "workload.trace_window",
    "ramp": "workload.ramp",
    "ramp_to": "workload.ramp_to",
    "window": "workload.window_s",
    "turns": "workload.turns",
    "turn_input_len": "workload.turn_input_len",
    "think_time": "workload.think_time_s",
    "think_distribution": "workload.think_distribution",
    "spec_method": "speculative.spec_method",
    "num_speculative_tokens": "speculative.num_speculative_tokens",
    "draft_schedule": "speculative.draft_schedule",
    "ngram_min": "speculative.ngram_prompt_lookup_min",
    "ngram_max": "speculative.ngram_prompt_lookup_max",
    "batching": "transformers.batching",
    "max_batch_size": "transformers.max_batch_size",
    "max_wait_ms": "transformers.max_wait_ms",
    "attn_implementation": "transformers.attn_implementation",
    "compile": "transformers.compile",
    "tensor_parallel_size": "vllm.tensor_parallel_size",
    "pipeline_parallel_size": "vllm.pipeline_parallel_size",
    "gpu_memory_utilization": "vllm.gpu_memory_utilization",
    "max_model_len": "vllm.max_model_len",
    "max_num_seqs": "vllm.max_num_seqs",
    "max_num_batched_tokens": "vllm.max_num_batched_tokens",
    "enable_prefix_caching": "vllm.enable_prefix_caching",
    "enforce_eager": "vllm.enforce_eager",
    "distributed_executor_backend": "vllm.distributed_executor_backend",
    "disable_log_stats": "vllm.disable_log_stats",
    "kv_cache_space": "vllm.kv_cache_space_gb",
    "echo_token_delay_ms": "echo.token_delay_ms",
    "base_url": "openai.base_url",
    "api_key_env": "openai.api_key_env",
    "chat": "openai.chat",
    "served_model_name": "openai.served_model_name",
    "prompt_format": "openai.prompt_format",
    "metrics_url": "openai.metrics_url",
    "connect_timeout": "openai.connect_timeout_s",
    "read_timeout": "openai.read_timeout_s",
    "request_timeout": "openai.request_timeout_s",
    "echo_ttft_ms": "echo.ttft_ms",
    "echo_slots": "echo.slots",
    "output": "output.path",
    "output_dir": "output.dir",
    "save_requests": "output.save_requests",
    "slo_ttft_ms": "slo.ttft_ms",
    "slo_tpot_ms": "slo.tpot_ms",
    "slo_e2el_ms": "slo.e2el_ms",
    "percentiles": "percentiles",
    "gpu_telemetry": "telemetry.enabled",
    "gpu_interval": "telemetry.interval_s",
    "sweep": "sweep.points",
    "find_max_rate": "sweep.find_max_rate",
    "goodput_target": "sweep.goodput_target",
    "rate_precision": "sweep.rate_precision",
    "probe_seconds": "sweep.probe_seconds",
    "probe_requests": "sweep.probe_requests",
    "max_probes": "sweep.max_probes",
    "settle_s": "sweep.settle_s",
}


def field_help(dotted: str) -> str:
    model: type[Any] = RunConfig
    *sections, leaf = dotted.split(".")
    for section in sections:
        model = model.model_fields[section].annotation
    return model.model_fields[leaf].description or ""


def option(param: str, *names: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=field_help(FLAG_KEYS[param]), show_default=False, **kwargs)


def flag_label(param: str) -> str:
    return "--" + param.replace("_", "-")


def flag_names() -> dict[str, str]:
    """Dotted key → the flag that sets it, for error messages that name what the user typed."""
    return {key: flag_label(param) for param, key in FLAG_KEYS.items()}


def split_list(text: str, flag: str, parse: Any, example: str) -> Any:
    """'4' → one value; '1,2,4' → a list (an axis of the plan: one session or point per value)."""
    try:
        values = [parse(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values:
        raise ConfigError(f"{flag} {text!r}: give a value or several separated by commas, e.g. {example}")
    return values[0] if len(values) == 1 else values
