"""A session's config made concrete: model directories checked (or the built-in tiny model), the tokenizer
that makes the prompts, and the user's settings this engine does not read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specbench.config import RunConfig
from specbench.engines.context import ContextLimit, check_fits
from specbench.engines.registry import engine_spec
from specbench.errors import ConfigError
from specbench.session.engine_args import engine_args
from specbench.tiny_model import TINY_MODEL_NOTE, ensure_tiny_models
from specbench.workload.tokenizer import PromptTokenizer, SyntheticTokenizer, load_tokenizer
from specbench.workload.types import Workload


def check_model_dir(path: Path, flag: str) -> None:
    if not path.is_dir():
        raise ConfigError(
            f"{flag} {path}: no such directory; pass a local model directory (with config.json)"
        )
    if not (path / "config.json").is_file():
        raise ConfigError(f"{flag} {path}: no config.json inside; pass a Hugging Face model directory")


def resolve_models(config: RunConfig) -> tuple[RunConfig, list[str]]:
    """Check the model directories, or substitute the built-in tiny models when no --model is given."""
    if config.draft_model is not None:
        check_model_dir(config.draft_model, "--draft-model")
    if config.tokenizer is not None and not config.tokenizer.is_dir():
        raise ConfigError(f"--tokenizer {config.tokenizer}: no such directory")
    if config.model is not None:
        check_model_dir(config.model, "--model")
        return config, []
    if not engine_spec(config.engine).runs_local_model:
        return config, []
    tiny = ensure_tiny_models()
    update: dict[str, Any] = {"model": tiny.target}
    if config.draft_model is None:
        update["draft_model"] = tiny.draft
    return config.model_copy(update=update), [TINY_MODEL_NOTE]


def workload_tokenizer(config: RunConfig) -> PromptTokenizer:
    """The tokenizer that makes the prompts: the model's, or none at all where no model runs here."""
    source = config.tokenizer or config.model
    if source is not None:
        return load_tokenizer(source, trust_remote_code=config.trust_remote_code)
    if engine_spec(config.engine).needs_tokenizer:
        raise ConfigError(
            f"--engine {config.engine.value} sends token ids the served model must read, so it needs that "
            "model's tokenizer: pass --tokenizer DIR (a local copy of its tokenizer files) or --model DIR"
        )
    if config.workload.dataset == "random":
        return SyntheticTokenizer()  # random token ids need only a vocabulary size
    return load_tokenizer(ensure_tiny_models().target)


def ignored_settings_notes(config: RunConfig, sources: Mapping[str, str]) -> list[str]:
    chosen = [key for key, origin in sources.items() if origin != "default"]
    ignored = engine_spec(config.engine).ignored_settings(chosen)
    if not ignored:
        return []
    shown = ", ".join(f"{key} ({sources[key]})" for key in ignored)
    return [f"settings the {config.engine.value} engine does not read, ignored: {shown}"]


def check_context(config: RunConfig, workload: Workload, *, served: int | None = None) -> None:
    """Refuse a workload whose longest request the model cannot hold: before the engine starts, from what
    the config says; after, also from the limit the started engine published (`served`)."""
    requests = [*workload.warmup, *workload.requests]
    limits = [engine_spec(config.engine).context_limit(engine_args(config))]
    if served is not None:
        limits.append(ContextLimit(served, "the served model's max_model_len"))
    problem = check_fits(
        min((limit for limit in limits if limit is not None), key=lambda limit: limit.tokens, default=None),
        longest_input=max(r.longest_prompt for r in requests),
        longest_output=max(max(r.max_tokens, *(t.max_tokens for t in r.later_turns), 0) for r in requests),
    )
    if problem:
        raise ConfigError(problem)
