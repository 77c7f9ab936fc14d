"""What an engine is given of a run: its arguments, built from the plan by the session layer, so no engine
reads the whole RunConfig. Each engine's class adds its own settings section under the section's name, so
`args.vllm.max_model_len` reads as `config.vllm.max_model_len` did; the fields of the class are also what
the engine reads, and a setting the user chose outside them is named as ignored (see registry.py)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from specbench.config import (
    EchoConfig,
    EngineName,
    Method,
    OpenAIConfig,
    SpeculativeConfig,
    TransformersConfig,
    VllmConfig,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineArgs:
    """What every engine reads: which engine and method, the model (or its tokenizer) and the seed."""

    engine: EngineName
    method: Method
    model: Path | None
    tokenizer: Path | None
    trust_remote_code: bool
    seed: int

    @property
    def is_speculative(self) -> bool:
        return self.method in (Method.speculative, Method.prompt_lookup)

    @classmethod
    def settings(cls) -> frozenset[str]:
        """The top-level settings (and sections) these arguments carry, i.e. what the engine reads."""
        return frozenset(field.name for field in fields(cls)) - {"engine"}


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalModelArgs(EngineArgs):
    """An engine that loads the model here: its draft, how it is loaded, and the speculative settings."""

    draft_model: Path | None
    dtype: str
    device: str
    dummy_weights: bool
    speculative: SpeculativeConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformersArgs(LocalModelArgs):
    transformers: TransformersConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class VllmArgs(LocalModelArgs):
    vllm: VllmConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class EchoArgs(LocalModelArgs):
    echo: EchoConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAIArgs(EngineArgs):
    """A model served elsewhere: its dtype, device, weights and drafter are the server's business."""

    openai: OpenAIConfig
