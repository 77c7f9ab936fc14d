"""What every generate() call is told: greedy, EOS ignored, the decoding method, the cache."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from specbench.config import Method
from specbench.engines.args import TransformersArgs
from specbench.errors import ConfigError, EngineStartError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

# Static-cache length granularity: prompts of different lengths share one compiled decode graph
# unless prompt + output outgrows the bucket.
CACHE_BUCKET = 128


@dataclass(slots=True, frozen=True)
class DecodingKind:
    """How the requested method maps onto Transformers generate()."""

    assisted: bool  # speculation of any kind (batch size 1 only)
    draft_model: bool  # assisted by a separate draft model
    prompt_lookup: bool
    generator_is_draft: bool  # draft-ar: the draft model alone serves


def decoding_kind(config: TransformersArgs) -> DecodingKind:
    method = config.method
    if method is Method.speculative and config.speculative.spec_method in ("eagle", "eagle3"):
        raise ConfigError(
            f"--spec-method {config.speculative.spec_method} is vLLM-only: use --spec-method draft_model "
            "or ngram with --engine transformers"
        )
    lookup = method is Method.prompt_lookup or (
        method is Method.speculative and config.speculative.spec_method == "ngram"
    )
    drafted = method is Method.speculative and not lookup
    return DecodingKind(
        assisted=lookup or drafted,
        draft_model=drafted,
        prompt_lookup=lookup,
        generator_is_draft=method is Method.draft_ar,
    )


def check_supported(config: TransformersArgs, kind: DecodingKind) -> None:
    """Refuse combinations Transformers cannot run, instead of silently running something else."""
    batching = config.transformers.batching
    if kind.assisted and batching != "serial":
        raise ConfigError(
            f"{config.method.value} on Transformers is assisted generation, which runs one request at a "
            f"time: use --batching serial (not {batching}), or --engine vllm for batched speculation"
        )
    if kind.assisted and config.transformers.compile:
        raise ConfigError(
            "--compile needs a static KV cache, which Transformers' assisted generation does not support: "
            "drop --compile for speculative / prompt-lookup runs"
        )


@dataclass(slots=True)
class DecodingSetup:
    """The model that generates and the fixed generate() arguments for every call."""

    model: PreTrainedModel
    kind: DecodingKind
    pad_token_id: int
    compile: bool
    kwargs: dict[str, Any] = field(default_factory=dict)
    supports_max_cache_len: bool = False

    @property
    def device(self) -> torch.device:
        return self.model.device

    def call_kwargs(self, max_prompt_len: int, max_new_tokens: int) -> dict[str, Any]:
        """Per-call arguments: exact output length (EOS ignored) and, compiled, the cache bucket."""
        call = dict(self.kwargs, max_new_tokens=max_new_tokens)
        if self.compile and self.supports_max_cache_len:
            call["max_cache_len"] = cache_bucket(max_prompt_len + max_new_tokens)
        return call


def transformers_version() -> str:
    import transformers

    return transformers.__version__


def cache_bucket(length: int) -> int:
    return CACHE_BUCKET * math.ceil(length / CACHE_BUCKET)


def configure_assistant(assistant: PreTrainedModel, config: TransformersArgs) -> None:
    """Transformers reads K and its schedule from the assistant's own generation config.

    The confidence threshold (default 0.4) would end drafts early whenever the draft is unsure;
    switching it off keeps K fixed as in vLLM, so both engines draft the same way.
    """
    generation = assistant.generation_config
    generation.num_assistant_tokens = config.speculative.num_speculative_tokens
    generation.num_assistant_tokens_schedule = config.speculative.draft_schedule
    generation.assistant_confidence_threshold = 0.0


def build_setup(
    config: TransformersArgs,
    kind: DecodingKind,
    model: PreTrainedModel,
    assistant: PreTrainedModel | None,
    pad_token_id: int,
) -> DecodingSetup:
    from transformers import CompileConfig, GenerationConfig

    # No EOS token at all, rather than min_new_tokens: every row runs to its max_tokens either way, and
    # generate() then skips the EOS logits processor and stopping check it would run every step.
    kwargs: dict[str, Any] = {
        "do_sample": False,
        "num_beams": 1,
        "pad_token_id": pad_token_id,
        "eos_token_id": None,
    }
    if kind.assisted and not hasattr(model, "_get_candidate_generator"):
        raise EngineStartError(
            f"this Transformers version ({transformers_version()}) has no _get_candidate_generator, so "
            "drafted and accepted tokens cannot be counted: use --engine vllm for speculative runs"
        )
    if kind.draft_model:
        assert assistant is not None  # TransformersEngine._load refuses a missing draft model first
        configure_assistant(assistant, config)
        kwargs["assistant_model"] = assistant
    if kind.prompt_lookup:
        kwargs["prompt_lookup_num_tokens"] = config.speculative.num_speculative_tokens
        kwargs["max_matching_ngram_size"] = config.speculative.ngram_prompt_lookup_max
    compile_on = config.transformers.compile
    if compile_on:
        kwargs["cache_implementation"] = "static"
        if model.device.type != "cuda":
            # generate() auto-compiles (with its default CompileConfig) only on accelerators.
            compile_config = CompileConfig()
            compile_config._compile_all_devices = True
            kwargs["compile_config"] = compile_config
    return DecodingSetup(
        model=model,
        kind=kind,
        pad_token_id=pad_token_id,
        compile=compile_on,
        kwargs=kwargs,
        # Transformers without `max_cache_len` sizes the static cache per call (never shrinking); newer
        # versions accept a ceiling so one compiled graph serves many prompt lengths.
        supports_max_cache_len=hasattr(GenerationConfig(), "max_cache_len"),
    )
