"""How long a sequence an engine will take, read from the model's config.json before anything loads, so
a workload that cannot fit is refused with the limit named instead of running until it is killed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from specbench.config import Method
from specbench.engines.args import LocalModelArgs, VllmArgs
from specbench.model_dir import ModelConfigError, context_length, read_model_config


@dataclass(frozen=True, slots=True)
class ContextLimit:
    tokens: int
    source: str  # what sets it, in words the user can act on


def model_context_length(model_dir: Path) -> int | None:
    """The model's own context length from config.json (the language model's, for multimodal configs)."""
    try:
        return context_length(read_model_config(model_dir))
    except ModelConfigError:
        return None  # loading the model fails later with its own clear error


def served_models(config: LocalModelArgs) -> list[tuple[str, Path]]:
    """Every model that sees the whole sequence: the serving model, and the draft when it drafts."""
    models: list[tuple[str, Path]] = []
    if config.method is Method.draft_ar:
        if config.draft_model is not None:
            models.append(("--draft-model", config.draft_model))
        return models
    if config.model is not None:
        models.append(("--model", config.model))
    drafting = config.method is Method.speculative and config.speculative.spec_method == "draft_model"
    if drafting and config.draft_model is not None:
        models.append(("--draft-model", config.draft_model))
    return models


def transformers_context_limit(config: LocalModelArgs) -> ContextLimit | None:
    limits = [
        ContextLimit(length, f"max_position_embeddings in {path / 'config.json'} ({flag})")
        for flag, path in served_models(config)
        if (length := model_context_length(path)) is not None
    ]
    return min(limits, key=lambda limit: limit.tokens, default=None)


def vllm_context_limit(config: VllmArgs) -> ContextLimit | None:
    if config.vllm.max_model_len is not None:
        return ContextLimit(config.vllm.max_model_len, "vLLM's --max-model-len")
    limit = transformers_context_limit(config)
    return ContextLimit(limit.tokens, f"vLLM's max_model_len (default: {limit.source})") if limit else None


def check_fits(limit: ContextLimit | None, *, longest_input: int, longest_output: int) -> str | None:
    """None when the longest request fits, else one line naming the limit and the fix."""
    if limit is None or longest_input + longest_output <= limit.tokens:
        return None
    return (
        f"the longest request needs {longest_input} input + {longest_output} output = "
        f"{longest_input + longest_output} tokens of context, but {limit.source} is {limit.tokens}: "
        "lower --input-len / --output-len (or use a model with a longer context)"
    )
